"""The comparison of a quantized target's output with the exact reference of
:mod:`harness.oracle.quantized`, under the rounding steps the target declares (:class:`QuantModel`).

Derivation
----------
For output element ``o`` of channel ``c`` the exact real value is
``r = u_c·A + b`` with ``u_c = s_x·s_w[c]``, ``A`` the exact integer accumulator (int32 bias
included) and ``b`` the float bias (0 unless the form is float); a requantized output is
``q = sat(z_y + round(r / s_y))``. A target declares how it computes ``r / s_y``:

- ``integer_accumulation``: ``A`` is summed exactly in integers (the quantized kernels); otherwise
  the products of dequantized values are summed in floating point (a QDQ graph), ``C·T + 1``
  roundings per element with ``C·T`` the products of the element's group and kernel.
- ``relative_steps`` roundings of unit roundoff ``unit_roundoff`` on the way (the multiplier
  ``s_x·s_w/s_y`` rounded to float32, its product with ``A``, the bias's division and addition):
  by Higham's lemma their joint relative error is at most ``γ_n = n·u/(1 − n·u)`` of the magnitude
  ``S = u_c·Σ|terms| + |b|``, the terms being the products and an int32 bias (``Σ|terms|`` is
  ``|A|`` under exact integer accumulation).
- ``bias_quantized``: a float bias rounded to whole accumulator units first (±½ unit).

So the value the target rounds lies within ``e = [γ_n·(S + β·u_c) + β·u_c] / s_y`` of the exact
``v = r / s_y`` (``β`` = ½ when the bias is quantized, else 0), all in exact rational arithmetic.
An integer output must lie in ``[ceil(v − e − ½), floor(v + e + ½)] + z_y`` saturated — the integers
that some value within ``e`` of ``v`` rounds to, either way at a tie; with ``e = 0`` (a target that
declares exact requantization) it must equal the exact reference, rounding rule included. A
dequantized output must lie within ``e·s_y`` (``e`` taken with ``s_y = 1``) plus one rounding to its
``output_format`` of the exact real value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.dtypes import float_format
from harness.model.quant import INT_RANGES, Quantization
from harness.oracle.quantized import accumulator, dequantize, requantize, round_fraction, saturate
from harness.oracle.reference import conv_transpose


@dataclass(frozen=True)
class QuantModel:
    """How a quantized target computes its output (declared by the target, checked by the harness)."""

    relative_steps: int = 0
    unit_roundoff: float = 2.0**-24
    integer_accumulation: bool = True
    bias_quantized: bool = False
    output_format: str = "float32"

    @property
    def exact(self) -> bool:
        """True when the declared computation has no rounding before the final one."""
        return self.relative_steps == 0 and self.integer_accumulation and not self.bias_quantized

    def describe(self) -> str:
        """Short text for reports, e.g. ``int acc, 3 roundings u=2^-24``."""
        if self.exact:
            return "int acc, exact requantization"
        acc = "int acc" if self.integer_accumulation else "float acc"
        text = f"{acc}, {self.relative_steps} roundings u=2^{round(math.log2(self.unit_roundoff))}"
        return text + (", bias rounded to int32" if self.bias_quantized else "")


@dataclass(frozen=True)
class QuantComparison:
    """The verdict on a quantized output and the statistics it reports."""

    passed: bool
    mismatched: int
    compared: int
    max_abs_error: float
    allowed_off_by_one: int
    worst_index: tuple[int, ...] | None
    int32_overflow: bool
    message: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "passed": self.passed,
            "mismatched": self.mismatched,
            "compared": self.compared,
            "max_abs_error": self.max_abs_error,
            "allowed_off_by_one": self.allowed_off_by_one,
            "worst_index": None if self.worst_index is None else list(self.worst_index),
            "int32_overflow": self.int32_overflow,
        }


@dataclass(frozen=True)
class QuantReference:
    """The exact accumulator of a case and what the bound needs, per output element."""

    accumulator: np.ndarray
    magnitude: np.ndarray
    terms: int
    bias_f: np.ndarray | None

    @classmethod
    def for_case(cls, case: Case, arrays: CaseArrays) -> QuantReference:
        """The exact int64 accumulator, ``Σ|terms|`` (the products and an int32 bias) and the
        products per element of ``case``."""
        quant = _quant(case)
        geometry = {
            "stride": case.stride,
            "dilation": case.dilation,
            "pads_begin": case.pads_begin,
            "pads_end": case.pads_end,
            "output_padding": case.output_padding,
            "groups": case.groups,
        }
        bias_q = arrays.bias if quant.bias == "int32" else None
        acc = accumulator(arrays.x, arrays.weight, quant, bias_q, **geometry)  # type: ignore[arg-type]
        zero = quant.input.zero_point
        x_abs = np.abs(arrays.x - zero)
        zw = accumulator_weight_centered(case, arrays, quant)
        # An int32 bias is one more term of the sum a float path rounds (dequantized, then added).
        bias_abs = None if bias_q is None else np.abs(bias_q)
        magnitude = conv_transpose(x_abs, np.abs(zw), bias_abs, **geometry)  # type: ignore[arg-type]
        terms = (case.in_channels // case.groups) * math.prod(case.kernel_size) + 1
        bias_f = arrays.bias if quant.bias == "float" else None
        return cls(acc, magnitude.astype(np.int64), terms, bias_f)


def _quant(case: Case) -> Quantization:
    if case.quantization is None:
        raise ValueError("not a quantized case")
    return case.quantization


def accumulator_weight_centered(case: Case, arrays: CaseArrays, quant: Quantization) -> np.ndarray:
    """The weight minus each position's zero point (its output channel's)."""
    _, zero_points = quant.weight.for_channels(case.out_channels)
    opg = case.out_channels // case.groups
    cpg = case.in_channels // case.groups
    z = np.repeat(np.asarray(zero_points, dtype=np.float64).reshape(case.groups, 1, opg), cpg, axis=1)
    return np.asarray(arrays.weight - z.reshape(case.in_channels, opg, *([1] * case.rank)))


def _gamma(n: int, u: Fraction) -> Fraction:
    return n * u / (1 - n * u) if n else Fraction(0)


@dataclass(frozen=True)
class _Element:
    """The exact verdict on one output element: allowed or not, by how far, what was expected,
    and whether more than one integer was allowed."""

    ok: bool
    miss: float
    expected: str
    loose: bool


def _steps(ref: QuantReference, model: QuantModel) -> tuple[int, Fraction]:
    """The roundings the declared model makes and ``β`` (½ where the bias is rounded to int32)."""
    steps = model.relative_steps + (0 if model.integer_accumulation else ref.terms)
    beta = Fraction(1, 2) if model.bias_quantized and ref.bias_f is not None else Fraction(0)
    return steps, beta


def _exact_element(
    ref: QuantReference, quant: Quantization, model: QuantModel, index: tuple[int, ...], value: float
) -> _Element:
    """The verdict on ``value`` at ``index`` (N, C, …), in exact rational arithmetic."""
    c = index[1]
    scales, _ = quant.weight.for_channels(ref.accumulator.shape[1])
    unit = Fraction(quant.input.scale) * Fraction(scales[c])
    acc = int(ref.accumulator[index])
    bias = Fraction(float(ref.bias_f[c])) if ref.bias_f is not None else Fraction(0)
    real, err = unit * acc + bias, Fraction(0)
    if not model.exact:
        steps, beta = _steps(ref, model)
        summed = abs(acc) if model.integer_accumulation else int(ref.magnitude[index])
        gamma = _gamma(steps, Fraction(model.unit_roundoff))
        err = gamma * (unit * summed + abs(bias) + beta * unit) + beta * unit
    out = quant.output
    if out is None:
        u_o = Fraction(float_format(model.output_format).unit_roundoff)
        limit = err + u_o * (abs(real) + err)
        finite = math.isfinite(value)
        ok = finite and abs(Fraction(value) - real) <= limit
        miss = float(abs(Fraction(value) - real)) if finite else math.inf
        return _Element(ok, 0.0 if ok else miss, f"{float(real)!r} ± {float(limit):.3g}", False)
    sy = Fraction(out.scale)
    v, e = real / sy, err / sy
    if e == 0:
        lo = hi = saturate(out.zero_point + round_fraction(v, quant.rounding), out.dtype)
    else:
        lo = saturate(out.zero_point + math.ceil(v - e - Fraction(1, 2)), out.dtype)
        hi = saturate(out.zero_point + math.floor(v + e + Fraction(1, 2)), out.dtype)
    ok = value.is_integer() and lo <= int(value) <= hi
    if ok or not math.isfinite(value):
        miss = 0.0 if ok else math.inf
    else:
        miss = float(min(abs(Fraction(value) - lo), abs(Fraction(value) - hi)))
    return _Element(ok, miss, str(lo) if lo == hi else f"{lo}..{hi}", e != 0 and hi > lo)


#: The relative margin within which the float64 screen leaves an element to the exact path: a
#: few float64 roundings (2^-53 each) separate the screen's values from the exact ones.
SCREEN_MARGIN = 2.0**-40


def _screen(
    got: np.ndarray, ref: QuantReference, quant: Quantization, model: QuantModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A float64 verdict on every element: ``(decided, ok, miss, loose)``. An element the screen
    cannot decide with certainty (within :data:`SCREEN_MARGIN` of a rounding boundary or of its
    bound) is left undecided for :func:`_exact_element`."""
    c_out = ref.accumulator.shape[1]
    scales, _ = quant.weight.for_channels(c_out)
    shape = (1, c_out) + (1,) * (got.ndim - 2)
    unit = (float(quant.input.scale) * np.asarray(scales, dtype=np.float64)).reshape(shape)
    bias = np.zeros(shape) if ref.bias_f is None else np.asarray(ref.bias_f, np.float64).reshape(shape)
    acc = ref.accumulator.astype(np.float64)
    real = unit * acc + bias
    scale = np.abs(unit * acc) + np.abs(bias)
    err = np.zeros_like(real)
    if not model.exact:
        steps, beta = _steps(ref, model)
        gamma = float(_gamma(steps, Fraction(model.unit_roundoff)))
        summed = np.abs(acc) if model.integer_accumulation else ref.magnitude.astype(np.float64)
        err = gamma * (unit * summed + np.abs(bias) + float(beta) * unit) + float(beta) * unit
    value = got.astype(np.float64)
    finite = np.isfinite(value)
    exact_ints = bool(np.abs(ref.accumulator).max(initial=0) < 2**52)
    out = quant.output
    if out is None:
        u_o = float_format(model.output_format).unit_roundoff
        limit = err + u_o * (np.abs(real) + err)
        with np.errstate(invalid="ignore"):
            distance = np.abs(value - real)
            margin = SCREEN_MARGIN * (scale + np.where(finite, np.abs(value), 0.0) + limit) + 1e-300
            decided = (~finite | (np.abs(distance - limit) > margin)) & exact_ints
            ok = finite & (distance <= limit)
        miss = np.where(ok, 0.0, np.where(finite, distance, np.inf))
        return decided, ok, miss, np.zeros(got.shape, dtype=bool)
    sy = float(out.scale)
    v, e = real / sy, err / sy
    margin = SCREEN_MARGIN * ((scale + err) / sy + 1.0)
    low, high = INT_RANGES[out.dtype]
    if model.exact:
        rest = v - np.floor(v)
        decided = (np.abs(rest - 0.5) > margin) & (np.abs(v) < 2.0**50)
        lo = hi = np.clip(out.zero_point + np.floor(v + 0.5), low, high)
    else:
        begin, end = v - e - 0.5, v + e + 0.5
        decided = (np.abs(begin - np.round(begin)) > margin) & (np.abs(end - np.round(end)) > margin)
        decided &= np.abs(v) + e < 2.0**50
        lo = np.clip(out.zero_point + np.ceil(begin), low, high)
        hi = np.clip(out.zero_point + np.floor(end), low, high)
    integral = finite & (value == np.floor(np.where(finite, value, 0.0)))
    ok = integral & (lo <= value) & (value <= hi)
    with np.errstate(invalid="ignore"):
        miss = np.where(ok, 0.0, np.minimum(np.abs(value - lo), np.abs(value - hi)))
    return decided & exact_ints, ok, miss, hi > lo


def compare_quantized(
    actual: np.ndarray, case: Case, ref: QuantReference, model: QuantModel
) -> QuantComparison:
    """Judge ``actual`` (NC*, integers or floats) against the exact reference under ``model``.

    A float64 screen decides the elements far from every boundary; each element it leaves, and
    the worst one, is judged in exact rational arithmetic (:func:`_exact_element`)."""
    quant = _quant(case)
    got = np.asarray(actual)
    decided, ok, miss, loose = _screen(got, ref, quant, model)
    for index in zip(*np.nonzero(~decided), strict=True):
        element = _exact_element(ref, quant, model, index, float(got[index]))
        ok[index], miss[index], loose[index] = element.ok, element.miss, element.loose
    bad = ~ok
    n_bad = int(bad.sum())
    worst_err, worst_idx, worst_expected = 0.0, None, ""
    if n_bad:
        # The first worst element channel by channel, as the report has always named it.
        order = np.moveaxis(np.where(bad, miss, -1.0), 1, 0)
        flat = int(np.argmax(order.reshape(-1)))
        c_first = np.unravel_index(flat, order.shape)
        worst_idx = (int(c_first[1]), int(c_first[0]), *(int(i) for i in c_first[2:]))
        element = _exact_element(ref, quant, model, worst_idx, float(got[worst_idx]))
        worst_err, worst_expected = element.miss, element.expected
    overflow = _int32_overflow(ref.accumulator)
    passed = not n_bad
    message = "" if passed else _message(n_bad, worst_idx, got, worst_expected, overflow)
    allowed_off_by_one = int(loose.sum()) if not model.exact and quant.output is not None else 0
    return QuantComparison(
        passed, n_bad, int(got.size), worst_err, allowed_off_by_one, worst_idx, overflow, message
    )


def _int32_overflow(acc: np.ndarray) -> bool:
    return bool(acc.size) and (int(acc.min()) < -(2**31) or int(acc.max()) > 2**31 - 1)


def _message(
    n_bad: int, worst: tuple[int, ...] | None, got: np.ndarray, expected: str, overflow: bool
) -> str:
    where = list(worst) if worst is not None else []
    value = got[tuple(where)].item() if worst is not None else None
    text = (
        f"{n_bad} element(s) outside the declared rounding model; worst at {where}: got {value!r}, "
        f"expected {expected}"
    )
    return text + (" (the exact accumulator leaves int32)" if overflow else "")


def expected_output(case: Case, ref: QuantReference) -> np.ndarray:
    """The exact reference output (requantized integers, or the dequantized float64 values)."""
    quant = _quant(case)
    if quant.output is None:
        return dequantize(ref.accumulator, quant, ref.bias_f)
    return requantize(ref.accumulator, quant, ref.bias_f)
