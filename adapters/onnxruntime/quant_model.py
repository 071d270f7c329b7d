"""The QDQ model of an int8 case: QuantizeLinear → DequantizeLinear → ConvTranspose → QuantizeLinear.

Pure data, no framework import: the ``onnxruntime.qdq`` plan builds the model with ``onnx.helper``
from what is described here. The graph is the one ONNX's QDQ format (and ONNX Runtime's
quantization tool) writes for a quantized ConvTranspose:

- ``X`` (float32, the drawn integers' dequantized values) → ``QuantizeLinear(x_scale, x_zero_point)``
  → ``DequantizeLinear`` with the same parameters;
- the weight is an int8/uint8 initializer ``W_q`` → ``DequantizeLinear(w_scale, w_zero_point)``,
  per tensor (scalars) or per output channel (1-D, ``axis = 1``: ConvTranspose's ``W`` is
  ``(C, M/group, k…)``, so its output channels are axis 1, not Conv's axis 0);
- an int32 bias is an initializer ``B_q`` → ``DequantizeLinear(b_scale)`` with
  ``b_scale = x_scale·w_scale`` rounded to float32 (per channel: 1-D, ``axis = 0``) and no zero
  point; a float bias is a float32 initializer fed to ConvTranspose directly;
- ``ConvTranspose`` (float) → ``QuantizeLinear(y_scale, y_zero_point)`` when the case requantizes,
  else its float32 output is the graph's.

What the operators document (ONNX QuantizeLinear-21/DequantizeLinear-21, the ``.doc`` of
``onnx.defs.get_schema``): QuantizeLinear is ``y = saturate(round(x / y_scale) + y_zero_point)``,
"it rounds to the nearest even", saturating to [0, 255] for uint8 and [−128, 127] for int8;
DequantizeLinear is ``y = (x − x_zero_point)·x_scale``, and "in the case of dequantizing int32,
there's no zero point". Per-axis parameters are 1-D of the axis's length.

The input round trip is exact: ``fl32((q − z)·s)/s`` rounded twice in float32 is within
255·2⁻²³ of ``q − z``, far from a tie, so QuantizeLinear gives back exactly the drawn ``q``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.model.case import Case
from harness.model.quant import Quantization

QUANTIZE_URL = "https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html"
DEQUANTIZE_URL = "https://onnx.ai/onnx/operators/onnx__DequantizeLinear.html"
#: The axis of ConvTranspose's ``W`` (C × M/group × k…) that holds the output channels.
WEIGHT_CHANNEL_AXIS = 1
#: canonical integer dtype → ``onnx.TensorProto`` data type name
ONNX_INT_DTYPES = {"int8": "INT8", "uint8": "UINT8"}


@dataclass(frozen=True)
class Param:
    """A scale or zero point initializer: ``onnx.helper.make_tensor(name, elem, dims, values)``."""

    name: str
    elem: str
    dims: tuple[int, ...]
    values: tuple[float, ...] | tuple[int, ...]


@dataclass(frozen=True)
class Node:
    """One node: ``onnx.helper.make_node(op, inputs, outputs, **attrs)``."""

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: tuple[tuple[str, Any], ...] = ()


def _quant(case: Case) -> Quantization:
    if case.quantization is None:
        raise ValueError("not a quantized case")
    return case.quantization


def weight_axis_params(case: Case) -> tuple[tuple[float, ...], tuple[int, ...]] | str:
    """The weight's scales and zero points along ``W``'s axis 1 (one each, per tensor), or why a
    per-axis DequantizeLinear cannot hold the case's per-channel weight quantization.

    Axis 1 has ``M/group`` entries and entry ``j`` serves output channel ``j`` of every group, so
    with groups the case's channels ``g·M/group + j`` must share their scale and zero point.
    """
    quant = _quant(case)
    weight = quant.weight
    if not weight.per_channel:
        return weight.scales, weight.zero_points
    opg = case.out_channels // case.groups
    pairs = list(zip(weight.scales, weight.zero_points, strict=True))
    per_axis = pairs[:opg]
    for g in range(1, case.groups):
        if pairs[g * opg : (g + 1) * opg] != per_axis:
            return (
                f"per-channel weight with {case.groups} groups: a per-axis DequantizeLinear on W's "
                f"axis {WEIGHT_CHANNEL_AXIS} has M/group = {opg} scales, one for output channel j "
                f"of every group, but the case gives group {g} other scales or zero points than "
                f"group 0 ({DEQUANTIZE_URL})"
            )
    return tuple(s for s, _ in per_axis), tuple(z for _, z in per_axis)


def quantization_reason(case: Case) -> str | None:
    """Why the QDQ graph cannot express the case's quantization, or None."""
    quant = _quant(case)
    if quant.output is not None and quant.rounding != "half_even":
        return (
            f"QuantizeLinear rounds half to even ('it rounds to the nearest even', {QUANTIZE_URL}); "
            f"the case asks for {quant.rounding}"
        )
    axis = weight_axis_params(case)
    return axis if isinstance(axis, str) else None


def bias_scales(case: Case) -> tuple[float, ...]:
    """``x_scale·w_scale[c]`` of each bias entry, rounded once to float32 (the float64 product of
    two float32 values is exact): the scale an int32 bias is dequantized with."""
    quant = _quant(case)
    scales, _ = quant.weight.for_channels(case.out_channels)
    per_tensor = scales[:1] if not quant.weight.per_channel else scales
    return tuple(float(np.float32(quant.input.scale * s)) for s in per_tensor)


def params(case: Case) -> list[Param]:
    """The scale and zero point initializers (scalars per tensor, 1-D per axis)."""
    quant = _quant(case)
    axis = weight_axis_params(case)
    assert not isinstance(axis, str), axis
    w_scales, w_zeros = axis
    w_dims = (len(w_scales),) if quant.weight.per_channel else ()
    x_elem = ONNX_INT_DTYPES[quant.input.dtype]
    out = [
        Param("x_scale", "FLOAT", (), (quant.input.scale,)),
        Param("x_zero_point", x_elem, (), (quant.input.zero_point,)),
        Param("w_scale", "FLOAT", w_dims, w_scales),
        Param("w_zero_point", ONNX_INT_DTYPES[quant.weight.dtype], w_dims, w_zeros),
    ]
    if quant.bias == "int32":
        b = bias_scales(case)
        out.append(Param("b_scale", "FLOAT", (len(b),) if quant.weight.per_channel else (), b))
    if quant.output is not None:
        out += [
            Param("y_scale", "FLOAT", (), (quant.output.scale,)),
            Param("y_zero_point", ONNX_INT_DTYPES[quant.output.dtype], (), (quant.output.zero_point,)),
        ]
    return out


def nodes(case: Case, conv_attributes: dict[str, Any]) -> list[Node]:
    """The graph's nodes in order, ConvTranspose with ``conv_attributes``."""
    quant = _quant(case)
    per_axis = (("axis", WEIGHT_CHANNEL_AXIS),) if quant.weight.per_channel else ()
    out = [
        Node("QuantizeLinear", ("X", "x_scale", "x_zero_point"), ("X_q",)),
        Node("DequantizeLinear", ("X_q", "x_scale", "x_zero_point"), ("X_dq",)),
        Node("DequantizeLinear", ("W_q", "w_scale", "w_zero_point"), ("W_dq",), per_axis),
    ]
    conv_inputs = ["X_dq", "W_dq"]
    if quant.bias == "int32":
        bias_axis = (("axis", 0),) if quant.weight.per_channel else ()
        out.append(Node("DequantizeLinear", ("B_q", "b_scale"), ("B_dq",), bias_axis))
        conv_inputs.append("B_dq")
    elif quant.bias == "float":
        conv_inputs.append("B")
    conv_out = "Y" if quant.output is not None else output_name(case)
    out.append(Node("ConvTranspose", tuple(conv_inputs), (conv_out,), tuple(conv_attributes.items())))
    if quant.output is not None:
        out.append(Node("QuantizeLinear", ("Y", "y_scale", "y_zero_point"), (output_name(case),)))
    return out


def output_name(case: Case) -> str:
    """The graph output: ``Y_q`` (requantized) or ``Y`` (the float ConvTranspose output)."""
    return "Y_q" if _quant(case).output is not None else "Y"


def output_elem(case: Case) -> str:
    """The graph output's ``onnx.TensorProto`` data type name."""
    out = _quant(case).output
    return "FLOAT" if out is None else ONNX_INT_DTYPES[out.dtype]


def initializer_arrays(case: Case) -> dict[str, str]:
    """Initializer name → the case array it holds (``data[…]`` in its container dtype)."""
    quant = _quant(case)
    arrays = {"W_q": "weight"}
    if quant.bias == "int32":
        arrays["B_q"] = "bias"
    elif quant.bias == "float":
        arrays["B"] = "bias"
    return arrays
