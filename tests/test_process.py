"""The allocator setting of the harness's processes: applied by entry points, recorded with results."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import harness.process as allocator
from harness.engine.results import run_metadata

GLIBC = sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver())


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_tune_allocator_applies_glibc_thresholds_once() -> None:
    code = (
        "import harness.process as a; first = a.tune_allocator(); "
        "assert a.allocator_setting() == first == a.tune_allocator(), first; print(first)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "glibc mallopt: mmap_threshold=32 MiB, trim_threshold=1024 MiB"


def test_without_mallopt_the_setting_stays_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(allocator._state, "setting", "default")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: types.SimpleNamespace())  # no mallopt
    assert allocator.tune_allocator() == "default"
    assert allocator.allocator_setting() == "default"


def test_a_refused_threshold_leaves_the_setting_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(allocator._state, "setting", "default")

    class Libc:
        @staticmethod
        def mallopt(param: int, value: int) -> int:
            return 0  # glibc answers 0 when it refuses a value

    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: Libc())
    assert allocator.tune_allocator() == "default"


def test_run_metadata_records_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(allocator._state, "setting", "glibc mallopt: test")
    assert run_metadata()["allocator"] == "glibc mallopt: test"
