"""What the report page shows for one finding: its minimal case, what differs, its statistics and
pictures, its snippet, as one dict per finding for the template."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from harness.errors import InvalidCase
from harness.files import contained
from harness.model.case import Case
from harness.model.outcomes import OUTCOMES, Outcome
from harness.report.groups import FindingGroup, error_ratio, rank_of
from harness.report.model import ReportedFinding
from harness.report.nonfinite import describe, describe_record, first_pair
from harness.report.pictures import pictures

SNIPPET_LIMIT = 20_000
SPATIAL = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def slug(text: Any) -> str:
    """An id-safe form of a name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "x"


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


#: The statistics that only measure the finite positions (0 when every mismatch is a nan/inf).
FINITE_ONLY = ("max_abs_error", "max_rel_error", "max_ulp_error", "error_ratio")


def _nonfinite(drawn: dict[str, Any], stats: dict[str, Any], message: str) -> tuple[str | None, list[str]]:
    """The nan/inf pattern of a value finding, and its kinds ("nan where the reference is
    finite", …): from its arrays when the pictures read them, else from its record; (None, [])
    when no element is a nan/inf mismatch."""
    if drawn.get("nonfinite"):
        return describe(drawn["nonfinite"]), [what for what, _ in drawn["nonfinite"]]
    if "heatmap" in drawn:  # the arrays were read and hold no nan/inf mismatch
        return None, []
    text = describe_record(stats, message)
    first = first_pair(message)
    return text, [] if text is None else [first or "nan/inf mismatch"]


def _stat_rows(stats: dict[str, Any], nonfinite: str | None) -> list[tuple[str, Any]]:
    """(label, value) rows of a value finding's statistics; with nan/inf mismatches, the error
    figures say they cover the finite positions and the nan/inf row says what the pattern is."""
    rows = []
    for key, label in STAT_ROWS:
        if key not in stats:
            continue
        if nonfinite and key in FINITE_ONLY:
            rows.append((f"{label}, finite positions only", stats[key]))
        elif nonfinite and key == "nonfinite_mismatches":
            rows.append((label, nonfinite))
        else:
            rows.append((label, stats[key]))
    return rows


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
        "ratio": error_ratio(rec),
        "rank": rank_of(rec),
        "nonfinite": None,
        "nonfinite_kinds": [],
    }
    if finding.outcome == Outcome.VALUE_MISMATCH:
        view["pictures"] = pictures(finding.folder, finding.folder_note)
        view["nonfinite"], view["nonfinite_kinds"] = _nonfinite(
            view["pictures"], stats, str(rec.get("message") or "")
        )
        view["stats"] = _stat_rows(stats, view["nonfinite"])
        view["exact_bound"] = stats.get("error_ratio") in (math.inf, "inf")
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


def _attribute_ratio(ratio: float | None) -> str:
    """A ratio as the page's script reads it back (``parseFloat``): ``Infinity``, a number or ``-1``."""
    if ratio is None:
        return "-1"
    return "Infinity" if math.isinf(ratio) else repr(ratio)


def group_view(group: FindingGroup, members: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """What the template shows for one group: its mechanism, targets and ranks, the figures it is
    sorted by (as data attributes for the page's script) and its members' views."""
    nonfinite = None
    if len(members) == 1:
        nonfinite = members[0]["nonfinite"]
    elif with_kinds := [m for m in members if m["nonfinite_kinds"]]:
        kinds = dict.fromkeys(k for m in with_kinds for k in m["nonfinite_kinds"])
        nonfinite = f"{'; '.join(kinds)} (in {len(with_kinds)} of {len(members)} findings)"
    slugs = sorted({slug(t) for t in group.targets})
    return {
        # a group of one is its finding: one element, the finding's id
        "id": members[0]["id"] if len(members) == 1 else f"group-{index}",
        "group": group,
        "members": members,
        "label": Outcome(group.outcome).label if group.outcome in OUTCOMES else group.outcome,
        "ratio": group.worst_ratio,
        "nonfinite": nonfinite,
        "data": {
            "order": str(index),
            "severity": str(group.severity),
            "ratio": _attribute_ratio(group.worst_ratio),
            "cases": str(group.cases),
            "members": str(len(members)),
            "first-target": group.targets[0] if group.targets else "",
            # spaces around each slug, so that " slug " matches whole names only
            "targets": " " + " ".join(slugs) + " ",
            "search": " ".join([*(m["search"] for m in members), *group.targets]).lower(),
        },
    }
