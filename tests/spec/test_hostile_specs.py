"""Hostile specs: each is refused quickly, in bounded memory, with a ``file:line: rule`` message;
and a spec is parsed once per load, and loaded once per run.

The inputs that could hang the loader or exhaust memory (nested aliases, an endless or huge file,
a FIFO) are loaded in a child process under an address-space limit and a timeout.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import harness.spec.loader as loader
from harness.cli.main import main
from harness.errors import SpecError
from harness.spec.loader import load_spec, parse_spec
from tests.spec.spec_texts import VALID, replace_line, spec_error, write_yaml

REPO = Path(__file__).resolve().parents[2]
MAX_SPEC_BYTES = 1 << 20  # the cap README.md states (harness.spec.loader.MAX_SPEC_BYTES)
CHILD_MEMORY = 1 << 30  # address space of a child; the loader itself needs under 200 MiB
CHILD_TIMEOUT = 30.0  # seconds; a refusal takes well under one

# Nine levels of nine aliases each: 547 bytes that stand for 9**9 strings.
LAUGHS = "\n".join(
    [
        "name: laughs",
        "rank: 2",
        "description: &a0 [x, x, x, x, x, x, x, x, x]",
        *(f"n{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)),
    ]
)

_CHILD = r"""
import json, re, sys
from harness.errors import SpecError
from harness.spec.loader import load_spec
try:
    load_spec(sys.argv[1])
    message = None
except SpecError as exc:
    message = str(exc)
# the peak resident size of this program alone: ru_maxrss would include the forking parent's
status = open("/proc/self/status", encoding="utf-8").read()
peak = int(re.search(r"VmHWM:\s*(\d+) kB", status).group(1))
print(json.dumps({"message": message, "peak_kib": peak}))
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def _load_in_child(path: Path | str) -> dict[str, Any]:
    """Load ``path`` in a child process under :data:`CHILD_MEMORY` and :data:`CHILD_TIMEOUT`."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=REPO,
        env=env,
        preexec_fn=_limit_memory,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- one load per run ------------------------------------------------------------------------


def test_a_run_loads_each_spec_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write_yaml(tmp_path, VALID)
    parsed: list[str] = []
    real = loader.parse_spec

    def counted(text: str, path: str | os.PathLike[str] | None = None) -> Any:
        parsed.append(str(path))
        return real(text, path)

    monkeypatch.setattr(loader, "parse_spec", counted)
    monkeypatch.chdir(tmp_path)  # the findings store is relative to the working folder
    argv = ["run", "--targets", "tests.targets_for_tests:CorrectTarget", "--spec", str(spec), "--in-process"]
    status = main([*argv, "--quiet", "--profile", "dev", "--out", str(tmp_path / "out")])
    assert status == 0
    assert parsed == [str(spec)]


# --- files that are not small regular files ----------------------------------------------------


def test_a_spec_larger_than_the_cap_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as file:
        file.truncate(8 << 30)  # sparse: 8 GiB of zeros that take no disk
    result = _load_in_child(huge)
    assert (
        result["message"]
        == f"{huge}: spec file is larger than {MAX_SPEC_BYTES} bytes (the limit on a spec file)"
    )
    assert result["peak_kib"] < 200 * 1024
    assert loader.MAX_SPEC_BYTES == MAX_SPEC_BYTES
    just_over = tmp_path / "over.yaml"
    just_over.write_text(VALID + "#" * (MAX_SPEC_BYTES + 1 - len(VALID)), encoding="utf-8")
    with pytest.raises(SpecError, match="larger than"):
        load_spec(just_over)
    just_over.write_text(VALID + "#" * (MAX_SPEC_BYTES - len(VALID)), encoding="utf-8")
    assert load_spec(just_over).name == "tiny"  # exactly the cap is allowed


def test_a_device_or_a_fifo_is_refused_without_waiting_on_it(tmp_path: Path) -> None:
    expected = "cannot read spec: not a regular file (a spec is a file, not a pipe or a device)"
    assert _load_in_child("/dev/zero")["message"] == f"/dev/zero: {expected}"
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert _load_in_child(fifo)["message"] == f"{fifo}: {expected}"
    with pytest.raises(SpecError) as info:  # the message for a folder stays what it was
        load_spec(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot read spec: Is a directory"


def test_a_spec_that_is_not_utf8_is_refused_at_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(replace_line(VALID, 2, "description: caf\xe9 cr\xe8me").encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert (
        str(info.value)
        == f"{path}:2: spec is not UTF-8 text (byte 0xe9 cannot be decoded); a spec must be UTF-8"
    )
    assert info.value.line == 2


# --- anchors and aliases -----------------------------------------------------------------------


def test_nested_aliases_are_refused_at_their_first_anchor(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, LAUGHS + "\n")
    result = _load_in_child(path)
    assert result["message"] == (
        f"{path}:3: anchor &a0: a spec may not use YAML anchors or aliases "
        "(write each value out where it is used)"
    )
    assert result["peak_kib"] < 200 * 1024


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        (VALID + "pinned: &p\n  - *p\n", 22, "anchor &p"),  # a list that holds itself
        (VALID + "extra: &e 1\n", 22, "anchor &e"),  # an anchor never used
        (VALID + "extra: *undefined\n", 22, "alias *undefined"),
        (replace_line(VALID, 13, "  <<: *base"), 13, "alias *base"),  # a merge key
    ],
)
def test_every_anchor_and_alias_is_refused_where_it_stands(text: str, line: int, shown: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "x.yaml")
    assert str(info.value) == (
        f"x.yaml:{line}: {shown}: a spec may not use YAML anchors or aliases "
        "(write each value out where it is used)"
    )
    assert (info.value.line, info.value.key) == (line, None)


# --- values the YAML loader or Python cannot convert -------------------------------------------


def test_an_integer_of_thousands_of_digits_is_refused_with_its_key(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 4, "max_elements: " + "9" * 5000), tmp_path)
    assert (err.line, err.key) == (4, "max_elements")
    assert str(err).endswith(":4: max_elements must be an integer of at most 100 digits (got 5000)")
    err = spec_error(replace_line(VALID, 14, "  max: 0x" + "f" * 4400), tmp_path)  # converts, but no repr
    assert (err.line, err.key) == (14, "stride.max")
    err = spec_error(VALID + "7" * 4400 + ": 1\n", tmp_path)  # as a key
    assert err.line == 22


def test_a_value_the_yaml_constructor_cannot_build_is_reported_at_its_line(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 4, "max_elements: !!int many"), tmp_path)
    assert err.line == 4
    assert str(err).endswith(":4: malformed YAML: invalid literal for int() with base 10: 'many'")


@pytest.mark.parametrize(
    "nesting",
    [
        "pinned: " + "[" * 500 + "]" * 500,  # flow
        "pinned:\n" + "- " * 500 + "x",  # block, on one line
    ],
)
def test_nesting_500_levels_deep_is_refused_at_its_line(nesting: str, tmp_path: Path) -> None:
    err = spec_error(VALID + nesting + "\n", tmp_path)
    assert err.line in (22, 23)
    assert str(err).endswith(
        f":{err.line}: nested too deep: a spec nests mappings and lists at most 32 levels"
    )


# --- one parse per load, with libyaml where PyYAML has it -------------------------------------


def _counting(counts: dict[str, int], name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[name] = counts.get(name, 0) + 1
        return real(*args, **kwargs)

    return counted


def test_a_spec_is_parsed_once_with_the_c_loader_when_pyyaml_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    counts: dict[str, int] = {}
    monkeypatch.setattr(yaml.SafeLoader, "__init__", _counting(counts, "python", yaml.SafeLoader.__init__))
    if yaml.__with_libyaml__:
        monkeypatch.setattr(
            yaml.CSafeLoader, "__init__", _counting(counts, "libyaml", yaml.CSafeLoader.__init__)
        )
    assert parse_spec(VALID).name == "tiny"
    assert counts == ({"libyaml": 1} if yaml.__with_libyaml__ else {"python": 1})


_WITHOUT_LIBYAML = """
import json, sys
sys.modules["yaml._yaml"] = None  # PyYAML as installed without libyaml
import yaml
from harness.errors import SpecError
from harness.spec.loader import parse_spec
assert not yaml.__with_libyaml__
messages = []
for text in json.loads(sys.stdin.read()):
    try:
        parse_spec(text, "x.yaml")
        messages.append(None)
    except SpecError as exc:
        messages.append(str(exc))
print(json.dumps(messages))
"""


def test_the_pure_python_loader_refuses_the_same_specs() -> None:
    texts = [
        LAUGHS,
        VALID + "pinned: " + "[" * 500 + "]" * 500 + "\n",
        replace_line(VALID, 4, "max_elements: " + "9" * 5000),
        VALID + "null: 3\n",
        VALID,
    ]
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_LIBYAML],
        cwd=REPO,
        input=json.dumps(texts),
        preexec_fn=_limit_memory,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    here: list[str | None] = []
    for text in texts:
        try:
            parse_spec(text, "x.yaml")
            here.append(None)
        except SpecError as exc:
            here.append(str(exc))
    assert json.loads(done.stdout) == here
    assert here[-1] is None and all(here[:-1])


# --- keys and choices reported where they are --------------------------------------------------


@pytest.mark.parametrize("spelling", ["null", "~", "Null"])
def test_a_null_key_is_reported_at_its_line(spelling: str, tmp_path: Path) -> None:
    err = spec_error(VALID + f"{spelling}: 3\n", tmp_path)
    assert (err.line, err.key) == (22, "null")
    assert str(err).endswith(
        ":22: null is not a known key (allowed: name, description, rank, max_elements, batch, "
        "channels, input_size, kernel_size, stride, dilation, crops, output_padding, bias, "
        "dtypes, layouts, distributions, padding_modes, pinned, quantization)"
    )
    err = spec_error(replace_line(VALID, 14, f"  max: 3\n  {spelling}: 1"), tmp_path)
    assert (err.line, err.key) == (15, "stride.null")
    assert str(err).endswith(":15: stride.null is not a known key (allowed: min, max)")


def test_a_quoted_bias_value_names_the_allowed_values(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 18, "bias: ['true']"), tmp_path)
    assert err.line == 18
    assert str(err).endswith(":18: bias.true is not a known bias value (known: true or false; got 'true')")
