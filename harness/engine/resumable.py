"""What ``run --resume DIR`` reads back: the run's ``run.json`` and its records, checked before
anything is resumed, so that a folder that is not a run, or one whose files are damaged, is bad
input (:class:`~harness.errors.UnusablePath`, saying which file and what is wrong) rather than a
failure halfway through the resumed run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.engine.profiles import PROFILES
from harness.engine.results import read_results
from harness.errors import InvalidCase, UnusablePath
from harness.model.case import Case
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


def _record_problem(rec: Any) -> str | None:
    """What makes one record unusable for a resume, or None."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not a record"
    for key in ("target", "outcome"):
        if not isinstance(rec.get(key), str):
            return f"{key!r} must be a string, got {rec.get(key)!r}"
    if not isinstance(rec.get("case"), dict):
        return "no 'case' object"
    try:
        Case.from_dict(rec["case"])
    except (InvalidCase, KeyError, TypeError, ValueError) as exc:
        return f"its case is not a valid case ({type(exc).__name__}: {exc})"
    return None


def read_run_folder(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``run.json`` and the records of the run folder ``run_dir``, checked (UnusablePath)."""
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
    records = read_results(results) if results.exists() else []
    for number, rec in enumerate(records, start=1):
        problem = _record_problem(rec)
        if problem is not None:
            line = rec.get("line", number) if isinstance(rec, dict) else number
            raise UnusablePath(f"{results}: record {line} is damaged ({problem}); the run cannot be resumed")
    return meta, records
