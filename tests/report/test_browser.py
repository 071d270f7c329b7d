"""The report as a person sees it, in headless Chromium at 1400 px: the matrix is there, a finding
expands on click with its pictures decoded, markup from records never runs, the console stays
clean; and a large report fits the window, pages, sorts and filters its findings.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium chromium-driver``;
``$CHROMIUM`` / ``$CHROMEDRIVER`` point elsewhere) and selenium; skipped, with the reason, without them.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_runs import MARKUP, PASSING, Entry, MarkupTarget, buggy_entries, make_run
from targets_for_tests import CorrectTarget

from benchmarks.report_scale import fake_run
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
    assert opened.find_element(_by("ID"), "filter-count").text == "1 of 4 groups shown (1 finding)"
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


@pytest.fixture(scope="module")
def scale_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 findings in 250 groups of two (other targets, other ranks) on 12 targets (no pictures)."""
    folder = fake_run(
        tmp_path_factory.mktemp("scale") / "run", findings=500, targets=12, per_group=2, arrays=False
    )
    return write_report([folder])


@pytest.fixture
def scaled(browser: Any, scale_page: Path) -> Any:
    """The large report freshly loaded, once its pager has drawn the first page (on a loaded
    machine that can come after ``get`` returns)."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(scale_page.as_uri())
    WebDriverWait(browser, 20).until(lambda b: b.execute_script(SHOWN))
    return browser


#: The groups shown, as [id, severity, ratio, cases] (an infinite ratio as the largest double: JSON
#: has no infinity).
SHOWN = """return [...document.querySelectorAll('#finding-list > details.group')]
  .filter(g => g.offsetParent !== null)
  .map(g => [g.id, +g.dataset.severity, Math.min(+g.dataset.ratio, Number.MAX_VALUE), +g.dataset.cases]);"""


def _choose(driver: Any, select_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(_by("ID"), select_id)).select_by_value(value)


def test_page_fits_1400_px_and_the_matrix_scrolls_inside_its_box(scaled: Any) -> None:
    window, width, client = scaled.execute_script(
        "const e = document.documentElement; return [window.innerWidth, e.scrollWidth, e.clientWidth]"
    )
    assert window == 1400 and width <= client  # no sideways scroll of the page
    box = scaled.find_element(_by("ID"), "matrix-box")
    inner, outer = scaled.execute_script("return [arguments[0].scrollWidth, arguments[0].clientWidth]", box)
    assert inner > outer  # twelve targets do not fit: the box scrolls
    first = box.find_element(_by("CSS_SELECTOR"), "tbody tr th.rowhead")
    cell = box.find_element(_by("CSS_SELECTOR"), "tbody tr td.cell")
    before = (first.rect["x"], cell.rect["x"])
    scaled.execute_script("arguments[0].scrollLeft = 400", box)
    after = (first.rect["x"], cell.rect["x"])
    assert after[0] == before[0] and after[1] < before[1] - 300  # the first column stays


def test_findings_come_in_pages_most_severe_first(scaled: Any) -> None:
    shown = scaled.execute_script(SHOWN)
    assert len(shown) == 50  # past 200 groups, 50 a page
    assert (
        scaled.find_element(_by("CSS_SELECTOR"), "#pager-top .where").text
        == "page 1 of 5 · groups 1–50 of 250"
    )
    keys = [(sev, -ratio, -cases) for _, sev, ratio, cases in shown]
    assert keys == sorted(keys)
    scaled.find_element(_by("CSS_SELECTOR"), "#pager-top button:last-child").click()
    second = scaled.execute_script(SHOWN)
    assert len(second) == 50 and not {g[0] for g in second} & {g[0] for g in shown}
    assert (second[0][1], -second[0][2]) >= (shown[-1][1], -shown[-1][2])
    _choose(scaled, "page-size", "0")
    assert len(scaled.execute_script(SHOWN)) == 250 and not scaled.find_elements(
        _by("CSS_SELECTOR"), "#pager-top *"
    )


def test_findings_sort_by_error_ratio_and_by_cases(scaled: Any) -> None:
    _choose(scaled, "finding-sort", "ratio")
    ratios = [g[2] for g in scaled.execute_script(SHOWN)]
    assert ratios == sorted(ratios, reverse=True) and ratios[0] == sys.float_info.max and len(ratios) == 50
    _choose(scaled, "finding-sort", "cases")
    cases = [g[3] for g in scaled.execute_script(SHOWN)]
    assert cases == sorted(cases, reverse=True) and cases[0] > cases[-1]


def test_target_filter_and_a_link_to_a_finding_on_a_later_page(scaled: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    _choose(scaled, "finding-target", "fw03-conv_transpose")
    groups = scaled.find_elements(_by("CSS_SELECTOR"), "#finding-list > details.group")
    shown = [g for g in groups if g.is_displayed()]
    assert shown and all(" fw03-conv_transpose " in g.get_attribute("data-targets") for g in shown)
    last = groups[-1]  # the least severe group, on the last page
    member = last.find_element(_by("CSS_SELECTOR"), "details.member")
    assert not last.is_displayed()
    scaled.execute_script("window.location.hash = arguments[0]", member.get_attribute("id"))
    WebDriverWait(scaled, 5).until(lambda _: last.is_displayed())  # hashchange is dispatched later
    assert (
        last.is_displayed()
        and last.get_attribute("open") is not None
        and member.get_attribute("open") is not None
    )
    assert scaled.find_element(_by("CSS_SELECTOR"), "#pager-top .where").text.startswith("page 5 of 5")
    errors = [entry for entry in scaled.get_log("browser") if entry.get("level") in ("SEVERE", "ERROR")]
    assert errors == []
