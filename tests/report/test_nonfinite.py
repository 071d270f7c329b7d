"""A nan/inf mismatch is shown as what it is ("nan where the reference is finite (3 positions)"),
never as "|error| 0": from the finding's arrays, or from its record when they are missing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from report_runs import PASSING, Entry, make_run
from targets_for_tests import CorrectTarget

from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.report.nonfinite import describe, describe_record, pattern_from_arrays
from harness.report.write import write_report

CASE = PASSING[0]  # output (1, 2, 6, 6)


class NanTarget(CorrectTarget):
    """The reference with nan in three positions of the first plane and inf in one."""

    name = "test.nan"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The faithful result, with the nan/inf."""
        y = np.array(super().run(case, arrays), dtype=np.float32)
        y[0, 0, 0, :3] = np.nan
        y[0, 1, 2, 2] = np.inf
        return y


def test_pattern_counts_each_pair_of_kinds() -> None:
    actual = np.array([np.nan, np.nan, np.inf, 1.0, -np.inf, 2.0])
    reference = np.array([1.0, 2.0, 3.0, np.nan, np.inf, 2.0])
    pattern = pattern_from_arrays(actual, reference, np.array([True] * 5 + [False]))
    assert pattern == [
        ("nan where the reference is finite", 2),
        ("finite where the reference is nan", 1),
        ("inf where the reference is finite", 1),
        ("−inf where the reference is inf", 1),
    ]
    assert describe(pattern[:2]) == (
        "nan where the reference is finite (2 positions); finite where the reference is nan (1 position)"
    )


def test_pattern_from_a_record_without_arrays() -> None:
    message = "12 element(s) differ in nan/inf pattern; first at [0, 0, 1]: got nan, expected 1.0 (exact 1.0)"
    assert describe_record({"nonfinite_mismatches": 12}, message) == (
        "12 positions differ in nan/inf, the first: nan where the reference is finite"
    )
    one = "1 element(s) differ in nan/inf pattern; first at [0]: got 3.5, expected -inf (exact -inf)"
    assert (
        describe_record({"nonfinite_mismatches": 1}, one) == "finite where the reference is −inf (1 position)"
    )
    assert describe_record({"nonfinite_mismatches": 0}, message) is None
    assert describe_record({"nonfinite_mismatches": 2}, "garbled") == "2 positions differ in nan/inf"


@pytest.fixture(scope="module")
def nan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with one nan/inf finding, its report written."""
    folder = make_run(
        tmp_path_factory.mktemp("nan"),
        [Entry(NanTarget(), CASE), Entry(NanTarget(), CASE, True)],
        run_id="nan",
    )
    write_report([folder])
    return folder


def _cells(page: str, label: str) -> list[str]:
    """The values of the key-value rows headed ``label`` (their cells' text)."""
    return re.findall(rf"<th>{re.escape(label)}</th><td[^>]*>([^<]*)</td>", page)


def test_the_page_names_the_pattern_not_an_error_of_zero(nan_run: Path) -> None:
    page = (nan_run / "report.html").read_text(encoding="utf-8")
    pattern = (
        "nan where the reference is finite (3 positions); inf where the reference is finite (1 position)"
    )
    assert _cells(page, "nan/inf mismatches") == [pattern]
    assert pattern in page.split('<div class="fbody">')[0]  # in the finding's summary line too
    assert _cells(page, "max |error|") == []  # only over the finite positions, and said so
    assert _cells(page, "max |error|, finite positions only") == ["0"]
    # the worst element (the first nan) says what it holds instead of |error| 0
    assert _cells(page, "|error|") == ["nan where the reference is finite"]


def test_without_arrays_the_record_tells_the_pattern(nan_run: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(nan_run, tmp_path / "run")
    for npz in copy.glob("findings/*/arrays.npz"):
        npz.unlink()
    write_report([copy])
    page = (copy / "report.html").read_text(encoding="utf-8")
    assert _cells(page, "nan/inf mismatches") == [
        "4 positions differ in nan/inf, the first: nan where the reference is finite"
    ]
