"""The report page: one self-contained HTML file rendered from ``templates/report.html.j2`` (which
includes ``report.css.j2``, ``report.js.j2``, the findings, ``findings.html.j2``, and the audit
sections, ``audits.html.j2``).

Everything is inline: styles, one script (allowed by its hash in the page's Content-Security-Policy,
which also forbids every network fetch) and the pictures (PNG data URIs, SVG). Every string that
comes from specs, cases, records or exception texts goes through Jinja2's autoescaping; the one
filter that makes markup, ``links`` (:func:`linkify`), escapes its text and makes only http(s) URLs
into links, which a reader follows by clicking and the page never fetches.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from harness.model.outcomes import FINDING_ORDER, Outcome
from harness.report.audit_views import audit_views
from harness.report.groups import group_findings
from harness.report.model import Report
from harness.report.views import finding_view, group_view, slug

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


#: An http(s) URL in running text; it stops before brackets and quotes, and
#: :func:`linkify` leaves a sentence's closing punctuation out of it.
URL = re.compile(r"https?://[^\s<>\"'()\[\]{}]+")
#: A source's link: opened in a new tab, with no opener and no referrer.
LINK = Markup('<a class="ext" href="{url}" rel="noopener noreferrer" target="_blank">{url}</a>')


def linkify(text: Any) -> Markup:
    """``text`` escaped, with each http(s) URL in it a link (no other scheme becomes one)."""
    text = "" if text is None else str(text)
    parts, pos = [], 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?")
        parts += [escape(text[pos : match.start()]), LINK.format(url=url)]
        pos = match.start() + len(url)
    parts.append(escape(text[pos:]))
    return Markup("").join(parts)


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
    env.filters["links"] = linkify
    env.filters["csp_hash"] = csp_hash
    env.filters["rgb"] = lambda c: Markup("rgb({},{},{})".format(*(int(v) for v in c)))
    env.globals["Outcome"] = Outcome  # outcome values and CSS classes come from the enum, not literals
    return env


#: Groups on one page of the findings list when there are more than this many (all on one page
#: otherwise); the page's script pages through them.
PAGE_SIZE = 50
PAGE_ABOVE = 200


def render_html(report: Report) -> str:
    """The report page."""
    views = [finding_view(f, i) for i, f in enumerate(report.findings)]
    by_signature = {v["finding"].signature: v for v in views}
    groups = [
        group_view(g, [by_signature[m.signature] for m in g.members], i)
        for i, g in enumerate(group_findings(report.findings, report.cases))
    ]
    by_kind: dict[str, dict[str, int]] = {}
    for view in views:
        kinds = by_kind.setdefault(view["finding"].target, {})
        kinds[view["kind"]] = kinds.get(view["kind"], 0) + 1
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            totals=report.totals,
            matrix=report.matrix(),
            coverage=report.coverage(),
            coverage_map=report.coverage_map(),
            groups=groups,
            by_kind=by_kind,
            grouped=by_kind,  # the banner's name for the targets with findings
            kinds=[o.label for o in FINDING_ORDER],
            comparison=report.comparison,
            signature_views=by_signature,
            audits=audit_views(report.audits),
            page_size=PAGE_SIZE if len(groups) > PAGE_ABOVE else 0,
        )
    )
