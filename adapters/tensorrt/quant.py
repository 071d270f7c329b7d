"""TensorRT int8 by explicit quantization, as data: which canonical int8 cases a Q/DQ network around
one ``IDeconvolutionLayer`` can express, the axes its Q/DQ layers take, and the rounding model it is
judged under. Pure: nothing here imports ``tensorrt``.

Sources (cited by the constants below):

- ``NvInfer.h``, ``IQuantizeLayer`` / ``IDequantizeLayer`` (TensorRT 8.x-10.x) and the operator pages
  for Quantize/Dequantize: ``output = clamp(round(input / scale) + zeroPt)``, rounding to nearest
  with ties to even, clamped to [-128, 127]; the scale is a build-time float32 constant (one
  coefficient per tensor, or a 1-D tensor along ``axis``); ``zeroPt`` "must only contain
  zero-valued coefficients, because only symmetric quantization is supported"; the quantized types
  are int8, fp8 and int4 (no uint8);
- NVIDIA/TensorRT#2380 and #1694 (the maintainers): TensorRT's deconvolution kernels take a
  per-channel weight scale along axis 0 of the CKRS kernel (its input channels, "the opposite of
  Conv"); "We don't support per-output-channel quant for ConvTranspose";
- ``NvInfer.h``, ``IDeconvolutionLayer::setNbGroups``: in int8 the channels per group must be a
  multiple of 4 for input and output (:func:`adapters.tensorrt.model.int8_groups_reason`).
"""

from __future__ import annotations

import numpy as np

from adapters.tensorrt import model as tm
from harness.model.case import Case
from harness.model.quant import Quantization
from harness.oracle.quant_compare import QuantModel

QUANTIZE_H = "NvInfer.h, IQuantizeLayer/IDequantizeLayer"
EXPLICIT_PAGE = (
    "https://docs.nvidia.com/deeplearning/tensorrt/latest/inference-library/"
    "quantized-types-explicit-quantization.html"
)
DECONV_AXIS_ISSUE = "https://github.com/NVIDIA/TensorRT/issues/2380"
#: The axis of the network input (NC*) its per-tensor Q/DQ layers name: the channel axis.
ACTIVATION_AXIS = 1
#: The axis of the CKRS kernel a per-channel weight scale runs along for TensorRT's deconvolution:
#: 0, the input channels (NVIDIA/TensorRT#2380). The canonical per-channel weight runs along the
#: output channels, so it has no TensorRT form; a per-tensor weight names this axis too.
WEIGHT_AXIS = 0

#: Declared, not measured (no GPU here): the fused int8 deconvolution sums in int32, then scales in
#: float32 — the accumulator converted, the products s_x·s_w and its quotient by s_y, the product
#: with the accumulator, the float bias divided by s_y and added: at most 6 roundings of 2⁻²⁴ before
#: the Q layer rounds half to even and saturates (as the dequantized output's float32 scaling has).
INT8_MODEL = QuantModel(relative_steps=6, unit_roundoff=2.0**-24, integer_accumulation=True)


def float32_exact(value: float) -> bool:
    """True when ``value`` is a float32 number (TensorRT's scales are float32 constants)."""
    return float(np.float32(value)) == value


def _scale_reason(quant: Quantization) -> str | None:
    scales = {"input": (quant.input.scale,), "weight": quant.weight.scales}
    if quant.output is not None:
        scales["output"] = (quant.output.scale,)
    for which, values in scales.items():
        for value in values:
            if not float32_exact(value):
                return (
                    f"TensorRT's Q/DQ scales are float32 build-time constants; the {which} scale "
                    f"{value!r} is not a float32 value ({QUANTIZE_H})"
                )
    return None


def quantization_reason(quant: Quantization) -> str | None:
    """None when a Q/DQ network can express ``quant`` exactly, else the first thing it cannot."""
    dtypes = {"input": quant.input.dtype, "weight": quant.weight.dtype}
    if quant.output is not None:
        dtypes["output"] = quant.output.dtype
    for which, dtype in dtypes.items():
        if dtype != "int8":
            return (
                f"TensorRT's IQuantizeLayer quantizes to int8 (or fp8/int4), not {dtype}: the {which} "
                f"has no Q/DQ form ({QUANTIZE_H})"
            )
    zero_points = {"input": (quant.input.zero_point,), "weight": quant.weight.zero_points}
    if quant.output is not None:
        zero_points["output"] = (quant.output.zero_point,)
    for which, values in zero_points.items():
        nonzero = [z for z in values if z != 0]
        if nonzero:
            return (
                f"TensorRT supports symmetric quantization only: the zero point must be 0 "
                f"('zeroPt must only contain zero-valued coefficients', {QUANTIZE_H}); the {which} "
                f"zero point is {nonzero[0]}"
            )
    if quant.weight.per_channel:
        return (
            "TensorRT's deconvolution takes a per-channel weight scale along the kernel's axis 0 "
            "(input channels) only; the canonical per-output-channel weight has no form there "
            f'("We don\'t support per-output-channel quant for ConvTranspose", {DECONV_AXIS_ISSUE})'
        )
    if quant.bias == "int32":
        return (
            "IDeconvolutionLayer takes its bias as float weights; an int32 bias in accumulator "
            f"units has no form there ({tm.NVINFER_H})"
        )
    if quant.rounding != "half_even":
        return f"TensorRT's IQuantizeLayer rounds half to even, not {quant.rounding} ({QUANTIZE_H})"
    return _scale_reason(quant)


def int8_reason(case: Case) -> str | None:
    """The case's quantization (:func:`quantization_reason`), then the int8 groups rule."""
    quant = case.quantization
    if quant is None:
        return "not an int8 case: the int8 targets take quantized cases only"
    reason = quantization_reason(quant)
    if reason is not None:
        return reason
    return tm.int8_groups_reason(case.in_channels, case.out_channels, case.groups)
