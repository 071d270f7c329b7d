"""Writing the report's files: any text survives, and a failed write keeps the previous report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from report_runs import PASSING, Entry, make_run, read_records
from targets_for_tests import CorrectTarget

from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.report.write import write_report


def test_undecodable_bytes_in_an_error_message_are_written_as_escapes(tmp_path: Path) -> None:
    class SurrogateTarget(CorrectTarget):
        name = "test.surrogate"

        def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
            raise RuntimeError("log: " + b"\xff\xfe".decode("utf-8", "surrogateescape"))

    folder = make_run(tmp_path, [Entry(SurrogateTarget(), PASSING[0], True)], run_id="bytes")
    html = write_report([folder])
    assert "log: \\udcff\\udcfe" in read_records(folder)[0]["message"]
    readme = next((folder / "findings").glob("*/README.txt")).read_text(encoding="utf-8")
    assert "log: \\udcff\\udcfe" in readme
    assert "log: \\udcff\\udcfe" in html.read_text(encoding="utf-8")


def test_a_failing_render_keeps_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.report import write as report_write

    folder = make_run(tmp_path, [Entry(CorrectTarget(), PASSING[0])], run_id="atomic")
    html = write_report([folder])
    before = html.read_text(encoding="utf-8")
    assert "</html>" in before.lower()

    def unencodable(*args: object, **kwargs: object) -> str:
        return "<html>a lone surrogate from some error text: \ud800</html>"  # fails inside the write

    monkeypatch.setattr(report_write, "render_html", unencodable)
    with pytest.raises(UnicodeEncodeError):
        write_report([folder])
    assert html.read_text(encoding="utf-8") == before  # not truncated, not emptied
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
