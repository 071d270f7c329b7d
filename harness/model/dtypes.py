"""Floating-point formats the harness knows, and exact rounding of float64 values into them.

Every format is described by its precision ``p`` (significand bits, implicit bit included), its
smallest normal exponent ``emin`` and its largest finite value. From these follow the unit roundoff
``u = 2**-p``, the subnormal spacing ``2**(emin - p + 1)`` and the overflow threshold
``max * (1 + 2**-p)`` (values at or above it round to infinity under round-to-nearest-even).

``bfloat16`` has no NumPy dtype; its values travel in float32 containers, which hold every
bfloat16 value exactly. ``tf32`` is not a storage format: it describes the multiplier precision of
TensorFloat-32 tensor cores and is used only by the tolerance model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format, by precision and exponent range."""

    name: str
    precision: int
    emin: int
    emax: int
    container: str

    @property
    def unit_roundoff(self) -> float:
        """Half the distance from 1 to the next larger number: ``2**-p``."""
        return 2.0**-self.precision

    @property
    def min_subnormal(self) -> float:
        """The smallest positive value of the format (the subnormal spacing)."""
        return 2.0 ** (self.emin - self.precision + 1)

    @property
    def max_finite(self) -> float:
        """The largest finite value."""
        return (2.0 - 2.0 ** (1 - self.precision)) * 2.0**self.emax

    @property
    def overflow_threshold(self) -> float:
        """Values of magnitude at or above this round to infinity."""
        return self.max_finite + 2.0 ** (self.emax - self.precision)

    @property
    def numpy_container(self) -> np.dtype:
        """The NumPy dtype that stores values of this format exactly."""
        return np.dtype(self.container)


FORMATS: dict[str, FloatFormat] = {
    "float64": FloatFormat("float64", 53, -1022, 1023, "float64"),
    "float32": FloatFormat("float32", 24, -126, 127, "float32"),
    "float16": FloatFormat("float16", 11, -14, 15, "float16"),
    "bfloat16": FloatFormat("bfloat16", 8, -126, 127, "float32"),
    "tf32": FloatFormat("tf32", 11, -126, 127, "float32"),
}

DATA_DTYPES: tuple[str, ...] = ("float64", "float32", "float16", "bfloat16")


def float_format(name: str) -> FloatFormat:
    """Look up a format by name, with an error that lists the known names."""
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise ValueError(f"unknown dtype {name!r}; known: {known}") from None


def round_to_format(values: np.ndarray, name: str) -> np.ndarray:
    """Round float64 values to the nearest value of format ``name`` (ties to even).

    Returns float64 holding exactly representable values. Overflow gives ±inf; nan, ±inf and the
    sign of zero are kept. Rounding is done once, directly from float64 (no double rounding).
    """
    fmt = float_format(name)
    v = np.asarray(values, dtype=np.float64)
    if fmt.container in ("float64", "float16") or name == "float32":
        # NumPy's own casts from float64 round once, to nearest even; overflow to inf is intended.
        with np.errstate(over="ignore"):
            return v.astype(fmt.container).astype(np.float64)
    return _round_generic(v, fmt)


def _round_generic(v: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    finite = np.isfinite(v)
    mag = np.abs(np.where(finite, v, 0.0))
    # Exponent of each value's leading bit, floored at emin so subnormals share one spacing.
    _, exp = np.frexp(mag)
    exponent = np.maximum(exp.astype(np.int64) - 1, fmt.emin)
    spacing = np.ldexp(1.0, (exponent - fmt.precision + 1).astype(np.int32))
    rounded = np.rint(mag / spacing) * spacing  # mag/spacing is exact: a power-of-two scaling
    rounded = np.where(rounded >= fmt.overflow_threshold, np.inf, rounded)
    out = np.copysign(rounded, v)
    return np.where(finite, out, v)


def to_container(values: np.ndarray, name: str) -> np.ndarray:
    """Round to format ``name`` and store in its NumPy container dtype."""
    return round_to_format(values, name).astype(float_format(name).numpy_container)


def ulp(values: np.ndarray, name: str) -> np.ndarray:
    """The spacing of format ``name`` at the magnitude of each value (the subnormal spacing at 0)."""
    fmt = float_format(name)
    mag = np.abs(np.asarray(values, dtype=np.float64))
    mag = np.where(np.isfinite(mag), mag, fmt.max_finite)
    _, exp = np.frexp(mag)
    # frexp(0) gives exponent 0, which would read as the binade [0.5, 1): zero takes emin instead.
    exponent = np.where(mag > 0.0, np.maximum(exp.astype(np.int64) - 1, fmt.emin), fmt.emin)
    return np.ldexp(1.0, (exponent - fmt.precision + 1).astype(np.int32))


def gamma(n: np.ndarray | int, unit_roundoff: float) -> np.ndarray:
    """Higham's ``γ_n = n·u / (1 − n·u)``: the bound on relative error of an n-operation chain."""
    nu = np.asarray(n, dtype=np.float64) * unit_roundoff
    return np.where(nu < 1.0, nu / np.maximum(1.0 - nu, math.ulp(1.0)), np.inf)
