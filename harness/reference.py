"""The reference kernel: exact-in-float64 transposed convolution, vectorized with NumPy.

Public contract (checks outside the test suite call it; keep the signature)::

    conv_transpose(x, weight, bias=None, *, stride, dilation, pads_begin, pads_end,
                   output_padding, groups=1) -> numpy.ndarray

Formulation: one batched GEMM per group computes, for every kernel tap, the contribution of every
input position to every output channel — ``(taps·C_out/g) × (C_in/g)`` times
``(C_in/g) × (N·positions)`` — then each tap's slab is added into the output at the strided
positions ``o = i·s + j·d − cb`` that fall inside ``[0, O)``. Products that land in cropped
positions are never added; positions past the full output receive none and keep the bias alone.
Only kernel taps are looped over in Python. Extra memory is the output plus one GEMM result.

IEEE special values behave as in a direct sum: an inf or nan input reaches exactly the outputs its
products reach (``inf·0`` gives nan), because no inserted zeros are ever multiplied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from harness.case import Case


def _per_dim(name: str, values: Sequence[int], rank: int, minimum: int) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if len(out) != rank:
        raise ValueError(f"{name} has {len(out)} entries but the data has {rank} spatial dims")
    if any(v < minimum for v in out):
        raise ValueError(f"{name}={list(out)}: every entry must be ≥ {minimum}")
    return out


def _tap_window(
    tap: int, size_in: int, size_out: int, stride: int, dilation: int, crop: int
) -> tuple[slice, slice] | None:
    """Input and output slices along one dimension for one kernel tap, or None if none land."""
    offset = tap * dilation - crop  # output position of input index 0
    first = max(0, (stride - 1 - offset) // stride)  # ceil(-offset / stride), at least 0
    last = min(size_in - 1, (size_out - 1 - offset) // stride)
    if last < first:
        return None
    out_start = first * stride + offset
    return (
        slice(first, last + 1),
        slice(out_start, out_start + (last - first) * stride + 1, stride),
    )


def conv_transpose(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    stride: Sequence[int],
    dilation: Sequence[int],
    pads_begin: Sequence[int],
    pads_end: Sequence[int],
    output_padding: Sequence[int],
    groups: int = 1,
) -> np.ndarray:
    """Transposed convolution of NC* data ``x`` with weight ``(C_in, C_out/groups, *k)``, in float64.

    ``pads_begin``/``pads_end`` are the crops taken off each end of the full output,
    ``output_padding`` the elements appended at the end. Returns ``(N, C_out, *O)`` float64.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    if x.ndim < 3 or x.ndim > 5 or w.ndim != x.ndim:
        raise ValueError(f"x must be N,C,* with 1-3 spatial dims and weight of the same rank "
                         f"(got x{x.shape}, weight{w.shape})")
    rank = x.ndim - 2
    n_batch, c_in, *size_in = x.shape
    w_in, c_out_g, *kernel = w.shape
    if groups < 1 or c_in % groups:
        raise ValueError(f"C_in={c_in} is not divisible by groups={groups}")
    if w_in != c_in:
        raise ValueError(f"weight has {w_in} input channels but x has {c_in}")
    s = _per_dim("stride", stride, rank, 1)
    d = _per_dim("dilation", dilation, rank, 1)
    cb = _per_dim("pads_begin", pads_begin, rank, 0)
    ce = _per_dim("pads_end", pads_end, rank, 0)
    op = _per_dim("output_padding", output_padding, rank, 0)
    size_out = [
        (n - 1) * s[i] + d[i] * (kernel[i] - 1) + 1 - cb[i] - ce[i] + op[i]
        for i, n in enumerate(size_in)
    ]
    if any(o < 1 for o in size_out):
        raise ValueError(f"output size {size_out} has a dimension < 1")
    c_out = c_out_g * groups
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64)
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), got {bias.shape}")

    c_in_g = c_in // groups
    taps = math.prod(kernel)
    positions = math.prod(size_in)
    # Weight as (G, taps·C_out/g, C_in/g), taps outermost so each tap's slab is contiguous.
    w_mat = (
        w.reshape(groups, c_in_g, c_out_g, taps).transpose(0, 3, 2, 1).reshape(groups, taps * c_out_g, c_in_g)
    )
    # Data as (G, C_in/g, N·positions).
    x_mat = (
        x.reshape(n_batch, groups, c_in_g, positions)
        .transpose(1, 2, 0, 3)
        .reshape(groups, c_in_g, n_batch * positions)
    )
    gemm = np.matmul(w_mat, x_mat).reshape(groups, taps, c_out_g, n_batch, *size_in)

    out = np.zeros((n_batch, groups, c_out_g, *size_out), dtype=np.float64)
    out_view = np.moveaxis(out, 0, 2)  # (G, C_out/g, N, *O), a view onto the NC* result
    for t, tap in enumerate(np.ndindex(*kernel)):
        windows = [
            _tap_window(tap[i], size_in[i], size_out[i], s[i], d[i], cb[i]) for i in range(rank)
        ]
        if any(win is None for win in windows):
            continue
        src = (slice(None),) * 3 + tuple(win[0] for win in windows)  # type: ignore[index]
        dst = (slice(None),) * 3 + tuple(win[1] for win in windows)  # type: ignore[index]
        out_view[dst] += gemm[:, t][src]
    result = out.reshape(n_batch, c_out, *size_out)
    if bias is not None:
        result += bias.reshape((1, c_out) + (1,) * rank)
    return result


def reference_for_case(case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """The reference output of a canonical case for the given NC* arrays."""
    return conv_transpose(
        x,
        weight,
        bias if case.bias else None,
        stride=case.stride,
        dilation=case.dilation,
        pads_begin=case.pads_begin,
        pads_end=case.pads_end,
        output_padding=case.output_padding,
        groups=case.groups,
    )


def tap_counts(case: Case) -> np.ndarray:
    """Number of kernel taps feeding each output position, shape ``O`` (independent of channels).

    Separable: the count at a position is the product over dimensions of the number of taps ``j``
    with ``o + cb − j·d`` a multiple of ``s`` inside ``[0, (L−1)·s]``.
    """
    per_dim = []
    for n, k, s, d, cb, o in zip(
        case.input_size, case.kernel_size, case.stride, case.dilation, case.pads_begin,
        case.output_size, strict=True,
    ):
        pos = np.arange(o)[:, None] + cb - np.arange(k)[None, :] * d
        hits = (pos >= 0) & (pos <= (n - 1) * s) & (pos % s == 0)
        per_dim.append(hits.sum(axis=1))
    counts = per_dim[0]
    for c in per_dim[1:]:
        counts = np.multiply.outer(counts, c)
    return counts
