"""The polyphase kernel proper: one GEMM per row group of phases, then shifted sums into the output.

See :mod:`harness.oracle.reference` for the formulation and why it is exact.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from harness.oracle.reference.phases import Phase, Plan
from harness.oracle.reference.scratch import chunks, parallel_copy, run_all, scratch, threads_for

#: Output elements per block of a row group: its rows stay in cache while each phase is written.
BLOCK_ELEMENTS = 1 << 17


def polyphase(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, groups: int, plan: Plan, size_out: tuple[int, ...]
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
    units = units_of(plan, budget // (c_out * grid))
    unit_taps = max(sum(p.n_taps for p in plan.phases[a:b]) for a, b in units)
    work = scratch(groups * (k_dim + unit_taps * c_out_g) * grid)
    data = work[: groups * k_dim * grid].reshape(groups, k_dim, grid)
    slabs = work[groups * k_dim * grid :].reshape(groups, unit_taps * c_out_g, grid)

    data_grid = data[:, :c_in_g].reshape(groups, c_in_g, n_batch, *plan.padded)
    parallel_copy(
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
    threads = threads_for(out.size)
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
            for a, b in chunks(len(blocks), threads)
        ]
        run_all(tasks)
    return out


def units_of(plan: Plan, room: int) -> list[tuple[int, int]]:
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
        return [_Block(slice(a, b), 0, c_out_g, 0, n_batch) for a, b in chunks(groups, -(-groups // span))]
    if per_item * n_batch <= BLOCK_ELEMENTS:  # whole channels
        width = max(1, BLOCK_ELEMENTS // (per_item * n_batch))
        return [
            _Block(slice(g, g + 1), a, b, 0, n_batch)
            for g in range(groups)
            for a, b in chunks(c_out_g, -(-c_out_g // width))
        ]
    depth = max(1, BLOCK_ELEMENTS // per_item)
    return [
        _Block(slice(g, g + 1), c, c + 1, a, b)
        for g in range(groups)
        for c in range(c_out_g)
        for a, b in chunks(n_batch, -(-n_batch // depth))
    ]


def _write_row_group(
    phases: Sequence[Phase],
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
