"""Reading report folders: a run folder's records and metadata, and the audit files beside them.

A run folder (``python -m harness run --out DIR``) holds ``results.jsonl``, ``run.json`` and
``findings/``. Audit files (:data:`AUDIT_FILES`: ``python -m harness audit-docs``,
``audit-modes``, ``audit-invalid``, ``port --out`` and ``port-model --report``) may sit in the
same folder or alone: a folder holding only audit files is a valid report folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.engine.records import damaged_summary, read_results_file
from harness.errors import UnusablePath
from harness.files import contained

#: Audit results a report folder may hold: key → file name (written by the :mod:`harness.audits` modules).
AUDIT_FILES: dict[str, str] = {
    "doc_audit": "doc_audit.json",
    "mode_equivalence": "mode_equivalence.json",
    "invalid_inputs": "invalid_inputs.json",
    "port": "port.json",
    "port_model": "port_model.json",
}


@dataclass
class Run:
    """One run folder: its metadata and records (``_run`` is set on each record to this index), and
    the damaged lines of its ``results.jsonl`` that were skipped, as (line number, problem)."""

    folder: Path
    meta: dict[str, Any]
    records: list[dict[str, Any]]
    damaged: list[tuple[int, str]]

    @property
    def skipped_lines(self) -> int:
        """How many damaged lines were skipped."""
        return len(self.damaged)

    @property
    def damaged_note(self) -> str:
        """``N damaged lines skipped: lines …`` (empty when none were)."""
        return damaged_summary(self.damaged) if self.damaged else ""

    @property
    def run_id(self) -> str:
        """The run id from ``run.json`` or the records, else the folder name."""
        if self.meta.get("run_id"):
            return str(self.meta["run_id"])
        for rec in self.records:
            if rec.get("run_id"):
                return str(rec["run_id"])
        return self.folder.name


def load_run(folder: Path, index: int = 0) -> Run:
    """Read ``results.jsonl`` record by record and ``run.json``: a damaged line (a killed run's
    truncated last one, bytes that are not a record) is skipped and named. A file that links out
    of the folder is not read (:func:`harness.files.contained`). A folder that is neither a run nor
    holds audit files is :class:`~harness.errors.UnusablePath`."""
    if not folder.is_dir():
        raise UnusablePath(f"{folder}: no such folder")
    path = folder / "results.jsonl"
    if not path.exists():
        if any((folder / name).exists() for name in AUDIT_FILES.values()):
            return Run(folder=folder, meta={}, records=[], damaged=[])  # audit results only
        raise UnusablePath(f"{folder}: no results.jsonl (is this a run folder?)")
    if contained(folder, "results.jsonl") is None:
        raise UnusablePath(f"{path} links out of {folder}: not read (a run folder's files lie inside it)")
    results = read_results_file(path)
    records = results.records
    meta: dict[str, Any] = {}
    if (folder / "run.json").exists():
        meta = _read_json(folder, "run.json")
    for rec in records:
        rec["_run"] = index
    return Run(folder=folder, meta=meta, records=records, damaged=results.damaged)


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    """A JSON object file of ``folder``, or ``{"_unreadable": why}``."""
    path = contained(folder, name)
    if path is None:
        return {"_unreadable": f"{folder / name} links out of {folder}: not read"}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: not UTF-8, not JSON
        return {"_unreadable": f"{folder / name}: {exc}"}
    return data if isinstance(data, dict) else {"_unreadable": f"{folder / name}: not a JSON object"}


def load_audits(folders: Iterable[Path]) -> dict[str, Any]:
    """The audit files found in ``folders`` (first folder first); an unreadable file says so."""
    out: dict[str, Any] = {}
    for folder in folders:
        for key, name in AUDIT_FILES.items():
            if key not in out and (Path(folder) / name).exists():
                out[key] = _read_json(Path(folder), name)
    return out
