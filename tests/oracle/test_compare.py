"""The comparison with the reference (``harness.oracle.compare``): special values, overflow at
the threshold, statistics, shapes, and the all-finite fast path against the general path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.oracle.compare import compare
from harness.oracle.tolerance import AccumulationModel, ReferenceResult, error_bound, exact_model

F32 = exact_model("float32")


def _case(**kw: Any) -> Case:
    base: dict[str, Any] = {
        "input_size": (5,),
        "kernel_size": 3,
        "stride": 2,
        "in_channels": 3,
        "out_channels": 2,
        "bias": True,
    }
    return Case.make(**{**base, **kw})


def test_nan_where_reference_is_inf_is_a_mismatch() -> None:
    case = _case(bias=False)
    arrays = make_arrays(case)
    x = arrays.x.copy()
    x[0, 0, 0] = np.inf
    arrays = CaseArrays(x=x, weight=np.abs(arrays.weight) + 1.0, bias=None, dtype="float32")
    ref = ReferenceResult.for_case(case, arrays)
    assert np.isinf(ref.exact[0, 0, 0])
    assert compare(ref.exact, ref, "float32", F32).passed
    wrong = ref.exact.copy()
    wrong[0, 0, 0] = np.nan
    result = compare(wrong, ref, "float32", F32)
    assert not result.passed and result.nonfinite_mismatches == 1 and result.worst_index == (0, 0, 0)
    flipped = ref.exact.copy()
    flipped[0, 0, 0] = -np.inf
    assert not compare(flipped, ref, "float32", F32).passed


def test_nan_leaking_into_a_finite_position_is_a_mismatch() -> None:
    case = _case(bias=False)
    ref = ReferenceResult.for_case(case, make_arrays(case))
    leaked = ref.exact.copy()
    leaked[0, 1, 3] = np.nan
    result = compare(leaked, ref, "float32", F32)
    assert not result.passed and result.nonfinite_mismatches == 1


def test_overflow_at_the_threshold_accepts_max_or_inf_but_not_nan() -> None:
    case = Case.make(input_size=(1,), kernel_size=1, bias=False, dtype="float16")
    x = np.array([[[65504.0]]])
    w = np.array([[[1.0]]])
    arrays = CaseArrays(x=x, weight=w, bias=None, dtype="float16")
    ref = ReferenceResult.for_case(case, arrays)
    model = AccumulationModel("float16", "float16")
    ref_near = ReferenceResult(ref.exact + 15.0, ref.magnitude + 15.0, ref.taps, 1, False)
    assert compare(np.array([[[np.inf]]]), ref_near, "float16", model).passed
    assert compare(np.array([[[65504.0]]]), ref_near, "float16", model).passed
    assert not compare(np.array([[[np.nan]]]), ref_near, "float16", model).passed
    assert not compare(np.array([[[-np.inf]]]), ref_near, "float16", model).passed


def test_statistics_of_a_known_error() -> None:
    case = _case(bias=False)
    ref = ReferenceResult.for_case(case, make_arrays(case))
    expected = round_to_format(ref.exact, "float32")
    idx = np.unravel_index(int(np.argmax(np.abs(expected))), expected.shape)
    got = expected.copy()
    ulp = np.spacing(np.float32(abs(expected[idx])))
    got[idx] += 3 * float(ulp) * np.sign(expected[idx])
    result = compare(got, ref, "float32", F32)
    assert result.max_ulp_error == pytest.approx(3.0)
    assert result.max_abs_error == pytest.approx(3 * float(ulp))
    assert result.max_rel_error == pytest.approx(3 * float(ulp) / abs(expected[idx]))
    bound = error_bound(ref, "float32", F32)
    assert result.error_ratio == pytest.approx(3 * float(ulp) / bound[idx], rel=1e-6)


def test_shape_difference_is_refused() -> None:
    case = _case()
    ref = ReferenceResult.for_case(case, make_arrays(case))
    with pytest.raises(ValueError, match="shape"):
        compare(ref.exact[..., :-1], ref, "float32", F32)


# --- the all-finite fast path gives what the general path gives ------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("noise", [0.0, 1e-7, 1e-4, 1e-2])
@pytest.mark.parametrize("distribution", ["normal", "small_int"])
def test_finite_fast_path_matches_general_path(
    monkeypatch: pytest.MonkeyPatch, dtype: str, noise: float, distribution: str
) -> None:
    """Same Comparison, field by field, on outputs from exact to well beyond the bound; small_int
    inputs give zero bounds (exact sums), where 0/0 must read as a match and x/0 as a mismatch."""
    import harness.oracle.compare as comparing

    case = _case(
        input_size=(7, 6),
        kernel_size=3,
        stride=2,
        in_channels=4,
        out_channels=3,
        groups=1,
        dtype=dtype,
        distribution=distribution,
        batch=2,
    )
    ref = ReferenceResult.for_case(case, make_arrays(case))
    expected = round_to_format(ref.exact, dtype)
    rng = np.random.default_rng(7)
    got = round_to_format(expected * (1.0 + noise * rng.standard_normal(expected.shape)), dtype)
    got.flat[::5] = expected.flat[::5]  # some elements exact
    got.flat[3] = 0.0 if expected.flat[3] else got.flat[3]  # an element at zero error or none
    model = exact_model(dtype)
    fast = compare(got, ref, dtype, model)
    with monkeypatch.context() as patch:
        patch.setattr(comparing, "_all_finite_in_range", lambda *args: False)
        general = compare(got, ref, dtype, model)
    for field in (
        "passed",
        "max_abs_error",
        "max_rel_error",
        "max_ulp_error",
        "worst_index",
        "mismatched",
        "nonfinite_mismatches",
        "compared",
        "message",
        "intermediate_overflow",
    ):
        assert getattr(fast, field) == getattr(general, field), field
    assert fast.error_ratio == general.error_ratio or (
        np.isinf(fast.error_ratio) and np.isinf(general.error_ratio)
    )


def test_a_nan_from_an_infinite_input_is_no_intermediate_overflow() -> None:
    """Partial sums beyond float32's range at an inf input explain nothing: the data holds the inf."""
    case = _case(bias=False)
    arrays = make_arrays(case)
    x = arrays.x.copy()
    x[0, 0, 0] = np.inf
    arrays = CaseArrays(x=x, weight=np.abs(arrays.weight) + 1.0, bias=None, dtype="float32")
    ref = ReferenceResult.for_case(case, arrays)
    wrong = ref.exact.copy()
    wrong[0, 0, 0] = np.nan
    result = compare(wrong, ref, "float32", F32)
    assert not result.passed and result.nonfinite_mismatches == 1
    assert not result.intermediate_overflow
