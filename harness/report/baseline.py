"""Comparing a report's findings with a baseline's, by signature.

A baseline is an earlier run folder, a report folder holding ``summary.json``, or a
``summary.json`` file: CI keeps the last report as an artefact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UnusablePath
from harness.report.load import load_run


@dataclass
class BaselineComparison:
    """Findings by signature against a baseline: new, fixed, unchanged, and not re-run."""

    baseline: str
    new: list[str]
    fixed: list[str]
    unchanged: list[str]
    not_rerun: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "baseline": self.baseline,
            "new": self.new,
            "fixed": self.fixed,
            "unchanged": self.unchanged,
            "not_rerun": self.not_rerun,
        }


def baseline_signatures(baseline: Path) -> tuple[dict[str, str], set[str]]:
    """Finding signatures (→ target) of a baseline and the targets it ran.

    ``baseline`` is a run folder (``results.jsonl``), a report folder holding ``summary.json``,
    or a ``summary.json`` file.
    """
    summary = baseline if baseline.is_file() else baseline / "summary.json"
    if baseline.is_dir() and (baseline / "results.jsonl").exists():
        run = load_run(baseline)
        sigs = {
            str(r.get("signature")): str(r.get("target"))
            for r in run.records
            if r.get("minimal") and r.get("signature")
        }
        ran = {str(r.get("target")) for r in run.records if not r.get("minimal")} | set(sigs.values())
        return sigs, ran
    if summary.exists():
        data = _summary(summary)
        sigs = {str(f["signature"]): str(f.get("target", "")) for f in data.get("findings", [])}
        return sigs, set(data.get("targets", {})) | set(sigs.values())
    raise UnusablePath(f"--baseline {baseline}: neither a run folder (results.jsonl) nor a summary.json")


def _summary(path: Path) -> dict[str, Any]:
    """A baseline ``summary.json``, checked: an object whose ``findings`` each carry a signature
    (UnusablePath naming what is wrong)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnusablePath(f"--baseline {path}: not a readable summary.json ({exc})") from None
    problem = None
    if not isinstance(data, dict):
        problem = f"it holds a JSON {type(data).__name__}, not an object"
    else:
        findings, targets = data.get("findings", []), data.get("targets", {})
        if not isinstance(findings, list) or not isinstance(targets, dict | list):
            problem = "'findings' must be a list and 'targets' an object"
        elif not all(isinstance(f, dict) and isinstance(f.get("signature"), str) for f in findings):
            problem = "each of its 'findings' must be an object with a 'signature'"
    if problem is not None:
        raise UnusablePath(f"--baseline {path}: not a summary.json written by `report`: {problem}")
    checked: dict[str, Any] = data
    return checked


def compare_baseline(baseline: Path, signatures: Iterable[str], ran_now: set[str]) -> BaselineComparison:
    """New, fixed and unchanged findings by signature (``signatures``: the findings now); a baseline
    finding whose target is not in ``ran_now`` (the targets that judged a case now) is ``not_rerun``,
    not fixed."""
    old, _ = baseline_signatures(baseline)
    now = set(signatures)
    gone = sorted(set(old) - now)
    return BaselineComparison(
        baseline=str(baseline),
        new=sorted(now - set(old)),
        fixed=[s for s in gone if old[s] in ran_now],
        unchanged=sorted(now & set(old)),
        not_rerun=[s for s in gone if old[s] not in ran_now],
    )
