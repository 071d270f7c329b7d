"""Whole-file writes: a file the harness writes is either its old self or complete, never truncated.

A run can be killed at any moment (CI time limits, Ctrl-C, the machine's OOM killer). Reports,
audit results and the port store are read by other tools, and the port store is read, extended and
rewritten, so a write cut short would lose earlier entries. Each file is therefore written to a
temporary file beside it and renamed over it (``os.replace`` is atomic on POSIX and Windows).
:func:`writable_folder` checks, before anything is written, that a folder the user named can be.
"""

from __future__ import annotations

import errno
import os
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
