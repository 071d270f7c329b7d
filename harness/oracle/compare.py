"""The comparison of a target's output with the reference, within the bound of
:mod:`harness.oracle.tolerance`, and the statistics every comparison reports.

Special values: positions where the rounded reference is nan or ±inf must hold exactly that (a nan
where the rounded reference is inf is a mismatch). The one allowance is overflow at the boundary:
where ``|y| ± bound`` straddles the output format's overflow threshold, both the largest finite value
and the infinity of ``y``'s sign are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from harness.model.dtypes import float_format, round_to_format, ulp
from harness.oracle.tolerance import AccumulationModel, ReferenceResult, error_bound


@dataclass(frozen=True)
class Comparison:
    """The verdict on values and the statistics every comparison reports."""

    passed: bool
    max_abs_error: float
    max_rel_error: float
    max_ulp_error: float
    error_ratio: float
    worst_index: tuple[int, ...] | None
    mismatched: int
    nonfinite_mismatches: int
    compared: int
    message: str
    intermediate_overflow: bool = False

    @property
    def detail(self) -> str:
        """A mismatch's class: ``intermediate_overflow``, ``nonfinite_pattern`` or ``beyond_bound``
        (``""`` when it passed)."""
        if self.passed:
            return ""
        if self.intermediate_overflow:
            return "intermediate_overflow"
        return "nonfinite_pattern" if self.nonfinite_mismatches else "beyond_bound"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (worst index as a list)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}  # flat: no deep copy (asdict)
        out["worst_index"] = None if self.worst_index is None else list(self.worst_index)
        return out


def _overflow_ambiguous(exact: np.ndarray, bound: np.ndarray, threshold: float) -> np.ndarray:
    mag = np.abs(exact)
    with np.errstate(invalid="ignore"):
        ambiguous: np.ndarray = np.isfinite(mag) & (mag - bound < threshold) & (mag + bound >= threshold)
    return ambiguous


def _beyond_bound_message(
    n_bad: int,
    worst: tuple[int, ...] | None,
    got: np.ndarray,
    expected: np.ndarray,
    err: np.ndarray,
    bound: np.ndarray,
) -> str:
    idx = worst if worst is not None else ()
    return (
        f"{n_bad} element(s) exceed the bound; worst at {list(idx)}: got {float(got[idx])!r}, "
        f"expected {float(expected[idx])!r}, |error| {err[idx]:.3g} > bound {bound[idx]:.3g}"
    )


def _all_finite_in_range(got: np.ndarray, exact: np.ndarray, bound: np.ndarray, threshold: float) -> bool:
    """True when no element is nan/inf on either side and none is near the overflow threshold."""
    if not (np.isfinite(got).all() and np.isfinite(exact).all()):
        return False
    if exact.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.abs(exact).max() + bound.max() < threshold)


def _comparison(
    err: np.ndarray,
    rel: np.ndarray,
    ulps: np.ndarray,
    max_ratio: float,
    worst: tuple[int, ...] | None,
    n_bad: int,
    message: str,
    *,
    nonfinite: int = 0,
    intermediate_overflow: bool = False,
) -> Comparison:
    """The Comparison both paths of :func:`compare` report, from their per-element statistics."""
    return Comparison(
        passed=n_bad == 0,
        max_abs_error=float(err.max()) if err.size else 0.0,
        max_rel_error=float(rel.max()) if rel.size else 0.0,
        max_ulp_error=float(ulps.max()) if ulps.size else 0.0,
        error_ratio=max_ratio,
        worst_index=worst,
        mismatched=n_bad,
        nonfinite_mismatches=nonfinite,
        compared=int(err.size),
        message=message,
        intermediate_overflow=intermediate_overflow,
    )


def _compare_finite(
    got: np.ndarray, expected: np.ndarray, bound: np.ndarray, output_dtype: str
) -> Comparison:
    """:func:`compare` when every element is finite and far from overflow (the common case):
    the same statistics without the nan/inf bookkeeping, in few passes over the output."""
    err = np.subtract(got, expected)
    np.abs(err, out=err)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.divide(err, bound)
        if not bound.min() > 0:  # a zero bound (exact integer sums): 0/0 is a match, x/0 a mismatch
            ratio[np.isnan(ratio)] = 0.0
        magnitude = np.abs(expected)
        rel = np.divide(err, magnitude, out=np.zeros_like(err), where=magnitude != 0)
        ulps = np.divide(err, _ulp_of_representable(magnitude, output_dtype), out=magnitude)
    n_bad = int(np.count_nonzero(ratio > 1.0))
    worst: tuple[int, ...] | None = None
    max_ratio = 0.0
    if err.size:
        flat = int(np.argmax(ratio))
        worst = tuple(int(i) for i in np.unravel_index(flat, ratio.shape))
        max_ratio = float(ratio.flat[flat])
    if n_bad == 0:
        message = f"within bound (max error/bound {max_ratio:.3g})"
    else:
        message = _beyond_bound_message(n_bad, worst, got, expected, err, bound)
    return _comparison(err, rel, ulps, max_ratio, worst, n_bad, message)


def _ulp_of_representable(magnitude: np.ndarray, output_dtype: str) -> np.ndarray:
    """:func:`harness.model.dtypes.ulp` of finite magnitudes that the output format represents exactly.

    For formats stored in their own NumPy dtype that is ``np.spacing`` there, capped at the spacing
    of the top binade (``np.spacing`` of the largest finite value is inf).
    """
    fmt = float_format(output_dtype)
    if fmt.container == "float32" and output_dtype != "float32":  # bfloat16 travels in float32
        return ulp(magnitude, output_dtype)
    with np.errstate(over="ignore"):
        spacing = np.spacing(magnitude.astype(fmt.container)).astype(np.float64)
    capped: np.ndarray = np.minimum(spacing, 2.0 ** (fmt.emax - fmt.precision + 1), out=spacing)
    return capped


@dataclass(frozen=True)
class _Masks:
    """Per-element masks and statistics of the general path of :func:`compare`."""

    judged: np.ndarray
    nonfinite_bad: np.ndarray
    got_special: np.ndarray
    overflow_prone: np.ndarray
    ratio: np.ndarray
    err: np.ndarray
    rel: np.ndarray
    ulps: np.ndarray


def _general_masks(
    got: np.ndarray,
    ref: ReferenceResult,
    expected: np.ndarray,
    bound: np.ndarray,
    output_dtype: str,
    model: AccumulationModel,
) -> _Masks:
    """Which positions are judged against the bound, which differ in nan/inf, and their errors."""
    out_fmt = float_format(output_dtype)
    ambiguous = _overflow_ambiguous(ref.exact, bound, out_fmt.overflow_threshold)
    exp_nan, got_nan = np.isnan(expected), np.isnan(got)
    exp_inf, got_inf = np.isinf(expected), np.isinf(got)
    exp_special = (exp_nan | exp_inf) & ~ambiguous
    got_special = got_nan | got_inf
    same_special = (exp_nan & got_nan) | (exp_inf & got_inf & (np.sign(expected) == np.sign(got)))
    overflow_inf_ok = ambiguous & got_inf & (np.sign(got) == np.sign(ref.exact))
    nonfinite_bad = (exp_special | got_special) & ~same_special & ~overflow_inf_ok
    # Positions finite on both sides are judged against the bound; at an ambiguous overflow the
    # finite side of the threshold (the largest finite value) is what a finite output is held to.
    judged = ~exp_special & ~got_special
    target = np.where(ambiguous, np.clip(ref.exact, -out_fmt.max_finite, out_fmt.max_finite), expected)
    err = np.where(judged, np.abs(got - np.where(judged, target, 0.0)), 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(judged, np.where(bound > 0, err / bound, np.where(err > 0, np.inf, 0.0)), 0.0)
        rel = np.where(judged & (target != 0), err / np.abs(target), 0.0)
        ulps = np.where(judged, err / ulp(np.where(judged, target, 0.0), output_dtype), 0.0)
    # A nan/inf that the exact result does not have, at a position whose partial sums may exceed the
    # range of a declared accumulation format: the declared model predicts it, the exact result
    # does not. Still a mismatch; labelled so that findings can say why.
    narrowest = min(float_format(model.accumulate).max_finite, float_format(model.taps).max_finite)
    with np.errstate(invalid="ignore"):
        overflow_prone = ref.magnitude >= narrowest
    return _Masks(judged, nonfinite_bad, got_special, overflow_prone, ratio, err, rel, ulps)


@dataclass(frozen=True)
class Mismatches:
    """Where an output departs from the reference, position by position (all of the output shape).

    ``bad``: every mismatching position; ``nonfinite``: those that differ in nan/inf (the rest of
    ``bad`` are finite values beyond their bound); ``overflow_prone``: positions whose partial sums
    may exceed the range of a declared accumulation format.
    """

    bad: np.ndarray
    nonfinite: np.ndarray
    overflow_prone: np.ndarray
    expected: np.ndarray


def mismatches(
    actual: np.ndarray, ref: ReferenceResult, output_dtype: str, model: AccumulationModel
) -> Mismatches:
    """The positions :func:`compare` judges as mismatching, by the same rules."""
    got = np.asarray(actual, dtype=np.float64)
    expected = round_to_format(ref.exact, output_dtype)
    bound = error_bound(ref, output_dtype, model)
    masks = _general_masks(got, ref, expected, bound, output_dtype, model)
    value_bad = masks.judged & (masks.ratio > 1.0)
    bad: np.ndarray = value_bad | masks.nonfinite_bad
    return Mismatches(bad, masks.nonfinite_bad, masks.overflow_prone, expected)


def compare(
    actual: np.ndarray, ref: ReferenceResult, output_dtype: str, model: AccumulationModel
) -> Comparison:
    """Compare a target's output (any float container, NC* layout) with the reference."""
    got = np.asarray(actual, dtype=np.float64)
    if got.shape != ref.exact.shape:
        raise ValueError(f"shape {got.shape} differs from reference shape {ref.exact.shape}")
    out_fmt = float_format(output_dtype)
    expected = round_to_format(ref.exact, output_dtype)
    bound = error_bound(ref, output_dtype, model)

    if _all_finite_in_range(got, ref.exact, bound, out_fmt.overflow_threshold):
        return _compare_finite(got, expected, bound, output_dtype)
    masks = _general_masks(got, ref, expected, bound, output_dtype, model)
    judged, nonfinite_bad, ratio = masks.judged, masks.nonfinite_bad, masks.ratio
    err, rel, ulps = masks.err, masks.rel, masks.ulps
    value_bad = judged & (ratio > 1.0)
    # It takes a nan/inf in the output: a finite output where the exact result is inf (all that
    # differs) is no overflow of the target's sums; and finite inputs: a nan/inf the data holds
    # explains the output without any overflow.
    intermediate_overflow = bool(
        ref.finite_inputs
        and np.any(nonfinite_bad & masks.got_special)
        and np.all(masks.overflow_prone[nonfinite_bad])
    )

    bad = value_bad | nonfinite_bad
    n_bad = int(bad.sum())
    worst: tuple[int, ...] | None = None
    if nonfinite_bad.any():
        worst = tuple(int(i) for i in np.argwhere(nonfinite_bad)[0])
    elif judged.any():
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape))
    max_ratio = float(ratio.max()) if ratio.size else 0.0
    if n_bad == 0:
        message = f"within bound (max error/bound {max_ratio:.3g})"
    elif nonfinite_bad.any():
        idx = worst if worst is not None else ()
        message = (
            f"{int(nonfinite_bad.sum())} element(s) differ in nan/inf pattern; first at {list(idx)}: "
            f"got {float(got[idx])!r}, expected {float(expected[idx])!r} (exact {float(ref.exact[idx])!r})"
        )
        if intermediate_overflow:
            message += (
                f"; partial sums there reach {float(ref.magnitude[idx]):.4g}, beyond {model.taps}'s range"
            )
    else:
        message = _beyond_bound_message(n_bad, worst, got, expected, err, bound)
    return _comparison(
        err,
        rel,
        ulps,
        max_ratio,
        worst,
        n_bad,
        message,
        nonfinite=int(nonfinite_bad.sum()),
        intermediate_overflow=intermediate_overflow,
    )
