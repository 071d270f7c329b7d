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


def test_a_folder_write_cut_short_keeps_the_old_folder_and_no_temporary(tmp_path: Path) -> None:
    from harness.files import replace_folder_atomically

    folder = tmp_path / "findings" / "00001-x"

    def two_files(tmp: Path) -> None:
        (tmp / "case.json").write_text("{}")
        (tmp / "README.txt").write_text("first")

    replace_folder_atomically(folder, two_files)

    def one_file_then_fail(tmp: Path) -> None:
        (tmp / "case.json").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_folder_atomically(folder, one_file_then_fail)
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "case.json"]
    assert (folder / "case.json").read_text() == "{}"
    assert [p.name for p in folder.parent.iterdir()] == ["00001-x"]


def test_contained_refuses_paths_and_links_that_lead_out(tmp_path: Path) -> None:
    from harness.files import contained

    root, outside = tmp_path / "run", tmp_path / "other"
    (root / "findings" / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "findings" / "link").symlink_to(outside, target_is_directory=True)
    assert contained(root, "findings/a") == (root / "findings" / "a").resolve()
    for rel in ("../other", str(outside), "findings/../../other", "findings/link"):
        assert contained(root, rel) is None, rel
