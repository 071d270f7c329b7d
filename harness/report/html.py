"""The report page: one self-contained HTML file rendered from ``templates/report.html.j2`` (which
includes ``report.css.j2``, ``report.js.j2`` and the audit sections, ``audits.html.j2``).

Everything is inline: styles, one script (allowed by its hash in the page's Content-Security-Policy,
which also forbids every network fetch) and the pictures (PNG data URIs, SVG). Every string that
comes from specs, cases, records or exception texts goes through Jinja2's autoescaping.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from harness.model.outcomes import FINDING_ORDER, Outcome
from harness.report.audit_views import audit_views
from harness.report.model import Report
from harness.report.views import finding_view

TEMPLATES = Path(__file__).resolve().parent / "templates"


def fmt_number(value: Any) -> str:
    """Numbers to 4 significant digits; lists element-wise; non-finite as ∞/nan."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt_number(v) for v in value) + "]"
    return str(value)


def slug(text: Any) -> str:
    """An id-safe form of a name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "x"


def csp_hash(script: str) -> str:
    """The CSP source expression allowing exactly this inline script."""
    digest = hashlib.sha256(str(script).encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def environment() -> Environment:
    """The Jinja2 environment (autoescape on for every template)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_number
    env.filters["slug"] = slug
    env.filters["csp_hash"] = csp_hash
    env.filters["rgb"] = lambda c: Markup("rgb({},{},{})".format(*(int(v) for v in c)))
    env.globals["Outcome"] = Outcome  # outcome values and CSS classes come from the enum, not literals
    return env


def render_html(report: Report) -> str:
    """The report page."""
    views = [finding_view(f, i) for i, f in enumerate(report.findings)]
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for view in views:
        grouped.setdefault(view["finding"].target, {}).setdefault(view["kind"], []).append(view)
    by_kind = {t: {k: len(v) for k, v in kinds.items()} for t, kinds in grouped.items()}
    comparison = report.comparison
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            totals=report.totals,
            matrix=report.matrix(),
            coverage=report.coverage(),
            grouped=grouped,
            by_kind=by_kind,
            kinds=[o.label for o in FINDING_ORDER],
            comparison=comparison,
            signature_views={v["finding"].signature: v for v in views},
            audits=audit_views(report.audits),
        )
    )
