"""Whole-file writes: a file the harness writes is either its old self or complete, never truncated.

A run can be killed at any moment (CI time limits, Ctrl-C, the machine's OOM killer). Reports,
audit results and the port store are read by other tools, and the port store is read, extended and
rewritten, so a write cut short would lose earlier entries. Each file is therefore written to a
temporary file beside it and renamed over it (``os.replace`` is atomic on POSIX and Windows). A
folder of files (a finding's) is written the same way, into a temporary folder beside it.
:func:`writable_folder` checks, before anything is written, that a folder the user named can be.

:func:`contained` is the check for paths read out of files that may have been edited: a path is
followed only when it lies inside the folder it belongs to.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from harness.errors import UnusablePath


def writable_folder(path: Path, option: str) -> Path:
    """Create the folder ``path`` (and its parents) and check that a file can be written in it.

    :class:`~harness.errors.UnusablePath` names ``option`` (``--out``), the folder and what is
    wrong when it is a file or cannot be created or written (read-only, no permission). A full disk
    is not bad input: its ``OSError`` is raised as it is.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UnusablePath(f"{option} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise
        raise UnusablePath(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def replace_atomically(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write`` on a temporary binary file beside ``path``, then move it to ``path``.

    If ``write`` raises (or the process dies), ``path`` keeps its previous content, and no temporary
    file is left behind when an exception unwinds.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` in one piece (see :func:`replace_atomically`)."""
    data = text.encode("utf-8")
    return replace_atomically(path, lambda handle: handle.write(data))


def replace_folder_atomically(folder: Path, fill: Callable[[Path], object]) -> Path:
    """Call ``fill`` on an empty temporary folder beside ``folder``, then move it to ``folder``.

    ``folder`` is therefore either absent or complete. A folder already there is replaced (moved
    aside first, then deleted); the temporary folder is removed when ``fill`` raises.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
    for stale in (tmp, old):  # left by an earlier process of the same id, killed
        shutil.rmtree(stale, ignore_errors=True)
    try:
        tmp.mkdir()
        fill(tmp)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return folder


def remove_stale_folders(parent: Path) -> list[str]:
    """Remove the temporary folders :func:`replace_folder_atomically` left in ``parent`` when its
    process was killed; returns their names. Only for a folder no other process is writing into."""
    removed = []
    if parent.is_dir():
        for path in parent.iterdir():
            if path.name.startswith(".") and path.name.endswith((".tmp", ".old")) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
    return removed


def contained(root: Path, path: Path | str) -> Path | None:
    """``path`` (relative to ``root``, or absolute) resolved, if it lies inside ``root``; else None.

    Symbolic links are followed before the check, so a link inside ``root`` that points out of it
    is refused too.
    """
    base = Path(root).resolve()
    try:
        resolved = (base / path).resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte in the name
        return None
    return resolved if resolved.is_relative_to(base) else None
