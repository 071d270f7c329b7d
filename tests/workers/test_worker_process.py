"""Isolated workers: a crash, abort, hang or memory blow-up becomes a result and the worker is
started again; exceptions come back by type; ``invoke`` reaches the target; shutdown stops every
worker, politely or, after Ctrl-C, by force."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from targets_for_tests import MISBEHAVIOURS, CorrectTarget, MisbehavingTarget

from harness.engine.verdict import judge
from harness.errors import RemoteError, RunFailure
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.workers.client import WorkerRunner, isolated
from harness.workers.worker import _WORKERS, WorkerSettings, shutdown_all


def case_with(channels: int, seed: int = 0) -> Case:
    """A small 1D case whose in_channels selects MisbehavingTarget's behaviour."""
    return Case.make(
        input_size=4,
        kernel_size=3,
        stride=2,
        in_channels=channels,
        out_channels=2,
        dtype="float64",
        seed=seed,
    )


def test_runs_in_another_process_and_reuses_it(limits: WorkerSettings) -> None:
    target = isolated(MisbehavingTarget())
    assert judge(case_with(1), target).outcome == Outcome.PASS
    pid = target.runner.worker.proc.pid
    assert pid != os.getpid()
    for seed in range(5):
        assert judge(case_with(2, seed), target).outcome == Outcome.PASS
    assert target.runner.worker.proc.pid == pid  # long-lived: one process for every case
    assert target.runner.environment()["isolated"] is True
    # the worker tuned its own allocator (harness.process) and OpenMP waits passively, and says so
    env = target.runner.environment()
    assert env["allocator"].startswith("glibc mallopt") or not sys.platform.startswith("linux")
    assert env["omp_wait_policy"] == os.environ.get("OMP_WAIT_POLICY", "PASSIVE")


@pytest.mark.parametrize(("channels", "outcome", "detail_form"), MISBEHAVIOURS)
def test_misbehaviour_becomes_an_outcome_and_the_worker_restarts(
    limits: WorkerSettings, channels: int, outcome: str, detail_form: str
) -> None:
    detail = detail_form.format(timeout=f"{limits.case_timeout:g}")
    target = isolated(MisbehavingTarget())
    assert judge(case_with(1), target).outcome == Outcome.PASS
    first_pid = target.runner.worker.proc.pid
    start = time.monotonic()
    verdict = judge(case_with(channels), target)
    assert verdict.outcome == outcome
    assert verdict.detail == detail
    assert "misbehaving worker" in verdict.message
    assert time.monotonic() - start < 30
    after = judge(case_with(2), target)
    assert after.outcome == Outcome.PASS
    assert target.runner.worker.proc.pid != first_pid


def test_crash_message_carries_the_last_lines_of_the_log(limits: WorkerSettings) -> None:
    verdict = judge(case_with(5), isolated(MisbehavingTarget()))
    assert verdict.outcome == Outcome.CRASH
    # PYTHONFAULTHANDLER in the worker prints the faulting stack into its log
    assert "Fatal Python error" in verdict.message or "Segmentation fault" in verdict.message


def test_exceptions_come_back_as_errors_with_their_type(limits: WorkerSettings) -> None:
    from targets_for_tests import ThreeBugTarget

    verdict = judge(case_with(1).replace(bias=False), isolated(ThreeBugTarget()))
    assert verdict.outcome == Outcome.ERROR
    assert verdict.detail == "RuntimeError"
    assert "bias=False is not implemented" in verdict.message


def test_isolated_is_idempotent_and_keeps_the_identity() -> None:
    inner = CorrectTarget()
    wrapped = isolated(inner)
    assert isolated(wrapped) is wrapped
    assert wrapped.name == inner.name and wrapped.api is inner  # the pure half is the target itself
    assert isinstance(wrapped.runner, WorkerRunner)
    assert wrapped.runner.framework == inner.framework and wrapped.runner.device == inner.device


def test_ctrl_c_while_waiting_for_workers_kills_them(
    limits: WorkerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = [isolated(CorrectTarget()), isolated(MisbehavingTarget())]
    for target in targets:
        assert judge(case_with(1), target).outcome == Outcome.PASS
    procs = [target.runner.worker.proc for target in targets]
    assert len(procs) == 2 and all(p is not None and p.poll() is None for p in procs)
    real_wait = subprocess.Popen.wait

    def interrupted_wait(self: subprocess.Popen[bytes], timeout: float | None = None) -> int:
        if timeout is not None:  # the polite wait: the user presses Ctrl-C during it
            raise KeyboardInterrupt
        return real_wait(self)

    monkeypatch.setattr(subprocess.Popen, "wait", interrupted_wait)
    with pytest.raises(KeyboardInterrupt):
        shutdown_all()
    monkeypatch.undo()
    assert all(p is not None and p.poll() is not None for p in procs), "a worker was left running"
    assert _WORKERS == {}


def test_invoke_calls_a_public_method_in_the_worker(limits: WorkerSettings) -> None:

    target = isolated(MisbehavingTarget())
    pid = target.runner.invoke("worker_pid")
    assert pid == target.runner.worker.proc.pid != os.getpid()
    with pytest.raises(RemoteError, match="not a public method"):
        target.runner.invoke("_private")
    with pytest.raises(RunFailure) as failure:
        target.runner.invoke("abort")
    assert failure.value.outcome == Outcome.CRASH and failure.value.detail == "SIGABRT"


def test_shutdown_asks_every_worker_first_and_each_exits_politely(limits: WorkerSettings) -> None:
    """All workers get "exit" before any is waited for; none has to be killed."""
    targets = [isolated(CorrectTarget()), isolated(MisbehavingTarget())]
    for target in targets:
        assert judge(case_with(1), target).outcome == Outcome.PASS
    procs = [target.runner.worker.proc for target in targets]
    assert len({p.pid for p in procs if p is not None}) == 2  # one process per framework
    events: list[tuple[str, str]] = []
    for target in targets:
        worker = target.runner.worker
        ask, stop = worker.request_exit, worker.stop
        worker.request_exit = (  # type: ignore[method-assign]
            lambda w=worker, f=ask: (events.append(("ask", w.framework)), f())[-1]
        )
        worker.stop = (  # type: ignore[method-assign]
            lambda kill=False, w=worker, f=stop: (events.append(("stop", w.framework)), f(kill))[-1]
        )
    shutdown_all()
    assert [kind for kind, _ in events] == ["ask", "ask", "stop", "stop"], events
    assert [p.returncode for p in procs if p is not None] == [0, 0]  # exited, not killed
