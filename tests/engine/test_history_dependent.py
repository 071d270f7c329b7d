"""Failures that depend on what the worker ran before: checked in a fresh worker, kept unshrunk with
their case sequence, and a killed-and-resumed run ends with exactly the findings of an uncut one.

``HistoryTarget`` is wrong on every fourth case its process runs, whatever the case;
``ThreeBugTarget`` has three bugs that any process reproduces (``python -m harness run`` in a
subprocess, the targets in their workers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from targets_for_tests import write_spec

from harness.engine.findings import HISTORY_DEPENDENT
from harness.engine.results import read_results
from harness.model.outcomes import Outcome

ROOT = Path(__file__).resolve().parents[2]
TARGETS = "tests.targets_for_tests:HistoryTarget,tests.targets_for_tests:ThreeBugTarget"


def _command(out: Path, spec: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harness",
        "run",
        "--targets",
        TARGETS,
        "--spec",
        str(spec),
        "--profile",
        "ci",
        "--seed",
        "11",
        "--out",
        str(out),
        "--quiet",
    ]


def _env(tmp_path: Path, store: str) -> dict[str, str]:
    # a findings store of its own per run: a run replays what an earlier one stored
    return dict(os.environ, PYTHONPATH=str(ROOT), CONVT_FINDINGS_DB=str(tmp_path / f"{store}.jsonl"))


def _whole_run(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path / "whole"
    proc = subprocess.run(
        _command(out, write_spec(tmp_path)),
        cwd=ROOT,
        env=_env(tmp_path, "whole"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr
    return out, read_results(out / "results.jsonl")


def test_a_history_dependent_failure_is_one_unshrunk_finding_with_its_case_sequence(tmp_path: Path) -> None:
    out, records = _whole_run(tmp_path)
    history = [r for r in records if r["target"] == "test.history"]
    failing = [r for r in history if not r["minimal"] and r["outcome"] == Outcome.VALUE_MISMATCH]
    assert len(failing) >= 10  # every fourth case its worker ran
    (finding,) = [r for r in history if r["minimal"]]
    assert (finding["outcome"], finding["detail"]) == (Outcome.VALUE_MISMATCH, HISTORY_DEPENDENT)
    assert finding["observed_detail"] == "beyond_bound"
    assert finding["signature"] == "test.history|value_mismatch|history_dependent|beyond_bound"
    assert "not reproduced in a fresh worker" in finding["message"]
    # kept as it failed (not shrunk), with the cases its worker had run, itself last
    assert finding["case"] == failing[0]["case"]
    lines = (out / finding["finding_dir"] / "history.jsonl").read_text().splitlines()
    assert len(lines) == finding["history_cases"] and len(lines) % 4 == 0
    assert json.loads(lines[-1]) == finding["case"]
    assert "--history" in (out / finding["finding_dir"] / "README.txt").read_text()
    # alone the case passes; after the cases its worker had run, it fails as recorded
    repro = [sys.executable, "-m", "harness", "repro", str(out / "results.jsonl"), str(finding["line"])]
    alone = subprocess.run(repro, cwd=ROOT, env=_env(tmp_path, "repro"), capture_output=True, text=True)
    assert alone.returncode == 1 and "now:      pass" in alone.stdout, alone.stdout + alone.stderr
    replayed = subprocess.run(
        [*repro, "--history"], cwd=ROOT, env=_env(tmp_path, "repro"), capture_output=True, text=True
    )
    assert replayed.returncode == 0 and "now:      value_mismatch" in replayed.stdout, replayed.stderr
    # the reproducible bugs of the other target are shrunk and recorded as before
    bugs = {(r["outcome"], r["detail"]) for r in records if r["target"] == "test.three_bugs" and r["minimal"]}
    assert bugs == {
        (Outcome.ERROR, "RuntimeError"),
        (Outcome.VALUE_MISMATCH, "beyond_bound"),
        (Outcome.SHAPE_MISMATCH, "shape"),
    }


def test_a_killed_and_resumed_run_ends_with_the_findings_of_an_uncut_run(tmp_path: Path) -> None:
    _, expected = _whole_run(tmp_path)
    spec = write_spec(tmp_path)
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        _command(cut, spec),
        cwd=ROOT,
        env=_env(tmp_path, "cut"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results = cut / "results.jsonl"
    deadline = time.monotonic() + 300
    history_records = sum(1 for r in expected if r["target"] == "test.history")
    while time.monotonic() < deadline:  # cut inside the history-dependent target's exploration
        if results.exists() and len(read_results(results)) >= history_records // 2:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_results(results)
    assert 0 < len(before) < len(expected)
    resumed = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--resume", str(cut), "--quiet"],
        cwd=ROOT,
        env=_env(tmp_path, "cut"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 1, resumed.stderr
    after = read_results(results)

    def findings(records: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
        return {
            (r["target"], r["signature"], json.dumps(r["case"], sort_keys=True))
            for r in records
            if r["minimal"]
        }

    def cases(records: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
        return Counter(
            (r["target"], json.dumps(r["case"], sort_keys=True), r["outcome"], r["detail"])
            for r in records
            if not r["minimal"]
        )

    assert findings(after) == findings(expected)
    assert cases(after) == cases(expected)


def test_a_crash_from_an_outside_sigkill_is_not_presented_as_reproducible(tmp_path: Path) -> None:
    # the worker is SIGKILLed once, from outside the framework: the crash is recorded, but the fresh
    # worker does not reproduce it, so the finding says so instead of blaming the case
    out = tmp_path / "out"
    command = _command(out, write_spec(tmp_path))
    command[command.index(TARGETS)] = "tests.targets_for_tests:KilledOnceTarget"
    env = dict(_env(tmp_path, "killed"), CONVT_TEST_KILL_MARKER=str(tmp_path / "killed"))
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    records = read_results(out / "results.jsonl")
    crashes = [r for r in records if not r["minimal"] and r["outcome"] == Outcome.CRASH]
    assert len(crashes) == 1
    (finding,) = [r for r in records if r["minimal"]]
    assert (finding["outcome"], finding["detail"]) == (Outcome.CRASH, HISTORY_DEPENDENT)
    assert finding["case"] == crashes[0]["case"]  # kept as it failed, not shrunk
    assert Counter(r["outcome"] for r in records if not r["minimal"])[Outcome.PASS] == len(records) - 2
