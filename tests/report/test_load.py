"""Reading run folders: a truncated last line (a killed run) is skipped and counted."""

from __future__ import annotations

from pathlib import Path

from report_runs import buggy_entries, make_run, read_records, strict_json

from harness.report.write import write_report


def test_truncated_last_line_is_skipped(tmp_path: Path) -> None:
    folder = make_run(tmp_path, buggy_entries(), run_id="killed")
    complete = read_records(folder)
    with (folder / "results.jsonl").open("a") as fh:
        fh.write('{"run_id": "killed", "target": "test.correct", "outcome": "pa')
    write_report([folder])
    summary = strict_json(folder / "summary.json")
    assert summary["totals"]["cases"] == sum(not r["minimal"] for r in complete)
    assert summary["runs"][0]["skipped_lines"] == 1
    assert (
        f"1 damaged line skipped: line {len(complete) + 1} (not JSON)" in (folder / "report.html").read_text()
    )
