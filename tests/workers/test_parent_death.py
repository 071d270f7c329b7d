"""A worker dies with the process that started it, whatever it is doing: a harness killed with
SIGKILL (a CI runner's time limit, the OOM killer) leaves no worker behind, not even one stuck in a
hanging case, in its own session where a process-group kill does not reach it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

#: The harness stand-in: a worker runs a normal case, then the hanging one (MisbehavingTarget,
#: in_channels=9); the worker's pid is printed in between.
HARNESS = """\
import sys
from targets_for_tests import MisbehavingTarget
from harness.model.case import Case
from harness.model.arrays import make_arrays
from harness.workers.client import isolated
from harness.workers.worker import configure

configure(case_timeout=600, log_dir=__import__("pathlib").Path(sys.argv[1]))
runner = isolated(MisbehavingTarget()).runner

def case(channels):
    return Case.make(input_size=4, kernel_size=3, stride=2, in_channels=channels, out_channels=2,
                     dtype="float64")

runner.run(case(1), make_arrays(case(1)))
print(runner.worker.proc.pid, flush=True)
runner.start_run(case(9), make_arrays(case(9)))
print("hanging", flush=True)
runner.finish_run()
"""

#: A process that only watches its parent (no prctl): the fallback on its own.
WATCHER = """\
import os, sys, time
from harness.workers.server import watch_parent
watch_parent(int(sys.argv[1]), interval=0.05)
print(os.getpid(), flush=True)
time.sleep(600)
"""

#: Starts WATCHER as its own child and prints that child's pid.
WATCHER_PARENT = """\
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(__import__("os").getpid())],
                         stdout=subprocess.PIPE, text=True, start_new_session=True)
print(child.stdout.readline().strip(), flush=True)
time.sleep(600)
"""


IMPORT = "from harness.workers.server import watch_parent"


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]))


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for a reaper counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return _gone(pid)


def _kill_leftover(pid: int) -> None:
    """Kill a process this test started that outlived its parent (the failure being reported)."""
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")


def test_a_worker_in_a_hanging_case_dies_with_a_sigkilled_harness(tmp_path: Path) -> None:
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, str(tmp_path / "logs")],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert harness.stdout is not None
    line = harness.stdout.readline().strip()
    assert line.isdigit(), line + harness.communicate(timeout=60)[1]
    worker = int(line)
    try:
        assert harness.stdout.readline().strip() == "hanging"
        time.sleep(0.3)  # the worker is inside the case's sleep now
        assert not _gone(worker)
        harness.kill()
        harness.wait(timeout=30)
        assert _wait_gone(worker, 5), "the worker outlived the SIGKILLed harness"
    finally:
        harness.kill()
        harness.communicate(timeout=30)
        _kill_leftover(worker)


def test_the_watchdog_alone_ends_a_process_whose_parent_died(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", WATCHER_PARENT, WATCHER],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    watcher = int(parent.stdout.readline().strip())
    try:
        time.sleep(0.2)
        assert not _gone(watcher)
        parent.kill()
        parent.wait(timeout=30)
        assert _wait_gone(watcher, 5), "the watchdog did not end the orphan"
    finally:
        parent.kill()
        parent.communicate(timeout=30)
        _kill_leftover(watcher)


def test_a_worker_whose_parent_is_already_gone_ends_at_once(tmp_path: Path) -> None:
    """The parent may die before the worker sets its death signal: the pid check catches it."""
    not_parent = os.getpid()  # a pid that is not the child's parent: this one plus 10**7
    done = subprocess.run(
        [sys.executable, "-c", f"{IMPORT}; watch_parent({not_parent} + 10**7); print('still here')"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "still here" not in done.stdout
    assert done.returncode != 0
