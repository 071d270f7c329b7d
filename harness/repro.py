"""Reproduction artefacts: the arrays as ``.npz``, the framework snippet, the case, one command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from adapters.protocol import Target
from harness.arrays import make_arrays
from harness.case import Case


def save_arrays(case: Case, path: Path) -> Path:
    """Write the case's ``x``, ``weight`` and ``bias`` (dtype containers; bfloat16 as float32)."""
    arrays = make_arrays(case).container()
    np.savez(path, **arrays)
    return path


def write_finding(
    folder: Path,
    *,
    case: Case,
    target: Target,
    record: dict[str, Any],
    command: str,
    outputs: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write ``case.json``, ``case.npz``, ``snippet.py`` and ``README.txt`` for one finding.

    ``outputs`` (a value mismatch's ``actual``, ``reference`` and ``bound``) go to ``arrays.npz``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    save_arrays(case, folder / "case.npz")
    if outputs:
        np.savez_compressed(folder / "arrays.npz", **outputs)
    (folder / "case.json").write_text(json.dumps(case.to_dict(), indent=2) + "\n", encoding="utf-8")
    (folder / "snippet.py").write_text(target.snippet(case, "case.npz"), encoding="utf-8")
    (folder / "README.txt").write_text(
        f"{record['target']}: {record['outcome']} ({record['detail']})\n"
        f"case: {case.short()}\n"
        f"message: {record['message']}\n\n"
        f"re-run through the harness:\n  {command}\n"
        f"standalone, in this folder:\n  python snippet.py\n",
        encoding="utf-8",
    )
    return folder
