"""``python -m harness report``: the files are written and the exit status follows --fail-on."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runs import PASSING, Entry, buggy_entries, make_run, report_cli
from targets_for_tests import CorrectTarget


def test_cli_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = make_run(tmp_path / "clean", [Entry(CorrectTarget(), c) for c in PASSING], run_id="clean")
    buggy = make_run(tmp_path / "buggy", buggy_entries(), run_id="buggy")
    assert report_cli([str(clean)]) == 0
    assert (clean / "report.html").exists() and (clean / "junit.xml").exists()
    assert str(clean / "report.html") in capsys.readouterr().out
    assert report_cli([str(buggy)]) == 1
    assert report_cli([str(buggy), "--fail-on", "never"]) == 0
    assert report_cli([str(buggy), "--baseline", str(buggy)]) == 0  # nothing new
    assert report_cli([str(buggy), "--baseline", str(clean)]) == 1  # three new findings
    assert report_cli([str(tmp_path / "nowhere")]) == 2
