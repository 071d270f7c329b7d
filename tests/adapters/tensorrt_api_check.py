"""Checks every name the TensorRT targets use in ``tensorrt`` and cuda-python against the real bindings.

The targets are driven through the recording stand-in (``tensorrt_stand_in``), with every access the
adapter makes to it checked on the way against the real modules: each attribute must exist there,
each call must bind to one of the real signatures (pybind11 overloads are read from their
docstrings, cuda-python's functions from ``inspect.signature``), each attribute set must be a
settable property, and what a call returns is checked as the class the real signature returns.
Nothing is built or run on a device.

cuda-python's calls are checked where its bindings are installed (``tox -e tensorrt-api``).

Run as a script (``--planted`` runs known misuses instead), in a process whose dynamic linker finds
TensorRT's libraries — real ones, or the stub libraries of ``build_stub_libraries``: PyPI carries the
Python bindings (``tensorrt-cu12-bindings``) but not the libraries they link, and the bindings only
call into those when a builder or runtime is created. Prints one JSON object.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --- stub libraries --------------------------------------------------------------------------------


def bindings_library() -> Path | None:
    """The compiled module of the installed TensorRT bindings, or None."""
    for package in ("tensorrt_bindings", "tensorrt"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            found = sorted(Path(folder).glob("tensorrt*.so"))
            if found:
                return found[0]
    return None


def build_stub_libraries(module: Path, out_dir: Path) -> list[str]:
    """Compile, into ``out_dir``, a stand-in for each library ``module`` needs that the dynamic
    linker cannot find, each defining every unversioned C symbol ``module`` leaves undefined as a
    function returning 0. Returns the names of the stubs (none where the real libraries are found)."""
    ldd = subprocess.run(["ldd", str(module)], capture_output=True, text=True, check=True).stdout
    missing = re.findall(r"^\s*(\S+) => not found", ldd, flags=re.MULTILINE)
    if not missing:
        return []
    nm = subprocess.run(
        ["nm", "-D", "--undefined-only", str(module)], capture_output=True, text=True, check=True
    )
    symbols = sorted(
        {
            line.split()[-1]
            for line in nm.stdout.splitlines()
            if line.split()[0] == "U" and "@" not in line and not line.split()[-1].startswith(("Py", "_Py"))
        }
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / "stub.c"
    source.write_text("".join(f"void *{name}(void) {{ return 0; }}\n" for name in symbols))
    for soname in missing:
        cmd = ["gcc", "-shared", "-fPIC", str(source), "-o", str(out_dir / soname), f"-Wl,-soname,{soname}"]
        subprocess.run(cmd, check=True, capture_output=True)
    return missing


def cuda_python_installed() -> bool:
    """Whether cuda-python's runtime bindings are installed. They stay out of the dev extra: their
    wheel installs a ``.pth`` file that imports ``cuda`` into every Python process of the venv."""
    try:
        return importlib.util.find_spec("cuda.bindings.runtime") is not None
    except ModuleNotFoundError:
        return False


def tools_missing() -> list[str]:
    """The build tools ``build_stub_libraries`` needs that are not on PATH."""
    return [tool for tool in ("ldd", "nm", "gcc") if shutil.which(tool) is None]


# --- signatures ------------------------------------------------------------------------------------


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    tail = text[start:]
    return [*parts, tail] if tail.strip() else parts


def _signature(params_text: str) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params: list[inspect.Parameter] = []
    for part in _split_top_level(params_text):
        part = part.strip()
        if part == "/":
            params = [q.replace(kind=inspect.Parameter.POSITIONAL_ONLY) for q in params]
            continue
        if part == "*":
            kind = inspect.Parameter.KEYWORD_ONLY
            continue
        stars, name = re.match(r"(\**)(\w+)", part).groups()
        if stars == "*":
            params.append(inspect.Parameter(name, inspect.Parameter.VAR_POSITIONAL))
            kind = inspect.Parameter.KEYWORD_ONLY
        elif stars == "**":
            params.append(inspect.Parameter(name, inspect.Parameter.VAR_KEYWORD))
        else:
            default = None if " = " in part else inspect.Parameter.empty
            params.append(inspect.Parameter(name, kind, default=default))
    return inspect.Signature(params)


def pybind_overloads(doc: str | None, name: str) -> list[tuple[inspect.Signature, str]]:
    """The (signature, return annotation) of each overload a pybind11 docstring lists."""
    found: list[tuple[inspect.Signature, str]] = []
    overloaded = "Overloaded function." in (doc or "")
    for line in (doc or "").splitlines():
        m = re.match(rf"^\s*(\d+\.\s+)?{re.escape(name)}\((.*)\)\s*->\s*(.+?)\s*$", line)
        if m and (m.group(1) or not overloaded):
            found.append((_signature(m.group(2)), m.group(3)))
    return found


# --- checked proxies -------------------------------------------------------------------------------


@dataclass
class Checker:
    """What the adapter used, what it probed for and did not find, and what it got wrong."""

    real_module: Any
    uses: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    cudart_checked: bool = False

    def returned(self, annotation: str) -> type | None:
        cls = getattr(self.real_module, annotation.rsplit(".", 1)[-1], None)
        return cls if isinstance(cls, type) else None


def _unwrap(value: Any) -> Any:
    if isinstance(value, Checked):
        return object.__getattribute__(value, "_fake")
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class Checked:
    """A stand-in object seen through the real one: ``kind`` is ``module``, ``class`` (the class
    itself) or ``instance`` (an instance of the real class ``real``)."""

    def __init__(self, fake: Any, real: Any, where: str, kind: str, checker: Checker) -> None:
        for key, value in (
            ("_fake", fake),
            ("_real", real),
            ("_where", where),
            ("_kind", kind),
            ("_checker", checker),
        ):
            object.__setattr__(self, key, value)

    def _get(self, key: str) -> Any:
        return object.__getattribute__(self, key)

    def __getattr__(self, name: str) -> Any:
        real, where, checker = self._get("_real"), self._get("_where"), self._get("_checker")
        path = f"{where}.{name}"
        real_attr = getattr(real, name, _MISSING)
        if real_attr is _MISSING:
            checker.absent.add(path)
            raise AttributeError(f"the real {where} has no attribute {name!r}")
        checker.uses.add(path)
        fake_attr = getattr(self._get("_fake"), name)
        if isinstance(real_attr, type):
            return Checked(fake_attr, real_attr, path, "class", checker)
        if callable(real_attr) and not isinstance(real_attr, property):
            return _checked_call(fake_attr, real_attr, name, path, checker)
        return fake_attr

    def __setattr__(self, name: str, value: Any) -> None:
        real, where, checker = self._get("_real"), self._get("_where"), self._get("_checker")
        real_attr = getattr(real, name, _MISSING)
        checker.uses.add(f"{where}.{name} =")
        if not (isinstance(real_attr, property) and real_attr.fset is not None):
            checker.violations.append(
                f"{where}.{name} is set, but the real {where} has no settable property {name!r}"
            )
        setattr(self._get("_fake"), name, _unwrap(value))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        real, where, checker = self._get("_real"), self._get("_where"), self._get("_checker")
        overloads = pybind_overloads(real.__init__.__doc__, "__init__")
        if overloads and not _binds([s for s, _ in overloads], args, kwargs):
            checker.violations.append(
                f"{where}({_shown(args, kwargs)}) binds to no signature of the real {where}"
            )
        result = self._get("_fake")(*_unwrap(args), **_unwrap(kwargs))
        return Checked(result, real, real.__name__, "instance", checker)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get("_fake"))

    def __len__(self) -> int:
        return len(self._get("_fake"))

    def __getitem__(self, index: Any) -> Any:
        return self._get("_fake")[index]

    def __bool__(self) -> bool:
        return bool(self._get("_fake"))


_MISSING = object()
_SELF = object()


def _shown(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return ", ".join([*(type(_unwrap(a)).__name__ for a in args), *(f"{k}=…" for k in kwargs)])


def _binds(signatures: list[inspect.Signature], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """True when the call binds to one of ``signatures`` (pybind11's include ``self``)."""
    for signature in signatures:
        given = (_SELF, *args) if list(signature.parameters)[:1] == ["self"] else args
        try:
            signature.bind(*given, **kwargs)
        except TypeError:
            continue
        return True
    return False


def _checked_call(
    fake: Callable[..., Any], real: Any, name: str, path: str, checker: Checker
) -> Callable[..., Any]:
    overloads = pybind_overloads(getattr(real, "__doc__", None), name)
    if not overloads:
        try:
            overloads = [(inspect.signature(real), "")]
        except (TypeError, ValueError):
            checker.violations.append(f"{path}: no signature can be read from the real bindings")
    signatures = [s for s, _ in overloads]

    def call(*args: Any, **kwargs: Any) -> Any:
        if signatures and not _binds(signatures, args, kwargs):
            checker.violations.append(
                f"{path}({_shown(args, kwargs)}) binds to no signature of the real {path}"
            )
        result = fake(*_unwrap(args), **_unwrap(kwargs))
        for signature, annotation in overloads:
            cls = checker.returned(annotation) if annotation else None
            if cls is not None and result is not None and _binds([signature], args, kwargs):
                return Checked(result, cls, cls.__name__, "instance", checker)
        return result

    return call


# --- the runs --------------------------------------------------------------------------------------


def _install(record: dict[str, Any]) -> Checker:
    """Put checked stand-ins where ``import tensorrt`` and cuda-python's imports find them."""
    import types

    from tensorrt_stand_in import stand_in_modules

    real_trt = importlib.import_module(
        "tensorrt_bindings" if importlib.util.find_spec("tensorrt_bindings") else "tensorrt"
    )
    fakes = stand_in_modules(record)
    fakes["tensorrt"].__version__ = real_trt.__version__
    checker = Checker(real_trt)
    trt = Checked(fakes["tensorrt"], real_trt, "tensorrt", "module", checker)
    cudart: Any = fakes["cuda.bindings.runtime"]
    if cuda_python_installed():
        real_cudart = importlib.import_module("cuda.bindings.runtime")
        cudart = Checked(cudart, real_cudart, "cudart", "module", checker)
        checker.cudart_checked = True
    cuda, bindings = types.ModuleType("cuda"), types.ModuleType("cuda.bindings")
    bindings.runtime = cudart
    cuda.bindings = bindings
    sys.modules.update(
        {"tensorrt": trt, "cuda": cuda, "cuda.bindings": bindings, "cuda.bindings.runtime": cudart}
    )
    return checker


def run_targets() -> dict[str, Any]:
    """Judge a set of cases on every TensorRT target through the checked stand-in."""
    from tensorrt_stand_in import INT8_RUN_PATH_BASE, INT8_RUN_PATH_CASES, RUN_PATH_BASE, RUN_PATH_CASES

    from adapters.tensorrt import int8_targets as ti
    from adapters.tensorrt import targets as tt
    from harness.engine.verdict import judge
    from harness.model.case import Case

    checker = _install({})
    os.environ[tt.DLA_CORE_ENV] = "1"
    verdicts = []
    for target in (
        tt.TensorRTTarget("cuda"),
        tt.TensorRTRoundUp("cuda"),
        tt.TensorRTDLA("cuda"),
        tt.TensorRTDLAFallback("cuda"),
    ):
        for case_id, fields in RUN_PATH_CASES.items():
            verdict = judge(Case.make(**{**RUN_PATH_BASE, **fields}), target)
            verdicts.append([target.name, case_id, str(verdict.outcome), (verdict.message or "")[:500]])
    for target in (ti.TensorRTInt8("cuda"), ti.TensorRTInt8DLA("cuda")):
        for case_id, fields in INT8_RUN_PATH_CASES.items():
            verdict = judge(Case.make(**{**INT8_RUN_PATH_BASE, **fields}), target)
            verdicts.append([target.name, case_id, str(verdict.outcome), (verdict.message or "")[:500]])
    return _report(checker, verdicts)


def run_planted() -> dict[str, Any]:
    """Misuses the checker must report: a removed method, a wrong keyword, too many arguments, two
    attribute sets that are no property (one on a Q layer), a mode that does not exist."""
    checker = _install({})
    trt = sys.modules["tensorrt"]
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    network = builder.create_network(0)
    inp = network.add_input("x", trt.float32, (1, 2, 3, 3))
    kernel = trt.Weights()
    for misuse in (
        lambda: network.add_deconvolution(inp, 2, (3, 3), kernel, kernel),
        lambda: network.add_deconvolution_nd(inp, 2, trt.Dims((3, 3)), kernel, kernel, 7),
        lambda: network.add_deconvolution_nd(inp, 2, kernel_size=trt.Dims((3, 3)), kernel=kernel),
    ):
        try:
            misuse()
        except (AttributeError, TypeError):
            pass
    layer = network.add_deconvolution_nd(inp, 2, trt.Dims((3, 3)), kernel, kernel)
    layer.strides = trt.Dims((2, 2))
    scale = network.add_constant(trt.Dims((1,)), trt.Weights())
    quantize = network.add_quantize(inp, scale.get_output(0), trt.int8)
    quantize.zero_point = 0  # TensorRT takes a zero point as the layer's input 2, not a property
    try:
        layer.padding_mode = trt.PaddingMode.EXPLICIT_ROUND_SIDEWAYS
    except AttributeError:
        pass
    return _report(checker, [])


def _report(checker: Checker, verdicts: list[list[str]]) -> dict[str, Any]:
    return {
        "version": checker.real_module.__version__,
        "cudart_checked": checker.cudart_checked,
        "uses": sorted(checker.uses),
        "absent": sorted(checker.absent),
        "violations": checker.violations,
        "verdicts": verdicts,
    }


if __name__ == "__main__":
    print(json.dumps(run_planted() if "--planted" in sys.argv else run_targets()))
