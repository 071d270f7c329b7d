"""Reading report folders: a run folder's records and metadata, and the audit files beside them.

A run folder (``python -m harness run --out DIR``) holds ``results.jsonl``, ``run.json`` and
``findings/``. Audit files (:data:`AUDIT_FILES`: ``python -m harness audit-docs``, ``audit-modes``,
``audit-invalid`` and ``port --out``) may sit in the same folder or alone: a folder holding only
audit files is a valid report folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.engine.results import read_results
from harness.errors import UnusablePath

#: Audit results a report folder may hold: key → file name (written by the :mod:`harness.audits` modules).
AUDIT_FILES: dict[str, str] = {
    "doc_audit": "doc_audit.json",
    "mode_equivalence": "mode_equivalence.json",
    "invalid_inputs": "invalid_inputs.json",
    "port": "port.json",
}


@dataclass
class Run:
    """One run folder: its metadata and records (``_run`` is set on each record to this index)."""

    folder: Path
    meta: dict[str, Any]
    records: list[dict[str, Any]]
    skipped_lines: int

    @property
    def run_id(self) -> str:
        """The run id from ``run.json`` or the records, else the folder name."""
        if self.meta.get("run_id"):
            return str(self.meta["run_id"])
        for rec in self.records:
            if rec.get("run_id"):
                return str(rec["run_id"])
        return self.folder.name


def _is_record(rec: Any) -> bool:
    """A record the report can show: an object naming its target and outcome."""
    return (
        isinstance(rec, dict) and isinstance(rec.get("target"), str) and isinstance(rec.get("outcome"), str)
    )


def load_run(folder: Path, index: int = 0) -> Run:
    """Read ``results.jsonl`` and ``run.json``; a line that holds no record (a truncated last line,
    a damaged one) is skipped and counted. A folder that is neither a run nor holds audit files, or
    whose results are not text, is :class:`~harness.errors.UnusablePath`."""
    if not folder.is_dir():
        raise UnusablePath(f"{folder}: no such folder")
    path = folder / "results.jsonl"
    if not path.exists():
        if any((folder / name).exists() for name in AUDIT_FILES.values()):
            return Run(folder=folder, meta={}, records=[], skipped_lines=0)  # audit results only
        raise UnusablePath(f"{folder}: no results.jsonl (is this a run folder?)")
    records = [r for r in read_results(path) if _is_record(r)]
    lines = sum(1 for raw in path.read_text(encoding="utf-8").splitlines() if raw.strip())
    meta_path = folder / "run.json"
    meta: dict[str, Any] = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            meta = {"_unreadable": "run.json could not be parsed"}
        if not isinstance(meta, dict):
            meta = {"_unreadable": "run.json holds no JSON object"}
    for rec in records:
        rec["_run"] = index
    return Run(folder=folder, meta=meta, records=records, skipped_lines=lines - len(records))


def load_audits(folders: Iterable[Path]) -> dict[str, Any]:
    """The audit files found in ``folders`` (first folder first); an unreadable file says so."""
    out: dict[str, Any] = {}
    for folder in folders:
        for key, name in AUDIT_FILES.items():
            path = Path(folder) / name
            if key in out or not path.exists():
                continue
            try:
                out[key] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                out[key] = {"_unreadable": f"{path}: {exc}"}
    return out
