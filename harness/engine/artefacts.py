"""Reproduction artefacts: the arrays as ``.npz``, the framework snippet, the case, one command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adapters.protocol import Handle, Target, handle
from harness.files import replace_atomically, write_text_atomic
from harness.model.arrays import make_arrays
from harness.model.case import Case


def save_arrays(case: Case, path: Path) -> Path:
    """Write the case's ``x``, ``weight`` and ``bias`` (dtype containers; bfloat16 as float32)."""
    arrays: dict[str, Any] = dict(make_arrays(case).container())
    return replace_atomically(path, lambda handle: np.savez(handle, **arrays))


#: A history-dependent finding's case sequence, in its folder.
HISTORY_FILE = "history.jsonl"


def write_finding(
    folder: Path,
    *,
    case: Case,
    target: Target | Handle,
    record: dict[str, Any],
    command: str,
    outputs: dict[str, np.ndarray] | None = None,
    history: Sequence[dict[str, Any]] = (),
) -> Path:
    """Write ``case.json``, ``case.npz``, ``snippet.py`` and ``README.txt`` for one finding.

    ``outputs`` (a value mismatch's ``actual``, ``reference`` and ``bound``) go to ``arrays.npz``;
    ``history`` (a history-dependent finding's case sequence, the failing case last) to
    ``history.jsonl``, one case per line.
    """
    folder.mkdir(parents=True, exist_ok=True)
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
    write_text_atomic(
        folder / "README.txt",
        f"{record['target']}: {record['outcome']} ({record['detail']})\n"
        f"case: {case.short()}\n"
        f"message: {record['message']}\n\n"
        f"re-run through the harness:\n  {command}\n"
        + (
            f"the failure needs the {len(history) - 1} case(s) before it in {HISTORY_FILE}; replay them "
            f"first:\n  {command} --history\n"
            if history
            else ""
        )
        + f"{standalone}",
    )
    return folder


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
