"""The int8 comparison: exact where a target declares exact requantization, off by one only within
the declared float error of a rounding boundary, and a dequantized output within its bound."""

from __future__ import annotations

import numpy as np
import pytest

from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.quant import Quantization, TensorQuant, WeightQuant
from harness.oracle.quant_compare import QuantModel, QuantReference, compare_quantized

EXACT = QuantModel()
FLOAT32 = QuantModel(relative_steps=6)


def one_product(
    qx: int, qw: int, out_scale: float | None, rounding: str = "half_even"
) -> tuple[Case, CaseArrays]:
    """A 1×1 case whose only output is ``(qx − 10)·(qw − 0)·0.5·0.25 / out_scale`` (+ zero point 4)."""
    quant = Quantization(
        TensorQuant("uint8", 0.5, 10),
        WeightQuant("int8", (0.25,), (0,)),
        "none",
        None if out_scale is None else TensorQuant("uint8", out_scale, 4),
        rounding,  # type: ignore[arg-type]
    )
    case = Case.make(
        input_size=1, kernel_size=1, bias=False, dtype="int8", quantization=quant, distribution="uniform"
    )
    x = np.full((1, 1, 1), float(qx))
    w = np.full((1, 1, 1), float(qw))
    return case, CaseArrays(x, w, None, "int8", ("uint8", "int8", "int32"))


def judge(value: float, case: Case, arrays: CaseArrays, model: QuantModel) -> bool:
    ref = QuantReference.for_case(case, arrays)
    return compare_quantized(np.full((1, 1, 1), value), case, ref, model).passed


def test_exact_model_takes_only_the_exact_rounding() -> None:
    # (20 − 10)·2·0.125 = 2.5 real, / 1.0 = 2.5: a tie. Half to even: 4 + 2; half away: 4 + 3.
    case, arrays = one_product(20, 2, 1.0)
    assert judge(6, case, arrays, EXACT)
    assert not judge(7, case, arrays, EXACT)
    away, _ = one_product(20, 2, 1.0, "half_away")
    assert judge(7, away, arrays, EXACT) and not judge(6, away, arrays, EXACT)


def test_float_model_allows_either_side_only_near_a_boundary() -> None:
    tie, arrays = one_product(20, 2, 1.0)  # exactly 2.5
    assert judge(6, tie, arrays, FLOAT32) and judge(7, tie, arrays, FLOAT32)
    assert not judge(8, tie, arrays, FLOAT32) and not judge(5, tie, arrays, FLOAT32)
    # e = γ_6(2^-24)·2.5 ≈ 8.9e-7. At 2.5·(1 − 2^-23) the tie is 3.0e-7 away: 7 is still allowed;
    # at 2.5·(1 − 2^-20) it is 2.4e-6 away, past e: only 6.
    near, arrays = one_product(20, 2, 1.0 / (1 - 2**-23))
    assert judge(6, near, arrays, FLOAT32) and judge(7, near, arrays, FLOAT32)
    far, arrays = one_product(20, 2, 1.0 / (1 - 2**-20))
    assert judge(6, far, arrays, FLOAT32) and not judge(7, far, arrays, FLOAT32)


def test_saturation_bounds_the_interval() -> None:
    case, arrays = one_product(250, 127, 0.0625)  # 240·127/8/0.0625 far above 255
    assert judge(255, case, arrays, FLOAT32) and judge(255, case, arrays, EXACT)
    assert not judge(254, case, arrays, FLOAT32)


@pytest.mark.parametrize("model", [EXACT, QuantModel(relative_steps=3, integer_accumulation=False)])
def test_dequantized_output_within_its_bound(model: QuantModel) -> None:
    case, arrays = one_product(23, -7, None)  # 13·(−7)·0.125 = −11.375 exactly
    assert judge(-11.375, case, arrays, model)
    assert not judge(-11.375 * (1 + 2**-20), case, arrays, model)  # a planted error past any bound
    assert not judge(float("nan"), case, arrays, model)


def int32_bias_only(bias_q: int, out_scale: float) -> tuple[Case, CaseArrays]:
    """A 1×1 case whose input sits at its zero point: the accumulator is the int32 bias alone."""
    quant = Quantization(
        TensorQuant("uint8", 0.5, 10),
        WeightQuant("int8", (0.25,), (0,)),
        "int32",
        TensorQuant("uint8", out_scale, 4),
    )
    case = Case.make(
        input_size=1, kernel_size=1, bias=True, dtype="int8", quantization=quant, distribution="uniform"
    )
    x, w = np.full((1, 1, 1), 10.0), np.full((1, 1, 1), 3.0)
    return case, CaseArrays(x, w, np.array([float(bias_q)]), "int8", ("uint8", "int8", "int32"))


def test_a_float_path_rounds_an_int32_bias_too() -> None:
    # A float (QDQ) path dequantizes the int32 bias (20·0.125 = 2.5 real, a tie at y_scale 1) and
    # adds it: rounding errors there move it off the tie either way, so both neighbours are allowed.
    # An exact integer path keeps the tie: only half to even, 4 + 2.
    case, arrays = int32_bias_only(20, 1.0)
    assert QuantReference.for_case(case, arrays).magnitude.ravel().tolist() == [20]
    float_path = QuantModel(relative_steps=3, integer_accumulation=False)
    assert judge(6, case, arrays, float_path) and judge(7, case, arrays, float_path)
    assert judge(6, case, arrays, EXACT) and not judge(7, case, arrays, EXACT)
