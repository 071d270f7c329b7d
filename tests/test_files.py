"""Whole-file writes: an interrupted write leaves the previous file, never a truncated one."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from harness.files import replace_atomically, write_text_atomic


def test_write_text_atomic_creates_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    assert write_text_atomic(path, "first ✓\n") == path
    assert path.read_text(encoding="utf-8") == "first ✓\n"
    write_text_atomic(path, "second\n")
    assert path.read_text(encoding="utf-8") == "second\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_write_cut_short_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "ports.json"
    path.write_text("every earlier port\n", encoding="utf-8")

    def half_then_fail(handle: BinaryIO) -> None:
        handle.write(b'{"ports": [')
        raise KeyboardInterrupt  # what a Ctrl-C in the middle of a write looks like

    with pytest.raises(KeyboardInterrupt):
        replace_atomically(path, half_then_fail)
    assert path.read_text(encoding="utf-8") == "every earlier port\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ports.json"]
