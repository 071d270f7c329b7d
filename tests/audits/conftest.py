"""The audit tests' shared fixture: short worker limits and a log folder of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.workers.worker import SETTINGS, configure, shutdown_all


@pytest.fixture
def short_workers(tmp_path: Path) -> Iterator[None]:
    """Short limits and a log folder of the test's own; every worker stopped afterwards."""
    saved = (SETTINGS.case_timeout, SETTINGS.log_dir)
    configure(case_timeout=4, log_dir=tmp_path / "logs")
    try:
        yield
    finally:
        shutdown_all()
        SETTINGS.case_timeout, SETTINGS.log_dir = saved
