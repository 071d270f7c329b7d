"""``ReferenceResult.for_case`` computes ``y`` and ``M = ref(|x|, |w|, |b|)`` in one call of the
reference, on twice the groups: each half must be exactly what a call of its own gives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import harness.oracle.tolerance as tolerance
from harness.errors import InvalidCase
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.oracle.reference import reference_for_case
from harness.oracle.tolerance import ReferenceResult


def _cases(count: int, seed: int) -> list[Case]:
    """Valid cases of every rank with strides, dilations, groups, crops, output padding, bias or
    none, and every value distribution (``special`` holds nan and inf)."""
    rng = np.random.default_rng(seed)
    found: list[Case] = []
    while len(found) < count:
        rank = int(rng.integers(1, 4))
        groups = int(rng.choice([1, 2, 3]))

        def dims(lo: int, hi: int, rank: int = rank) -> tuple[int, ...]:
            return tuple(int(v) for v in rng.integers(lo, hi + 1, size=rank))

        try:
            found.append(
                Case.make(
                    input_size=dims(1, 5),
                    kernel_size=dims(1, 4),
                    stride=dims(1, 3),
                    dilation=dims(1, 2),
                    pads_begin=dims(0, 2),
                    pads_end=dims(0, 2),
                    output_padding=dims(0, 1),
                    in_channels=groups * int(rng.integers(1, 4)),
                    out_channels=groups * int(rng.integers(1, 3)),
                    groups=groups,
                    batch=int(rng.integers(1, 3)),
                    bias=bool(rng.integers(0, 2)),
                    dtype=str(rng.choice(["float32", "float64", "float16"])),
                    distribution=str(rng.choice(["normal", "uniform", "small_int", "large", "special"])),
                    seed=int(rng.integers(0, 2**31)),
                )
            )
        except InvalidCase:
            continue
    return found


@pytest.mark.parametrize("case", _cases(80, seed=5), ids=lambda c: c.short())
def test_both_halves_are_exactly_the_separate_references(case: Case) -> None:
    arrays = make_arrays(case)
    ref = ReferenceResult.for_case(case, arrays)
    bias = None if arrays.bias is None else np.abs(arrays.bias)
    np.testing.assert_array_equal(ref.exact, reference_for_case(case, arrays.x, arrays.weight, arrays.bias))
    np.testing.assert_array_equal(
        ref.magnitude, reference_for_case(case, np.abs(arrays.x), np.abs(arrays.weight), bias)
    )
    assert ref.exact.shape == ref.magnitude.shape == case.output_shape


def test_one_call_of_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = tolerance.conv_transpose  # type: ignore[attr-defined]

    def counted(*args: Any, **kwargs: Any) -> np.ndarray:
        calls.append(kwargs["groups"])
        return real(*args, **kwargs)

    monkeypatch.setattr(tolerance, "conv_transpose", counted)
    case = Case.make(input_size=(6, 5), kernel_size=3, stride=2, in_channels=4, out_channels=6, groups=2)
    ReferenceResult.for_case(case, make_arrays(case))
    assert calls == [4]


def test_a_named_mode_must_be_resolved_first() -> None:
    case = Case.make(input_size=6, kernel_size=3, stride=2, padding_mode="same")
    with pytest.raises(ValueError, match="resolve the mode"):
        ReferenceResult.for_case(case, make_arrays(case))
