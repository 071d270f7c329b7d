"""A run folder has one writer: a lock held for the whole run or resume, and no new run into a
folder that already holds one.

Two processes appending to one ``results.jsonl`` would give two records each line number (so
``repro`` of one re-runs the other) and two minimal cases one finding folder. :func:`locked` takes
an exclusive ``flock`` on :data:`LOCK_NAME` in the folder, without waiting: the kernel drops it when
the process ends, however it ends (SIGKILL included), so a killed run never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import FolderLocked, FolderTaken
from harness.files import writable_folder

#: The lock file in a run folder; it holds the id and command line of the process holding the lock.
LOCK_NAME = "run.lock"
#: Files whose presence makes a folder one that already holds a run.
RUN_FILES = ("results.jsonl", "run.json")


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock while inside; raise :class:`FolderLocked` at once if another holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderLocked(
                f"{folder}: another run is writing into this folder ({_holder(path)}); a run folder "
                "takes one run or resume at a time: wait for that one to end, or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {shlex.join(sys.argv)}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _holder(path: Path) -> str:
    """Who holds the lock, as the lock file says (it may not have written itself in yet)."""
    try:
        pid, _, command = path.read_text(encoding="utf-8", errors="replace").strip().partition(" ")
    except OSError:
        return "a process that could not be named"
    if not pid.isdigit():
        return "a process that has not named itself yet"
    return f"process {pid}: {command}" if command else f"process {pid}"


def refuse_taken(folder: Path) -> None:
    """Raise :class:`FolderTaken` when ``folder`` already holds a run (see :data:`RUN_FILES`)."""
    present = [name for name in RUN_FILES if (folder / name).exists()]
    if present:
        raise FolderTaken(
            f"{folder}: already holds a run ({', '.join(present)}); a new run needs a folder of its "
            f"own: continue that one with `python -m harness run --resume {shlex.quote(str(folder))}`, "
            "or use another --out"
        )


def fresh_folder(parent: Path, run_id: str) -> Path:
    """A new, empty folder ``parent/run_id`` (``run_id-2``… when runs started in the same second)."""
    writable_folder(parent, "the reports folder")
    n = 1
    while True:
        folder = parent / (run_id if n == 1 else f"{run_id}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            n += 1
