"""What the worker tests share: short limits, a log folder per test, every worker stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.workers.worker import SETTINGS, WorkerSettings, configure, shutdown_all


@pytest.fixture
def limits(tmp_path: Path) -> Iterator[WorkerSettings]:
    """Short limits and a log folder of the test's own; every worker stopped afterwards."""
    saved = (SETTINGS.case_timeout, SETTINGS.memory_limit_mb, SETTINGS.log_dir)
    configure(case_timeout=8, memory_limit_mb=400, log_dir=tmp_path / "logs")
    try:
        yield SETTINGS
    finally:
        shutdown_all()
        (SETTINGS.case_timeout, SETTINGS.memory_limit_mb, SETTINGS.log_dir) = saved
