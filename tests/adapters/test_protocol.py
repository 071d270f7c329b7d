"""The adapter protocol and registry, and the PyTorch targets' capability models, runs and snippets."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from targets_for_tests import CorrectTarget, ThreeBugTarget

from adapters import registry
from adapters.protocol import Target
from harness.engine.artefacts import save_arrays
from harness.engine.verdict import INTERNAL_ERROR, judge
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.outcomes import Outcome

ROOT = Path(__file__).resolve().parents[2]
TORCH_TARGETS = ("torch.nn", "torch.nn.output_size", "torch.functional")
CORRECT = "tests.targets_for_tests:CorrectTarget"


# --- registry ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TORCH_TARGETS)
def test_builtin_names_resolve(name: str) -> None:
    cls = registry.resolve(name)
    assert issubclass(cls, Target)
    assert cls.name == name
    assert cls.framework == "torch"
    assert name in registry.known_names()


def test_module_class_reference_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    cls = registry.resolve(CORRECT)
    assert issubclass(cls, Target)
    assert cls.__name__ == "CorrectTarget"
    assert cls.__module__ == "tests.targets_for_tests"
    assert cls.unavailable_reason() is None


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown target 'no\.such\.target'") as err:
        registry.resolve("no.such.target")
    text = str(err.value)
    for name in TORCH_TARGETS:
        assert name in text
    assert "module:Class" in text


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("tests.targets_for_tests:NoSuchClass", "cannot load target"),
        ("no_such_module_xyz:Thing", "cannot load target"),
        ("harness.model.case:Case", "not a subclass"),
    ],
)
def test_bad_module_class_references(monkeypatch: pytest.MonkeyPatch, reference: str, message: str) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    with pytest.raises(ValueError, match=message):
        registry.resolve(reference)


def test_entry_point_targets_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    fake = importlib.metadata.EntryPoint(name="acme.correct", value=CORRECT, group=registry.ENTRY_POINT_GROUP)
    seen_groups: list[Any] = []

    def entry_points(**kwargs: Any) -> list[importlib.metadata.EntryPoint]:
        seen_groups.append(kwargs.get("group"))
        return [fake] if kwargs.get("group") == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", entry_points)
    assert registry.known_names()[: len(registry.BUILTIN)] == list(registry.BUILTIN)
    assert "acme.correct" in registry.known_names()
    cls = registry.resolve("acme.correct")
    assert cls.__name__ == "CorrectTarget"
    assert registry.availability()["acme.correct"] is None
    assert "acme.correct" in registry.installed_targets()
    assert set(seen_groups) == {registry.ENTRY_POINT_GROUP}


def test_test_targets_declare_what_they_accept() -> None:
    caps = ThreeBugTarget().capabilities()
    assert caps.ranks == {1, 2, 3}
    assert caps.dtypes == {"float32", "float64"}
    assert caps.crops == "begin_end"
    assert caps.to_dict()["accumulation"]["float32"] == "acc=float32 taps=float32"
    asymmetric = Case.make(
        input_size=4,
        kernel_size=3,
        stride=2,
        pads_begin=0,
        pads_end=2,
        output_padding=5,
        groups=2,
        in_channels=2,
        out_channels=2,
        dilation=3,
        dtype="float64",
    )
    assert CorrectTarget().supports(asymmetric) is None
    assert judge(asymmetric, CorrectTarget()).outcome == Outcome.PASS
    assert "float16" in (CorrectTarget().supports(asymmetric.replace(dtype="float16")) or "")
    assert "channels_last" in (CorrectTarget().supports(asymmetric.replace(layout="channels_last")) or "")


# --- the torch targets ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_targets() -> dict[str, Target]:
    """One instance of each built-in torch target on the CPU."""
    pytest.importorskip("torch")
    return {name: registry.resolve(name)("cpu") for name in TORCH_TARGETS}


def _case(**kw: Any) -> Case:
    base: dict[str, Any] = {
        "input_size": 5,
        "kernel_size": 3,
        "in_channels": 2,
        "out_channels": 3,
        "dtype": "float64",
    }
    base.update(kw)
    return Case.make(**base)


@pytest.mark.parametrize("name", TORCH_TARGETS)
def test_crops_torch_cannot_express_are_unsupported(torch_targets: dict[str, Target], name: str) -> None:
    target = torch_targets[name]
    # More cropped at the end than begin + output_padding: symmetric padding cannot do it.
    case = _case(stride=2, pads_begin=0, pads_end=1)
    reason = target.supports(case)
    assert reason is not None and "symmetric padding" in reason
    verdict = judge(case, target)
    assert verdict.outcome == Outcome.UNSUPPORTED and verdict.message == reason


@pytest.mark.parametrize("name", TORCH_TARGETS)
@pytest.mark.parametrize(
    ("begin", "end", "op"),
    [(2, 1, 0), (1, 2, 1), (2, 2, 0), (3, 1, 0)],
    ids=["end<begin", "end=begin+op", "symmetric", "end=begin-2"],
)
def test_asymmetric_crops_expressible_by_output_padding_pass(
    torch_targets: dict[str, Target], name: str, begin: int, end: int, op: int
) -> None:
    case = _case(input_size=4, stride=3, pads_begin=begin, pads_end=end, output_padding=op)
    assert torch_targets[name].supports(case) is None
    verdict = judge(case, torch_targets[name])
    assert verdict.outcome == Outcome.PASS, verdict.message


@pytest.mark.parametrize("name", TORCH_TARGETS)
def test_output_padding_at_stride_and_dilation_is_unsupported(
    torch_targets: dict[str, Target], name: str
) -> None:
    case = _case(stride=2, dilation=2, output_padding=2)
    reason = torch_targets[name].supports(case)
    assert reason is not None
    assert "output_padding 2" in reason or "exceeds the smallest size by 2" in reason


def test_output_padding_below_dilation_only_is_refused_by_output_size(
    torch_targets: dict[str, Target],
) -> None:
    # op = 1 ≥ stride 1 but < dilation 2: torch.nn accepts it, forward(output_size=) does not.
    case = _case(stride=1, dilation=2, output_padding=1)
    assert torch_targets["torch.nn"].supports(case) is None
    assert torch_targets["torch.functional"].supports(case) is None
    reason = torch_targets["torch.nn.output_size"].supports(case)
    assert reason is not None and "output_size" in reason and "stride" in reason
    assert judge(case, torch_targets["torch.nn"]).outcome == Outcome.PASS
    ok = _case(stride=2, dilation=1, output_padding=1)
    assert torch_targets["torch.nn.output_size"].supports(ok) is None


@pytest.mark.parametrize("name", TORCH_TARGETS)
def test_channels_last_1d_is_unsupported(torch_targets: dict[str, Target], name: str) -> None:
    reason = torch_targets[name].supports(_case(layout="channels_last"))
    assert reason is not None and "channels-last" in reason and "1-D" in reason


RUN_CASES = {
    "1d-f64-stride-crop": _case(input_size=7, stride=2, pads_begin=1, pads_end=1, output_padding=1),
    "1d-f32-groups-dilation": _case(
        in_channels=4, out_channels=6, groups=2, dilation=2, stride=2, dtype="float32", batch=2
    ),
    "2d-f32-nonsquare": _case(
        input_size=(4, 5),
        kernel_size=(2, 3),
        stride=(2, 1),
        pads_begin=(1, 0),
        pads_end=(0, 0),
        dtype="float32",
    ),
    "2d-f16-channels-last-groups": _case(
        input_size=(5, 4),
        in_channels=4,
        out_channels=4,
        groups=4,
        stride=2,
        dtype="float16",
        layout="channels_last",
    ),
    "2d-bf16-dilation": _case(input_size=(4, 4), dilation=(2, 3), dtype="bfloat16", bias=False),
    "3d-f64-channels-last": _case(
        input_size=(3, 4, 2), kernel_size=2, stride=(1, 2, 2), layout="channels_last", batch=2
    ),
    "3d-f32-groups-dilation": _case(
        input_size=(3, 3, 3),
        kernel_size=(2, 3, 2),
        in_channels=6,
        out_channels=4,
        groups=2,
        dilation=(1, 2, 1),
        dtype="float32",
        distribution="uniform",
    ),
    "3d-f16-small-int": _case(
        input_size=(2, 3, 3),
        kernel_size=2,
        stride=2,
        dtype="float16",
        distribution="small_int",
        layout="channels_last",
    ),
}


@pytest.mark.parametrize("name", TORCH_TARGETS)
@pytest.mark.parametrize("label", list(RUN_CASES))
def test_torch_targets_pass_representative_cases(
    torch_targets: dict[str, Target], name: str, label: str
) -> None:
    case = RUN_CASES[label]
    target = torch_targets[name]
    assert target.supports(case) is None
    verdict = judge(case, target)
    assert verdict.outcome == Outcome.PASS, f"{label}: {verdict.message}"
    assert verdict.actual_shape == list(case.output_shape)


@pytest.mark.parametrize("name", TORCH_TARGETS)
def test_environment_records_threads_and_tf32(torch_targets: dict[str, Target], name: str) -> None:
    env = torch_targets[name].environment()
    assert isinstance(env["threads"], int) and env["threads"] >= 1
    assert isinstance(env["cudnn_allow_tf32"], bool)
    assert isinstance(env["matmul_allow_tf32"], bool)
    assert env["device"] == "cpu"
    assert env["framework_version"] == torch_targets[name].framework_version()


# --- snippets, each run standalone in its own folder ----------------------------------------------

SNIPPET_CASES = {
    "torch.nn": _case(
        input_size=(4, 3),
        kernel_size=3,
        stride=2,
        pads_begin=(1, 0),
        pads_end=(1, 0),
        output_padding=(1, 0),
        layout="channels_last",
        dtype="float32",
    ),
    "torch.nn.output_size": _case(
        input_size=6, kernel_size=3, stride=2, pads_begin=1, pads_end=1, output_padding=1
    ),
    "torch.functional": _case(
        input_size=(2, 3, 2),
        kernel_size=2,
        in_channels=4,
        out_channels=2,
        groups=2,
        dilation=(1, 2, 1),
        pads_begin=(1, 1, 0),
        pads_end=(1, 0, 0),
        dtype="bfloat16",
        bias=False,
    ),
    "test.three_bugs": _case(input_size=5, in_channels=2, out_channels=2, groups=2),
}


@pytest.fixture(scope="module")
def snippet_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    """Each target's snippet for its case, written beside case.npz and run as ``python snippet.py``.

    The processes run concurrently (each imports its framework afresh).
    """
    pytest.importorskip("torch")
    procs: dict[str, subprocess.Popen[str]] = {}
    for name, case in SNIPPET_CASES.items():
        target = ThreeBugTarget() if name == "test.three_bugs" else registry.resolve(name)("cpu")
        assert target.supports(case) is None, target.supports(case)
        folder = tmp_path_factory.mktemp(re.sub(r"\W", "_", name))
        save_arrays(case, folder / "case.npz")
        (folder / "snippet.py").write_text(target.snippet(case, "case.npz"), encoding="utf-8")
        procs[name] = subprocess.Popen(
            [sys.executable, "snippet.py"],
            cwd=folder,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    yield done


@pytest.mark.parametrize("name", TORCH_TARGETS)
def test_torch_snippets_print_the_output_shape(
    snippet_runs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    run = snippet_runs[name]
    assert run.returncode == 0, run.stderr
    # every snippet prints its output as a NumPy array in NC* order
    assert run.stdout.splitlines()[0] == str(tuple(SNIPPET_CASES[name].output_shape))


def test_numpy_snippet_reproduces_the_bug(snippet_runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    # groups=2 and dilation 1: the value bug only, so the shape is the expected one.
    run = snippet_runs["test.three_bugs"]
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == str(SNIPPET_CASES["test.three_bugs"].output_shape)


def test_unexpressible_case_snippet_says_why(torch_targets: dict[str, Target]) -> None:
    case = _case(stride=2, pads_begin=0, pads_end=1)
    for name in ("torch.nn", "torch.functional"):
        text = torch_targets[name].snippet(case)
        assert text.startswith("# not expressible") and "symmetric padding" in text


class _ReturnsAs(CorrectTarget):
    """The correct output, handed back through ``convert`` (to break the output contract)."""

    name = "test.returns_as"

    def __init__(self, convert: Any) -> None:
        super().__init__()
        self.convert = convert

    def run(self, case: Case, arrays: CaseArrays) -> Any:
        return self.convert(super().run(case, arrays))


@pytest.mark.parametrize(
    ("convert", "fragment"),
    [
        (lambda y: y.tolist(), "returned list, not a numpy.ndarray"),
        (lambda y: None, "returned NoneType"),
        (lambda y: y.astype(np.complex64), "dtype complex64, not of real numbers"),
        (lambda y: y.astype(object), "dtype object"),
        (lambda y: y > 0, "dtype bool"),
    ],
)
def test_an_output_that_breaks_the_contract_is_an_error_result(convert: Any, fragment: str) -> None:
    case = Case.make(input_size=(3, 3), kernel_size=2, stride=2, in_channels=2, out_channels=2)
    verdict = judge(case, _ReturnsAs(convert))
    assert (verdict.outcome, verdict.detail) == (Outcome.ERROR, "output_type")
    assert fragment in verdict.message and verdict.message.startswith("test.returns_as: ")


@pytest.mark.parametrize(
    "convert",
    [
        lambda y: y,
        lambda y: y.astype(np.float16).astype(np.float32),
        lambda y: np.ascontiguousarray(y.astype(np.float64)),
    ],
)
def test_real_outputs_are_judged(convert: Any) -> None:
    case = Case.make(
        input_size=(3, 3), kernel_size=2, stride=2, in_channels=2, out_channels=2, distribution="small_int"
    )
    assert judge(case, _ReturnsAs(convert)).outcome == Outcome.PASS


def test_an_extension_float_output_is_judged() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    case = Case.make(
        input_size=(3, 3), kernel_size=2, stride=2, in_channels=2, out_channels=2, distribution="small_int"
    )
    verdict = judge(case, _ReturnsAs(lambda y: y.astype(ml_dtypes.bfloat16)))
    assert verdict.outcome == Outcome.PASS, verdict.message


class _BrokenCapabilityModel(CorrectTarget):
    name = "test.broken_supports"

    def supports(self, case: Case) -> str | None:
        return {"float64": None}[case.dtype]  # a capability model that forgot float32


def test_an_exception_around_the_framework_call_is_an_error_result() -> None:
    case = Case.make(input_size=(3, 3), kernel_size=2, stride=2, in_channels=2, out_channels=2)
    verdict = judge(case, _BrokenCapabilityModel())
    assert (verdict.outcome, verdict.detail) == (Outcome.ERROR, INTERNAL_ERROR)
    assert "outside the framework call" in verdict.message
    assert "KeyError: 'float32'" in verdict.message and "in supports" in verdict.message
    assert verdict.expected_shape == list(case.output_shape)
    assert judge(case.replace(dtype="float64"), _BrokenCapabilityModel()).outcome == Outcome.PASS
