"""The magnitude ``M = reference(|x|, |w|, |b|)`` of chosen output elements, without the whole array.

The tolerance (:mod:`harness.oracle.tolerance`) scales with ``M``. Most elements of an output pass
with room to spare against the bound that ``|y| ≤ M`` gives from below, so the comparison
(:mod:`harness.oracle.compare`) needs ``M`` only at the few elements where that lower bound does
not settle the verdict: :func:`magnitude_at` sums them directly, tap by tap, from the case's
geometry (the same semantics as :mod:`harness.oracle.reference`, independent code).

:func:`magnitude_ceiling` is one number no element's ``M`` exceeds, for the overflow check that
chooses between the comparison's two paths.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from harness.model.arrays import CaseArrays
from harness.model.case import Case

#: Gathered products held at once (float64): elements are summed in chunks that fit it.
CHUNK_ELEMENTS = 1 << 20
#: A product summed element by element costs about this many of the whole reference's (gathers
#: against BLAS: 30–70 ns against 0.4–1.6 ns measured on the benchmark shapes), ...
POINTWISE_COST = 100
#: ... and the whole reference costs about this many products more in fixed overhead.
FIXED_PRODUCTS = 100_000


def pointwise_pays(case: Case, elements: int) -> bool:
    """Whether :func:`magnitude_at` at ``elements`` elements costs less than the whole ``M``."""
    taps = math.prod(case.kernel_size)
    whole = case.batch * case.in_channels * math.prod(case.input_size) * (case.out_channels // case.groups)
    return (
        elements * taps * (case.in_channels // case.groups) * POINTWISE_COST <= whole * taps + FIXED_PRODUCTS
    )


def _taps(case: Case) -> np.ndarray:
    """Every kernel tap as a row of per-dimension indices, shape ``(K, rank)``."""
    return np.array(list(itertools.product(*(range(k) for k in case.kernel_size))), dtype=np.int64)


def magnitude_at(case: Case, arrays: CaseArrays, index: tuple[np.ndarray, ...]) -> np.ndarray:
    """``M`` at the output elements ``index`` (``(n, c_out, o_1 … o_r)``, as :func:`numpy.nonzero`
    gives them) of an explicit case: ``|b| + Σ |x|·|w|`` over the taps and channels reaching each.

    An output position ``o`` (cropped) is reached by tap ``k`` from input position ``i`` where
    ``i·s + k·d = o + cb``.
    """
    n, oc = index[0], index[1]
    positions = np.stack(index[2:], axis=1) if len(index) > 2 else np.zeros((len(n), 0), np.int64)
    per_group_in = case.in_channels // case.groups
    per_group_out = case.out_channels // case.groups
    group, local = oc // per_group_out, oc % per_group_out
    taps = _taps(case)
    stride = np.array(case.stride, dtype=np.int64)
    dilation = np.array(case.dilation, dtype=np.int64)
    begin = np.array(case.pads_begin, dtype=np.int64)
    size = np.array(case.input_size, dtype=np.int64)
    x_abs, w_abs = np.abs(arrays.x), np.abs(arrays.weight)
    channels = np.arange(per_group_in)
    bias = arrays.bias if case.bias else None
    out = np.zeros(len(n), dtype=np.float64) if bias is None else np.abs(bias)[oc]
    step = max(1, CHUNK_ELEMENTS // max(1, len(taps) * per_group_in))
    for lo in range(0, len(n), step):
        part = slice(lo, lo + step)
        full = positions[part, None, :] + begin - taps[None, :, :] * dilation  # (P, K, rank): i·s
        inside = np.all((full % stride == 0) & (full >= 0) & (full <= (size - 1) * stride), axis=2)
        source = np.where(inside[..., None], full // stride, 0)
        in_channel = (group[part] * per_group_in)[:, None, None] + channels  # (P, 1, C)
        xs = x_abs[(n[part][:, None, None], in_channel, *(source[..., j, None] for j in range(case.rank)))]
        ws = w_abs[
            (in_channel, local[part][:, None, None], *(taps[None, :, j, None] for j in range(case.rank)))
        ]
        products = np.einsum("pkc,pkc->pk", xs, ws)
        out[part] += np.where(inside, products, 0.0).sum(axis=1)
    result: np.ndarray = out
    return result


def magnitude_ceiling(case: Case, arrays: CaseArrays) -> float:
    """A number no element's ``M`` exceeds: ``max|b| + T·C·max|x|·max|w|`` (``T`` taps, ``C`` input
    channels per group); nan when an input holds nan."""

    def largest(a: np.ndarray | None) -> float:
        return 0.0 if a is None or a.size == 0 else float(np.max(np.abs(a)))

    taps = int(np.prod(case.kernel_size))
    terms = taps * (case.in_channels // case.groups)
    return largest(arrays.bias if case.bias else None) + terms * largest(arrays.x) * largest(arrays.weight)
