"""Results records and finding folders survive what a third-party adapter may hand back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from targets_for_tests import CorrectTarget, ThreeBugTarget

from harness.engine.artefacts import write_finding
from harness.engine.results import ResultsWriter, make_record, read_results
from harness.engine.verdict import judge
from harness.model.case import Case

CASE = Case.make(input_size=(3, 3), kernel_size=2, stride=2, in_channels=2, out_channels=2, bias=False)


class _OddRunInfo(CorrectTarget):
    name = "test.odd_run_info"

    def run_info(self) -> dict[str, object]:
        return {"handle": object(), "count": np.int64(3), "cores": np.arange(2), "flags": {"b", "a"}}


def test_run_info_json_cannot_hold_is_written_plainly(tmp_path: Path) -> None:
    target = _OddRunInfo()
    writer = ResultsWriter(tmp_path)
    verdict = judge(CASE, target)
    assert writer.write(make_record(case=CASE, target=target, verdict=verdict, spec="s", run_id="r")) == 1
    writer.close()
    (record,) = read_results(tmp_path / "results.jsonl")
    info = record["run_info"]
    assert info["count"] == 3 and info["cores"] == [0, 1] and info["flags"] == ["a", "b"]
    assert info["handle"].startswith("<object object at")
    assert record["line"] == 1


def test_a_record_that_cannot_be_written_does_not_shift_line_numbers(tmp_path: Path) -> None:
    target = CorrectTarget()
    writer = ResultsWriter(tmp_path)
    good = make_record(case=CASE, target=target, verdict=judge(CASE, target), spec="s", run_id="r")
    circular: dict[str, object] = {}
    circular["self"] = circular
    try:
        writer.write(dict(good, run_info=circular))
    except ValueError:  # JSON's "Circular reference detected"
        pass
    assert writer.write(good) == 1
    writer.close()
    assert [r["line"] for r in read_results(tmp_path / "results.jsonl")] == [1]


class _BrokenSnippet(ThreeBugTarget):
    name = "test.broken_snippet"

    def snippet(self, case: Case, npz_name: str) -> str:
        raise ValueError("template bug")


def test_a_snippet_generator_that_raises_leaves_a_stand_in(tmp_path: Path) -> None:
    target = _BrokenSnippet()
    verdict = judge(CASE, target)  # bias=False: ThreeBugTarget raises, an error finding
    record = make_record(case=CASE, target=target, verdict=verdict, spec="s", run_id="r")
    folder = write_finding(
        tmp_path / "f",
        case=CASE,
        target=target,
        record=record,
        command="python -m harness repro results.jsonl 1",
    )
    assert json.loads((folder / "case.json").read_text()) == CASE.to_dict()
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "no standalone snippet: the target's snippet() raised ValueError: template bug" in readme
    ran = subprocess.run(
        [sys.executable, "snippet.py"], cwd=folder, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 1 and "no snippet: ValueError: template bug" in ran.stderr
    assert "python -m harness repro results.jsonl 1" in (folder / "snippet.py").read_text(encoding="utf-8")


def test_records_are_flushed_as_written_and_fsynced_by_the_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.engine.results as results

    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    target = CorrectTarget()
    record = make_record(case=CASE, target=target, verdict=judge(CASE, target), spec="s", run_id="r")
    writer = ResultsWriter(tmp_path)
    for _ in range(50):
        writer.write(record)
    # every record readable at once, by another reader (a killed run loses none)...
    assert len(read_results(tmp_path / "results.jsonl")) == 50
    # ...without a disk sync each: a second has not passed
    assert len(synced) < 5
    writer.write(dict(record, minimal=True))  # a finding's record is forced to the disk
    after_finding = len(synced)
    assert after_finding >= 1
    monkeypatch.setattr(results, "SYNC_SECONDS", 0.0)
    writer.write(record)
    assert len(synced) == after_finding + 1
    writer.close()
    assert len(synced) == after_finding + 2  # and the file on close
