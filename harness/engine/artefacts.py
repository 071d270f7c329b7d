"""Reproduction artefacts: the arrays as ``.npz``, the framework snippet, the case, one command.

A finding's folder is written whole into a temporary folder and renamed into place
(:func:`harness.files.replace_folder_atomically`), before the finding's record: a run cut at any
moment leaves either no folder or a complete one. :func:`missing_files` tells a resumed run which
recorded findings lost theirs (folders written otherwise), so that it rebuilds them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adapters.protocol import Handle, Target, handle
from harness.engine.results import repro_command
from harness.files import replace_atomically, replace_folder_atomically, write_text_atomic
from harness.model.arrays import make_arrays
from harness.model.case import Case


def save_arrays(case: Case, path: Path) -> Path:
    """Write the case's ``x``, ``weight`` and ``bias`` (dtype containers; bfloat16 as float32)."""
    arrays: dict[str, Any] = dict(make_arrays(case).container())
    return replace_atomically(path, lambda handle: np.savez(handle, **arrays))


#: A history-dependent finding's case sequence, in its folder.
HISTORY_FILE = "history.jsonl"

#: What every finding folder holds (``arrays.npz`` and ``message.txt`` only where there is one).
FINDING_FILES = ("case.json", "case.npz", "snippet.py", "README.txt")


def missing_files(folder: Path) -> list[str]:
    """The :data:`FINDING_FILES` that ``folder`` lacks (all of them when there is no folder)."""
    return [name for name in FINDING_FILES if not (folder / name).is_file()]


def write_finding(
    folder: Path,
    *,
    case: Case,
    target: Target | Handle,
    record: dict[str, Any],
    command: str,
    outputs: dict[str, np.ndarray] | None = None,
    history: Sequence[dict[str, Any]] = (),
    message: str | None = None,
    note: str = "",
) -> Path:
    """Write ``case.json``, ``case.npz``, ``snippet.py``, ``message.txt`` and ``README.txt`` for one
    finding, into a folder that appears complete or not at all (one already there is replaced).

    ``outputs`` (a value mismatch's ``actual``, ``reference`` and ``bound``) go to ``arrays.npz``;
    ``history`` (a history-dependent finding's case sequence, the failing case last) to
    ``history.jsonl``, one case per line. ``message`` is the full text of the record's (possibly
    shortened) message; ``note`` ends README.txt.
    """
    return replace_folder_atomically(
        folder,
        lambda tmp: _fill(
            tmp,
            case=case,
            target=target,
            record=record,
            command=command,
            outputs=outputs,
            history=history,
            message=record["message"] if message is None else message,
            note=note,
        ),
    )


def rebuild_finding(
    folder: Path, record: dict[str, Any], target: Target | Handle, results: Path, missing: list[str]
) -> Path:
    """Rebuild a recorded finding's folder from its record (its case, its target's snippet).

    The files the folder still holds besides :data:`FINDING_FILES` (``arrays.npz``, ``message.txt``:
    each was written whole) are kept, ``history.jsonl`` with the README lines that go with it;
    README.txt says what was rebuilt and why.
    """
    case = Case.from_dict(record["case"])
    line = record.get("line")
    command = repro_command(results, line) if isinstance(line, int) else str(record.get("repro") or "")
    kept = []
    if folder.is_dir():
        kept = [
            p for p in folder.iterdir() if p.name not in FINDING_FILES and p.is_file() and not p.is_symlink()
        ]
    note = (
        f"\nrebuilt by `python -m harness run --resume` from the finding's record: the folder lacked "
        f"{', '.join(missing)}.\n"
    )
    history = _kept_history(folder) if any(p.name == HISTORY_FILE for p in kept) else []
    if not any(p.name == "message.txt" for p in kept):
        note += "message.txt holds the record's message (shortened if it was long).\n"

    def fill(tmp: Path) -> None:
        _fill(
            tmp,
            case=case,
            target=target,
            record=record,
            command=command,
            outputs=None,
            history=history,
            message=str(record.get("message") or ""),
            note=note,
        )
        for path in kept:
            if not (history and path.name == HISTORY_FILE):  # written again by _fill
                shutil.copyfile(path, tmp / path.name)

    return replace_folder_atomically(folder, fill)


def _kept_history(folder: Path) -> list[dict[str, Any]]:
    """The cases of a finding folder's ``history.jsonl`` (empty when a line is not a case object:
    the file is then only copied)."""
    try:
        cases = [
            json.loads(line) for line in (folder / HISTORY_FILE).read_text(encoding="utf-8").splitlines()
        ]
    except (OSError, ValueError, RecursionError):
        return []
    return cases if all(isinstance(c, dict) for c in cases) else []


def _fill(
    folder: Path,
    *,
    case: Case,
    target: Target | Handle,
    record: dict[str, Any],
    command: str,
    outputs: dict[str, np.ndarray] | None,
    history: Sequence[dict[str, Any]],
    message: str,
    note: str,
) -> None:
    save_arrays(case, folder / "case.npz")
    if outputs:
        kept: dict[str, Any] = dict(outputs)
        replace_atomically(folder / "arrays.npz", lambda handle: np.savez_compressed(handle, **kept))
    write_text_atomic(folder / "case.json", json.dumps(case.to_dict(), indent=2) + "\n")
    if history:
        lines = "".join(json.dumps(c, sort_keys=True) + "\n" for c in history)
        write_text_atomic(folder / HISTORY_FILE, lines)
    snippet, failure = _snippet(target, case, command)
    write_text_atomic(folder / "snippet.py", snippet)
    standalone = (
        "standalone, in this folder:\n  python snippet.py\n"
        if failure is None
        else f"no standalone snippet: the target's snippet() raised {failure}\n"
    )
    write_text_atomic(folder / "message.txt", message)
    write_text_atomic(
        folder / "README.txt",
        f"{record['target']}: {record['outcome']} ({record.get('detail')})\n"
        f"case: {case.short()}\n"
        f"message: {record.get('message')}\n\n"
        f"re-run through the harness:\n  {command}\n"
        + (
            f"the failure needs the {len(history) - 1} case(s) before it in {HISTORY_FILE}; replay them "
            f"first:\n  {command} --history\n"
            if history
            else ""
        )
        + f"{standalone}{note}",
    )


def _snippet(target: Target | Handle, case: Case, command: str) -> tuple[str, str | None]:
    """The target's snippet, or (when its ``snippet`` raises) a stand-in that says so, and why.

    A broken snippet generator (an adapter bug) must not cost the run, nor the finding.
    """
    try:
        return handle(target).api.snippet(case, "case.npz"), None
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
        text = (
            f"# {target.name}: snippet() raised {failure!r}, so there is no standalone reproduction.\n"
            f"# Re-run the case through the harness instead:\n#   {command}\n"
            f"raise SystemExit({f'no snippet: {failure}'!r})\n"
        )
        return text, failure
