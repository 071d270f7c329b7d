"""The TensorRT int8 targets (explicit Q/DQ): which quantized cases they express, the int8 groups and
DLA rules at each boundary, and — through the recording stand-in for ``tensorrt`` (no TensorRT or
GPU here) — the network they hand TensorRT: layers, scales, axes and types. What TensorRT computes
is not checked here; tests/adapters/test_tensorrt_api.py checks the calls against the real bindings.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.tensorrt import model as tm
from adapters.tensorrt import quant as tq
from harness.model.case import Case
from harness.model.quant import Quantization, TensorQuant, WeightQuant


def quant(**changes: Any) -> Quantization:
    """Symmetric int8 in, weight and out, float bias, half to even: the form TensorRT takes."""
    fields: dict[str, Any] = {
        "input": TensorQuant("int8", 0.0625, 0),
        "weight": WeightQuant("int8", (0.0078125,), (0,)),
        "bias": "float",
        "output": TensorQuant("int8", 0.25, 0),
    }
    fields.update(changes)
    return Quantization(**fields)


def case(q: Quantization | None = None, **changes: Any) -> Case:
    q = q or quant()
    fields: dict[str, Any] = {
        "input_size": (4, 3),
        "in_channels": 4,
        "out_channels": 4,
        "stride": 2,
        "dtype": "int8",
        "quantization": q,
        "bias": q.bias != "none",
        "distribution": "uniform",
        "seed": 5,
    }
    fields.update(changes)
    return Case.make(**fields)


# --- what a Q/DQ network expresses ---------------------------------------------------------------


def test_the_symmetric_int8_form_is_expressible() -> None:
    assert tq.int8_reason(case()) is None
    assert tq.int8_reason(case(quant(output=None))) is None  # dequantized to float
    assert tq.int8_reason(case(quant(bias="none"))) is None


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"input": TensorQuant("int8", 0.0625, 1)}, ("symmetric", "input zero point is 1")),
        ({"input": TensorQuant("int8", 0.0625, -128)}, ("zero point must be 0", "-128")),
        ({"weight": WeightQuant("int8", (0.0078125,), (3,))}, ("symmetric", "weight zero point is 3")),
        ({"output": TensorQuant("int8", 0.25, 127)}, ("symmetric", "output zero point is 127")),
        ({"input": TensorQuant("uint8", 0.0625, 0)}, ("not uint8", "input")),
        ({"weight": WeightQuant("uint8", (0.0078125,), (0,))}, ("not uint8", "weight")),
        ({"output": TensorQuant("uint8", 0.25, 0)}, ("not uint8", "output")),
        ({"bias": "int32"}, ("float weights", "int32")),
        ({"rounding": "half_away"}, ("half to even", "half_away")),
        ({"input": TensorQuant("int8", 0.1, 0)}, ("float32", "input scale 0.1")),
        ({"output": TensorQuant("int8", 0.3, 0)}, ("float32", "output scale 0.3")),
    ],
)
def test_what_tensorrt_cannot_express_is_refused_with_the_reason(
    changes: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    reason = tq.quantization_reason(quant(**changes))
    assert reason is not None
    for fragment in fragments:
        assert fragment in reason, reason


def test_a_per_output_channel_weight_has_no_tensorrt_axis() -> None:
    per_channel = quant(weight=WeightQuant("int8", (0.0078125, 0.015625, 0.0078125, 0.03125), (0,) * 4))
    reason = tq.int8_reason(case(per_channel))
    assert reason is not None and "axis 0" in reason and tq.DECONV_AXIS_ISSUE in reason
    assert tq.WEIGHT_AXIS == 0  # CKRS: C_in is axis 0, the axis TensorRT's deconvolution scales along


def test_a_float32_scale_passes_and_its_float64_neighbour_does_not() -> None:
    # 2^-4 and float32(0.1) are float32 numbers; 0.1 itself is not
    assert tq.float32_exact(0.0625) and tq.float32_exact(0.10000000149011612)
    assert not tq.float32_exact(0.1)
    assert tq.quantization_reason(quant(input=TensorQuant("int8", 0.10000000149011612, 0))) is None


# --- the int8 groups rule, at each boundary --------------------------------------------------------


@pytest.mark.parametrize(
    ("per_group_in", "per_group_out", "ok"),
    [
        (3, 4, False),
        (4, 4, True),
        (5, 4, False),
        (4, 3, False),
        (4, 5, False),
        (8, 4, True),
    ],
)
def test_int8_groups_need_multiples_of_four_channels_per_group(
    per_group_in: int, per_group_out: int, ok: bool
) -> None:
    c = case(in_channels=2 * per_group_in, out_channels=2 * per_group_out, groups=2)
    reason = tq.int8_reason(c)
    assert (reason is None) == ok, reason
    if not ok:
        assert reason is not None and "multiple of 4" in reason


def test_the_groups_rule_does_not_bind_ungrouped_layers() -> None:
    # channels per group 3 and 5, but one group: the rule is for grouped int8 layers only
    assert tq.int8_reason(case(in_channels=3, out_channels=5)) is None


# --- DLA with int8 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({}, None),
        ({"input_size": (4, 3, 2), "kernel_size": 2}, "2D"),
        ({"in_channels": 8, "out_channels": 8, "groups": 2}, "num_groups 1"),
        ({"dilation": 2}, "dilated"),
        ({"pads_begin": 1, "pads_end": 1}, "padding 0"),
        ({"kernel_size": (1, 33), "input_size": (4, 40)}, "[1, 32]"),
    ],
)
def test_dla_takes_the_int8_case_2d_ungrouped_only(changes: dict[str, Any], fragment: str | None) -> None:
    attrs = tm.translate(case(**changes))
    assert isinstance(attrs, tm.DeconvAttributes)
    reason = tm.dla_reason(attrs, "int8")
    if fragment is None:
        assert reason is None
    else:
        assert reason is not None and fragment in reason, reason
