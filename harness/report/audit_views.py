"""What the report page shows for each audit file: template data for the port, documentation
audit, mode equivalence and invalid-input sections (see ``templates/audits.html.j2``)."""

from __future__ import annotations

from typing import Any

from harness.audits.invalid_verdicts import VERDICTS, verdict
from harness.report.port_model_view import port_model_view
from harness.report.views import case_rows, chunks


def _crop_text(crops: dict[str, Any] | None) -> str:
    if not crops:
        return "no crop reproduces it"
    text = f"crops {crops.get('begin')}/{crops.get('end')}"
    if any(crops.get("output_padding") or []):
        text += f" + {crops.get('output_padding')} past the end"
    return text


def port_view(data: dict[str, Any]) -> dict[str, Any]:
    """Rows of the port section: per port, the source and one row per requested target."""
    views = []
    for entry in data.get("ports", []):
        rows = []
        for t in entry.get("targets", []):
            stats = t.get("stats") or {}
            if t.get("call") is None:
                state, cls = "not expressible", "unsup"
            elif t.get("not_run"):
                state, cls = "not run", "none"
            elif t.get("verified"):
                state, cls = "verified", "pass"
            else:
                state, cls = f"not verified ({t.get('outcome', '?')})", "fail"
            named = t.get("named_mode") or {}
            named_text = ""
            if named:
                named_text = {True: "same result here", False: "a different result here", None: "not run"}[
                    named.get("equivalent")
                ]
                named_text = f"its own {named.get('api_value')!r}: {named_text}"
            rows.append(
                {
                    "target": t.get("target"),
                    "call": t.get("call"),
                    "state": state,
                    "cls": cls,
                    "shape": t.get("output_shape"),
                    "max_abs_error": stats.get("max_abs_error"),
                    "error_ratio": stats.get("error_ratio"),
                    "why": t.get("reason")
                    or t.get("not_run")
                    or ("" if t.get("verified") else t.get("message", "")),
                    "notes": t.get("notes") or [],
                    "named": named_text,
                }
            )
        source = entry.get("source") or {}
        if source.get("not_run"):
            source_state = f"not run: {source['not_run']}"
        else:
            source_state = "verified" if source.get("verified") else "NOT verified"
        views.append(
            {
                "call": entry.get("call"),
                "api": entry.get("api"),
                "case_short": entry.get("case_short"),
                "source_target": entry.get("source_target"),
                "notes": entry.get("notes") or [],
                "source_state": source_state,
                "source_shape": source.get("output_shape"),
                "rows": rows,
            }
        )
    return {"ports": views}


def doc_audit_view(data: dict[str, Any]) -> dict[str, Any]:
    """The documentation audit: a line per target and a card per departure."""
    departures = []
    for d in data.get("departures", []):
        documented, actual = d.get("documented") or {}, d.get("actual") or {}
        departures.append(
            dict(
                d,
                documented_value=documented.get("value"),
                formula=documented.get("formula"),
                source=documented.get("source"),
                split=documented.get("split"),
                actual_value=actual.get("value"),
                actual_crops=(actual.get("note") or _crop_text(actual.get("crops")))
                if "crops" in actual
                else "",
                documented_crops=_crop_text(documented.get("crops")) if "crops" in documented else "",
                case_rows=chunks(case_rows(d.get("case") or {}), 3),
            )
        )
    return {
        "meta": {k: data.get(k) for k in ("profile", "cases", "generated_cases", "seconds", "generated")},
        "targets": data.get("targets", {}),
        "departures": departures,
    }


def mode_view(data: dict[str, Any]) -> dict[str, Any]:
    """Per family a symmetric agreement matrix of (target, mode) entries, and the differing pairs."""
    entries = data.get("entries", [])
    pairs = {(p["a"], p["b"]): p for p in data.get("pairs", [])}
    families = []
    for family in dict.fromkeys(e.get("family") for e in entries):
        members = [e for e in entries if e.get("family") == family]
        rows = []
        for a in members:
            cells = []
            for b in members:
                pair = pairs.get((a["id"], b["id"])) or pairs.get((b["id"], a["id"]))
                if a["id"] == b["id"]:
                    cells.append({"cls": "none", "text": "—", "title": ""})
                elif pair is None or not pair.get("compared"):
                    cells.append({"cls": "unsup", "text": "n/a", "title": "no case both can express"})
                elif pair.get("equivalent"):
                    cells.append(
                        {
                            "cls": "pass",
                            "text": f"= {pair['compared']}",
                            "title": f"agree on all {pair['compared']} cases both express",
                        }
                    )
                else:
                    smallest = (pair.get("distinguishing") or {}).get("case_short", "")
                    cells.append(
                        {
                            "cls": "fail",
                            "text": f"≠ {pair['disagree']}/{pair['compared']}",
                            "title": f"smallest distinguishing case: {smallest}",
                        }
                    )
            rows.append({"entry": a, "cells": cells})
        families.append({"name": family, "members": members, "rows": rows})
    differing = []
    for pair in data.get("pairs", []):
        found = pair.get("distinguishing")
        if not found:
            continue
        differing.append(
            {
                "pair": pair,
                "case_short": found.get("case_short"),
                "a": _behaviour_text(found.get(pair["a"]) or {}),
                "b": _behaviour_text(found.get(pair["b"]) or {}),
            }
        )
    return {
        "meta": {k: data.get(k) for k in ("profile", "geometries", "seconds", "generated")},
        "families": families,
        "differing": differing,
        "entries": entries,
    }


def _behaviour_text(b: dict[str, Any]) -> str:
    kind = b.get("kind")
    if kind == "crops":
        return f"output {b.get('shape')}, " + _crop_text(b)
    return f"{kind}: {b.get('text', '')}" + (f" (output {b['shape']})" if b.get("shape") else "")


def invalid_view(data: dict[str, Any]) -> dict[str, Any]:
    """Configurations × targets that ran, each cell a verdict (:data:`VERDICTS`, the legend); the
    problems listed with their messages and what decided each."""
    rows_in = data.get("configurations", [])

    def ran(target: str) -> bool:
        return any(
            (row.get("responses") or {}).get(target, {}).get("response") != "not_run" for row in rows_in
        )

    targets = [t for t in data.get("targets", []) if ran(t)]
    rows, problems = [], []
    counts: dict[str, dict[str, int]] = {t: {} for t in targets}
    for row in rows_in:
        cells = []
        for t in targets:
            r = (row.get("responses") or {}).get(t, {})
            assessment = str(r.get("assessment", "?"))
            known = verdict(assessment)
            counts[t][assessment] = counts[t].get(assessment, 0) + 1
            text = assessment.replace("_", " ")
            if r.get("response") == "accepted":
                text += f" {r.get('shape')}"
            why = r.get("documented_valid") or r.get("message_why") or ""
            message = r.get("message") or (r.get("values") or {}).get("message") or ""
            title = f"{why}: {message}" if why and message else why or message
            cells.append({"cls": known.cls if known else "none", "text": text, "title": title})
            if known is not None and known.problem:
                problems.append(
                    {
                        "config": row.get("name"),
                        "target": t,
                        "assessment": assessment,
                        "cls": known.cls,
                        "why": why,
                        "response": r,
                        "expect": row.get("expect"),
                        "expected_shape": row.get("expected_shape"),
                    }
                )
        rows.append({"row": row, "cells": cells})
    legend = [
        {"name": name, "meaning": v.meaning, "cls": v.cls, "problem": v.problem}
        for name, v in VERDICTS.items()
    ]
    return {
        "targets": targets,
        "rows": rows,
        "problems": problems,
        "legend": legend,
        "counts": counts,
        "not_run": data.get("not_run") or {},
        "meta": {k: data.get(k) for k in ("seconds", "generated")},
    }


def audit_views(audits: dict[str, Any]) -> dict[str, Any]:
    """Template data for each audit present (an unreadable file becomes a note)."""
    builders = {
        "port": port_view,
        "port_model": port_model_view,
        "doc_audit": doc_audit_view,
        "mode_equivalence": mode_view,
        "invalid_inputs": invalid_view,
    }
    views: dict[str, Any] = {}
    for key, data in audits.items():
        if not isinstance(data, dict) or "_unreadable" in data:
            views[key] = {
                "unreadable": (data or {}).get("_unreadable", "not a JSON object")
                if isinstance(data, dict)
                else "not a JSON object"
            }
            continue
        try:
            views[key] = builders[key](data)
        except (KeyError, TypeError, AttributeError) as exc:
            views[key] = {"unreadable": f"{key}: unexpected content ({type(exc).__name__}: {exc})"}
    return views
