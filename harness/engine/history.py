"""What a resumed run reuses: the verdicts and findings already recorded, and each unit's seed;
and the finding folders it rebuilds for recorded findings that lost theirs."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.protocol import Handle
from harness.engine.artefacts import missing_files, rebuild_finding
from harness.engine.findings import Finding
from harness.engine.records import finding_folder
from harness.engine.verdict import Verdict, verdict_from_record
from harness.model.case import Case
from harness.model.features import signature_features


def case_key(case: Case | dict[str, Any]) -> str:
    """A stable text key of a case (its canonical fields)."""
    data = case.to_dict() if isinstance(case, Case) else case
    return json.dumps(data, sort_keys=True)


@dataclass
class UnitHistory:
    """What an interrupted run already recorded for one (target, spec): reused when resuming."""

    #: Each case's recorded verdicts, in record order (a case met twice may have two outcomes).
    verdicts: dict[str, list[Verdict]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: How many of each case's recorded verdicts have been met again.
    met: Counter[str] = field(default_factory=Counter)

    def recorded(self, case: Case) -> Verdict | None:
        """The recorded verdict of the next meeting of ``case``, or None when every recorded one has
        been met (the case is then judged anew)."""
        key = case_key(case)
        verdicts = self.verdicts.get(key, [])
        index = self.met[key]
        return verdicts[index] if index < len(verdicts) else None

    def meet(self, case: Case) -> bool:
        """Count one meeting of ``case``; True when it was a recorded one (not to be written again)."""
        key = case_key(case)
        if self.met[key] < len(self.verdicts.get(key, [])):
            self.met[key] += 1
            return True
        return False


def finding_from_record(rec: dict[str, Any], features: frozenset[str]) -> Finding:
    """The finding a minimal record holds, with ``features`` (recorded, or recomputed from its case)."""
    return Finding(
        rec["target"],
        rec["outcome"],
        rec.get("detail") or "",
        features,
        Case.from_dict(rec["case"]),
        observed_detail=rec.get("observed_detail") or "",
        mechanism=rec.get("mechanism") or "",
    )


def history_from_records(records: list[dict[str, Any]], target: str, spec: str) -> UnitHistory:
    """The recorded verdicts and findings of one (target, spec) in a results file."""
    history = UnitHistory()
    for rec in records:
        if rec.get("target") != target or rec.get("spec") != spec:
            continue
        case = Case.from_dict(rec["case"])
        if rec.get("minimal"):
            history.findings.append(finding_from_record(rec, signature_features(case)))
        else:
            history.verdicts.setdefault(case_key(case), []).append(verdict_from_record(rec))
    return history


def unit_seed(run_seed: int, target: str, spec: str) -> int:
    """Hypothesis seed of one (target, spec): fixed by the run's seed, so a resume replays it."""
    return zlib.crc32(f"{run_seed}|{target}|{spec}".encode())


def rebuild_finding_folders(
    out: Path, records: list[dict[str, Any]], target: Handle, results: Path
) -> list[Path]:
    """Rebuild the folder of each of ``target``'s recorded findings whose folder is missing or
    lacks a file (:func:`harness.engine.artefacts.missing_files`), from its record; returns them.

    Only a ``finding_dir`` of the form ``findings/<name>`` is rebuilt: a record cannot make a
    resumed run write outside the run folder's ``findings/``.
    """
    rebuilt = []
    for rec in records:
        if not rec.get("minimal") or rec.get("target") != target.name or not rec.get("finding_dir"):
            continue
        folder = finding_folder(out, rec["finding_dir"])
        if folder is None:
            continue
        missing = missing_files(folder)
        if missing:
            rebuilt.append(rebuild_finding(folder, rec, target, results, missing))
    return rebuilt
