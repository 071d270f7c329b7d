"""The int8 case: its quantization field, round trip, validation, arrays and features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.errors import InvalidCase
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.features import features, signature_features
from harness.model.quant import Quantization, TensorQuant, WeightQuant


def quant(
    bias: str = "int32",
    per_channel: bool = False,
    output: bool = True,
    w_zero: int = 0,
) -> Quantization:
    scales, zeros = ((0.5, 0.25), (w_zero, 1)) if per_channel else ((0.5,), (w_zero,))
    return Quantization(
        TensorQuant("uint8", 0.125, 7),
        WeightQuant("int8", scales, zeros),
        bias,  # type: ignore[arg-type]
        TensorQuant("uint8", 0.75, 3) if output else None,
    )


def int8_case(**changes: object) -> Case:
    fields: dict[str, object] = {
        "input_size": (3, 2),
        "in_channels": 2,
        "out_channels": 2,
        "dtype": "int8",
        "quantization": quant(),
        "distribution": "uniform",
        "seed": 5,
    }
    fields.update(changes)
    return Case.make(**fields)  # type: ignore[arg-type]


def test_round_trip_through_json() -> None:
    case = int8_case(quantization=quant("float", per_channel=True, output=False))
    again = Case.from_dict(json.loads(json.dumps(case.to_dict())))
    assert again == case
    assert again.to_dict()["quantization"]["weight"]["scales"] == [0.5, 0.25]


def test_float_record_has_no_quantization_key() -> None:
    # Byte-for-byte what a float case's record held before int8 existed.
    record = Case.make(input_size=4).to_dict()
    assert list(record) == [
        "rank", "batch", "in_channels", "out_channels", "groups", "input_size", "kernel_size",
        "stride", "dilation", "pads_begin", "pads_end", "output_padding", "bias", "dtype",
        "layout", "distribution", "seed", "padding_mode",
    ]  # fmt: skip
    assert Case.make(input_size=4).short().endswith("normal seed=0")


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"quantization": None}, "dtype"),
        ({"dtype": "float32"}, "quant_dtype_int8"),
        ({"out_channels": 3, "quantization": quant(per_channel=True)}, "quant_channels"),
        ({"bias": False}, "quant_bias_matches"),
        ({"distribution": "special"}, "quant_distribution"),
    ],
)
def test_validation_names_the_rule(changes: dict[str, object], rule: str) -> None:
    with pytest.raises(InvalidCase) as info:
        int8_case(**changes)
    assert info.value.rule == rule


def test_from_dict_refuses_a_malformed_quantization() -> None:
    record = int8_case().to_dict()
    del record["quantization"]["rounding"]
    with pytest.raises(InvalidCase, match="quantization must hold"):
        Case.from_dict(record)


def test_arrays_are_integers_in_range_and_deterministic() -> None:
    case = int8_case(quantization=quant(per_channel=True, w_zero=-3), input_size=(6, 6))
    arrays = make_arrays(case)
    again = make_arrays(case)
    for a, b in ((arrays.x, again.x), (arrays.weight, again.weight)):
        np.testing.assert_array_equal(a, b)
        assert np.array_equal(a, np.rint(a))
    assert 0 <= arrays.x.min() and arrays.x.max() <= 255 and arrays.x.max() > 200
    assert -128 <= arrays.weight.min() and arrays.weight.max() <= 127
    stored = arrays.container()
    assert (stored["x"].dtype, stored["weight"].dtype, stored["bias"].dtype) == (
        np.uint8,
        np.int8,
        np.int32,
    )
    assert make_arrays(case.replace(seed=6)).x.tolist() != arrays.x.tolist()


def test_small_int_stays_near_each_channels_zero_point() -> None:
    case = int8_case(
        quantization=quant("none", per_channel=True, w_zero=-40), bias=False, distribution="small_int"
    )
    arrays = make_arrays(case)
    assert np.abs(arrays.x - 7).max() <= 2
    assert np.abs(arrays.weight[:, 0] + 40).max() <= 2  # output channel 0: zero point −40
    assert np.abs(arrays.weight[:, 1] - 1).max() <= 2  # output channel 1: zero point 1


def test_float_bias_is_float32() -> None:
    arrays = make_arrays(int8_case(quantization=quant("float")))
    assert arrays.container()["bias"].dtype == np.float32


def test_features_name_the_quantization() -> None:
    case = int8_case(quantization=quant("none", per_channel=True, output=False, w_zero=2), bias=False)
    assert features(case)["quantization"] == "per_channel dequantized"
    assert {"dtype=int8", "per_channel", "dequantized", "weight_zero_point"} <= signature_features(case)
    assert features(Case.make(input_size=4))["quantization"] == "none"
    assert signature_features(int8_case()) & {"per_channel", "dequantized", "weight_zero_point"} == set()
