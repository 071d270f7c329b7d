"""The index bookkeeping of a geometry: stride phases, their taps, padding and windows.

Output position ``o = q·s + r`` of stride phase ``r`` receives, from kernel tap ``j``, the products
with inputs ``i = q + δ``, ``δ = (r + cb − j·d)/s``, for exactly the taps with ``r + cb − j·d``
divisible by ``s`` (see :mod:`harness.oracle.reference`). A plan is cached per geometry, since small
problems are dominated by it.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple


def per_dim(name: str, values: Sequence[int], rank: int, minimum: int) -> tuple[int, ...]:
    """``values`` as ints, one per spatial dim, each at least ``minimum`` (else ValueError)."""
    out = tuple(int(v) for v in values)
    if len(out) != rank:
        raise ValueError(f"{name} has {len(out)} entries but the data has {rank} spatial dims")
    if any(v < minimum for v in out):
        raise ValueError(f"{name}={list(out)}: every entry must be ≥ {minimum}")
    return out


# A dataclass rather than a NamedTuple: a NamedTuple field called ``index`` would shadow
# ``tuple.index``, which type checkers reject; nothing uses a tap as a tuple.
@dataclass(frozen=True, slots=True)
class Tap:
    """One kernel tap of one stride phase along one dimension."""

    index: int  # j
    shift: int  # δ: output q of the phase takes input i = q + δ
    first: int  # the outputs q with a real input form the window [first, stop)
    stop: int


def dim_phases(
    size_in: int, kernel: int, stride: int, dilation: int, crop: int, size_out: int
) -> list[tuple[int, int, tuple[Tap, ...]]]:
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
                taps.append(Tap(j, shift, first, stop))
        phases.append((r, size, tuple(taps)))
    return phases


class Phase(NamedTuple):
    """The index bookkeeping of one phase over all dims (spatial index tuples only)."""

    out: tuple[slice, ...]  # the phase's positions in the output: residue::stride per dim
    first: int  # position of the phase's first tap among all taps (phase order)
    n_taps: int
    offsets: tuple[int, ...]  # flat grid offsets of taps 1.. relative to tap 0
    base: tuple[slice, ...]  # tap 0's slab read at all of the phase's positions
    windows: tuple[tuple[tuple[slice, ...], tuple[slice, ...]], ...]  # per tap: (phase window, slab)


class Plan(NamedTuple):
    """The index bookkeeping of one geometry."""

    padded: tuple[int, ...]
    interior: tuple[slice, ...]  # where the data sit in the padded grid
    pads: tuple[tuple[slice, ...], ...]  # the padding slabs to zero
    order: tuple[int, ...]  # flat kernel index of every tap, phase by phase
    firsts: tuple[int, ...]  # first tap of each phase that has taps
    most_taps: int
    phases: tuple[Phase, ...]
    row_groups: tuple[tuple[int, int], ...]  # [start, stop) runs of phases that share output rows


@functools.lru_cache(maxsize=256)
def plan(
    n_batch: int,
    size_in: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    crop: tuple[int, ...],
    size_out: tuple[int, ...],
) -> Plan:
    """Phases, taps, padding and windows of a geometry (see the module docstring)."""
    rank = len(size_in)
    per_dim = [
        dim_phases(*args) for args in zip(size_in, kernel, stride, dilation, crop, size_out, strict=True)
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

    def slab_slices(tap: tuple[Tap, ...], start: Sequence[int], stop: Sequence[int]) -> tuple[slice, ...]:
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
            Phase(
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
    return Plan(
        padded=padded,
        interior=tuple(slice(b, b + n) for b, n in zip(before, size_in, strict=True)),
        pads=tuple(pads),
        order=tuple(order),
        firsts=tuple(firsts),
        most_taps=max(phase.n_taps for phase in phases),
        phases=tuple(phases),
        row_groups=row_groups,
    )
