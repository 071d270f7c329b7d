"""Derived per-element error bounds: how far a target's output may lie from the reference.

The comparison that applies them is :mod:`harness.oracle.compare`.

Derivation
----------
Output element ``y = b + Σ_t Σ_c x·w`` sums, over the ``T`` kernel taps that reach it, the products
of the ``C = C_in/g`` channels of its group. ``M = reference(|x|, |w|, |b|)`` bounds the magnitude of
every partial sum of that element in any order. Each target declares, per data dtype, an
:class:`AccumulationModel`: the format its channel reduction accumulates in (``accumulate``, unit
roundoff ``u_a``), the format its per-tap partial sums are rounded to and summed in (``taps``,
``u_t``), and optionally a coarser multiplier format (``multiply``, e.g. TF32, ``u_m``).

With Higham's ``γ_n(u) = n·u/(1−n·u)``, standard summation analysis gives for the value ``y''``
a target computes before rounding to the output format::

    |y'' − y| ≤ E = [γ_C(u_a) + γ_{T+1}(u_t) + 2·u_m]·M + C·η_a + (T+1)·η_t

(``γ_C``: C products summed per tap; ``γ_{T+1}``: one rounding of each tap's partial to the tap
format plus the ``T`` additions of taps and bias; ``2·u_m``: both operands rounded to the multiplier
format; ``η``: half the subnormal spacing, one per operation, for underflow.) The framework returns
``fl_o(y'')`` and is compared with ``fl_o(y)``, the reference rounded to the output format, so::

    |fl_o(y'') − fl_o(y)| ≤ bound = (1 + u_o)·E + 2·u_o·|y| + 2·η_o

When every input is an integer and ``M ≤ 2**p`` for every format involved, each partial sum is an
integer of magnitude ≤ M and every operation is exact: the bound is then 0 (an exact comparison,
the sharpest test for structural bugs).

This is a worst-case bound, not an estimate. It models the *structure* of the computation, not its
summation order, so it does not depend on blocking or threading. It is loose for long
float32/float64 sums (typical errors grow like √n, not n), which is still far below any structural
error: a dropped, duplicated or misplaced tap moves an element by a whole product ``|x·w|``, a
missing bias by ``|b|``, while the bound is ``~n·u·M``. What it cannot absorb is a target that
accumulates in a coarser format than it declares — float16 partials where float32 was declared
exceed it by orders of magnitude — so the declaration itself is tested.

Calibration (``benchmarks/tolerance_calibration.py``, torch 2.13.0 CPU): see the figures in that
script's printout and in the project's closing notes; ``SAFETY_FACTOR`` stays 1 because the form is
a proven bound under the declared model and no generated case exceeded it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.dtypes import float_format, gamma
from harness.oracle.reference import conv_transpose, tap_counts

SAFETY_FACTOR = 1.0


@dataclass(frozen=True)
class AccumulationModel:
    """How a target computes for one data dtype (declared by the target, checked by the harness)."""

    accumulate: str
    taps: str
    multiply: str | None = None

    def describe(self) -> str:
        """Short text for reports, e.g. ``acc=float32 taps=float16``."""
        text = f"acc={self.accumulate} taps={self.taps}"
        return text + (f" mul={self.multiply}" if self.multiply else "")


def exact_model(dtype: str) -> AccumulationModel:
    """A target that computes entirely in ``dtype`` (the common declaration for float32/float64)."""
    return AccumulationModel(accumulate=dtype, taps=dtype)


@dataclass(frozen=True)
class ReferenceResult:
    """The exact result of a case plus what the error bound needs."""

    exact: np.ndarray
    magnitude: np.ndarray
    taps: np.ndarray
    channels_per_group: int
    integer_inputs: bool
    #: Whether the input, weight and bias hold no nan/inf (a nan/inf output can then come only from
    #: the arithmetic, never from the data).
    finite_inputs: bool = True

    @classmethod
    def for_case(cls, case: Case, arrays: CaseArrays) -> ReferenceResult:
        """Compute ``y``, ``M = ref(|x|, |w|, |b|)`` and the tap counts for a case.

        ``y`` and ``M`` come from one call of the reference, on twice the groups: the case's own
        channels, then their absolute values (groups never mix, so each half is exactly what a call
        of its own gives). A call's fixed cost, not its arithmetic, dominates the small cases
        that most specs draw, and this pays it once.
        """
        if case.padding_mode != "explicit":
            raise ValueError(f"padding_mode {case.padding_mode!r}: resolve the mode to explicit crops first")
        bias = arrays.bias if case.bias else None
        both = conv_transpose(
            np.concatenate([arrays.x, np.abs(arrays.x)], axis=1),
            np.concatenate([arrays.weight, np.abs(arrays.weight)], axis=0),
            None if bias is None else np.concatenate([bias, np.abs(bias)]),
            stride=case.stride,
            dilation=case.dilation,
            pads_begin=case.pads_begin,
            pads_end=case.pads_end,
            output_padding=case.output_padding,
            groups=2 * case.groups,
        )
        exact, magnitude = both[:, : case.out_channels], both[:, case.out_channels :]
        taps = tap_counts(case)[np.newaxis, np.newaxis]
        parts = [arrays.x, arrays.weight] + ([] if arrays.bias is None else [arrays.bias])
        integer = all(bool(np.all(np.isfinite(p) & (p == np.round(p)))) for p in parts)
        finite = all(bool(np.isfinite(p).all()) for p in parts)
        return cls(exact, magnitude, taps, case.in_channels // case.groups, integer, finite)


def error_bound(ref: ReferenceResult, output_dtype: str, model: AccumulationModel) -> np.ndarray:
    """Per-element bound on ``|output − round(reference)|`` (see the module docstring)."""
    acc, tap, out = float_format(model.accumulate), float_format(model.taps), float_format(output_dtype)
    m = ref.magnitude
    n_taps = ref.taps
    c = ref.channels_per_group
    rel = gamma(c, acc.unit_roundoff) + gamma(n_taps + 1, tap.unit_roundoff)
    formats = [acc, tap, out]
    if model.multiply is not None:
        mul = float_format(model.multiply)
        rel = rel + 2.0 * mul.unit_roundoff
        formats.append(mul)
    underflow = c * acc.min_subnormal / 2 + (n_taps + 1) * tap.min_subnormal / 2
    # SAFETY·((1 + u)·(rel·M + underflow) + 2u·|exact| + min_subnormal), as
    # (SAFETY·(1 + u)·rel)·M + (2·SAFETY·u)·|exact| + constant: the per-position factors are small
    # arrays (they vary with the tap count only), so three passes over the output suffice.
    with np.errstate(invalid="ignore", over="ignore"):
        scale = SAFETY_FACTOR * (1.0 + out.unit_roundoff) * rel
        offset = SAFETY_FACTOR * ((1.0 + out.unit_roundoff) * underflow + out.min_subnormal)
        bound = np.multiply(m, scale)
        bound += offset
        term = np.abs(ref.exact)
        term *= 2.0 * SAFETY_FACTOR * out.unit_roundoff
        bound += term
    if ref.integer_inputs:
        exact_limit = min(2.0**f.precision for f in formats)
        bound = np.where(m <= exact_limit, 0.0, bound)
    return np.broadcast_to(bound, ref.exact.shape)
