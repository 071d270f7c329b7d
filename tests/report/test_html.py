"""The page: every string is escaped, nothing is fetched, and the one script is allowed by the page's
own Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from report_runs import MARKUP, PASSING, Entry, MarkupTarget, make_run, parse_html
from targets_for_tests import CorrectTarget

from harness.report.html import linkify
from harness.report.write import write_report


@pytest.fixture(scope="module")
def markup_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose spec name and exception message are markup."""
    folder = make_run(
        tmp_path_factory.mktemp("markup"),
        [
            Entry(MarkupTarget(), PASSING[0]),
            Entry(MarkupTarget(), PASSING[0], True),
            Entry(CorrectTarget(), PASSING[1]),
        ],
        run_id="markup",
        spec=MARKUP,
    )
    write_report([folder])
    return folder


def test_markup_in_spec_and_messages_is_escaped(markup_run: Path) -> None:
    page = (markup_run / "report.html").read_text(encoding="utf-8")
    assert MARKUP not in page and "window.__pwned" in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    parsed = parse_html(markup_run / "report.html")
    assert [t for t, _ in parsed.tags].count("script") == 1  # the report's own script only
    assert not any(t == "img" and a.get("src") == "x" for t, a in parsed.tags)
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)


def test_report_is_self_contained(buggy_run: Path) -> None:
    page = (buggy_run / "report.html").read_text(encoding="utf-8")
    parsed = parse_html(buggy_run / "report.html")
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "action", "srcset", "data", "poster"):
            value = attrs.get(name)
            if value is None or value.startswith(("data:", "#")):
                continue
            # a documentation link is followed only when clicked, in a new tab: never fetched
            assert (tag, name) == ("a", "href") and value.startswith(("https://", "http://")), (
                tag,
                value[:80],
            )
            assert attrs.get("rel") == "noopener noreferrer" and attrs.get("target") == "_blank"
        assert not (tag == "link" and attrs.get("rel") == "stylesheet")
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert "@import" not in page
    images = [a["src"] for t, a in parsed.tags if t == "img"]
    assert images and all(src.startswith("data:image/png;base64,") for src in images)


def test_script_is_allowed_by_the_pages_own_policy(buggy_run: Path) -> None:
    parsed = parse_html(buggy_run / "report.html")
    policy = next(
        a["content"]
        for t, a in parsed.tags
        if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
    )
    digest = base64.b64encode(hashlib.sha256(parsed.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "img-src data:" in policy


def test_sources_become_links_and_nothing_else_does() -> None:
    text = 'Docs (https://example.org/a_b.html?x=1&y=2). Also http://e.org/p, and "https://q.org/x" <b>'
    html = str(linkify(text))
    attrs = 'rel="noopener noreferrer" target="_blank"'
    assert html == (
        f'Docs (<a class="ext" href="https://example.org/a_b.html?x=1&amp;y=2" {attrs}>'
        "https://example.org/a_b.html?x=1&amp;y=2</a>). "
        f'Also <a class="ext" href="http://e.org/p" {attrs}>http://e.org/p</a>, '
        f'and &#34;<a class="ext" href="https://q.org/x" {attrs}>https://q.org/x</a>&#34; &lt;b&gt;'
    )
    for text in (
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://e.org/f",
        "github.com/a/b",
        "https:/x",
    ):
        assert "<a" not in str(linkify(text)), text
    assert str(linkify('https://e.org/"onmouseover="x')) == (
        '<a class="ext" href="https://e.org/" rel="noopener noreferrer" target="_blank">https://e.org/</a>'
        "&#34;onmouseover=&#34;x"
    )


def test_summary_comes_before_the_environment(buggy_run: Path) -> None:
    page = (buggy_run / "report.html").read_text(encoding="utf-8")
    order = [
        page.index(f'id="{name}"')
        for name in ("overview", "per-target", "matrix", "findings", "environment", "runs")
    ]
    assert order == sorted(order)
