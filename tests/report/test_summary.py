"""summary.json agrees with the records and is strict JSON."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from report_runs import read_records, strict_json


def test_summary_counts_agree_with_records(buggy_run: Path) -> None:
    records = read_records(buggy_run)
    cases = [r for r in records if not r["minimal"]]
    summary = strict_json(buggy_run / "summary.json")
    assert summary["totals"]["cases"] == len(cases)
    assert {k: v for k, v in summary["totals"]["outcomes"].items() if v} == dict(
        Counter(r["outcome"] for r in cases)
    )
    for target in {r["target"] for r in cases}:
        mine = Counter(r["outcome"] for r in cases if r["target"] == target)
        assert {k: v for k, v in summary["targets"][target]["outcomes"].items() if v} == dict(mine)
    sigs = {r["signature"] for r in records if r["minimal"]}
    assert {f["signature"] for f in summary["findings"]} == sigs and len(sigs) == 3
    assert {f["kind"] for f in summary["findings"]} == {"value", "shape", "error"}
    assert summary["failed"] is True
    assert summary["unavailable"] == {"paddle.nn": ["paddlepaddle is not installed"]}


def test_summary_writes_infinity_as_text(buggy_run: Path) -> None:
    value = next(f for f in strict_json(buggy_run / "summary.json")["findings"] if f["kind"] == "value")
    recorded = next(r for r in read_records(buggy_run) if r["minimal"] and r["outcome"] == "value_mismatch")
    ratio = recorded["stats"]["error_ratio"]
    assert value["stats"]["error_ratio"] == ("inf" if ratio == float("inf") else ratio)
