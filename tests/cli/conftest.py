"""The command-line tests' shared spec (the subprocess helpers are in ``cli_processes``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_processes import new_folder
from targets_for_tests import write_spec


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small spec in which ThreeBugTarget's three bugs show."""
    return write_spec(new_folder(tmp_path_factory, "spec"))
