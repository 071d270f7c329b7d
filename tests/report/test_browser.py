"""The report as a person sees it, in headless Chromium: the matrix is there, a finding expands on
click with its pictures decoded, markup from records never runs, and the console stays clean.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium chromium-driver``;
``$CHROMIUM`` / ``$CHROMEDRIVER`` point elsewhere) and selenium; skipped, with the reason, without them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_runs import MARKUP, PASSING, Entry, MarkupTarget, buggy_entries, make_run
from targets_for_tests import CorrectTarget

from harness.report.write import write_report

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _executable(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return shutil.which(os.environ[env])
    return next((path for name in names if (path := shutil.which(name))), None)


CHROMIUM = _executable("CHROMIUM", "chromium", "chromium-browser")
CHROMEDRIVER = _executable("CHROMEDRIVER", "chromedriver")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(
        CHROMEDRIVER is None, reason="chromedriver not installed (apt-get install -y chromium-driver)"
    ),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report with three findings, an unsupported case and markup in a spec name and a message."""
    folder = tmp_path_factory.mktemp("browser")
    make_run(folder / "a", buggy_entries(), run_id="run-a")
    make_run(
        folder / "b",
        [Entry(MarkupTarget(), PASSING[0], True), Entry(CorrectTarget(), PASSING[1])],
        run_id="run-b",
        spec=MARKUP,
    )
    return write_report([folder / "a", folder / "b"])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium through chromedriver, with a fresh profile and the browser log on."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium not installed (pip install selenium)"
    )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def opened(browser: Any, page: Path) -> Any:
    """The report freshly loaded (earlier logs drained)."""
    browser.get(page.as_uri())
    return browser


def _by(kind: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def test_matrix_is_visible_with_every_target(opened: Any) -> None:
    matrix = opened.find_element(_by("ID"), "matrix")
    assert matrix.is_displayed()
    heads = [th.text for th in matrix.find_elements(_by("CSS_SELECTOR"), "thead th.target")]
    assert heads == sorted(["test.correct", "test.three_bugs", "test.markup"])
    failing = matrix.find_elements(_by("CSS_SELECTOR"), "td.cell.fail")
    assert failing and all(cell.is_displayed() for cell in failing)


def test_finding_expands_on_click(opened: Any) -> None:
    details = opened.find_elements(_by("CSS_SELECTOR"), "details.finding")
    assert len(details) == 4
    value = next(d for d in details if "value" in d.find_element(_by("CSS_SELECTOR"), "summary .badge").text)
    body = value.find_element(_by("CSS_SELECTOR"), ".fbody")
    assert value.get_attribute("open") is None and not body.is_displayed()
    value.find_element(_by("TAG_NAME"), "summary").click()
    assert value.get_attribute("open") is not None and body.is_displayed()
    images = body.find_elements(_by("CSS_SELECTOR"), ".panel img")
    assert images
    for img in images:  # decoded by the browser, at the size the page declares
        natural, declared = opened.execute_script(
            "const i = arguments[0]; return [i.complete && i.naturalWidth, i.getAttribute('width')]", img
        )
        assert natural == int(declared) > 0
    assert "python -m harness repro" in body.find_element(_by("CSS_SELECTOR"), ".repro pre").text


def test_filter_and_expand_all(opened: Any) -> None:
    box = opened.find_element(_by("ID"), "finding-filter")
    box.send_keys("shape_mismatch")
    visible = [d for d in opened.find_elements(_by("CSS_SELECTOR"), "details.finding") if d.is_displayed()]
    assert len(visible) == 1
    assert opened.find_element(_by("ID"), "filter-count").text == "1 of 4 shown"
    opened.find_element(_by("ID"), "expand-all").click()
    assert visible[0].get_attribute("open") is not None


def test_markup_is_shown_as_text_and_never_runs(opened: Any) -> None:
    assert opened.execute_script("return typeof window.__pwned") == "undefined"
    markup = next(
        d
        for d in opened.find_elements(_by("CSS_SELECTOR"), "details.finding")
        if "error" in d.find_element(_by("CSS_SELECTOR"), "summary .badge").text
        and "test.markup" in d.get_attribute("data-search")
    )
    markup.find_element(_by("TAG_NAME"), "summary").click()
    message = markup.find_element(_by("CSS_SELECTOR"), ".fbody pre").text
    assert "<script>window.__pwned = 1</script>" in message
    assert opened.execute_script("return typeof window.__pwned") == "undefined"


def test_no_console_errors(opened: Any) -> None:
    for summary in opened.find_elements(_by("CSS_SELECTOR"), "details.finding > summary"):
        summary.click()
    copy = opened.find_element(_by("CSS_SELECTOR"), "button.copy")
    opened.execute_script("arguments[0].scrollIntoView({block: 'center'})", copy)
    copy.click()
    # the clipboard answers asynchronously: either way the button says what happened
    for _ in range(50):
        if copy.text != "copy":
            break
        time.sleep(0.1)
    assert copy.text in ("copied", "selected")
    errors = [entry for entry in opened.get_log("browser") if entry.get("level") in ("SEVERE", "ERROR")]
    assert errors == []
