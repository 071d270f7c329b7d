"""The report tests' shared run folder (helpers in ``report_runs``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runs import buggy_entries, make_run

from harness.report.write import write_report


@pytest.fixture(scope="session")
def buggy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with every outcome but crash/timeout/doc_mismatch, its report written."""
    folder = make_run(
        tmp_path_factory.mktemp("buggy"),
        buggy_entries(),
        run_id="run-a",
        unavailable={"paddle.nn": "paddlepaddle is not installed"},
    )
    write_report([folder])
    return folder
