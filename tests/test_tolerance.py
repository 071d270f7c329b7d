"""The tolerance model: exact mode, special values, statistics, calibration and planted errors."""

from __future__ import annotations

import numpy as np
import pytest

from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.oracle.calibration import PLANTED, planted_output, random_symmetric_case
from harness.oracle.compare import compare
from harness.oracle.tolerance import AccumulationModel, ReferenceResult, error_bound, exact_model

F32 = exact_model("float32")


def _case(**kw: object) -> Case:
    base = dict(input_size=(5,), kernel_size=3, stride=2, in_channels=3, out_channels=2, bias=True)
    base.update(kw)
    return Case.make(**base)  # type: ignore[arg-type]


def test_integer_inputs_with_small_magnitude_are_compared_exactly() -> None:
    case = _case(distribution="small_int", dtype="float16")
    arrays = make_arrays(case)
    ref = ReferenceResult.for_case(case, arrays)
    assert ref.integer_inputs
    bound = error_bound(ref, "float16", AccumulationModel("float32", "float16"))
    assert np.all(bound == 0.0)
    assert compare(ref.exact, ref, "float16", AccumulationModel("float32", "float16")).passed
    nudged = ref.exact.copy()
    nudged.flat[0] += 2.0**-10 * max(1.0, abs(nudged.flat[0]))
    result = compare(nudged, ref, "float16", AccumulationModel("float32", "float16"))
    assert not result.passed and result.worst_index == (0, 0, 0)


def test_bound_grows_with_taps_and_declared_formats() -> None:
    case = _case(kernel_size=4, stride=1)
    ref = ReferenceResult.for_case(case, make_arrays(case))
    half_taps = error_bound(ref, "float16", AccumulationModel("float32", "float16"))
    once = error_bound(ref, "float16", AccumulationModel("float32", "float32"))
    assert np.all(half_taps >= once) and np.any(half_taps > once)
    # Positions fed by more taps get a larger share of the bound (same magnitude scale).
    assert ref.taps.max() == 4 and ref.taps.min() == 1


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


# --- calibration against torch CPU and planted errors --------------------------------------------

TORCH_CPU = {
    "float32": exact_model("float32"),
    "float16": AccumulationModel("float32", "float16"),
    "bfloat16": AccumulationModel("float32", "bfloat16"),
}


def _torch_run(case: Case, arrays: CaseArrays) -> np.ndarray:
    from adapters.torch.functional import TorchFunctional

    return TorchFunctional().run(case, arrays)


@pytest.mark.parametrize("dtype", sorted(TORCH_CPU))
def test_no_false_alarm_on_torch_cpu(dtype: str) -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    worst = 0.0
    for i in range(90):
        case = random_symmetric_case(rng, dtype, ("normal", "uniform", "large")[i % 3])
        arrays = make_arrays(case)
        result = compare(
            _torch_run(case, arrays), ReferenceResult.for_case(case, arrays), dtype, TORCH_CPU[dtype]
        )
        if result.intermediate_overflow:
            continue  # a real divergence of float16 tap sums, judged elsewhere
        assert result.passed, f"{case.short()}: {result.message}"
        worst = max(worst, result.error_ratio)
    assert 0.0 < worst <= 1.0


def test_declared_model_matters_for_torch_half_types() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    exceeded = 0
    for _ in range(30):
        case = random_symmetric_case(rng, "float16", "normal")
        arrays = make_arrays(case)
        result = compare(
            _torch_run(case, arrays),
            ReferenceResult.for_case(case, arrays),
            "float16",
            AccumulationModel("float32", "float32"),
        )
        exceeded += not result.passed
    # torch CPU rounds per-tap partial sums to float16: a round-once declaration must be refuted.
    assert exceeded >= 10


@pytest.mark.parametrize("kind", PLANTED)
def test_planted_errors_are_caught(kind: str) -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    # Judged against the float32 model (float32 data), the tightest declaration torch has.
    scores = []
    for _ in range(40):
        case = random_symmetric_case(rng, "float32", "normal")
        if kind == "zero_extension":
            case = case.replace(
                bias=True,
                pads_begin=(0,) * case.rank,
                pads_end=(0,) * case.rank,
                output_padding=tuple(max(s, d) - 1 for s, d in zip(case.stride, case.dilation, strict=True)),
            )
        arrays = make_arrays(case)
        plant = planted_output(kind, case, arrays, _torch_run, rng)
        if plant is None or plant[1] == 0.0:
            continue
        ref = ReferenceResult.for_case(case, arrays)
        scores.append(compare(plant[0], ref, "float32", F32).error_ratio)
    assert len(scores) >= 10, "too few applicable cases: the test would cover nothing"
    assert min(scores) > 1.0, f"{kind}: a planted error passed (ratios {sorted(scores)[:3]})"


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
