"""Fresh processes forked from a zygote (:mod:`harness.workers.forked`): a restart costs a fork, the
child has run nothing, and the main process owns it as it owns any worker: a crash, a hang or a
memory blow-up in it is that case's result and leaves the zygote as it was; it dies with the
zygote; it runs none of the zygote's clean-ups at exit; and a zygote whose framework started
threads is not forked at all."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from targets_for_tests import (
    MISBEHAVIOURS,
    AtExitTarget,
    ChattyTarget,
    CorrectTarget,
    MisbehavingTarget,
    ThreadedTarget,
    ThreeBugTarget,
)

from harness.engine.fresh import fresh_check
from harness.errors import RunFailure
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.workers.client import FreshRunner, forked_worker, isolated
from harness.workers.forked import ForkedWorker
from harness.workers.worker import _WORKERS, WorkerSettings, shutdown_all
from harness.workers.zygote import THREADS_STARTED

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forking is Linux only")


def case_with(channels: int = 1) -> Case:
    """A small 1D case (``channels`` picks MisbehavingTarget's behaviour)."""
    return Case.make(
        input_size=4, kernel_size=3, stride=2, in_channels=channels, out_channels=2, dtype="float64"
    )


def parent_of(pid: int) -> int:
    """The parent pid of a running process."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return int(fh.read().rpartition(")")[2].split()[1])


def fresh_runner(target: MisbehavingTarget | CorrectTarget | ThreadedTarget | AtExitTarget) -> FreshRunner:
    """A fresh runner with its zygote loading and its first process started."""
    runner = FreshRunner(target)
    runner.warm()
    runner.restart()
    return runner


def test_each_restart_forks_a_child_of_the_zygote_that_has_run_nothing(limits: WorkerSettings) -> None:
    runner = fresh_runner(MisbehavingTarget())
    pids = []
    for _ in range(3):
        assert isinstance(runner.worker, ForkedWorker)
        pid = runner.worker.proc.pid  # type: ignore[union-attr]
        assert runner.worker.history == []
        runner.run(case_with(), make_arrays(case_with()))
        assert parent_of(pid) == runner.zygote.proc.pid  # type: ignore[union-attr]
        assert runner.invoke("worker_pid") == pid
        pids.append(pid)
        runner.restart()
    assert len(set(pids)) == 3
    assert runner.zygote.starts == 1  # one framework import for every fresh process
    assert runner.zygote.history == []  # the zygote itself runs no case


def test_targets_of_one_framework_share_the_zygote_and_its_loads_answer_in_order(
    limits: WorkerSettings,
) -> None:
    first = fresh_runner(CorrectTarget())
    second = FreshRunner(ThreeBugTarget())
    second.warm()  # the zygote's reply to this load is still unread when the first restarts
    first.restart()
    first.run(case_with(), make_arrays(case_with()))
    second.restart()
    second.run(case_with(), make_arrays(case_with()))
    assert first.zygote is second.zygote and first.zygote.starts == 1
    assert len(first.zygote.loaded) == 2


@pytest.mark.parametrize(("channels", "outcome", "detail_form"), MISBEHAVIOURS)
def test_a_misbehaving_child_is_that_case_s_result_and_the_zygote_lives_on(
    limits: WorkerSettings, channels: int, outcome: str, detail_form: str
) -> None:
    detail = detail_form.format(timeout=f"{limits.case_timeout:g}")
    runner = fresh_runner(MisbehavingTarget())
    zygote_pid = runner.zygote.proc.pid  # type: ignore[union-attr]
    child = runner.worker.proc.pid  # type: ignore[union-attr]
    with pytest.raises(RunFailure) as failure:
        runner.run(case_with(channels), make_arrays(case_with(channels)))
    assert (failure.value.outcome, failure.value.detail) == (outcome, detail)
    assert not os.path.exists(f"/proc/{child}")  # killed or ended, and reaped by the zygote
    assert runner.zygote.alive and runner.zygote.proc.pid == zygote_pid  # type: ignore[union-attr]
    runner.run(case_with(), make_arrays(case_with()))  # the next case: a new fork, no new import
    assert runner.worker.proc.pid != child  # type: ignore[union-attr]
    assert runner.zygote.starts == 1


def test_each_child_writes_a_log_of_its_own(limits: WorkerSettings) -> None:
    # Two children can be alive at once (the turns of an importer): a crash's message quotes the
    # last lines of its own process's log, not another's.
    runner = fresh_runner(ChattyTarget())
    pids = []
    for _ in range(2):
        runner.run(case_with(), make_arrays(case_with()))
        pids.append(runner.worker.proc.pid)  # type: ignore[union-attr]
        child_log = runner.worker.log_path
        assert child_log is not None and child_log != runner.zygote.log_path
        assert f"case run by pid {pids[-1]}" in child_log.read_text(encoding="utf-8")
        runner.restart()
    zygote_log = runner.zygote.log_path
    assert zygote_log is not None and "case run by pid" not in zygote_log.read_text(encoding="utf-8")


def test_a_child_dies_with_its_zygote(limits: WorkerSettings) -> None:
    runner = fresh_runner(MisbehavingTarget())
    child = runner.worker.proc.pid  # type: ignore[union-attr]
    os.kill(runner.zygote.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{child}")  # the kernel ended it, and init reaped it


def test_a_child_runs_none_of_the_zygote_s_clean_ups_at_exit(
    limits: WorkerSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "at_exit.txt"
    monkeypatch.setenv("CONVT_TEST_AT_EXIT", str(ledger))
    runner = fresh_runner(AtExitTarget())
    children = []
    for _ in range(2):
        runner.run(case_with(), make_arrays(case_with()))
        children.append(runner.worker.proc.pid)  # type: ignore[union-attr]
        runner.worker.stop()  # polite: the child is asked to exit and ends normally
        runner.restart()
    zygote_pid = runner.zygote.proc.pid  # type: ignore[union-attr]
    shutdown_all()
    written = ledger.read_text(encoding="ascii").split() if ledger.exists() else []
    assert written == [str(zygote_pid)]  # the zygote's own exit ran it, no child's did


def test_a_zygote_whose_framework_started_threads_is_not_forked(limits: WorkerSettings) -> None:
    runner = FreshRunner(ThreadedTarget())  # asked to fork all the same
    runner.warm()
    runner.run(case_with(), make_arrays(case_with()))  # the first process: the zygote refuses
    forked = forked_worker("threaded")
    assert forked is not None and forked.refused is not None and "thread" in forked.refused
    assert forked.forks == 0
    zygote_starts = _WORKERS["threaded.zygote"].starts
    runner.restart()  # a spawned process from now on
    assert runner.worker is not forked
    runner.run(case_with(), make_arrays(case_with()))
    later = FreshRunner(ThreadedTarget())  # the next target of the framework: not asked again
    later.restart()
    later.run(case_with(), make_arrays(case_with()))
    assert _WORKERS["threaded.zygote"].starts == zygote_starts


def test_a_framework_whose_load_started_threads_forks_its_fresh_processes_from_an_importer(
    limits: WorkerSettings,
) -> None:
    target = isolated(ThreadedTarget())
    assert target.runner.environment()[THREADS_STARTED] == 1
    check = fresh_check(target)
    assert check is not None
    for _ in range(3):
        assert check.judge_fresh(case_with()).outcome == Outcome.PASS  # each in a new process
    assert "threaded.zygote" not in _WORKERS  # no zygote loaded the target only to refuse
    assert forked_worker("threaded") is None
    turns = [_WORKERS[f"threaded.fresh{turn}"] for turn in (0, 1)]
    assert all(isinstance(w, ForkedWorker) and w.refused is None for w in turns)
    importer = _WORKERS["threaded.importer"]
    assert importer.starts == 1
    assert sum(w.forks for w in turns) >= 4  # every process that took a turn was forked
    for worker in turns:
        if worker.alive:
            assert parent_of(worker.proc.pid) == importer.proc.pid  # type: ignore[union-attr]


IMPORTS_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from harness.workers import zygote
before = zygote.thread_count()
imported = zygote.import_thread_free(["plain", "threaded.sub", "threaded", "plain_too"], before)
ours = sorted(m for m in sys.modules if m.startswith(("plain", "threaded")))
print(json.dumps([imported, zygote.thread_count() - before, ours]))
"""


def test_the_importer_leaves_out_a_package_whose_import_starts_a_thread(tmp_path: Path) -> None:
    import json
    import subprocess

    (tmp_path / "plain.py").write_text("VALUE = 1\n")
    (tmp_path / "plain_too.py").write_text("VALUE = 2\n")
    (tmp_path / "threaded").mkdir()
    (tmp_path / "threaded" / "__init__.py").write_text("")
    (tmp_path / "threaded" / "sub.py").write_text(
        "import threading, time\nthreading.Thread(target=lambda: time.sleep(60), daemon=True).start()\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert done.returncode == 0, done.stderr
    imported, threads, modules = json.loads(done.stdout.splitlines()[-1])
    assert imported == ["plain", "plain_too"]
    assert threads == 0  # the probe that met the thread was a forked child of its own
    assert modules == ["plain", "plain_too"]


def test_a_framework_whose_load_started_no_thread_forks(limits: WorkerSettings) -> None:
    target = isolated(CorrectTarget())
    assert target.runner.environment()[THREADS_STARTED] == 0
    check = fresh_check(target)
    assert check is not None and check.judge_fresh(case_with()).outcome == Outcome.PASS
    forked = forked_worker(CorrectTarget.framework)
    assert forked is not None and forked.forks == 1
