"""Isolated workers: a crash, abort, hang or memory blow-up becomes a result, and the run goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from targets_for_tests import CorrectTarget, MisbehavingTarget

from harness.engine.results import read_results
from harness.engine.verdict import judge
from harness.errors import RemoteError, RunFailure
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.workers.client import WorkerRunner, isolated
from harness.workers.worker import _WORKERS, SETTINGS, WorkerSettings, configure, shutdown_all

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def limits(tmp_path: Path) -> Iterator[WorkerSettings]:
    """Short limits and a log folder of the test's own; every worker stopped afterwards."""
    saved = (SETTINGS.case_timeout, SETTINGS.memory_limit_mb, SETTINGS.log_dir)
    configure(case_timeout=8, memory_limit_mb=400, log_dir=tmp_path / "logs")
    try:
        yield SETTINGS
    finally:
        shutdown_all()
        (SETTINGS.case_timeout, SETTINGS.memory_limit_mb, SETTINGS.log_dir) = saved


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


@pytest.mark.parametrize(
    ("channels", "outcome", "detail"),
    [
        (3, Outcome.CRASH, "SIGABRT"),
        (5, Outcome.CRASH, "SIGSEGV"),
        (7, Outcome.CRASH, "exit 3"),
        (9, Outcome.TIMEOUT, "8s"),
        (11, Outcome.CRASH, "memory_limit"),
    ],
)
def test_misbehaviour_becomes_an_outcome_and_the_worker_restarts(
    limits: WorkerSettings, channels: int, outcome: str, detail: str
) -> None:
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


# --- whole runs: nothing kills the run, nothing is lost, a killed run resumes --------------------

MISBEHAVING_SPEC = """\
name: misbehaving_small
rank: 1
max_elements: 512
batch: {min: 1, max: 1}
channels:
  groups: {min: 1, max: 1}
  in_per_group: {min: 1, max: 2}
  out_per_group: {min: 1, max: 2}
input_size: {min: 1, max: 6}
kernel_size: {min: 1, max: 3}
stride: {min: 1, max: 2}
dtypes: [float64]
layouts: [channels_first]
distributions: [normal]
pinned:
"""
# Misbehaviour only where a pinned case asks for it (generated cases have 1 or 2 channels), and
# the pinned cases are already minimal, so a timeout is not waited for again while shrinking.
PINNED = "".join(
    f"  - {{source: test, in_channels: {c}, out_channels: 1, input_size: 1, kernel_size: 1, "
    f"bias: false, dtype: float64}}\n"
    for c in [1, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10]
)


SLOW = "tests.targets_for_tests:SlowTarget"


def _run_command(out: Path, spec: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harness",
        "run",
        "--targets",
        "tests.targets_for_tests:MisbehavingTarget,tests.targets_for_tests:CorrectTarget",
        "--spec",
        str(spec),
        "--profile",
        "ci",
        "--out",
        str(out),
        "--quiet",
        "--case-timeout",
        "8",
        "--worker-memory-mb",
        "400",
        *extra,
    ]


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        CONVT_FINDINGS_DB=str(tmp_path / "store.jsonl"),
        HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / "hyp"),
    )


def test_a_run_survives_every_misbehaviour_and_loses_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "misbehaving.yaml"
    spec.write_text(MISBEHAVING_SPEC + PINNED, encoding="utf-8")
    out = tmp_path / "run"
    proc = subprocess.run(
        _run_command(out, spec), cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 1, proc.stderr  # findings → non-zero exit, but a finished run
    records = read_results(out / "results.jsonl")
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "complete"
    by_channels: dict[int, set[str]] = {}
    for rec in records:
        if rec["target"] == "test.misbehaving" and not rec["minimal"]:
            by_channels.setdefault(rec["case"]["in_channels"], set()).add(rec["outcome"])
    assert (
        by_channels[3] == {Outcome.CRASH}
        and by_channels[5] == {Outcome.CRASH}
        and by_channels[7] == {Outcome.CRASH}
    )
    assert by_channels[9] == {Outcome.TIMEOUT} and by_channels[11] == {Outcome.CRASH}
    for good in (1, 2, 4, 6, 8, 10):
        assert by_channels[good] == {Outcome.PASS}, good
    # the well-behaved target in the same run is untouched: every one of its results passes
    correct = [r for r in records if r["target"] == "test.correct"]
    assert len(correct) >= 100 and {r["outcome"] for r in correct} == {Outcome.PASS}
    # each kind of misbehaviour is one finding with a reproduction folder
    minimal = [r for r in records if r["minimal"]]
    assert {(r["outcome"], r["detail"]) for r in minimal} == {
        (Outcome.CRASH, "SIGABRT"),
        (Outcome.CRASH, "SIGSEGV"),
        (Outcome.CRASH, "exit 3"),
        (Outcome.TIMEOUT, "8s"),
        (Outcome.CRASH, "memory_limit"),
    }
    for rec in minimal:
        assert (out / rec["finding_dir"] / "snippet.py").exists()
    assert "SIGSEGV" in proc.stdout
    assert (out / "workers" / "misbehaving.log").exists()


def test_a_killed_run_resumes_without_repeating_or_losing_results(tmp_path: Path) -> None:
    spec = tmp_path / "misbehaving.yaml"
    spec.write_text(MISBEHAVING_SPEC + PINNED, encoding="utf-8")
    env = _env(tmp_path)
    whole = tmp_path / "whole"
    subprocess.run(
        _run_command(whole, spec, "--seed", "7"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    expected = read_results(whole / "results.jsonl")

    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        _run_command(cut, spec, "--seed", "7"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    results = cut / "results.jsonl"
    while time.monotonic() < deadline:  # kill it part-way: after some results, before the end
        if results.exists() and len(read_results(results)) >= len(expected) // 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_results(results)
    assert 0 < len(before) < len(expected)
    assert json.loads((cut / "run.json").read_text())["status"] == "running"

    resumed = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--resume", str(cut), "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 1, resumed.stderr
    after = read_results(results)
    assert after[: len(before)] == before  # nothing rewritten

    def key(rec: dict) -> tuple:
        return (rec["target"], rec["spec"], json.dumps(rec["case"], sort_keys=True), rec["minimal"])

    keys = [key(r) for r in after]
    assert len(keys) == len(set(keys)), "a result was repeated"
    assert set(keys) == {key(r) for r in expected}, "a result was lost or differs from an uncut run"
    assert json.loads((cut / "run.json").read_text())["status"] == "complete"


def _processes_with_env(marker: str) -> list[int]:
    """PIDs of live processes whose environment contains ``marker`` (Linux /proc)."""
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                pids.append(int(environ.parent.name))
        except OSError:  # gone, or not ours
            continue
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the workers through /proc")
@pytest.mark.parametrize(("sent", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_a_run_cleanly_and_it_resumes(tmp_path: Path, sent: int, status: int) -> None:
    """Ctrl-C in a terminal, or a CI system cancelling the job (SIGTERM)."""
    spec = tmp_path / "small.yaml"
    spec.write_text(MISBEHAVING_SPEC + PINNED, encoding="utf-8")
    env = _env(tmp_path)
    command = [
        sys.executable,
        "-m",
        "harness",
        "run",
        "--targets",
        SLOW,
        "--spec",
        str(spec),
        "--profile",
        "dev",
        "--quiet",
        "--seed",
        "11",
    ]
    whole = tmp_path / "whole"
    subprocess.run(
        [*command, "--out", str(whole)], cwd=ROOT, env=env, capture_output=True, timeout=600, check=False
    )
    expected = read_results(whole / "results.jsonl")

    cut = tmp_path / "cut"
    # SIGINT back to its default in the child: a shell starts background jobs (a CI runner's,
    # say) with SIGINT ignored, and Python raises no KeyboardInterrupt for an ignored signal.
    proc = subprocess.Popen(
        [*command, "--out", str(cut)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    results = cut / "results.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # 50 ms a case: seconds of run are left after a quarter
        if results.exists() and len(read_results(results)) >= len(expected) // 4:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, sent)  # Ctrl-C in a terminal signals the whole foreground group
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr and f"--resume {cut}" in stderr
    before = read_results(results)
    assert 0 < len(before) < len(expected)
    assert json.loads((cut / "run.json").read_text())["status"] == "interrupted"
    assert _processes_with_env(str(tmp_path / "store.jsonl")) == [], "a worker outlived the run"

    resumed = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--resume", str(cut), "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode in (0, 1), resumed.stderr
    after = read_results(results)
    assert after[: len(before)] == before
    assert sorted(json.dumps(r["case"], sort_keys=True) for r in after) == sorted(
        json.dumps(r["case"], sort_keys=True) for r in expected
    )
    assert json.loads((cut / "run.json").read_text())["status"] == "complete"


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
