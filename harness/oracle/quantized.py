"""The exact reference of a quantized transposed convolution (:mod:`harness.model.quant`).

The accumulator ``Σ (q_x − z_x)·(q_w − z_w[c])`` (plus an int32 bias) is computed exactly: each
term is an integer of magnitude at most 255², so every partial sum of a case whose
``C_in/groups · Π k · 255² + max|bias|`` stays below 2⁵³ is an integer that float64 holds exactly,
whatever the order of the additions. The float64 kernel of :mod:`harness.oracle.reference`
therefore sums it exactly on integer-valued arrays; the result is returned as int64 and a case past
that bound is refused rather than rounded. Requantization and dequantization are then done in
rational arithmetic on the floats' exact values: the scales are binary fractions, so
``scale_x·scale_w[c]/scale_y`` is an exact fraction, and the rounding rule decides ties exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from harness.errors import InvalidCase
from harness.model.quant import INT_RANGES, Quantization, Rounding, quantization_rules
from harness.oracle.reference import conv_transpose

#: Partial sums below this are exact in float64.
EXACT_LIMIT = 2**53


def round_fraction(value: Fraction, rounding: Rounding) -> int:
    """``value`` rounded to an integer, ties to even or away from zero."""
    floor = value.numerator // value.denominator
    twice_rest = 2 * (value.numerator - floor * value.denominator)
    if twice_rest > value.denominator:
        return floor + 1
    if twice_rest < value.denominator:
        return floor
    if rounding == "half_even":
        return floor + (floor % 2)
    return floor + 1 if value > 0 else floor


def saturate(value: int, dtype: str) -> int:
    """``value`` clamped to ``dtype``'s range."""
    low, high = INT_RANGES[dtype]
    return min(max(value, low), high)


def quantize(real: float, scale: float, zero_point: int, dtype: str, rounding: Rounding = "half_even") -> int:
    """The integer holding ``real``: ``clamp(zero_point + round(real / scale))``, exactly."""
    return saturate(zero_point + round_fraction(Fraction(real) / Fraction(scale), rounding), dtype)


def _weight_zero_points(quant: Quantization, c_in: int, c_out_g: int, groups: int) -> np.ndarray:
    """The weight zero point of every (input channel, output channel in its group) position."""
    _, zero_points = quant.weight.for_channels(c_out_g * groups)
    z = np.asarray(zero_points, dtype=np.int64).reshape(groups, 1, c_out_g)
    return np.broadcast_to(z, (groups, c_in // groups, c_out_g)).reshape(c_in, c_out_g)


def accumulator(
    xq: np.ndarray,
    wq: np.ndarray,
    quant: Quantization,
    bias_q: np.ndarray | None = None,
    *,
    stride: Sequence[int],
    dilation: Sequence[int],
    pads_begin: Sequence[int],
    pads_end: Sequence[int],
    output_padding: Sequence[int],
    groups: int = 1,
) -> np.ndarray:
    """The exact int64 accumulator ``Σ (q_x − z_x)(q_w − z_w[c]) + bias_q[c]`` of NC* ``xq`` and
    weight ``wq`` ``(C_in, C_out/groups, k…)``; ``bias_q`` is the int32 bias (or None)."""
    xq, wq = np.asarray(xq, dtype=np.int64), np.asarray(wq, dtype=np.int64)
    c_in, c_out_g, *kernel = wq.shape
    zw = _weight_zero_points(quant, c_in, c_out_g, groups)
    x_centered = xq - quant.input.zero_point
    w_centered = wq - zw.reshape(c_in, c_out_g, *([1] * len(kernel)))
    bias = None if bias_q is None else np.asarray(bias_q, dtype=np.int64)
    largest = int(np.abs(x_centered).max(initial=0)) * int(np.abs(w_centered).max(initial=0))
    bound = largest * (c_in // groups) * int(np.prod(kernel)) + int(
        np.abs(bias).max(initial=0) if bias is not None else 0
    )
    if bound >= EXACT_LIMIT:
        rule = quantization_rules()["quant_exact"]
        raise InvalidCase("quant_exact", f"the accumulator could reach {bound} (quant_exact: {rule})")
    total = conv_transpose(
        x_centered.astype(np.float64),
        w_centered.astype(np.float64),
        None if bias is None else bias.astype(np.float64),
        stride=stride,
        dilation=dilation,
        pads_begin=pads_begin,
        pads_end=pads_end,
        output_padding=output_padding,
        groups=groups,
    )
    return total.astype(np.int64)


def int32_overflows(acc: np.ndarray) -> bool:
    """True when some exact accumulator value is outside int32 (an int32 accumulator wraps there)."""
    low, high = INT_RANGES["int32"]
    return bool(acc.size) and (int(acc.min()) < low or int(acc.max()) > high)


def _channel_values(acc: np.ndarray, quant: Quantization, bias_f: np.ndarray | None) -> list[list[Fraction]]:
    """The exact real value of every output element, channel by channel (flattened per channel)."""
    c_out = acc.shape[1]
    scales, _ = quant.weight.for_channels(c_out)
    sx = Fraction(quant.input.scale)
    values = []
    for c in range(c_out):
        unit = sx * Fraction(scales[c])
        offset = Fraction(float(bias_f[c])) if bias_f is not None else Fraction(0)
        values.append([unit * int(a) + offset for a in acc[:, c].ravel().tolist()])
    return values


def requantize(acc: np.ndarray, quant: Quantization, bias_f: np.ndarray | None = None) -> np.ndarray:
    """The exact requantized output (int64 holding the output dtype's values) of accumulator ``acc``;
    ``bias_f`` is the float bias added after scaling (None for none or an int32 bias)."""
    out = quant.output
    if out is None:
        raise ValueError("the quantization dequantizes its output; use dequantize")
    sy = Fraction(out.scale)
    result = np.empty(acc.shape, dtype=np.int64)
    for c, values in enumerate(_channel_values(acc, quant, bias_f)):
        q = [saturate(out.zero_point + round_fraction(v / sy, quant.rounding), out.dtype) for v in values]
        result[:, c] = np.asarray(q, dtype=np.int64).reshape(result[:, c].shape)
    return result


def dequantize(acc: np.ndarray, quant: Quantization, bias_f: np.ndarray | None = None) -> np.ndarray:
    """The float64 output ``scale_x·scale_w[c]·acc (+ bias_f[c])``, rounded once from its exact value."""
    result = np.empty(acc.shape, dtype=np.float64)
    for c, values in enumerate(_channel_values(acc, quant, bias_f)):
        result[:, c] = np.asarray([float(v) for v in values], dtype=np.float64).reshape(result[:, c].shape)
    return result
