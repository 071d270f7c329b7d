"""Mechanisms of a value mismatch (``harness.oracle.mechanism``): what the wrong positions hold
against what they should, and where they lie, so that distinct bugs are distinct findings."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.oracle.compare import compare
from harness.oracle.mechanism import mechanisms
from harness.oracle.tolerance import AccumulationModel, ReferenceResult, exact_model

F32 = exact_model("float32")


def _case(**kw: Any) -> Case:
    base: dict[str, Any] = {
        "input_size": (5, 6),
        "kernel_size": 3,
        "stride": 2,
        "in_channels": 2,
        "out_channels": 3,
        "bias": True,
    }
    return Case.make(**{**base, **kw})


def _ref(case: Case) -> ReferenceResult:
    return ReferenceResult.for_case(case, make_arrays(case))


def _keys(case: Case, actual: np.ndarray, ref: ReferenceResult) -> list[str]:
    return [m.key for m in mechanisms(case, actual, ref, "float32", F32)]


def test_a_matching_output_has_no_mechanism() -> None:
    case = _case(output_padding=1)
    ref = _ref(case)
    assert mechanisms(case, ref.exact, ref, "float32", F32) == []


def test_appended_zeros_and_appended_garbage_are_different_mechanisms() -> None:
    case = _case(output_padding=1)
    ref = _ref(case)
    zeros = ref.exact.copy()
    zeros[..., -1, :] = 0.0
    zeros[..., :, -1] = 0.0
    (found,) = mechanisms(case, zeros, ref, "float32", F32)
    assert (found.detail, found.key) == ("beyond_bound", "zero_for_finite@appended")
    assert found.positions == 3 * (12 + 14 - 1)  # every appended position of the 12x14 output
    assert found.sentence == "positions appended by output_padding hold 0 instead of bias + products"
    stale = ref.exact.copy()
    stale[..., -1, :] = 1234.5
    assert _keys(case, stale, ref) == ["finite_for_finite@appended"]


def test_the_same_error_is_inside_without_output_padding() -> None:
    case = _case()
    ref = _ref(case)
    wrong = ref.exact.copy()
    wrong[..., -1, :] += 100.0
    assert _keys(case, wrong, ref) == ["finite_for_finite@inside"]


def test_errors_next_to_a_crop_are_at_the_crop_border() -> None:
    case = _case(input_size=(8,), kernel_size=2, pads_begin=(1,), pads_end=(0,))
    ref = _ref(case)
    wrong = ref.exact.copy()
    wrong[..., 0] += 100.0  # within the kernel's reach (1) of the cropped begin side
    assert _keys(case, wrong, ref) == ["finite_for_finite@crop_border"]
    wrong[..., 5] += 100.0
    assert _keys(case, wrong, ref) == ["finite_for_finite@inside"]


def test_errors_in_some_channels_only() -> None:
    case = _case()
    ref = _ref(case)
    wrong = ref.exact.copy()
    wrong[:, 1] += 100.0
    assert _keys(case, wrong, ref) == ["finite_for_finite@channels"]


def test_nan_for_inf_and_inf_for_finite_are_told_apart() -> None:
    """Finite inputs whose sum rounds to inf in float32: nan there, and inf at a finite position,
    are two mechanisms."""
    case = _case(bias=False, input_size=(5,), in_channels=1, out_channels=1, stride=1)
    arrays = CaseArrays(
        x=np.array([1e38, 0.0, 0.0, 0.0, 1.0]).reshape(1, 1, 5),
        weight=np.full((1, 1, 3), 4.0),
        bias=None,
        dtype="float32",
    )
    ref = ReferenceResult.for_case(case, arrays)
    expected = round_to_format(ref.exact, "float32")
    assert ref.finite_inputs and np.isinf(expected[0, 0, 0]) and np.isfinite(expected[0, 0, -1])
    wrong = expected.copy()
    wrong[0, 0, 0] = np.nan
    wrong[0, 0, -1] = np.inf
    found = {m.key: m for m in mechanisms(case, wrong, ref, "float32", F32)}
    assert set(found) == {"nan_for_inf@inside", "inf_for_finite@inside"}
    assert found["nan_for_inf@inside"].sentence.startswith(
        "positions inside the output hold nan instead of ±inf"
    )
    flipped = expected.copy()
    flipped[0, 0, 0] = -np.inf
    assert _keys(case, flipped, ref) == ["wrong_sign_inf@inside"]


def test_with_nan_or_inf_inputs_every_nan_inf_pattern_is_one_mechanism() -> None:
    case = _case(bias=False, input_size=(5,), in_channels=1, out_channels=1)
    arrays = make_arrays(case)
    x = arrays.x.copy()
    x[0, 0, 0] = np.inf
    arrays = CaseArrays(x=x, weight=np.abs(arrays.weight) + 1.0, bias=None, dtype="float32")
    ref = ReferenceResult.for_case(case, arrays)
    assert np.isinf(ref.exact[0, 0, 0]) and np.isfinite(ref.exact[0, 0, -1])
    wrong = ref.exact.copy()
    wrong[0, 0, 0] = np.nan
    wrong[0, 0, -1] = np.inf
    wrong[0, 0, -2] += 100.0
    found = {m.key: m for m in mechanisms(case, wrong, ref, "float32", F32)}
    assert set(found) == {"nonfinite_input@inside", "finite_for_finite@inside"}
    assert found["nonfinite_input@inside"].detail == "nonfinite_pattern"
    assert found["nonfinite_input@inside"].positions == 2


def test_intermediate_overflow_needs_finite_inputs() -> None:
    """A nan where the exact result is inf is no overflow of the sums when an input is inf."""
    case = _case(bias=False, input_size=(5,), in_channels=1, out_channels=1)
    arrays = make_arrays(case)
    x = arrays.x.copy()
    x[0, 0, 0] = np.inf
    arrays = CaseArrays(x=x, weight=np.abs(arrays.weight) + 1.0, bias=None, dtype="float32")
    ref = ReferenceResult.for_case(case, arrays)
    assert not ref.finite_inputs
    wrong = ref.exact.copy()
    wrong[0, 0, 0] = np.nan
    result = compare(wrong, ref, "float32", F32)
    assert not result.passed and not result.intermediate_overflow
    assert [m.detail for m in mechanisms(case, wrong, ref, "float32", F32)] == ["nonfinite_pattern"]


def test_intermediate_overflow_with_finite_inputs_past_the_tap_format() -> None:
    """float16 taps, finite inputs whose products pass float16's range: a nan there is predicted by
    the declared model."""
    case = _case(bias=False, input_size=(4,), in_channels=1, out_channels=1, dtype="float16", stride=1)
    weight = np.array([300.0, -300.0, 100.0]).reshape(1, 1, 3)
    arrays = CaseArrays(x=np.full((1, 1, 4), 300.0), weight=weight, bias=None, dtype="float16")
    ref = ReferenceResult.for_case(case, arrays)
    assert ref.finite_inputs and ref.exact[0, 0, 2] == 30000.0 and ref.magnitude[0, 0, 2] > 65504
    wrong = round_to_format(ref.exact, "float16")
    wrong[0, 0, 2] = np.nan
    model = AccumulationModel("float16", "float16")
    assert compare(wrong, ref, "float16", model).intermediate_overflow
    (found,) = mechanisms(case, wrong, ref, "float16", model)
    assert (found.detail, found.key) == ("intermediate_overflow", "nan_for_finite@inside")
