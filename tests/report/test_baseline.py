"""A baseline compares findings by signature; a target that did not run now fixes nothing."""

from __future__ import annotations

from pathlib import Path

from report_runs import PASSING, Entry, buggy_entries, make_run, read_records, strict_json
from targets_for_tests import CorrectTarget

from harness.report.write import write_report


def test_baseline_new_fixed_unchanged(tmp_path: Path) -> None:
    old = make_run(tmp_path / "old", buggy_entries(shape=False), run_id="old")  # value + error
    new = make_run(tmp_path / "new", buggy_entries(error=False), run_id="new")  # value + shape
    write_report([new], baseline=old)
    sigs = {f["kind"]: f["signature"] for f in strict_json(new / "summary.json")["findings"]}
    old_sigs = {r["outcome"]: r["signature"] for r in read_records(old) if r["minimal"]}
    comparison = strict_json(new / "summary.json")["comparison"]
    assert comparison["new"] == [sigs["shape"]]
    assert comparison["fixed"] == [old_sigs["error"]]
    assert comparison["unchanged"] == [sigs["value"]]
    assert comparison["not_rerun"] == []
    html = (new / "report.html").read_text()
    assert 'id="cmp-new"' in html and 'id="cmp-fixed"' in html


def test_baseline_from_summary_and_targets_not_rerun(tmp_path: Path) -> None:
    old = make_run(tmp_path / "old", buggy_entries(), run_id="old")
    write_report([old])
    current = make_run(tmp_path / "now", [Entry(CorrectTarget(), c) for c in PASSING], run_id="now")
    write_report([current], baseline=old / "summary.json")
    comparison = strict_json(current / "summary.json")["comparison"]
    assert comparison["fixed"] == [] and comparison["new"] == []
    assert len(comparison["not_rerun"]) == 3  # test.three_bugs did not run now: not "fixed"
