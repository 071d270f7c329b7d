"""The conformance report: runs loaded and merged, findings deduplicated, a baseline compared.

``write_report(run_dirs, baseline)`` reads one or more run folders (``python -m harness run --out
DIR``: ``results.jsonl``, ``run.json``, ``findings/``) and writes, into the first of them:

- ``report.html`` — one self-contained page (see :mod:`harness.report.html`);
- ``summary.json`` — outcome counts per target, the deduplicated findings and the baseline
  comparison, for CI systems (strict JSON: a non-finite number is written as the string
  ``"inf"``, ``"-inf"`` or ``"nan"``);
- ``junit.xml`` — one ``testsuite`` per target with a ``testcase`` per (case, target) record
  (mismatches are ``failure``, error/crash/timeout ``error``, unsupported ``skipped``), and a
  ``findings`` suite with one ``testcase`` per finding signature: stable names from run to run.

Records with ``minimal: true`` are the shrunk representatives of findings: they are the findings,
and are not counted again among the cases.

Audit files found in the folders (:data:`AUDIT_FILES`: ``python -m harness audit-docs``,
``audit-modes``, ``audit-invalid`` and ``port --out``) become sections of the page and a short
``audits`` entry of ``summary.json``; a folder holding only audit files is a valid report folder.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.engine.results import PairCoverage, read_results
from harness.errors import NoRuns
from harness.files import replace_atomically, write_text_atomic
from harness.model.case import Case
from harness.model.features import features
from harness.model.outcomes import FAILING, FINDING_ORDER, OUTCOMES, Outcome, junit_outcomes

SUMMARY_SCHEMA = "convt-report-summary/1"

#: Finding kinds as the report names them, in the order it shows them.

#: Overview matrix rows: (feature, its values in display order).
MATRIX_FEATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rank", ("1D", "2D", "3D")),
    ("dtype", ("float64", "float32", "float16", "bfloat16")),
    ("layout", ("channels_first", "channels_last")),
    ("padding", ("none", "symmetric", "asymmetric", "mode same", "mode same_lower", "mode valid")),
    ("groups", ("1", "grouped", "depthwise")),
    ("dilation", ("1", ">1")),
    ("output_padding", ("0", ">0")),
    ("bias", ("yes", "no")),
    ("device", ()),
)

#: Coverage: parameters whose exercised values are listed per target.
COVERAGE_PARAMS: tuple[str, ...] = (
    "rank",
    "dtype",
    "layout",
    "distribution",
    "padding",
    "groups",
    "batch",
    "in_channels",
    "out_channels",
    "input_size",
    "kernel_size",
    "stride",
    "dilation",
    "crop",
    "output_padding",
    "bias",
)


#: Audit results a report folder may hold: key → file name (written by harness.audit_*/harness.audits.port).
AUDIT_FILES: dict[str, str] = {
    "doc_audit": "doc_audit.json",
    "mode_equivalence": "mode_equivalence.json",
    "invalid_inputs": "invalid_inputs.json",
    "port": "port.json",
}

# --- loading -----------------------------------------------------------------------------------


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


def load_run(folder: Path, index: int = 0) -> Run:
    """Read ``results.jsonl`` (a truncated last line is skipped and counted) and ``run.json``."""
    path = folder / "results.jsonl"
    if not path.exists():
        if any((folder / name).exists() for name in AUDIT_FILES.values()):
            return Run(folder=folder, meta={}, records=[], skipped_lines=0)  # audit results only
        raise FileNotFoundError(f"{folder}: no results.jsonl (is this a run folder?)")
    records = [r for r in read_results(path) if isinstance(r, dict)]
    lines = sum(1 for raw in path.read_text(encoding="utf-8").splitlines() if raw.strip())
    meta_path = folder / "run.json"
    meta: dict[str, Any] = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            meta = {"_unreadable": "run.json could not be parsed"}
    for rec in records:
        rec["_run"] = index
    return Run(folder=folder, meta=meta, records=records, skipped_lines=lines - len(records))


# --- features ----------------------------------------------------------------------------------


def _ints(value: Any) -> list[int]:
    if isinstance(value, list):
        return value  # records hold per-dimension fields as lists of ints
    if isinstance(value, tuple):
        return list(value)
    return [] if value is None else [int(value)]


def recorded_features(case: dict[str, Any]) -> dict[str, str]:
    """The features (:func:`harness.model.features.features`) of a case as a record holds it; ``?``
    for each feature of a case the record does not describe completely."""
    try:
        return features(Case.from_dict(case))
    except Exception:  # a damaged or foreign record still gets a row
        return defaultdict(lambda: "?")


def matrix_values(record: dict[str, Any]) -> dict[str, str]:
    """The overview-matrix value of each feature for one record."""
    f = recorded_features(record.get("case") or {})
    return {
        "rank": f"{f['rank']}D",
        "dtype": f["dtype"],
        "layout": f["layout"],
        "padding": f["padding"],
        "groups": f["groups"],
        "dilation": f["dilation"],
        "output_padding": "0" if f["output_padding"] in ("none", "?") else ">0",
        "bias": f["bias"],
        "device": str(record.get("device", "?")),
    }


def coverage_values(case: dict[str, Any]) -> dict[str, list[str]]:
    """The values a case exercises per coverage parameter (per-dimension fields give several)."""
    crop = _ints(case.get("pads_begin")) + _ints(case.get("pads_end"))
    return {
        "rank": [f"{case.get('rank', '?')}D"],
        "dtype": [str(case.get("dtype", "?"))],
        "layout": [str(case.get("layout", "?"))],
        "distribution": [str(case.get("distribution", "?"))],
        "padding": [recorded_features(case)["padding"]],
        "groups": [str(case.get("groups", "?"))],
        "batch": [str(case.get("batch", "?"))],
        "in_channels": [str(case.get("in_channels", "?"))],
        "out_channels": [str(case.get("out_channels", "?"))],
        "input_size": [str(v) for v in _ints(case.get("input_size"))],
        "kernel_size": [str(v) for v in _ints(case.get("kernel_size"))],
        "stride": [str(v) for v in _ints(case.get("stride"))],
        "dilation": [str(v) for v in _ints(case.get("dilation"))],
        "crop": [str(v) for v in crop],
        "output_padding": [str(v) for v in _ints(case.get("output_padding"))],
        "bias": ["yes" if case.get("bias") else "no"],
    }


def _value_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


# --- the merged model --------------------------------------------------------------------------


@dataclass
class Finding:
    """One distinct finding (by signature), possibly seen in several runs."""

    signature: str
    record: dict[str, Any]
    run: Run
    occurrences: list[dict[str, Any]] = field(default_factory=list)
    #: Failing cases with this finding's features (``harness.findings.Finding.explains``).
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
        """The finding's folder (``finding_dir`` relative to its run folder), if recorded and present."""
        rel = self.record.get("finding_dir")
        if not rel:
            return None
        path = self.run.folder / str(rel)
        return path if path.is_dir() else None


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
class Comparison:
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


@dataclass
class Report:
    """Everything the report shows, computed from the runs."""

    runs: list[Run]
    cases: list[dict[str, Any]]
    findings: list[Finding]
    targets: dict[str, TargetInfo]
    unavailable: dict[str, list[str]]
    comparison: Comparison | None
    generated: str
    #: Audit results by :data:`AUDIT_FILES` key (the first folder holding each file wins).
    audits: dict[str, Any] = field(default_factory=dict)

    @property
    def totals(self) -> Counter[str]:
        """Outcome counts over every case."""
        return Counter(str(r.get("outcome")) for r in self.cases)

    @property
    def failed(self) -> bool:
        """True when any case failed or any finding was recorded."""
        return bool(self.findings) or any(o in FAILING for o in self.totals)

    def matrix(self) -> list[dict[str, Any]]:
        """Rows of the overview matrix: feature, value, and per target the pass/finding/unsupported counts."""
        cells: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
        seen: dict[str, set[str]] = defaultdict(set)
        for rec in self.cases:
            outcome = str(rec.get("outcome"))
            column = (
                "pass"
                if outcome == Outcome.PASS
                else "unsupported"
                if outcome == Outcome.UNSUPPORTED
                else "finding"
            )
            for feature, value in matrix_values(rec).items():
                cells[(feature, value, str(rec.get("target")))][column] += 1
                seen[feature].add(value)
        rows = []
        for feature, order in MATRIX_FEATURES:
            values = [v for v in order if v in seen[feature]]
            values += sorted(seen[feature] - set(order), key=_value_key)
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

    def coverage(self) -> dict[str, dict[str, Any]]:
        """Per target: cases executed and unsupported, the specs it judged no case of, and per
        parameter the values exercised."""
        out: dict[str, dict[str, Any]] = {}
        union: dict[str, set[str]] = defaultdict(set)
        per_target: dict[str, dict[str, Counter[str]]] = {t: defaultdict(Counter) for t in self.targets}
        executed: Counter[str] = Counter()
        nothing = self.judged_nothing()
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
                values = sorted(counts, key=_value_key)
                params.append(
                    {
                        "name": param,
                        "seen": [(v, counts[v]) for v in values],
                        "thin": len(values) <= 1 and len(union[param]) > 1,
                        "missing": sorted(union[param] - set(values), key=_value_key),
                    }
                )
            out[target] = {
                "executed": executed[target],
                "unsupported": info.counts[Outcome.UNSUPPORTED],
                "judged_nothing": nothing.get(target, []),
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


def _count_cases(findings: Iterable[Finding], cases: list[dict[str, Any]]) -> None:
    """Set each finding's ``kind_cases`` and ``explained_cases`` from the failing cases."""
    by_kind: dict[tuple[Any, Any, Any], list[tuple[Finding, frozenset[str]]]] = defaultdict(list)
    for finding in findings:
        by_kind[_kind_key(finding.record)].append((finding, frozenset(finding.record.get("features") or [])))
    for rec in cases:
        if rec.get("outcome") not in FAILING:
            continue
        features = frozenset(rec.get("features") or [])
        for finding, needs in by_kind.get(_kind_key(rec), []):
            finding.kind_cases += 1
            finding.explained_cases += needs <= features


def build_report(runs: list[Run], baseline: Path | None = None) -> Report:
    """Merge the runs into one :class:`Report` (findings deduplicated by signature)."""
    cases: list[dict[str, Any]] = []
    findings: dict[str, Finding] = {}
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
                    findings[sig] = Finding(sig, rec, run)
                elif findings[sig].folder is None and rec.get("finding_dir"):
                    findings[sig].record, findings[sig].run = rec, run  # prefer one with its artefacts
                findings[sig].occurrences.append(occurrence)
            else:
                cases.append(rec)
                info.counts[str(rec.get("outcome"))] += 1
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
    )
    if baseline is not None:
        report.comparison = compare_baseline(report, baseline)
    return report


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


def audit_summary(audits: dict[str, Any]) -> dict[str, Any]:
    """Counts per audit for ``summary.json``."""
    out: dict[str, Any] = {}
    for key, data in audits.items():
        if not isinstance(data, dict) or "_unreadable" in data:
            out[key] = {"unreadable": True}
        elif key == "doc_audit":
            out[key] = {"departures": len(data.get("departures", [])), "cases": data.get("cases")}
        elif key == "mode_equivalence":
            pairs = data.get("pairs", [])
            out[key] = {"pairs": len(pairs), "differing": sum(1 for p in pairs if p.get("disagree"))}
        elif key == "invalid_inputs":
            problems = Counter(
                r.get("assessment")
                for row in data.get("configurations", [])
                for r in (row.get("responses") or {}).values()
            )
            out[key] = {"configurations": len(data.get("configurations", [])), "assessments": dict(problems)}
        elif key == "port":
            ports = data.get("ports", [])
            emitted = [t for p in ports for t in p.get("targets", []) if t.get("call")]
            unverified = [t for t in emitted if not t.get("verified") and not t.get("not_run")]
            out[key] = {"ports": len(ports), "emitted": len(emitted), "unverified": len(unverified)}
    return out


# --- baseline ----------------------------------------------------------------------------------


def baseline_signatures(baseline: Path) -> tuple[dict[str, str], set[str]]:
    """Finding signatures (→ target) of a baseline and the targets it ran.

    ``baseline`` is a run folder (``results.jsonl``), a report folder holding ``summary.json``,
    or a ``summary.json`` file: CI keeps the last report as an artefact.
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
        data = json.loads(summary.read_text(encoding="utf-8"))
        sigs = {str(f["signature"]): str(f.get("target", "")) for f in data.get("findings", [])}
        return sigs, set(data.get("targets", {})) | set(sigs.values())
    raise FileNotFoundError(f"{baseline}: neither a run folder (results.jsonl) nor a summary.json")


def compare_baseline(report: Report, baseline: Path) -> Comparison:
    """New, fixed and unchanged findings by signature; a baseline finding whose target did not run
    now is ``not_rerun``, not fixed."""
    old, _ = baseline_signatures(baseline)
    now = {f.signature for f in report.findings}
    ran_now = {t for t, info in report.targets.items() if info.cases}
    gone = sorted(set(old) - now)
    return Comparison(
        baseline=str(baseline),
        new=sorted(now - set(old)),
        fixed=[s for s in gone if old[s] in ran_now],
        unchanged=sorted(now & set(old)),
        not_rerun=[s for s in gone if old[s] not in ran_now],
    )


# --- summary.json and JUnit --------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as the strings ``inf``, ``-inf``, ``nan`` (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def summary(report: Report) -> dict[str, Any]:
    """The ``summary.json`` content."""
    totals = report.totals
    nothing = report.judged_nothing()
    return json_safe(
        {
            "schema": SUMMARY_SCHEMA,
            "generated": report.generated,
            "failed": report.failed,
            "runs": [
                {
                    "folder": str(r.folder),
                    "run_id": r.run_id,
                    "profile": r.meta.get("profile"),
                    "device": r.meta.get("device"),
                    "specs": r.meta.get("specs", []),
                    "records": len(r.records),
                    "skipped_lines": r.skipped_lines,
                }
                for r in report.runs
            ],
            "totals": {
                "cases": len(report.cases),
                "findings": len(report.findings),
                "outcomes": {o: totals.get(o, 0) for o in OUTCOMES},
            },
            "targets": {
                name: {
                    "framework": info.framework,
                    "framework_versions": sorted(info.versions),
                    "devices": sorted(info.devices),
                    "cases": info.cases,
                    "outcomes": {o: info.counts.get(o, 0) for o in OUTCOMES},
                    "findings": sum(1 for f in report.findings if f.target == name),
                    "judged_nothing": nothing.get(name, []),
                    "environments": info.environments,
                }
                for name, info in report.targets.items()
            },
            "unavailable": report.unavailable,
            "findings": [
                {
                    "signature": f.signature,
                    "target": f.target,
                    "kind": f.kind,
                    "outcome": f.outcome,
                    "detail": f.record.get("detail"),
                    "features": f.record.get("features", []),
                    "spec": f.record.get("spec"),
                    "device": f.record.get("device"),
                    "framework_version": f.record.get("framework_version"),
                    "message": f.record.get("message"),
                    "case": f.record.get("case"),
                    "expected_shape": f.record.get("expected_shape"),
                    "actual_shape": f.record.get("actual_shape"),
                    "stats": f.record.get("stats"),
                    "repro": f.record.get("repro"),
                    "finding_dir": None if f.folder is None else str(f.folder),
                    "runs": sorted({o["run_id"] for o in f.occurrences}),
                    "explained_cases": f.explained_cases,
                    "kind_cases": f.kind_cases,
                }
                for f in report.findings
            ],
            "comparison": None if report.comparison is None else report.comparison.to_dict(),
            "audits": audit_summary(report.audits),
        }
    )


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: Any) -> str:
    # Control characters are not representable in XML 1.0 even escaped (framework messages carry ANSI codes).
    return _XML_INVALID.sub("?", "" if text is None else str(text))


def _case_name(rec: dict[str, Any]) -> str:
    case = rec.get("case") or {}
    dims = "x".join(str(v) for v in _ints(case.get("input_size")))
    padding = recorded_features(case)["padding"]
    return _xml_text(
        f"line {rec.get('line', '?')}: {case.get('rank', '?')}d {case.get('dtype', '?')} "
        f"C={case.get('in_channels', '?')}->{case.get('out_channels', '?')} g={case.get('groups', '?')} "
        f"L={dims} k={_ints(case.get('kernel_size'))} s={_ints(case.get('stride'))} "
        f"d={_ints(case.get('dilation'))} crop={_ints(case.get('pads_begin'))}/{_ints(case.get('pads_end'))} "
        f"op={_ints(case.get('output_padding'))} {padding} seed={case.get('seed', '?')}"
    )


def _result_element(parent: ET.Element, rec: dict[str, Any]) -> None:
    outcome = str(rec.get("outcome"))
    text = _xml_text(rec.get("message"))
    body = f"{text}\nrepro: {_xml_text(rec.get('repro'))}"
    if outcome in OUTCOMES and Outcome(outcome).junit == "failure":
        ET.SubElement(parent, "failure", message=text[:500], type=outcome).text = body
    elif outcome in OUTCOMES and Outcome(outcome).junit == "error":
        ET.SubElement(
            parent, "error", message=text[:500], type=f"{outcome}:{_xml_text(rec.get('detail'))}"
        ).text = body
    elif outcome == Outcome.UNSUPPORTED:
        ET.SubElement(parent, "skipped", message=text[:500])


def junit(report: Report) -> ET.ElementTree:
    """JUnit XML: a suite per target (a testcase per case) and a ``findings`` suite (one per signature)."""
    root = ET.Element("testsuites", name="convt-harness")
    suites: list[tuple[str, list[dict[str, Any]]]] = [
        (name, [r for r in report.cases if r.get("target") == name]) for name in report.targets
    ]
    for name, records in suites:
        suite = ET.SubElement(root, "testsuite", name=_xml_text(name))
        for rec in records:
            case_el = ET.SubElement(
                suite,
                "testcase",
                name=_case_name(rec),
                classname=_xml_text(f"{rec.get('spec')}.{name}"),
                time=f"{float(rec.get('seconds') or 0.0):.6f}",
            )
            _result_element(case_el, rec)
        _suite_counts(suite, records)
    findings_suite = ET.SubElement(root, "testsuite", name="findings")
    for f in report.findings:
        case_el = ET.SubElement(
            findings_suite,
            "testcase",
            name=_xml_text(f.signature),
            classname=_xml_text(f"findings.{f.target}"),
            time="0",
        )
        _result_element(case_el, f.record)
    _suite_counts(findings_suite, [f.record for f in report.findings])
    totals = Counter()
    for suite in root:
        for key in ("tests", "failures", "errors", "skipped"):
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.ElementTree(root)


def _suite_counts(suite: ET.Element, records: list[dict[str, Any]]) -> None:
    outcomes = Counter(str(r.get("outcome")) for r in records)
    suite.set("tests", str(len(records)))
    suite.set("failures", str(sum(outcomes[o] for o in junit_outcomes("failure"))))
    suite.set("errors", str(sum(outcomes[o] for o in junit_outcomes("error"))))
    suite.set("skipped", str(outcomes[Outcome.UNSUPPORTED]))
    suite.set("time", f"{sum(float(r.get('seconds') or 0.0) for r in records):.6f}")


# --- entry points ------------------------------------------------------------------------------


def load_report(run_dirs: list[Path], baseline: Path | None = None) -> Report:
    """Load and merge the run folders (and compare with ``baseline``)."""
    if not run_dirs:
        raise NoRuns("no run folder given")
    return build_report([load_run(Path(d), i) for i, d in enumerate(run_dirs)], baseline)


def write_report(run_dirs: list[Path], baseline: Path | None = None) -> Path:
    """Write ``report.html``, ``summary.json`` and ``junit.xml`` into ``run_dirs[0]``; returns the html."""
    return save_report(load_report(run_dirs, baseline), Path(run_dirs[0]))


def save_report(report: Report, out: Path) -> Path:
    """Write an already loaded report's three files into ``out``; returns the html path."""
    from harness.report.html import render_html

    write_text_atomic(out / "summary.json", json.dumps(summary(report), indent=2, allow_nan=False) + "\n")
    tree = junit(report)
    replace_atomically(
        out / "junit.xml", lambda handle: tree.write(handle, encoding="utf-8", xml_declaration=True)
    )
    return write_text_atomic(out / "report.html", render_html(report))
