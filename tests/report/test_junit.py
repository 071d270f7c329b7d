"""junit.xml agrees with the records and survives what frameworks put in messages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
from report_runs import PASSING, Entry, make_run, read_records
from targets_for_tests import CorrectTarget

from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.report.write import write_report


def test_junit_counts_agree_with_records(buggy_run: Path) -> None:
    root = ET.parse(buggy_run / "junit.xml").getroot()
    records = read_records(buggy_run)
    cases = [r for r in records if not r["minimal"]]
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    for target in {r["target"] for r in cases}:
        mine = Counter(r["outcome"] for r in cases if r["target"] == target)
        suite = suites[target]
        assert int(suite.get("tests")) == sum(mine.values()) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == mine["value_mismatch"] + mine["shape_mismatch"]
        assert int(suite.get("errors")) == mine["error"]
        assert int(suite.get("skipped")) == mine["unsupported"]
        assert len(suite.findall("testcase/failure")) == int(suite.get("failures"))
        assert len(suite.findall("testcase/error")) == int(suite.get("errors"))
    findings = suites["findings"]
    assert sorted(tc.get("name") for tc in findings.findall("testcase")) == sorted(
        r["signature"] for r in records if r["minimal"]
    )
    assert int(root.get("tests")) == len(cases) + len(findings.findall("testcase"))


def test_junit_survives_control_characters(tmp_path: Path) -> None:
    class AnsiTarget(CorrectTarget):
        name = "test.ansi"

        def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
            raise RuntimeError("\x1b[31mred\x1b[0m failure \x00")

    folder = make_run(tmp_path, [Entry(AnsiTarget(), PASSING[0], True)], run_id="ansi")
    write_report([folder])
    error = ET.parse(folder / "junit.xml").getroot().find("testsuite/testcase/error")
    assert error is not None and "red" in error.get("message")
