"""``run``'s exit status for each outcome (README, "Exit status of every command"), its known
findings and baseline, and runs that do not depend on the local findings store."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cli_processes import BUGGY, CORRECT, finish, new_folder, start
from targets_for_tests import THREE_BUGS_SPEC

from harness.cli.exitcodes import ExitCode

ALL_KNOWN = """\
known:
  - target: test.three_bugs
    reason: the three bugs of the test target are deliberate
    link: https://example.org/three-bugs
"""


def _run(cwd: Path, spec: Path, targets: str, out: str, *extra: str) -> subprocess.Popen[str]:
    argv = ["-m", "harness", "run", "--targets", targets, "--spec", str(spec), "--profile", "ci"]
    return start([*argv, "--quiet", "--out", str(cwd / out), *extra], cwd)


@dataclasses.dataclass
class Runs:
    folders: dict[str, Path]
    done: dict[str, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, spec_path: Path) -> Runs:
    """Every run of this module, started together (then the ones that need a first run's folder)."""
    names = ["correct", "buggy", "known", "bad_known", "trt", "trt_allowed", "mixed", "mixed_allowed", "none"]
    folders = {name: new_folder(tmp_path_factory, name) for name in names}
    (folders["known"] / "known.yaml").write_text(ALL_KNOWN, encoding="utf-8")
    (folders["bad_known"] / "known.yaml").write_text("known:\n  - target: x\n    reasons: typo\n", "utf-8")
    unexpressible = folders["none"] / "unexpressible.yaml"
    unexpressible.write_text(
        THREE_BUGS_SPEC.replace("three_bugs_small", "unexpressible").replace(
            "layouts: [channels_first]", "layouts: [channels_last]"
        ),
        encoding="utf-8",
    )
    known, bad = folders["known"] / "known.yaml", folders["bad_known"] / "known.yaml"
    clean = folders["correct"] / "clean.yaml"  # the same space without groups, dilation or bias=False
    clean.write_text(
        THREE_BUGS_SPEC.replace("groups: {min: 1, max: 2}", "groups: 1")
        .replace("dilation: {min: 1, max: 2}", "dilation: 1")
        .replace("bias: [true, false]", "bias: [true]"),
        encoding="utf-8",
    )
    first = {
        "correct": _run(folders["correct"], spec_path, CORRECT, "out"),
        "buggy": _run(folders["buggy"], spec_path, BUGGY, "out"),
        "known": _run(folders["known"], spec_path, BUGGY, "out", "--known", str(known)),
        "bad_known": _run(folders["bad_known"], spec_path, BUGGY, "out", "--known", str(bad)),
        "trt": _run(folders["trt"], spec_path, "tensorrt", "out"),
        "trt_allowed": _run(folders["trt_allowed"], spec_path, "tensorrt", "out", "--allow-unavailable"),
        "mixed": _run(folders["mixed"], spec_path, f"{CORRECT},tensorrt", "out"),
        "mixed_allowed": _run(
            folders["mixed_allowed"], spec_path, f"{CORRECT},tensorrt", "out", "--allow-unavailable"
        ),
        "none": _run(folders["none"], unexpressible, CORRECT, "out"),
    }
    done = {name: finish(p) for name, p in first.items()}
    # the same checkout (and findings store) as "buggy": a second run, compared with the first
    cwd = folders["buggy"]
    second = {
        "again": _run(cwd, spec_path, BUGGY, "again", "--baseline", str(cwd / "out")),
        "replayed": _run(cwd, spec_path, BUGGY, "replayed", "--replay"),
        "fixed": _run(folders["correct"], clean, BUGGY, "fixed", "--baseline", str(cwd / "out")),
    }
    done |= {name: finish(p) for name, p in second.items()}
    return Runs(folders, done)


def _status(runs: Runs, name: str) -> int:
    done = runs.done[name]
    return done.returncode


def _records(folder: Path) -> list[tuple[str, str]]:
    lines = (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return [(json.dumps(r["case"], sort_keys=True), r["outcome"]) for r in map(json.loads, lines)]


def test_exit_0_when_nothing_is_new_and_1_on_new_findings(runs: Runs) -> None:
    assert _status(runs, "correct") == ExitCode.OK, runs.done["correct"].stderr
    assert _status(runs, "buggy") == ExitCode.NEW_FINDINGS, runs.done["buggy"].stderr


def test_known_findings_do_not_fail_a_run_and_are_listed_with_their_reason(runs: Runs) -> None:
    done = runs.done["known"]
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert "0 new, 3 known, 0 fixed finding(s); 0 stale known-findings entries" in done.stdout
    assert "the three bugs of the test target are deliberate — https://example.org/three-bugs" in done.stdout
    summary = json.loads((runs.folders["known"] / "out" / "summary.json").read_text(encoding="utf-8"))
    assert {f["status"] for f in summary["findings"]} == {"known"} and len(summary["findings"]) == 3


def test_exit_2_on_a_bad_known_file_before_anything_is_written(runs: Runs) -> None:
    done = runs.done["bad_known"]
    assert done.returncode == ExitCode.USAGE
    where = runs.folders["bad_known"] / "known.yaml"
    assert f"error: {where}:2: known[0].reason is required but missing" in done.stderr
    assert f"{where}:3: known[0].reasons is not a known key" in done.stderr
    assert not (runs.folders["bad_known"] / "out").exists()


def test_exit_4_when_every_named_target_is_unavailable_unless_allowed(runs: Runs) -> None:
    assert _status(runs, "trt") == ExitCode.NOTHING_JUDGED, runs.done["trt"].stdout
    assert "tensorrt" in runs.done["trt"].stdout and "unavailable" in runs.done["trt"].stdout
    assert _status(runs, "trt_allowed") == ExitCode.OK


def test_exit_4_when_a_named_target_is_unavailable_unless_allowed(runs: Runs) -> None:
    assert _status(runs, "mixed") == ExitCode.NOTHING_JUDGED
    assert _status(runs, "mixed_allowed") == ExitCode.OK


def test_exit_4_when_every_pair_judged_no_case(runs: Runs) -> None:
    done = runs.done["none"]
    assert done.returncode == ExitCode.NOTHING_JUDGED, done.stdout + done.stderr
    assert "judged no case" in done.stdout


def test_run_baseline_makes_the_same_findings_not_new(runs: Runs) -> None:
    done = runs.done["again"]
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert "0 new, 3 known, 0 fixed finding(s)" in done.stdout
    summary = json.loads((runs.folders["buggy"] / "again" / "summary.json").read_text(encoding="utf-8"))
    assert summary["triage"]["new"] == [] and summary["comparison"]["unchanged"]


def test_run_baseline_says_fixed_when_the_target_ran_without_them(runs: Runs) -> None:
    done = runs.done["fixed"]
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert "0 new, 0 known, 3 fixed finding(s)" in done.stdout
    root = ET.parse(runs.folders["correct"] / "fixed" / "junit.xml").getroot()
    fixed = [c for c in root.iter("testcase") if c.get("classname") == "findings.fixed"]
    assert len(fixed) == 3 and all(c.find("failure") is None for c in fixed)


def test_a_second_run_in_the_same_checkout_judges_the_same_cases(runs: Runs) -> None:
    """The first run added its findings to the checkout's store; the second does not replay them
    unless asked, so it draws, judges and finds exactly what the first did."""
    first, again = runs.folders["buggy"] / "out", runs.folders["buggy"] / "again"
    assert (runs.folders["buggy"] / "findings-store.jsonl").read_text(encoding="utf-8").count("\n") == 3
    assert _records(again) == _records(first)
    meta = json.loads((again / "run.json").read_text(encoding="utf-8"))
    assert meta["replay"] == {} and meta["replay_store"] is None


def test_replay_of_the_store_is_opt_in_and_recorded(runs: Runs) -> None:
    replayed = runs.folders["buggy"] / "replayed"
    meta = json.loads((replayed / "run.json").read_text(encoding="utf-8"))
    assert meta["replay_store"] == str(runs.folders["buggy"] / "findings-store.jsonl")
    assert sum(len(v) for v in meta["replay"].values()) == 3
    assert _records(replayed) != _records(runs.folders["buggy"] / "out")  # the stored cases come first


def test_default_targets_tolerate_some_unavailable_named_ones_do_not() -> None:
    from types import SimpleNamespace

    from harness.cli.verdict import run_status
    from harness.engine.tally import RunReport

    run = RunReport(out_dir=Path("."), unavailable={"tensorrt": "not installed"})
    run.tally("torch.nn", "spec", "pass", "")
    report: Any = SimpleNamespace(triage=SimpleNamespace(has_new=lambda cases: False), cases=[])
    every = ["torch.nn", "tensorrt"]
    assert run_status(run, report, requested=every, named=False, allow_unavailable=False) == ExitCode.OK
    assert run_status(run, report, requested=every, named=True, allow_unavailable=False) == 4
    assert run_status(run, report, requested=every, named=True, allow_unavailable=True) == ExitCode.OK
