"""Deterministic input arrays for a case, rounded to the case's dtype.

The arrays are drawn in float64 from ``numpy.random.default_rng(case.seed)`` with the case's value
distribution, then rounded once to the case's dtype. The float64 copies the reference sees hold
exactly the values a framework receives; ``CaseArrays.container`` gives them in the dtype's NumPy
container (bfloat16 travels in float32, which holds it exactly).

Distributions:
- ``normal``: N(0, 1) everywhere.
- ``uniform``: U(−1, 1).
- ``small_int``: integers in {−2, …, 2}; products and short sums are exact in every dtype, so an
  exact comparison is possible while ``Σ|x·w|`` stays below ``2**p``.
- ``large``: data N(0, 1)·2**12 and weights N(0, 1)·2**4, bias N(0,1)·2**12: single products
  already exceed float16's range (65504) while every input value is finite in float16.
- ``special``: N(0, 1) with about 5 % of data and weight entries replaced by inf, −inf, nan or −0.

An int8 case (``case.quantization``) draws integers instead: ``uniform`` over the dtype's whole
range, ``normal`` around the zero point, ``small_int`` within ±2 of it, saturated to the range; its
int32 bias lies in ±2¹⁴ accumulator units, and a float bias is float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.model.case import Case
from harness.model.dtypes import float_format, round_to_format
from harness.model.quant import INT_RANGES, Quantization

SPECIAL_FRACTION = 0.05
_SPECIALS = np.array([np.inf, -np.inf, np.nan, -0.0])
#: An int8 case's ``normal`` integers: zero point + N(0, 1)·32, rounded and saturated.
INT_NORMAL_SD = 32.0
#: An int8 case's bias in accumulator units lies in ±this (a float bias: N(0, 1)·this units).
INT_BIAS_RANGE = 2**14


@dataclass(frozen=True)
class CaseArrays:
    """The float64 (exactly representable) input, weight and optional bias of a case."""

    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray | None
    dtype: str
    #: An int8 case's container dtype per array (``x``, ``weight``, ``bias``); None for a float case.
    stores: tuple[str, str, str] | None = None

    def container(self) -> dict[str, np.ndarray]:
        """The arrays in the dtype's NumPy container (``x``, ``weight`` and, if present, ``bias``);
        an int8 case's integer arrays in their integer dtypes (an int32 bias as int32)."""
        if self.stores is not None:
            named = {"x": self.x, "weight": self.weight, "bias": self.bias}
            return {
                k: v.astype(dt)
                for (k, v), dt in zip(named.items(), self.stores, strict=True)
                if v is not None
            }
        store = float_format(self.dtype).numpy_container
        out = {"x": self.x.astype(store), "weight": self.weight.astype(store)}
        if self.bias is not None:
            out["bias"] = self.bias.astype(store)
        return out


def _draw(rng: np.random.Generator, shape: tuple[int, ...], distribution: str, scale: float) -> np.ndarray:
    if distribution == "uniform":
        return rng.uniform(-1.0, 1.0, size=shape)
    if distribution == "small_int":
        return rng.integers(-2, 3, size=shape).astype(np.float64)
    values = rng.standard_normal(size=shape)
    if distribution == "large":
        return values * scale
    if distribution == "special":
        mask = rng.random(size=shape) < SPECIAL_FRACTION
        picks = _SPECIALS[rng.integers(0, len(_SPECIALS), size=shape)]
        return np.where(mask, picks, values)
    return values


def _draw_int(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: str, zero: int, dist: str
) -> np.ndarray:
    low, high = INT_RANGES[dtype]
    if dist == "uniform":
        values = rng.integers(low, high + 1, size=shape)
    elif dist == "small_int":
        values = zero + rng.integers(-2, 3, size=shape)
    else:
        values = np.rint(zero + INT_NORMAL_SD * rng.standard_normal(size=shape))
    return np.clip(values, low, high).astype(np.float64)


def _quantized_arrays(case: Case, quant: Quantization) -> CaseArrays:
    """An int8 case's integer arrays (as float64 holding integers), drawn from its seed."""
    rng = np.random.default_rng(case.seed)
    dist = case.distribution
    x = _draw_int(rng, case.input_shape, quant.input.dtype, quant.input.zero_point, dist)
    zw = np.asarray(quant.weight.for_channels(case.out_channels)[1], dtype=np.float64)
    # The weight's zero point of each (C_in, C_out/groups) position: channel g·C_out/groups + j.
    cpg, opg = case.in_channels // case.groups, case.out_channels // case.groups
    zw_at = np.repeat(zw.reshape(case.groups, 1, opg), cpg, axis=1).reshape(case.in_channels, opg)
    w = _draw_int(rng, case.weight_shape, quant.weight.dtype, 0, dist)
    w = np.clip(w + zw_at.reshape(zw_at.shape + (1,) * case.rank), *INT_RANGES[quant.weight.dtype])
    bias = None
    bias_store = "int32"
    if quant.bias == "int32":
        bias = rng.integers(-INT_BIAS_RANGE, INT_BIAS_RANGE + 1, size=(case.out_channels,)).astype(np.float64)
    elif quant.bias == "float":
        unit = quant.input.scale * max(quant.weight.scales)
        bias = round_to_format(
            rng.standard_normal(size=(case.out_channels,)) * unit * INT_BIAS_RANGE, "float32"
        )
        bias_store = "float32"
    stores = (quant.input.dtype, quant.weight.dtype, bias_store)
    return CaseArrays(x=x, weight=w, bias=bias, dtype=case.dtype, stores=stores)


def make_arrays(case: Case) -> CaseArrays:
    """Draw the case's arrays deterministically from its seed, rounded to its dtype (an int8 case:
    integers in its dtypes' ranges, the weight around each channel's zero point)."""
    if case.quantization is not None:
        return _quantized_arrays(case, case.quantization)
    rng = np.random.default_rng(case.seed)
    dist = case.distribution
    x = _draw(rng, case.input_shape, dist, 2.0**12)
    w = _draw(rng, case.weight_shape, dist, 2.0**4)
    b = None
    if case.bias:
        # Bias never takes special values: the specials' spread comes from data and weight.
        b = _draw(rng, (case.out_channels,), "normal" if dist == "special" else dist, 2.0**12)
    x, w = (round_to_format(a, case.dtype) for a in (x, w))
    if b is not None:
        b = round_to_format(b, case.dtype)
    return CaseArrays(x=x, weight=w, bias=b, dtype=case.dtype)
