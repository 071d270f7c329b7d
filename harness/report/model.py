"""The merged report: runs loaded and merged, findings deduplicated by signature, outcome counts
per target, the overview matrix and the coverage table.

Records with ``minimal: true`` are the shrunk representatives of findings: they are the findings,
and are not counted again among the cases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.engine.findings import FindingKey, retired
from harness.engine.known import KnownFindings
from harness.engine.records import finding_folder
from harness.engine.results import PairCoverage
from harness.errors import NoRuns
from harness.model.outcomes import FAILING, FINDING_ORDER, OUTCOMES, Outcome
from harness.report.baseline import BaselineComparison, compare_baseline
from harness.report.coverage_map import coverage_map_view
from harness.report.load import Run, load_audits, load_run
from harness.report.recorded import (
    COVERAGE_PARAMS,
    MATRIX_FEATURES,
    coverage_values,
    matrix_values,
    value_order,
)
from harness.report.shards import SplitRun, check_shards
from harness.report.triage import Triage, triage


@dataclass
class ReportedFinding:
    """One distinct finding (by signature), possibly seen in several runs."""

    signature: str
    record: dict[str, Any]
    run: Run
    occurrences: list[dict[str, Any]] = field(default_factory=list)
    #: Failing cases with this finding's features (``harness.engine.findings.Finding.explains``).
    explained_cases: int = 0
    #: Failing cases of the same kind (target, outcome, detail), whatever their features: shrinking
    #: may add features (e.g. past_full_output), so a case can be of a finding's kind unexplained.
    kind_cases: int = 0

    @property
    def target(self) -> str:
        """The target it was found on."""
        return str(self.record.get("target", "?"))

    @property
    def outcome(self) -> str:
        """The record's outcome."""
        return str(self.record.get("outcome", "?"))

    @property
    def kind(self) -> str:
        """shape, value, error, crash, timeout or departure from documentation."""
        return Outcome(self.outcome).label if self.outcome in OUTCOMES else self.outcome

    @property
    def folder(self) -> Path | None:
        """The finding's folder (``finding_dir`` relative to its run folder), if recorded, present,
        and ``findings/<name>`` inside the run folder (:func:`harness.engine.records.finding_folder`)."""
        rel = self.record.get("finding_dir")
        if not rel or finding_folder(self.run.folder, str(rel)) is None:
            return None
        path = self.run.folder / str(rel)
        return path if path.is_dir() else None

    @property
    def folder_note(self) -> str:
        """Why a recorded ``finding_dir`` is not followed (it leads out of the run folder's
        ``findings/``); empty when there is none or it is followed."""
        rel = self.record.get("finding_dir")
        if rel and finding_folder(self.run.folder, str(rel)) is None:
            return (
                f"finding_dir {str(rel)!r} leads out of {self.run.folder}/findings/: not followed "
                "(a finding's folder is findings/<name> inside its run folder)"
            )
        return ""


@dataclass
class TargetInfo:
    """Per target: framework, versions, devices, environments and outcome counts."""

    name: str
    framework: str = ""
    versions: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    environments: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add_environment(self, env: dict[str, Any], run_id: str) -> None:
        """Record an environment, once per distinct dict (the runs sharing it are listed)."""
        for item in self.environments:
            if item["settings"] == env:
                if run_id not in item["runs"]:
                    item["runs"].append(run_id)
                return
        self.environments.append({"settings": env, "runs": [run_id]})

    @property
    def cases(self) -> int:
        """Cases judged (every outcome)."""
        return sum(self.counts.values())

    @property
    def failing(self) -> int:
        """Cases with a failing outcome."""
        return sum(n for o, n in self.counts.items() if o in FAILING)


@dataclass
class Report:
    """Everything the report shows, computed from the runs."""

    runs: list[Run]
    cases: list[dict[str, Any]]
    findings: list[ReportedFinding]
    targets: dict[str, TargetInfo]
    unavailable: dict[str, list[str]]
    comparison: BaselineComparison | None
    generated: str
    #: Audit results by :data:`AUDIT_FILES` key (the first folder holding each file wins).
    audits: dict[str, Any] = field(default_factory=dict)
    #: Findings new, known (a known-findings file) or in the baseline; fixed ones; stale entries.
    triage: Triage = field(default_factory=Triage)
    #: The split runs whose shards were merged (:mod:`harness.report.shards`).
    splits: list[SplitRun] = field(default_factory=list)

    @property
    def totals(self) -> Counter[str]:
        """Outcome counts over every case."""
        return Counter(str(r.get("outcome")) for r in self.cases)

    @property
    def failed(self) -> bool:
        """True when any case failed or any finding was recorded."""
        return bool(self.findings) or any(o in FAILING for o in self.totals)

    def matrix(self) -> list[dict[str, Any]]:
        """Rows of the overview matrix: feature, value, and per target the counts of cases by column:
        the outcome ``pass`` or ``unsupported``, else ``finding``."""
        cells: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
        seen: dict[str, set[str]] = defaultdict(set)
        for rec in self.cases:
            outcome = str(rec.get("outcome"))
            column = outcome if outcome in (Outcome.PASS, Outcome.UNSUPPORTED) else "finding"
            for feature, value in matrix_values(rec).items():
                cells[(feature, value, str(rec.get("target")))][column] += 1
                seen[feature].add(value)
        rows = []
        for feature, order in MATRIX_FEATURES:
            values = [v for v in order if v in seen[feature]]
            values += sorted(seen[feature] - set(order), key=value_order)
            for value in values:
                rows.append(
                    {
                        "feature": feature,
                        "value": value,
                        "first": value == values[0],
                        "span": len(values),
                        "cells": [dict(cells[(feature, value, t)]) for t in self.targets],
                    }
                )
        return rows

    def judged_nothing(self) -> dict[str, list[str]]:
        """Per target, the specs of which it judged no case (every one ``unsupported``)."""
        pairs = PairCoverage()
        for rec in self.cases:
            pairs.add(str(rec.get("target")), str(rec.get("spec")), str(rec.get("outcome")), "")
        out: dict[str, list[str]] = defaultdict(list)
        for target, spec, _, _ in pairs.judged_nothing():
            out[target].append(spec)
        return dict(out)

    def not_applicable(self) -> dict[str, dict[str, str]]:
        """Per target, the specs its runs did not explore (none of their dtypes is one it takes,
        :mod:`harness.engine.pairing`), each with why, as ``run.json`` lists them."""
        names = _target_key_names(self.runs)
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for run in self.runs:
            for key, entry in (run.meta.get("targets") or {}).items():
                listed = entry.get("not_applicable") if isinstance(entry, dict) else None
                if isinstance(listed, dict):
                    out[names.get(key, key)].update({str(s): str(why) for s, why in listed.items()})
        return dict(out)

    def coverage_map(self) -> dict[str, dict[str, Any]]:
        """The coverage maps of the runs, per spec (:func:`coverage_map_view`)."""
        return coverage_map_view(self.runs)

    def coverage(self) -> dict[str, dict[str, Any]]:
        """Per target: cases executed and unsupported, the specs it judged no case of, and per
        parameter the values exercised."""
        out: dict[str, dict[str, Any]] = {}
        union: dict[str, set[str]] = defaultdict(set)
        per_target: dict[str, dict[str, Counter[str]]] = {t: defaultdict(Counter) for t in self.targets}
        executed: Counter[str] = Counter()
        nothing = self.judged_nothing()
        inapplicable = self.not_applicable()
        for rec in self.cases:
            if rec.get("outcome") == Outcome.UNSUPPORTED:
                continue
            target = str(rec.get("target"))
            executed[target] += 1
            for param, values in coverage_values(rec.get("case") or {}).items():
                for v in set(values):
                    per_target[target][param][v] += 1
                    union[param].add(v)
        for target, info in self.targets.items():
            params = []
            for param in COVERAGE_PARAMS:
                counts = per_target[target][param]
                values = sorted(counts, key=value_order)
                params.append(
                    {
                        "name": param,
                        "seen": [(v, counts[v]) for v in values],
                        "thin": len(values) <= 1 and len(union[param]) > 1,
                        "missing": sorted(union[param] - set(values), key=value_order),
                    }
                )
            out[target] = {
                "executed": executed[target],
                "unsupported": info.counts[Outcome.UNSUPPORTED],
                "judged_nothing": nothing.get(target, []),
                "not_applicable": sorted(inapplicable.get(target, {})),
                "params": params,
            }
        return out


def _target_key_names(runs: Iterable[Run]) -> dict[str, str]:
    """run.json keys (a registered name or module:Class) → the target names records carry."""
    names: dict[str, str] = {}
    for run in runs:
        for rec in run.records:
            name = str(rec.get("target"))
            names.setdefault(name, name)
            if rec.get("target_class"):
                names.setdefault(str(rec["target_class"]), name)
    return names


def _kind_key(rec: dict[str, Any]) -> tuple[Any, Any, Any]:
    return (rec.get("target"), rec.get("outcome"), rec.get("detail"))


def _without_retired(findings: dict[str, ReportedFinding]) -> dict[str, ReportedFinding]:
    """The findings without those a simpler one of the same mechanism, spec and target replaces
    (:func:`harness.engine.findings.retired`, the rule a run applies to its own summary)."""
    listed = list(findings.items())
    keys: list[FindingKey] = []
    for _, finding in listed:
        rec = finding.record
        kind = tuple(str(rec.get(k) or "") for k in ("spec", "target", "outcome", "detail", "mechanism"))
        keys.append((kind, frozenset(str(f) for f in rec.get("features") or [])))
    gone = retired(keys)
    return {sig: finding for i, (sig, finding) in enumerate(listed) if i not in gone}


def _count_cases(findings: Iterable[ReportedFinding], cases: list[dict[str, Any]]) -> None:
    """Set each finding's ``kind_cases`` and ``explained_cases`` from the failing cases."""
    by_kind: dict[tuple[Any, Any, Any], list[tuple[ReportedFinding, frozenset[str]]]] = defaultdict(list)
    for finding in findings:
        by_kind[_kind_key(finding.record)].append((finding, frozenset(finding.record.get("features") or [])))
    for rec in cases:
        if rec.get("outcome") not in FAILING:
            continue
        features = frozenset(rec.get("features") or [])
        for finding, needs in by_kind.get(_kind_key(rec), []):
            finding.kind_cases += 1
            finding.explained_cases += needs <= features


def build_report(runs: list[Run], baseline: Path | None = None, known: KnownFindings | None = None) -> Report:
    """Merge the runs into one :class:`Report` (findings deduplicated by signature), triaged against
    the baseline and the known findings (:mod:`harness.report.triage`); runs that would count cases
    twice (:func:`harness.report.shards.check_shards`) are :class:`~harness.errors.BadShard`."""
    splits = check_shards(runs)
    cases: list[dict[str, Any]] = []
    findings: dict[str, ReportedFinding] = {}
    targets: dict[str, TargetInfo] = {}
    key_names = _target_key_names(runs)
    unavailable: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        for key, entry in (run.meta.get("targets") or {}).items():
            if not isinstance(entry, dict):
                continue
            name = key_names.get(key, key)
            if entry.get("available") is False:
                reason = str(entry.get("reason", "unavailable"))
                if reason not in unavailable[name]:
                    unavailable[name].append(reason)
            elif isinstance(entry.get("environment"), dict):
                targets.setdefault(name, TargetInfo(name)).add_environment(entry["environment"], run.run_id)
        for rec in run.records:
            name = str(rec.get("target", "?"))
            info = targets.setdefault(name, TargetInfo(name))
            info.framework = info.framework or str(rec.get("framework", ""))
            if rec.get("framework_version"):
                info.versions.add(str(rec["framework_version"]))
            if rec.get("device"):
                info.devices.add(str(rec["device"]))
            if isinstance(rec.get("environment"), dict):
                info.add_environment(rec["environment"], run.run_id)
            if rec.get("minimal"):
                sig = str(rec.get("signature") or f"{name}|{rec.get('outcome')}|{rec.get('detail')}|")
                occurrence = {
                    "run_id": run.run_id,
                    "device": rec.get("device"),
                    "repro": rec.get("repro"),
                    "spec": rec.get("spec"),
                }
                if sig not in findings:
                    findings[sig] = ReportedFinding(sig, rec, run)
                elif findings[sig].folder is None and rec.get("finding_dir"):
                    findings[sig].record, findings[sig].run = rec, run  # prefer one with its artefacts
                findings[sig].occurrences.append(occurrence)
            else:
                cases.append(rec)
                info.counts[str(rec.get("outcome"))] += 1
    findings = _without_retired(findings)
    _count_cases(findings.values(), cases)
    ordered = sorted(
        findings.values(),
        key=lambda f: (
            f.target,
            FINDING_ORDER.index(Outcome(f.outcome)) if f.outcome in FINDING_ORDER else 99,
            f.signature,
        ),
    )
    report = Report(
        runs=runs,
        cases=cases,
        findings=ordered,
        targets=dict(sorted(targets.items())),
        unavailable=dict(unavailable),
        comparison=None,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        audits=load_audits([run.folder for run in runs]),
        splits=splits,
    )
    if baseline is not None:
        report.comparison = compare_baseline(
            baseline,
            signatures=(f.signature for f in report.findings),
            ran_now={t for t, info in report.targets.items() if info.cases},
        )
    report.triage = triage(((f.signature, f.record) for f in report.findings), report.comparison, known)
    return report


def load_report(
    run_dirs: list[Path], baseline: Path | None = None, known: KnownFindings | None = None
) -> Report:
    """Load and merge the run folders (compared with ``baseline``, triaged against ``known``)."""
    if not run_dirs:
        raise NoRuns("no run folder given")
    return build_report([load_run(Path(d), i) for i, d in enumerate(run_dirs)], baseline, known)
