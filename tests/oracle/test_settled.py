"""The magnitude ``M`` only where it decides (:mod:`harness.oracle.magnitude`, ``compare``'s settled
path): ``M`` at chosen elements equals the whole reference of ``|x|, |w|, |b|`` there, and the
settled comparison gives the verdict, the error statistics and — over :data:`SETTLED_RATIO` — the
``error_ratio`` of the comparison with the whole ``M``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import harness.oracle.tolerance as tolerance
from harness.errors import InvalidCase
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.oracle.compare import SETTLED_RATIO, compare
from harness.oracle.magnitude import magnitude_at, magnitude_ceiling
from harness.oracle.reference import reference_for_case
from harness.oracle.tolerance import ReferenceResult, exact_model


def _random_cases(count: int, seed: int) -> list[Case]:
    """Valid cases of every rank with strides, dilations, groups, crops and output padding."""
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
                    distribution=str(rng.choice(["normal", "uniform", "small_int", "large"])),
                    seed=int(rng.integers(0, 2**31)),
                )
            )
        except InvalidCase:
            continue
    return found


@pytest.mark.parametrize("case", _random_cases(60, seed=3), ids=lambda c: c.short())
def test_magnitude_at_every_element_is_the_reference_of_the_absolute_values(case: Case) -> None:
    arrays = make_arrays(case)
    bias = None if arrays.bias is None else np.abs(arrays.bias)
    whole = reference_for_case(case, np.abs(arrays.x), np.abs(arrays.weight), bias)
    every = np.nonzero(np.ones(whole.shape, dtype=bool))
    np.testing.assert_allclose(magnitude_at(case, arrays, every).reshape(whole.shape), whole, rtol=1e-13)
    assert magnitude_ceiling(case, arrays) >= whole.max(initial=0.0)


def test_magnitude_at_a_few_elements_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.oracle.magnitude as magnitude

    case = Case.make(
        input_size=(6, 5), kernel_size=3, stride=2, in_channels=4, out_channels=2, bias=True, batch=2
    )
    arrays = make_arrays(case)
    assert arrays.bias is not None
    whole = reference_for_case(case, np.abs(arrays.x), np.abs(arrays.weight), np.abs(arrays.bias))
    picked = (np.array([1, 0, 1]), np.array([0, 1, 1]), np.array([0, 4, 10]), np.array([3, 0, 8]))
    monkeypatch.setattr(magnitude, "CHUNK_ELEMENTS", 1)  # one element per chunk
    np.testing.assert_allclose(magnitude_at(case, arrays, picked), whole[picked], rtol=1e-13)


STATS = ("passed", "max_abs_error", "max_rel_error", "max_ulp_error", "mismatched", "compared")


def _outputs(case: Case, noise: float, rng: np.random.Generator) -> tuple[ReferenceResult, np.ndarray]:
    ref = ReferenceResult.for_case(case, make_arrays(case))
    expected = round_to_format(ref.exact, case.dtype)
    got = round_to_format(expected * (1.0 + noise * rng.standard_normal(expected.shape)), case.dtype)
    got.flat[::7] = expected.flat[::7]
    return ref, got


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("noise", [0.0, 1e-7, 1e-5, 1e-3, 1e-1])
def test_the_settled_comparison_judges_as_the_whole_magnitude_does(dtype: str, noise: float) -> None:
    rng = np.random.default_rng(11)
    for base in _random_cases(12, seed=int(noise * 1e7) + len(dtype)):
        case = base.replace(dtype=dtype)
        ref, got = _outputs(case, noise, rng)
        model = exact_model(dtype)
        settled = compare(got, ref, dtype, model)
        assert not ref.magnitude_known or settled.error_ratio_exact
        whole = compare(
            got, ReferenceResult.for_case(case, make_arrays(case)), dtype, model, exact_ratio=True
        )
        for name in STATS:
            assert getattr(settled, name) == getattr(whole, name), (name, case.short())
        if settled.error_ratio_exact:
            assert settled.error_ratio == pytest.approx(whole.error_ratio, rel=1e-12, abs=0.0)
        else:  # every element settled: an upper bound, at most SETTLED_RATIO
            assert whole.error_ratio <= settled.error_ratio <= SETTLED_RATIO
        if whole.error_ratio >= SETTLED_RATIO:
            assert settled.error_ratio_exact and settled.worst_index == whole.worst_index
            assert settled.message == whole.message


def test_a_passing_case_computes_one_full_reference_not_two(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def counted(*args: Any) -> np.ndarray:
        calls.append(args)
        return reference_for_case(*args)

    monkeypatch.setattr(tolerance, "reference_for_case", counted)
    case = Case.make(input_size=(9, 8), kernel_size=3, stride=2, in_channels=6, out_channels=4, batch=2)
    ref, got = _outputs(case, 1e-7, np.random.default_rng(5))
    result = compare(got, ref, "float32", exact_model("float32"))
    assert result.passed and len(calls) == 1 and not ref.magnitude_known


def test_a_beyond_bound_element_gets_its_exact_ratio_and_bound_in_the_message() -> None:
    case = Case.make(
        input_size=(7,), kernel_size=3, stride=2, in_channels=3, out_channels=2, bias=True, batch=2
    )
    ref = ReferenceResult.for_case(case, make_arrays(case))
    got = round_to_format(ref.exact, "float32")
    got[1, 0, 4] += 1.0  # a whole unit: far beyond any float32 bound here
    settled = compare(got, ref, "float32", exact_model("float32"))
    whole = compare(
        got,
        ReferenceResult.for_case(case, make_arrays(case)),
        "float32",
        exact_model("float32"),
        exact_ratio=True,
    )
    assert not settled.passed and settled.mismatched == 1 and settled.worst_index == (1, 0, 4)
    assert settled.error_ratio == pytest.approx(whole.error_ratio, rel=1e-12)
    assert settled.message == whole.message
