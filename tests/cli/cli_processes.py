"""The subprocesses of the command-line and pytest-plugin tests: ``python -m harness …`` and
``python -m pytest …`` in a folder of their own, with the repository importable and a private
findings store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUGGY = "tests.targets_for_tests:ThreeBugTarget"
CORRECT = "tests.targets_for_tests:CorrectTarget"
TIMEOUT = 300


def child_env(tmp: Path) -> dict[str, str]:
    """The child environment: the repository importable, a private findings store, no outer pytest/CI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k not in ("CI", "COV_CORE")}
    env.pop("CONVT_HYPOTHESIS_PROFILE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["CONVT_FINDINGS_DB"] = str(tmp / "findings-store.jsonl")
    env["OPENBLAS_THREAD_TIMEOUT"] = "4"
    return env


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``python ARGS`` started in ``cwd``, its output captured."""
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        env=child_env(cwd),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    """Wait for a started process (at most ``TIMEOUT`` seconds) and return its result."""
    out, err = proc.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def new_folder(factory: pytest.TempPathFactory, name: str) -> Path:
    """A fresh temporary folder named after ``name``."""
    return factory.mktemp(name)


def run_pytest(folder: Path, spec: Path, targets: str, *extra: str) -> subprocess.Popen[str]:
    """The plugin (``--convt-*`` options) started on an empty test folder inside ``folder``."""
    (folder / "tests").mkdir(exist_ok=True)  # an empty test folder
    return start(
        [
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--convt-targets",
            targets,
            "--convt-spec",
            str(spec),
            "--convt-profile",
            "ci",
            "--convt-out",
            str(folder / "reports"),
            *extra,
            "tests",
        ],
        folder,
    )
