"""Hostile specs: each is refused quickly, in bounded memory, with a ``file:line: rule`` message;
and a spec is loaded once per run.

The inputs that could hang the loader or exhaust memory (an endless or huge file, a FIFO) are loaded
in a child process under an address-space limit and a timeout.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import harness.spec.loader as loader
from harness.cli.main import main
from harness.errors import SpecError
from harness.spec.loader import load_spec
from tests.spec.spec_texts import VALID, replace_line, write_yaml

REPO = Path(__file__).resolve().parents[2]
MAX_SPEC_BYTES = 1 << 20  # the cap README.md states (harness.spec.loader.MAX_SPEC_BYTES)
CHILD_MEMORY = 1 << 30  # address space of a child; the loader itself needs under 200 MiB
CHILD_TIMEOUT = 30.0  # seconds; a refusal takes well under one

_CHILD = """
import json, resource, sys
from harness.errors import SpecError
from harness.spec.loader import load_spec
try:
    load_spec(sys.argv[1])
    message = None
except SpecError as exc:
    message = str(exc)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
