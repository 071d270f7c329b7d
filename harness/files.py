"""Whole-file writes: a file the harness writes is either its old self or complete, never truncated.

A run can be killed at any moment (CI time limits, Ctrl-C, the machine's OOM killer). Reports,
audit results and the port store are read by other tools, and the port store is read, extended and
rewritten, so a write cut short would lose earlier entries. Each file is therefore written to a
temporary file beside it and renamed over it (``os.replace`` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


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
