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
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, name, value[:80])
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
