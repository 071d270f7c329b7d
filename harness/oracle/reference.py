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

import functools
import itertools
import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from harness.model.case import Case

#: Largest work buffer (bytes) a thread keeps between calls; larger ones are freed after the call.
#: (The ``large2d`` benchmark shape needs 286 MiB; faulting it in afresh costs about 10 % of a call.)
SCRATCH_KEEP_BYTES = 320 * 2**20

#: Arrays smaller than this (elements) are summed and copied on the calling thread alone.
PARALLEL_MIN_ELEMENTS = 1 << 20
#: Output elements per block of a row group: its rows stay in cache while each phase is written.
BLOCK_ELEMENTS = 1 << 17

_kept = threading.local()
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def reference_threads() -> int:
    """Threads for the memory-bound passes (``$CONVT_REFERENCE_THREADS``, else the usable cores)."""
    configured = os.environ.get("CONVT_REFERENCE_THREADS")
    if configured:
        return max(1, int(configured))
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(8, os.cpu_count() or 1))


def _run_all(tasks: Sequence[Callable[[], None]]) -> None:
    """Run the tasks, in parallel when there are several (NumPy releases the GIL for them)."""
    global _pool
    if len(tasks) == 1:
        tasks[0]()
        return
    with _pool_lock:
        if _pool is None or _pool._max_workers < len(tasks):
            _pool = ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="convt-ref")
        pool = _pool
    for future in [pool.submit(task) for task in tasks]:
        future.result()


def _chunks(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, near-equal ranges covering ``[0, n)`` (fewer when ``n`` is small)."""
    parts = max(1, min(parts, n))
    edges = [n * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if a < b]


def _parallel_copy(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[...] = src`` split along the first axis of size > 1 among axes 1 and 2."""
    threads = reference_threads() if dst.size >= PARALLEL_MIN_ELEMENTS else 1
    axis = next((a for a in (1, 2) if a < dst.ndim and dst.shape[a] >= threads), None)
    if threads == 1 or axis is None:
        np.copyto(dst, src)
        return

    def index(a: int, b: int) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(a, b),)

    _run_all(
        [
            functools.partial(np.copyto, dst[index(a, b)], src[index(a, b)])
            for a, b in _chunks(dst.shape[axis], threads)
        ]
    )


def release_scratch() -> None:
    """Free the work buffer the calling thread keeps between calls (see ``SCRATCH_KEEP_BYTES``)."""
    _kept.buffer = None


def _scratch(size: int) -> np.ndarray:
    """A float64 work buffer of ``size`` elements (contents undefined), reused when one is kept."""
    kept: np.ndarray | None = getattr(_kept, "buffer", None)
    if kept is not None and kept.size >= size:
        return kept[:size]
    buffer = np.empty(size)
    if 8 * size <= SCRATCH_KEEP_BYTES:
        _kept.buffer = buffer
    return buffer


def _per_dim(name: str, values: Sequence[int], rank: int, minimum: int) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if len(out) != rank:
        raise ValueError(f"{name} has {len(out)} entries but the data has {rank} spatial dims")
    if any(v < minimum for v in out):
        raise ValueError(f"{name}={list(out)}: every entry must be ≥ {minimum}")
    return out


# A dataclass rather than a NamedTuple: a NamedTuple field called ``index`` would shadow
# ``tuple.index``, which type checkers reject; nothing uses a tap as a tuple.
@dataclass(frozen=True, slots=True)
class _Tap:
    """One kernel tap of one stride phase along one dimension."""

    index: int  # j
    shift: int  # δ: output q of the phase takes input i = q + δ
    first: int  # the outputs q with a real input form the window [first, stop)
    stop: int


def _dim_phases(
    size_in: int, kernel: int, stride: int, dilation: int, crop: int, size_out: int
) -> list[tuple[int, int, tuple[_Tap, ...]]]:
    """The stride phases ``(residue, size, taps)`` along one dimension.

    A phase holds the outputs ``o = q·s + residue``, ``0 ≤ q < size``; its taps are those that put at
    least one product into it.
    """
    phases = []
    for r in range(min(stride, size_out)):
        size = (size_out - r + stride - 1) // stride  # ceil((O − r) / s) ≥ 1
        taps = []
        for j in range(kernel):
            offset = r + crop - j * dilation
            if offset % stride:
                continue
            shift = offset // stride
            first, stop = max(0, -shift), min(size, size_in - shift)
            if first < stop:
                taps.append(_Tap(j, shift, first, stop))
        phases.append((r, size, tuple(taps)))
    return phases


class _Phase(NamedTuple):
    """The index bookkeeping of one phase over all dims (spatial index tuples only)."""

    out: tuple[slice, ...]  # the phase's positions in the output: residue::stride per dim
    first: int  # position of the phase's first tap among all taps (phase order)
    n_taps: int
    offsets: tuple[int, ...]  # flat grid offsets of taps 1.. relative to tap 0
    base: tuple[slice, ...]  # tap 0's slab read at all of the phase's positions
    windows: tuple[tuple[tuple[slice, ...], tuple[slice, ...]], ...]  # per tap: (phase window, slab)


class _Plan(NamedTuple):
    """The index bookkeeping of one geometry."""

    padded: tuple[int, ...]
    interior: tuple[slice, ...]  # where the data sit in the padded grid
    pads: tuple[tuple[slice, ...], ...]  # the padding slabs to zero
    order: tuple[int, ...]  # flat kernel index of every tap, phase by phase
    firsts: tuple[int, ...]  # first tap of each phase that has taps
    most_taps: int
    phases: tuple[_Phase, ...]
    row_groups: tuple[tuple[int, int], ...]  # [start, stop) runs of phases that share output rows


@functools.lru_cache(maxsize=256)
def _plan(
    n_batch: int,
    size_in: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    crop: tuple[int, ...],
    size_out: tuple[int, ...],
) -> _Plan:
    """Phases, taps, padding and windows of a geometry (see the module docstring)."""
    rank = len(size_in)
    per_dim = [
        _dim_phases(*args) for args in zip(size_in, kernel, stride, dilation, crop, size_out, strict=True)
    ]
    # Padding: every read q + δ (0 ≤ q < Q, over all phases and taps) falls inside [−before, L + after).
    before = [max([0] + [-t.shift for _, _, taps in dim for t in taps]) for dim in per_dim]
    padded = tuple(
        b + max([n] + [size + t.shift for _, size, taps in dim for t in taps])
        for b, n, dim in zip(before, size_in, per_dim, strict=True)
    )
    pads = []
    for i in range(rank):
        for pad in (slice(0, before[i]), slice(before[i] + size_in[i], padded[i])):
            if pad.start < pad.stop:
                pads.append((slice(None),) * i + (pad,))
    kernel_stride = [math.prod(kernel[i + 1 :]) for i in range(rank)]
    grid_stride = [math.prod(padded[i + 1 :]) for i in range(rank)]

    def slab_slices(tap: tuple[_Tap, ...], start: Sequence[int], stop: Sequence[int]) -> tuple[slice, ...]:
        return tuple(
            slice(b + t.shift + lo, b + t.shift + hi)
            for b, t, lo, hi in zip(before, tap, start, stop, strict=True)
        )

    order: list[int] = []
    firsts: list[int] = []
    phases = []
    for combo in itertools.product(*per_dim):
        taps = list(itertools.product(*(dim_taps for _, _, dim_taps in combo)))
        sizes = [size for _, size, _ in combo]
        if taps:
            firsts.append(len(order))
        phases.append(
            _Phase(
                out=tuple(slice(r, None, st) for (r, _, _), st in zip(combo, stride, strict=True)),
                first=len(order),
                n_taps=len(taps),
                offsets=tuple(
                    sum((a.shift - b.shift) * gs for a, b, gs in zip(tap, taps[0], grid_stride, strict=True))
                    for tap in taps[1:]
                ),
                base=slab_slices(taps[0], [0] * rank, sizes) if taps else (),
                windows=tuple(
                    (
                        tuple(slice(t.first, t.stop) for t in tap),
                        slab_slices(tap, [t.first for t in tap], [t.stop for t in tap]),
                    )
                    for tap in taps
                ),
            )
        )
        order.extend(sum(t.index * ks for t, ks in zip(tap, kernel_stride, strict=True)) for tap in taps)
    # itertools.product varies the last dimension fastest: a row group is a run of that many phases.
    last = len(per_dim[-1])
    row_groups = tuple((a, a + last) for a in range(0, len(phases), last))
    return _Plan(
        padded=padded,
        interior=tuple(slice(b, b + n) for b, n in zip(before, size_in, strict=True)),
        pads=tuple(pads),
        order=tuple(order),
        firsts=tuple(firsts),
        most_taps=max(phase.n_taps for phase in phases),
        phases=tuple(phases),
        row_groups=row_groups,
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
    s = _per_dim("stride", stride, rank, 1)
    d = _per_dim("dilation", dilation, rank, 1)
    cb = _per_dim("pads_begin", pads_begin, rank, 0)
    ce = _per_dim("pads_end", pads_end, rank, 0)
    op = _per_dim("output_padding", output_padding, rank, 0)
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
    plan = _plan(n_batch, tuple(size_in), tuple(kernel), s, d, cb, size_out)
    with np.errstate(over="ignore", invalid="ignore"):
        return _polyphase(x, w, bias, groups, plan, size_out)


def _polyphase(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, groups: int, plan: _Plan, size_out: tuple[int, ...]
) -> np.ndarray:
    """The kernel proper (see the module docstring) on validated arguments."""
    rank = len(size_out)
    n_batch, c_in, *size_in = x.shape
    c_out_g = w.shape[1]
    c_in_g = c_in // groups
    lead = (slice(None),) * 3  # (G, C/g, N) ahead of the spatial dims
    bias_g = None if bias is None else bias.reshape((groups, c_out_g) + (1,) * (rank + 1))
    out = np.empty((n_batch, groups * c_out_g, *size_out))
    out_view = out.reshape(n_batch, groups, c_out_g, *size_out).transpose(1, 2, 0, *range(3, rank + 3))

    def fill_bias(dst: np.ndarray) -> None:
        dst[...] = 0.0 if bias_g is None else bias_g

    if plan.most_taps == 0:  # every product lands in cropped positions
        fill_bias(out_view)
        return out

    grid = n_batch * math.prod(plan.padded)
    exact = not bool(np.isfinite(w).all())
    ones_row = bias is not None and not exact  # the bias enters the GEMM as bias·1
    k_dim = c_in_g + ones_row
    # A unit's GEMM result may take what one GEMM over every tap on the unpadded positions would,
    # less the padded data.
    c_out = groups * c_out_g
    budget = len(plan.order) * c_out * n_batch * math.prod(size_in) - groups * k_dim * grid
    units = _units(plan, budget // (c_out * grid))
    unit_taps = max(sum(p.n_taps for p in plan.phases[a:b]) for a, b in units)
    work = _scratch(groups * (k_dim + unit_taps * c_out_g) * grid)
    data = work[: groups * k_dim * grid].reshape(groups, k_dim, grid)
    slabs = work[groups * k_dim * grid :].reshape(groups, unit_taps * c_out_g, grid)

    data_grid = data[:, :c_in_g].reshape(groups, c_in_g, n_batch, *plan.padded)
    _parallel_copy(
        data_grid[lead + plan.interior],
        x.reshape(n_batch, groups, c_in_g, *size_in).transpose(1, 2, 0, *range(3, rank + 3)),
    )
    for pad in plan.pads:
        data_grid[lead + pad] = 0.0
    if ones_row:
        data[:, c_in_g] = 1.0

    # GEMM weights (G, taps, C_out/g, k_dim), taps in phase order: each unit's rows are one block.
    w_all = np.empty((groups, len(plan.order), c_out_g, k_dim))
    w_all[..., :c_in_g] = w.reshape(groups, c_in_g, c_out_g, -1)[..., plan.order].transpose(0, 3, 2, 1)
    if ones_row:
        bias_column = w_all[..., c_in_g]  # a view (G, taps, C_out/g): the bias on each phase's first tap
        bias_column[...] = 0.0
        bias_column[:, plan.firsts] = bias.reshape(groups, 1, c_out_g)  # type: ignore[union-attr]

    slab_shape = (groups, c_out_g, n_batch, *plan.padded)
    per_plane = math.prod(plan.padded)
    threads = reference_threads() if out.size >= PARALLEL_MIN_ELEMENTS else 1
    for start, stop in units:
        phases = plan.phases[start:stop]
        first = phases[0].first
        n_taps = sum(p.n_taps for p in phases)
        gemm = slabs[:, : n_taps * c_out_g]
        if n_taps:
            np.matmul(
                w_all[:, first : first + n_taps].reshape(groups, n_taps * c_out_g, k_dim), data, out=gemm
            )
        per_tap = gemm.reshape(groups, n_taps, c_out_g * grid)
        if exact or threads == 1:
            blocks = [_Block(slice(None), 0, c_out_g, 0, n_batch)]
        else:
            per_item = sum(
                math.prod(len(range(n)[sl]) for sl, n in zip(p.out, size_out, strict=True)) for p in phases
            )
            blocks = _blocks(groups, c_out_g, n_batch, per_item)
        tasks = [
            functools.partial(
                _write_row_group,
                phases,
                first,
                per_tap,
                blocks[a:b],
                out_view,
                bias_g,
                exact,
                slab_shape,
                per_plane,
            )
            for a, b in _chunks(len(blocks), threads)
        ]
        _run_all(tasks)
    return out


def _units(plan: _Plan, room: int) -> list[tuple[int, int]]:
    """Runs ``[start, stop)`` of phases computed by one GEMM: a whole row group when its taps fit in
    ``room`` taps' slabs per output channel, else as many of its consecutive phases as fit (one at least)."""
    units = []
    for start, stop in plan.row_groups:
        a, taps = start, 0
        for i in range(start, stop):
            n = plan.phases[i].n_taps
            if i > a and taps + n > room:
                units.append((a, i))
                a, taps = i, 0
            taps += n
        units.append((a, stop))
    return units


class _Block(NamedTuple):
    """Channels [c0, c1) of groups g, samples [n0, n1): either one channel or every sample."""

    g: slice
    c0: int
    c1: int
    n0: int
    n1: int


def _blocks(groups: int, c_out_g: int, n_batch: int, per_item: int) -> list[_Block]:
    """Blocks of about ``BLOCK_ELEMENTS`` output elements, ``per_item`` per (channel, sample)."""
    if per_item * n_batch * c_out_g <= BLOCK_ELEMENTS:  # whole groups
        span = max(1, BLOCK_ELEMENTS // (per_item * n_batch * c_out_g))
        return [_Block(slice(a, b), 0, c_out_g, 0, n_batch) for a, b in _chunks(groups, -(-groups // span))]
    if per_item * n_batch <= BLOCK_ELEMENTS:  # whole channels
        width = max(1, BLOCK_ELEMENTS // (per_item * n_batch))
        return [
            _Block(slice(g, g + 1), a, b, 0, n_batch)
            for g in range(groups)
            for a, b in _chunks(c_out_g, -(-c_out_g // width))
        ]
    depth = max(1, BLOCK_ELEMENTS // per_item)
    return [
        _Block(slice(g, g + 1), c, c + 1, a, b)
        for g in range(groups)
        for c in range(c_out_g)
        for a, b in _chunks(n_batch, -(-n_batch // depth))
    ]


def _write_row_group(
    phases: Sequence[_Phase],
    first: int,
    per_tap: np.ndarray,
    blocks: Sequence[_Block],
    out_view: np.ndarray,
    bias_g: np.ndarray | None,
    exact: bool,
    slab_shape: tuple[int, ...],
    per_plane: int,
) -> None:
    """Write the blocks of one row group's output from its taps' slabs (see the module docstring).

    Block by block, each phase's taps are summed into its first tap's slab and the sum is copied
    into the phase's output positions, so that the output rows the phases share stay in cache.
    """
    n_batch = slab_shape[2]
    grid_shape = (-1, *slab_shape[1:])  # a tap's slabs of the block's groups, as (g, C/g, N, *padded)
    for block in blocks:
        lead = (slice(None), slice(block.c0, block.c1), slice(block.n0, block.n1))
        fill = 0.0 if bias_g is None else bias_g[block.g, block.c0 : block.c1]
        lo_all = (block.c0 * n_batch + block.n0) * per_plane
        hi_all = ((block.c1 - 1) * n_batch + block.n1) * per_plane
        for phase in phases:
            dst = out_view[(block.g, *lead[1:], *phase.out)]
            if not phase.n_taps:
                dst[...] = fill
                continue
            taps = [per_tap[block.g, phase.first - first + t] for t in range(phase.n_taps)]  # (g, flat)
            if exact:  # exact windows only: never read a slab where an inserted zero was multiplied
                dst[...] = fill
                for flat, (inner, window) in zip(taps, phase.windows, strict=True):
                    part = dst[(slice(None),) * 3 + inner]
                    np.add(part, flat.reshape(grid_shape)[lead + window], out=part)
                continue
            # Flat shifts: a valid output position plus the offset stays in its sample's padded grid.
            base = taps[0]
            for flat, offset in zip(taps[1:], phase.offsets, strict=True):
                lo, hi = max(lo_all, -offset), min(hi_all, base.shape[1] - max(0, offset))
                if lo < hi:
                    np.add(base[:, lo:hi], flat[:, lo + offset : hi + offset], out=base[:, lo:hi])
            np.copyto(dst, base.reshape(grid_shape)[lead + phase.base])


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
