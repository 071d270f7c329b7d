"""What the report page shows for one finding: its minimal case, what differs, its statistics and
pictures, its snippet, as one dict per finding for the template."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from harness.errors import InvalidCase
from harness.files import contained
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.report.model import ReportedFinding
from harness.report.pictures import pictures

SNIPPET_LIMIT = 20_000
SPATIAL = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def shape_diff(expected: list[int] | None, actual: list[int] | None) -> list[dict[str, Any]]:
    """Per dimension of the output shape: name, expected, actual, whether they differ."""
    expected, actual = list(expected or []), list(actual or [])
    n = max(len(expected), len(actual))
    names = ["N", "C", *SPATIAL.get(n - 2, [f"S{i}" for i in range(max(0, n - 2))])][:n]
    names += [f"dim{i}" for i in range(len(names), n)]
    return [
        {
            "name": names[i],
            "expected": expected[i] if i < len(expected) else "—",
            "actual": actual[i] if i < len(actual) else "—",
            "differs": i >= len(expected) or i >= len(actual) or expected[i] != actual[i],
        }
        for i in range(n)
    ]


CASE_FIELDS = (
    ("rank", "rank"),
    ("batch", "N"),
    ("in_channels", "C_in"),
    ("out_channels", "C_out"),
    ("groups", "groups"),
    ("input_size", "input size"),
    ("kernel_size", "kernel"),
    ("stride", "stride"),
    ("dilation", "dilation"),
    ("pads_begin", "crop begin"),
    ("pads_end", "crop end"),
    ("output_padding", "output_padding"),
    ("padding_mode", "padding mode"),
    ("bias", "bias"),
    ("dtype", "dtype"),
    ("layout", "layout"),
    ("distribution", "values"),
    ("seed", "seed"),
)


def case_rows(case: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of a minimal case, in a fixed order."""
    return [(label, str(case[key])) for key, label in CASE_FIELDS if key in case]


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """``items`` in rows of ``size`` (the last row may be shorter)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def _read_snippet(folder: Path | None) -> str | None:
    """The first :data:`SNIPPET_LIMIT` characters of the folder's snippet.py (a link out of the
    folder is not followed)."""
    path = None if folder is None else contained(folder, "snippet.py")
    if path is None or not path.is_file():
        return None
    with path.open(encoding="utf-8", errors="replace") as fh:
        text = fh.read(SNIPPET_LIMIT + 1)
    return text if len(text) <= SNIPPET_LIMIT else text[:SNIPPET_LIMIT] + "\n# … (truncated)\n"


STAT_ROWS = (
    ("max_abs_error", "max |error|"),
    ("max_rel_error", "max relative error"),
    ("max_ulp_error", "max error in ULP"),
    ("error_ratio", "max |error| / bound (the tolerance factor that would just pass)"),
    ("mismatched", "elements beyond the bound"),
    ("nonfinite_mismatches", "nan/inf mismatches"),
    ("compared", "elements compared"),
    ("worst_index", "worst element (N, C, *spatial)"),
)


def finding_view(finding: ReportedFinding, index: int) -> dict[str, Any]:
    """What the template shows for one finding."""
    rec = finding.record
    stats = rec.get("stats") or {}
    view: dict[str, Any] = {
        "id": f"finding-{index}",
        "finding": finding,
        "rec": rec,
        "kind": finding.kind,
        "case": chunks(case_rows(rec.get("case") or {}), 3),
        "short": _case_short(rec.get("case") or {}),
        "features": rec.get("features") or [],
        "snippet": _read_snippet(finding.folder),
        "folder": None if finding.folder is None else str(finding.folder),
        "folder_note": finding.folder_note,
        "search": " ".join(str(x) for x in (finding.signature, rec.get("spec"), rec.get("message"))).lower(),
    }
    if finding.outcome == Outcome.VALUE_MISMATCH:
        view["stats"] = [(label, stats[key]) for key, label in STAT_ROWS if key in stats]
        view["exact_bound"] = stats.get("error_ratio") in (math.inf, "inf")
        view["pictures"] = pictures(finding.folder, finding.folder_note)
    if finding.outcome in (Outcome.SHAPE_MISMATCH, Outcome.DOC_MISMATCH):
        view["shape"] = shape_diff(rec.get("expected_shape"), rec.get("actual_shape"))
    if finding.outcome == Outcome.DOC_MISMATCH:
        view["doc"] = [
            (k.replace("_", " "), stats[k])
            for k in ("documented_size", "actual_size", "documented_formula", "source")
            if k in stats
        ]
    return view


def _case_short(case: dict[str, Any]) -> str:
    try:
        return Case.from_dict(case).short()
    except (InvalidCase, TypeError, ValueError):
        return ", ".join(f"{k}={v}" for k, v in case.items())
