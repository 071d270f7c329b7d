"""Whole runs against misbehaving targets: nothing kills the run, nothing is lost, a killed or
interrupted run resumes (``python -m harness run`` in a subprocess, its targets in their workers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.engine.results import read_results
from harness.model.outcomes import Outcome

ROOT = Path(__file__).resolve().parents[2]

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
