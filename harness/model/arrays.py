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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.model.case import Case
from harness.model.dtypes import float_format, round_to_format

SPECIAL_FRACTION = 0.05
_SPECIALS = np.array([np.inf, -np.inf, np.nan, -0.0])


@dataclass(frozen=True)
class CaseArrays:
    """The float64 (exactly representable) input, weight and optional bias of a case."""

    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray | None
    dtype: str

    def container(self) -> dict[str, np.ndarray]:
        """The arrays in the dtype's NumPy container (``x``, ``weight`` and, if present, ``bias``)."""
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


def make_arrays(case: Case) -> CaseArrays:
    """Draw the case's arrays deterministically from its seed, rounded to its dtype."""
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
