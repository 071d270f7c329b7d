"""The reference kernel: exact-in-float64 transposed convolution, vectorized with NumPy.

Public contract (checks outside the test suite call it; keep the signature)::

    conv_transpose(x, weight, bias=None, *, stride, dilation, pads_begin, pads_end,
                   output_padding, groups=1) -> numpy.ndarray

Formulation (polyphase). Output position ``o = q·s + r`` of stride phase ``r`` receives, from kernel
tap ``j``, the products with inputs ``i = q + δ``, ``δ = (r + cb − j·d)/s``, for exactly the taps with
``r + cb − j·d`` divisible by ``s``. So each phase (one per residue combination, ``prod(s)`` of them)
is a *dense* sum of its taps' slabs, each shifted by a constant ``δ``. Phases that differ only in
their residue along the last dimension share their output rows (their positions interleave along
it): such a *row group* is computed by one GEMM per group, which gives all of its taps' slabs at once,
``(taps·C_out/g) × (C_in/g + 1)`` times ``(C_in/g + 1) × (N·padded positions)`` (the extra row
carries the bias). Where that GEMM result would exceed the memory budget below, the row group is
split into runs of consecutive phases (one phase at least), a GEMM each. The slabs are then summed with
dense adds, and each phase's sum is written once into its strided positions ``r::s`` of the output,
block by block (``BLOCK_ELEMENTS`` output elements of some channels and samples, split across threads
for large outputs): within a block every phase of the row group is written in turn, so the output
rows they share are still in cache. Only stride phases, kernel taps, dimensions and blocks are looped
over in Python.

The GEMM's data operand is a zero-padded, channel-major copy of ``x``, ``(G, C_in/g, N, *L_padded)``,
padded just enough that every shift a phase needs stays inside each sample's padded grid. Then:

- every weight finite (the usual case): each tap's slab is added to the phase's first slab with one
  flat 1-D offset over the whole buffer (contiguous, long vector adds), and the sum is copied into
  the output. A valid output position reads a shifted slab either at its true input position or at
  an inserted zero, whose products ``w·0`` are exactly ±0 for finite ``w`` and change no sum;
  positions outside the output window collect meaningless sums and are never read. The bias enters
  the GEMM of each phase's first tap through a row of ones in the data (``bias·1``, once per output
  position), so positions that receive no products hold the bias alone.
- some weight inf or nan: then ``w·0`` would be nan, so no inserted zero may be read. The output
  phase is filled with the bias and each tap's slab is added over its exact window
  ``q ∈ [max(0, −δ), min(Q, L − δ))`` only.

Either way a product lands exactly where the defining sum puts it, products landing in cropped
positions are never added, positions past the full output receive no products (the bias alone), and
IEEE special values behave as in a direct sum: an inf or nan reaches exactly the outputs its products
reach (``inf·0`` gives nan). Only the summation order differs from a direct sum (rounding at the level
of float64 round-off; the sign of a zero result may differ). The kernel emits no floating-point
warnings (overflow, invalid): inf and nan in the result say what happened.

Memory: besides the output, one work buffer holds the padded data (about the input's size, plus one
row per group for the bias) and one row group's GEMM result; the two together stay within one GEMM
over all taps on the unpadded positions (``taps·C_out·N·positions`` elements) unless a single phase's
GEMM is larger. Page-faulting fresh memory can cost as much as the arithmetic
(measured on the 2-core CI machine kind), so each thread keeps its work buffer between calls, as long
as it is at most ``SCRATCH_KEEP_BYTES``; :func:`release_scratch` frees it. The index bookkeeping of a
geometry (phases, taps, padding, windows) is cached too, since small problems are dominated by it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.model.case import Case
from harness.oracle.reference.kernel import polyphase
from harness.oracle.reference.phases import per_dim, plan
from harness.oracle.reference.scratch import SCRATCH_KEEP_BYTES, reference_threads, release_scratch

__all__ = [
    "SCRATCH_KEEP_BYTES",
    "conv_transpose",
    "reference_for_case",
    "reference_threads",
    "release_scratch",
    "tap_counts",
]


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
    x = np.asarray(x)
    w = np.asarray(weight, dtype=np.float64)
    if x.ndim < 3 or x.ndim > 5 or w.ndim != x.ndim:
        raise ValueError(
            f"x must be N,C,* with 1-3 spatial dims and weight of the same rank "
            f"(got x{x.shape}, weight{w.shape})"
        )
    rank = x.ndim - 2
    n_batch, c_in, *size_in = x.shape
    w_in, c_out_g, *kernel = w.shape
    if groups < 1 or c_in % groups:
        raise ValueError(f"C_in={c_in} is not divisible by groups={groups}")
    if w_in != c_in:
        raise ValueError(f"weight has {w_in} input channels but x has {c_in}")
    s = per_dim("stride", stride, rank, 1)
    d = per_dim("dilation", dilation, rank, 1)
    cb = per_dim("pads_begin", pads_begin, rank, 0)
    ce = per_dim("pads_end", pads_end, rank, 0)
    op = per_dim("output_padding", output_padding, rank, 0)
    size_out = tuple(
        (n - 1) * s[i] + d[i] * (kernel[i] - 1) + 1 - cb[i] - ce[i] + op[i] for i, n in enumerate(size_in)
    )
    if any(o < 1 for o in size_out):
        raise ValueError(f"output size {list(size_out)} has a dimension < 1")
    c_out = c_out_g * groups
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64)
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), got {bias.shape}")
    geometry = plan(n_batch, tuple(size_in), tuple(kernel), s, d, cb, size_out)
    with np.errstate(over="ignore", invalid="ignore"):
        return polyphase(x, w, bias, groups, geometry, size_out)


def reference_for_case(case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """The reference output of a canonical case for the given NC* arrays.

    A named-mode case has no canonical crops: resolve it first (:func:`harness.model.modes.resolve_mode`).
    """
    if case.padding_mode != "explicit":
        raise ValueError(f"padding_mode {case.padding_mode!r}: resolve the mode to explicit crops first")
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
        case.input_size,
        case.kernel_size,
        case.stride,
        case.dilation,
        case.pads_begin,
        case.output_size,
        strict=True,
    ):
        pos = np.arange(o)[:, None] + cb - np.arange(k)[None, :] * d
        hits = (pos >= 0) & (pos <= (n - 1) * s) & (pos % s == 0)
        per_dim.append(hits.sum(axis=1))
    counts: np.ndarray = per_dim[0]
    for c in per_dim[1:]:
        counts = np.multiply.outer(counts, c)
    return counts
