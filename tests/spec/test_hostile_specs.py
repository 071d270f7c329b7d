"""A run loads each spec file once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import harness.spec.loader as loader
from harness.cli.main import main
from tests.spec.spec_texts import VALID, write_yaml

# --- one load per run ------------------------------------------------------------------------


def test_a_run_loads_each_spec_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write_yaml(tmp_path, VALID)
    parsed: list[str] = []
    real = loader.parse_spec

    def counted(text: str, path: str | os.PathLike[str] | None = None) -> Any:
        parsed.append(str(path))
        return real(text, path)

    monkeypatch.setattr(loader, "parse_spec", counted)
    monkeypatch.chdir(tmp_path)  # the findings store is relative to the working folder
    argv = ["run", "--targets", "tests.targets_for_tests:CorrectTarget", "--spec", str(spec), "--in-process"]
    status = main([*argv, "--quiet", "--profile", "dev", "--out", str(tmp_path / "out")])
    assert status == 0
    assert parsed == [str(spec)]
