"""Named padding modes (``harness.model.modes``): documented sizes, crop splits and resolution.

The verdicts on targets that offer modes are in ``tests/engine/test_mode_verdicts.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import InvalidCase
from harness.model.case import Case
from harness.model.modes import DocumentedMode, RankedMode, resolve_mode, size_same, size_valid, split_crop
from harness.oracle.reference import reference_for_case

SAME_UPPER = DocumentedMode("SAME_UPPER", "L·s", size_same, "extra_at_end", "test", "test")
SAME_LOWER = DocumentedMode("SAME_LOWER", "L·s", size_same, "extra_at_begin", "test", "test")


@pytest.mark.parametrize(
    ("total", "split", "expected"),
    [
        (5, "extra_at_end", (2, 3)),
        (5, "extra_at_begin", (3, 2)),
        (5, "all_at_end", (0, 5)),
        (4, "extra_at_end", (2, 2)),
        (0, "extra_at_begin", (0, 0)),
    ],
)
def test_split_crop(total: int, split: str, expected: tuple[int, int]) -> None:
    assert split_crop(total, split) == expected


def test_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError, match="split"):
        DocumentedMode("X", "L", size_same, "middle", "test", "test")


def test_same_resolves_to_the_documented_crops() -> None:
    # L=3, k=3, s=2: F = 2·2 + 3 = 7, SAME gives 6, so one element is cropped.
    case = Case.make(input_size=3, kernel_size=3, stride=2, padding_mode="same")
    upper, lower = resolve_mode(case, SAME_UPPER), resolve_mode(case, SAME_LOWER)
    assert (upper.pads_begin, upper.pads_end, upper.output_padding) == ((0,), (1,), (0,))
    assert (lower.pads_begin, lower.pads_end, lower.output_padding) == ((1,), (0,), (0,))
    assert upper.padding_mode == "explicit" and upper.output_size == (6,)


def test_a_documented_size_past_the_full_output_extends_with_bias_only_positions() -> None:
    # L=2, k=1, s=3: F = 4, SAME gives 6: two bias-only positions past F.
    case = Case.make(input_size=2, kernel_size=1, stride=3, padding_mode="same", dtype="float64")
    explicit = resolve_mode(case, SAME_UPPER)
    assert (explicit.pads_begin, explicit.pads_end, explicit.output_padding) == ((0,), (0,), (2,))
    x, w, b = np.ones((1, 1, 2)), np.full((1, 1, 1), 2.0), np.array([0.5])
    y = reference_for_case(explicit, x, w, b)
    assert y.tolist() == [[[2.5, 0.5, 0.5, 2.5, 0.5, 0.5]]]


def test_valid_that_discards_takes_the_whole_crop_off_the_end() -> None:
    short = DocumentedMode("valid", "L·s", size_same, "all_at_end", "test", "test")
    case = Case.make(input_size=3, kernel_size=4, stride=1, padding_mode="valid")  # F = 6, O = 3
    explicit = resolve_mode(case, short)
    assert (explicit.pads_begin, explicit.pads_end) == ((0,), (3,))


def test_an_empty_documented_output_names_its_rule() -> None:
    empty = DocumentedMode("ZERO", "0", lambda n, k, s, d: 0, "extra_at_end", "test", "test")
    with pytest.raises(InvalidCase) as err:
        resolve_mode(Case.make(input_size=2, padding_mode="same"), empty)
    assert err.value.rule == "documented_output>=1"


def test_ranked_mode_uses_the_documentation_of_the_case_rank() -> None:
    one_d = DocumentedMode("same", "L·s", size_same, "extra_at_end", "1d page", "1d page")
    two_d = DocumentedMode("same", "full", size_valid, "extra_at_end", "2d page", "2d page")
    ranked = RankedMode.combine("same", {1: one_d, 2: two_d})
    assert ranked.for_rank(2) is two_d and "1-D: L·s" in ranked.formula and "2d page" in ranked.source
    case2 = Case.make(input_size=(3, 3), kernel_size=3, stride=2, padding_mode="same")
    assert resolve_mode(case2, ranked).output_size == case2.full_size
    case1 = Case.make(input_size=3, kernel_size=3, stride=2, padding_mode="same")
    assert resolve_mode(case1, ranked).output_size == (6,)
    with pytest.raises(TypeError):
        ranked.size(1, 1, 1, 1)


def test_a_mode_case_carries_no_explicit_crops_and_has_no_canonical_reference() -> None:
    with pytest.raises(InvalidCase) as err:
        Case.make(input_size=3, pads_begin=1, padding_mode="same")
    assert err.value.rule == "mode_without_explicit_crops"
    with pytest.raises(InvalidCase) as err:
        Case.make(input_size=3, padding_mode="half")
    assert err.value.rule == "padding_mode"
    case = Case.make(input_size=3, padding_mode="valid")
    with pytest.raises(ValueError, match="resolve"):
        reference_for_case(case, np.ones((1, 1, 3)), np.ones((1, 1, 3)), None)
    assert Case.from_dict(case.to_dict()) == case
