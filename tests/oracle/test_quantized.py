"""The quantization model's rules and the exact quantized reference.

The accumulator is checked against the defining sum of ``tests/naive.py`` on the centred integers
(not the kernel it uses), with the weight zero point of each output channel applied here; the
dequantized output against the float reference on the dequantized inputs; requantization at its
rounding and saturation boundaries with values worked by hand.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from naive import conv_transpose_naive

from harness.errors import InvalidCase
from harness.model.quant import Quantization, TensorQuant, WeightQuant, quantization_rules
from harness.oracle import quantized as qr
from harness.oracle.reference import conv_transpose


def _naive(
    xq: np.ndarray, wq: np.ndarray, zx: int, zw: list[int], bias: list[int] | None, geometry: dict[str, Any]
) -> np.ndarray:
    """Σ (x − zx)(w − zw[c]) by the defining sum of ``tests/naive.py``, on the centred integers:
    every term and partial sum is an integer far below 2**53, so its Python floats hold them exactly."""
    c_in, c_out_g = wq.shape[:2]
    cin_g = c_in // geometry["groups"]
    w_centred = np.empty(wq.shape, dtype=np.int64)
    for ci, j in itertools.product(range(c_in), range(c_out_g)):
        w_centred[ci, j] = wq[ci, j] - zw[(ci // cin_g) * c_out_g + j]  # output channel of (ci, j)
    total = conv_transpose_naive(xq - zx, w_centred, None if bias is None else np.asarray(bias), **geometry)
    assert np.array_equal(total, np.round(total))
    return total.astype(np.int64)


GEOMETRIES = [
    {"stride": [2], "dilation": [1], "pads_begin": [1], "pads_end": [0], "output_padding": [1], "groups": 1},
    {
        "stride": [2, 1],
        "dilation": [1, 2],
        "pads_begin": [0, 1],
        "pads_end": [1, 1],
        "output_padding": [1, 0],
        "groups": 2,
    },
    {
        "stride": [1, 2, 2],
        "dilation": [1, 1, 1],
        "pads_begin": [0, 0, 1],
        "pads_end": [0, 1, 0],
        "output_padding": [0, 1, 0],
        "groups": 1,
    },
]
SIZES = [(5,), (3, 4), (2, 3, 3)]
KERNELS = [(3,), (2, 3), (2, 2, 3)]


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("x_dtype", ["int8", "uint8"])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_accumulator_equals_the_defining_sum(
    rank: int, x_dtype: str, per_channel: bool, with_bias: bool
) -> None:
    rng = np.random.default_rng(rank * 7 + per_channel * 3 + with_bias)
    geometry = GEOMETRIES[rank - 1]
    g, c_out_g, c_in = geometry["groups"], 2, 2 * geometry["groups"]
    c_out = g * c_out_g
    low, high = (-128, 127) if x_dtype == "int8" else (0, 255)
    xq = rng.integers(low, high + 1, size=(2, c_in, *SIZES[rank - 1]))
    wq = rng.integers(-128, 128, size=(c_in, c_out_g, *KERNELS[rank - 1]))
    zx = int(rng.integers(low, high + 1))
    zw = [int(z) for z in rng.integers(-128, 128, size=c_out if per_channel else 1)]
    scales = tuple(float(s) for s in rng.uniform(0.01, 0.1, size=len(zw)))
    quant = Quantization(
        TensorQuant(x_dtype, 0.05, zx),
        WeightQuant("int8", scales, tuple(zw)),
        "int32" if with_bias else "none",
    )  # type: ignore[arg-type]
    bias = [int(b) for b in rng.integers(-(2**20), 2**20, size=c_out)] if with_bias else None
    got = qr.accumulator(xq, wq, quant, None if bias is None else np.asarray(bias), **geometry)
    expected = _naive(xq, wq, zx, zw * (c_out // len(zw)), bias, geometry)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_extreme_values_sum_exactly() -> None:
    # Every term at its largest magnitude, (−128 − 127)·(−128 − 127) = 65025, many taps deep.
    quant = Quantization(TensorQuant("int8", 1.0, 127), WeightQuant("int8", (1.0,), (127,)))
    xq = np.full((1, 64, 6, 6), -128)
    wq = np.full((64, 1, 5, 5), -128)
    geometry = {
        "stride": [1, 1],
        "dilation": [1, 1],
        "pads_begin": [4, 4],
        "pads_end": [4, 4],
        "output_padding": [0, 0],
    }
    acc = qr.accumulator(xq, wq, quant, **geometry)
    # The centre position sees every tap: 64 channels · 25 taps · 65025.
    assert int(acc[0, 0, 1, 1]) == 64 * 25 * 65025 == 104040000


def test_dequantized_output_matches_the_float_reference_on_dequantized_values() -> None:
    rng = np.random.default_rng(5)
    geometry = GEOMETRIES[1]
    xq = rng.integers(0, 256, size=(1, 4, 3, 4))
    wq = rng.integers(-128, 128, size=(4, 2, 2, 3))
    quant = Quantization(
        TensorQuant("uint8", 0.02, 131),
        WeightQuant("int8", (0.01, 0.03, 0.005, 0.07), (0, 3, -2, 1)),
        "float",
    )
    bias_f = np.array([0.25, -1.5, 3.0, 0.125])
    out = qr.dequantize(qr.accumulator(xq, wq, quant, **geometry), quant, bias_f)
    zw = np.repeat(np.array([[0, 3], [-2, 1]]), 2, axis=0).reshape(4, 2, 1, 1)
    sw = np.repeat(np.array([[0.01, 0.03], [0.005, 0.07]]), 2, axis=0).reshape(4, 2, 1, 1)
    x_real = 0.02 * (xq - 131).astype(np.float64)
    w_real = sw * (wq - zw)
    np.testing.assert_allclose(
        out, conv_transpose(x_real, w_real, bias_f, **geometry), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    ("value", "even", "away"),
    [
        (Fraction(5, 2), 2, 3),
        (Fraction(-5, 2), -2, -3),
        (Fraction(7, 2), 4, 4),
        (Fraction(1, 2), 0, 1),
        (Fraction(-1, 2), 0, -1),
        (Fraction(5, 2) + Fraction(1, 2**60), 3, 3),
        (Fraction(5, 2) - Fraction(1, 2**60), 2, 2),
        (Fraction(-7, 3), -2, -2),
        (Fraction(0), 0, 0),
    ],
)
def test_rounding_rules_at_and_beside_ties(value: Fraction, even: int, away: int) -> None:
    assert qr.round_fraction(value, "half_even") == even
    assert qr.round_fraction(value, "half_away") == away


def test_requantization_ties_follow_the_declared_rule() -> None:
    # 0.5 · 1 / 1 · acc: acc 5 → 2.5, acc −5 → −2.5, acc 3 → 1.5.
    acc = np.array([[[5, -5, 3, -3]]])
    for rounding, expected in (("half_even", [2, -2, 2, -2]), ("half_away", [3, -3, 2, -2])):
        quant = Quantization(
            TensorQuant("int8", 0.5, 0),
            WeightQuant("int8", (1.0,), (0,)),
            output=TensorQuant("int8", 1.0, 0),
            rounding=rounding,
        )  # type: ignore[arg-type]
        assert qr.requantize(acc, quant).tolist() == [[expected]]


def test_requantization_saturates_to_the_output_range() -> None:
    acc = np.array([[[200, -300, 127, -128, 128]]])
    int8 = Quantization(
        TensorQuant("int8", 1.0, 0), WeightQuant("int8", (1.0,), (0,)), output=TensorQuant("int8", 1.0, 0)
    )
    assert qr.requantize(acc, int8).tolist() == [[[127, -128, 127, -128, 127]]]
    uint8 = Quantization(
        TensorQuant("int8", 1.0, 0), WeightQuant("int8", (1.0,), (0,)), output=TensorQuant("uint8", 1.0, 10)
    )
    assert qr.requantize(acc, uint8).tolist() == [[[210, 0, 137, 0, 138]]]


def test_requantization_is_exact_where_a_float32_multiplier_is_not() -> None:
    # M = 0.1·0.1/0.3 is not a float; for acc = 15 the exact value is 15·M = 0.5 + δ with δ the
    # representation error of the three floats: the exact fraction decides which side of the tie.
    quant = Quantization(
        TensorQuant("int8", 0.1, 0), WeightQuant("int8", (0.1,), (0,)), output=TensorQuant("int8", 0.3, 0)
    )
    exact = Fraction(0.1) * Fraction(0.1) / Fraction(0.3) * 15
    expected = 1 if exact > Fraction(1, 2) else 0
    assert exact != Fraction(1, 2)
    assert qr.requantize(np.array([[[15]]]), quant).tolist() == [[[expected]]]


def test_quantize_rounds_the_exact_quotient() -> None:
    assert qr.quantize(1.25, 0.5, 3, "int8") == 5  # 3 + round(2.5): ties to even
    assert qr.quantize(1.25, 0.5, 3, "int8", "half_away") == 6
    # 0.25 / 0.1 is just below 2.5 in binary (0.1 is stored a little above 0.1): no tie, 2 either way.
    assert qr.quantize(0.25, 0.1, 3, "int8", "half_away") == 5
    assert qr.quantize(1000.0, 0.1, 0, "int8") == 127
    assert qr.quantize(-1000.0, 0.1, 7, "uint8") == 0


@pytest.mark.parametrize(
    ("build", "rule"),
    [
        (lambda: TensorQuant("int8", 0.0, 0), "quant_scale"),
        (lambda: TensorQuant("int8", float("nan"), 0), "quant_scale"),
        (lambda: TensorQuant("int8", float("inf"), 0), "quant_scale"),
        (lambda: TensorQuant("int8", -0.5, 0), "quant_scale"),
        (lambda: TensorQuant("int8", True, 0), "quant_scale"),
        (lambda: TensorQuant("int8", 0.1, 128), "quant_zero_point"),
        (lambda: TensorQuant("uint8", 0.1, -1), "quant_zero_point"),
        (lambda: TensorQuant("int8", 0.1, 1.5), "quant_zero_point"),
        (lambda: TensorQuant("int16", 0.1, 0), "quant_dtype"),
        (lambda: WeightQuant("int8", (0.1, 0.2), (0, 0, 0)), "quant_channels"),
        (lambda: WeightQuant("int8", (), ()), "quant_channels"),
        (lambda: WeightQuant("int8", (0.1, 0.2), (0, 0)).for_channels(3), "quant_channels"),
        (
            lambda: Quantization(
                TensorQuant("int8", 0.1, 0), WeightQuant("int8", (0.1,), (0,)), rounding="up"
            ),
            "quant_rounding",
        ),
        (
            lambda: Quantization(
                TensorQuant("int8", 0.1, 0), WeightQuant("int8", (0.1,), (0,)), bias="int64"
            ),
            "quant_bias",
        ),
    ],
)
def test_each_rule_is_refused_with_its_name(build: Any, rule: str) -> None:
    with pytest.raises(InvalidCase) as raised:
        build()
    assert raised.value.rule == rule
    assert quantization_rules()[rule] in str(raised.value)


def test_a_case_past_the_exact_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    quant = Quantization(TensorQuant("int8", 1.0, 0), WeightQuant("int8", (1.0,), (0,)))
    geometry = {"stride": [1], "dilation": [1], "pads_begin": [0], "pads_end": [0], "output_padding": [0]}
    xq, wq = np.full((1, 4, 3), 100), np.full((4, 1, 3), 100)
    assert qr.accumulator(xq, wq, quant, **geometry).max() == 4 * 3 * 10000
    monkeypatch.setattr(qr, "EXACT_LIMIT", 4 * 3 * 10000)
    with pytest.raises(InvalidCase) as raised:
        qr.accumulator(xq, wq, quant, **geometry)
    assert raised.value.rule == "quant_exact"


def test_int32_overflow_is_told() -> None:
    assert qr.int32_overflows(np.array([2**31]))
    assert qr.int32_overflows(np.array([-(2**31) - 1]))
    assert not qr.int32_overflows(np.array([2**31 - 1, -(2**31)]))
    assert not qr.int32_overflows(np.zeros(0, dtype=np.int64))
