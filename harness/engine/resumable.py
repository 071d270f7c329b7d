"""What ``run --resume DIR`` reads back: the run's ``run.json`` and its records, checked before
anything is resumed, so that a folder that is not a run, or one whose ``run.json`` is damaged, is
bad input (:class:`~harness.errors.UnusablePath`, saying which file and what is wrong) rather than
a failure halfway through the resumed run. A damaged line of ``results.jsonl`` costs only itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.engine.profiles import PROFILES
from harness.engine.records import ResultsFile, read_results_file
from harness.errors import UnusablePath
from harness.workers.worker import limit_problem

#: What ``run.json`` must hold to be resumed: key → (type, what it is).
REQUIRED: dict[str, tuple[type | tuple[type, ...], str]] = {
    "run_id": (str, "a run id"),
    "profile": (str, "a profile name"),
    "device": (str, "a device name"),
    "specs": (list, "a list of spec paths"),
    "target_names": (list, "a list of target names"),
    "seed": (int, "an integer seed"),
    "targets": (dict, "an object"),
}


def _meta_problem(meta: Any) -> str | None:
    """What makes a parsed ``run.json`` unusable for a resume, or None."""
    if not isinstance(meta, dict):
        return f"it holds a JSON {type(meta).__name__}, not an object"
    for key, (kind, what) in REQUIRED.items():
        if key not in meta:
            return f"{key!r} is missing"
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            return f"{key!r} must be {what}, got {meta[key]!r}"
    if meta["profile"] not in PROFILES:
        return f"'profile' {meta['profile']!r} is not one of {', '.join(PROFILES)}"
    for key in ("specs", "target_names"):
        if not all(isinstance(v, str) for v in meta[key]):
            return f"{key!r} must hold strings only"
    if not isinstance(meta.get("replay", {}), dict):
        return "'replay' must be an object"
    timeout, memory = meta.get("case_timeout"), meta.get("memory_limit_mb")
    if not (timeout is None or isinstance(timeout, int | float)) or not (
        memory is None or isinstance(memory, int)
    ):
        return f"the limits must be numbers, got case_timeout={timeout!r}, memory_limit_mb={memory!r}"
    return limit_problem(timeout, memory)


def read_run_folder(run_dir: Path) -> tuple[dict[str, Any], ResultsFile]:
    """``run.json`` of the run folder ``run_dir``, checked (UnusablePath), and its results: the
    records, and the damaged lines that a resume skips and judges again
    (:func:`harness.engine.records.read_results_file`)."""
    if not run_dir.is_dir():
        raise UnusablePath(f"--resume {run_dir}: no such folder")
    meta_path = run_dir / "run.json"
    if not meta_path.is_file():
        raise UnusablePath(
            f"--resume {run_dir}: no run.json, not a run folder (a run made with "
            "`python -m harness run --out DIR` can be resumed)"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnusablePath(f"{meta_path}: damaged, the run cannot be resumed: {exc}") from None
    problem = _meta_problem(meta)
    if problem is not None:
        raise UnusablePath(f"{meta_path}: damaged, the run cannot be resumed: {problem}")
    results = run_dir / "results.jsonl"
    return meta, read_results_file(results) if results.exists() else ResultsFile()
