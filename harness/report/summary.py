"""``summary.json``: outcome counts per target, the deduplicated findings (each ``new``, ``known`` or
``baseline``), the baseline comparison, the triage (new, known, fixed, stale known-findings entries)
and a short entry per audit, for CI systems.

The file is strict JSON: a non-finite number is written as the string ``"inf"``, ``"-inf"`` or
``"nan"``, and keys starting with ``_`` (the report's own bookkeeping) are left out.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from harness.model.outcomes import OUTCOMES
from harness.report.model import Report

SUMMARY_SCHEMA = "convt-report-summary/1"


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
    inapplicable = report.not_applicable()
    content: dict[str, Any] = json_safe(
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
                    "damaged_lines": [{"line": n, "problem": problem} for n, problem in r.damaged],
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
                    "not_applicable": inapplicable.get(name, {}),
                    "environments": info.environments,
                }
                for name, info in report.targets.items()
            },
            "unavailable": report.unavailable,
            "shards": [split.to_dict() for split in report.splits],
            "findings": [
                {
                    "signature": f.signature,
                    "status": report.triage.status(f.signature),
                    "known": _note(report, f.signature),
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
            "triage": report.triage.to_dict(),
            "audits": audit_summary(report.audits),
        }
    )
    return content


def _note(report: Report, signature: str) -> str | None:
    accepted = report.triage.accepted.get(signature)
    return None if accepted is None else accepted.note


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
