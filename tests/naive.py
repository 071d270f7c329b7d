"""Independent, deliberately slow oracles for the reference kernel's tests.

Both functions are written straight from the canonical model's definition (harness/model/case.py)
with scalar Python loops and plain Python ``float`` arithmetic (so ``inf * 0.0`` is ``nan`` exactly
as in a direct sum). They share no code with ``harness.oracle.reference`` and are only meant for
tiny shapes.

- :func:`conv_transpose_naive` evaluates, for every output position ``o``,
  ``y[n, co, o] = bias[co] + Σ_{ci in group(co)} Σ_{i, j : i·s + j·d = o + cb} x[n, ci, i]·w[ci, co', j]``.
- :func:`conv_forward_naive` is the forward cross-correlation whose adjoint the transposed
  convolution is: pad the data with ``cb`` zeros before and ``ce`` after, then slide the dilated kernel
  with stride ``s``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


def _full_size(size_in: int, k: int, s: int, d: int) -> int:
    return (size_in - 1) * s + d * (k - 1) + 1


def conv_transpose_naive(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    *,
    stride: Sequence[int],
    dilation: Sequence[int],
    pads_begin: Sequence[int],
    pads_end: Sequence[int],
    output_padding: Sequence[int],
    groups: int = 1,
) -> np.ndarray:
    """Transposed convolution by the defining sum, one output element at a time (float64 result)."""
    xs = np.asarray(x, dtype=np.float64)
    ws = np.asarray(weight, dtype=np.float64)
    n_batch, c_in, *size_in = xs.shape
    _, c_out_g, *kernel = ws.shape
    rank = len(size_in)
    c_in_g = c_in // groups
    c_out = c_out_g * groups
    size_out = [
        _full_size(size_in[a], kernel[a], stride[a], dilation[a])
        - pads_begin[a]
        - pads_end[a]
        + output_padding[a]
        for a in range(rank)
    ]
    xl = xs.tolist()  # nested lists of Python floats
    wl = ws.tolist()
    bl = [0.0] * c_out if bias is None else [float(b) for b in np.asarray(bias, dtype=np.float64)]

    def at(nested: list, index: Sequence[int]) -> float:
        for i in index:
            nested = nested[i]
        return nested  # type: ignore[return-value]

    out = np.zeros((n_batch, c_out, *size_out), dtype=np.float64)
    for n in range(n_batch):
        for co in range(c_out):
            g, co_local = divmod(co, c_out_g)
            for o in itertools.product(*(range(sz) for sz in size_out)):
                total = bl[co]
                for ci in range(g * c_in_g, (g + 1) * c_in_g):
                    for j in itertools.product(*(range(kk) for kk in kernel)):
                        i = []
                        for a in range(rank):
                            # i·s + j·d = o + cb  ⇔  i = (o + cb − j·d) / s, an integer in [0, L).
                            t = o[a] + pads_begin[a] - j[a] * dilation[a]
                            if t < 0 or t % stride[a] != 0 or t // stride[a] >= size_in[a]:
                                break
                            i.append(t // stride[a])
                        else:
                            total += at(xl[n][ci], i) * at(wl[ci][co_local], j)
                out[(n, co, *o)] = total
    return out


def conv_forward_naive(
    y: np.ndarray,
    weight: np.ndarray,
    *,
    stride: Sequence[int],
    dilation: Sequence[int],
    pads_begin: Sequence[int],
    pads_end: Sequence[int],
    groups: int = 1,
) -> np.ndarray:
    """Forward cross-correlation of NC* data ``y`` (``C_out`` channels) to ``C_in`` channels.

    The weight has the transposed convolution's layout ``(C_in, C_out/groups, *k)``. The data is
    zero-padded by ``pads_begin`` before and ``pads_end`` after each spatial dimension, and output
    position ``i`` reads the padded data at ``i·s + j·d`` for every tap ``j``.
    """
    ys = np.asarray(y, dtype=np.float64)
    ws = np.asarray(weight, dtype=np.float64)
    n_batch, c_out, *size_y = ys.shape
    c_in, c_out_g, *kernel = ws.shape
    rank = len(size_y)
    c_in_g = c_in // groups
    padded_size = [size_y[a] + pads_begin[a] + pads_end[a] for a in range(rank)]
    size_out = [(padded_size[a] - (dilation[a] * (kernel[a] - 1) + 1)) // stride[a] + 1 for a in range(rank)]
    # Explicitly zero-padded copy, as nested Python floats.
    padded = np.zeros((n_batch, c_out, *padded_size), dtype=np.float64)
    interior = tuple(slice(pads_begin[a], pads_begin[a] + size_y[a]) for a in range(rank))
    padded[(slice(None), slice(None), *interior)] = ys
    pl = padded.tolist()
    wl = ws.tolist()

    def at(nested: list, index: Sequence[int]) -> float:
        for i in index:
            nested = nested[i]
        return nested  # type: ignore[return-value]

    out = np.zeros((n_batch, c_in, *size_out), dtype=np.float64)
    for n in range(n_batch):
        for ci in range(c_in):
            g = ci // c_in_g
            for i in itertools.product(*(range(sz) for sz in size_out)):
                total = 0.0
                for co_local in range(c_out_g):
                    co = g * c_out_g + co_local
                    for j in itertools.product(*(range(kk) for kk in kernel)):
                        p = [i[a] * stride[a] + j[a] * dilation[a] for a in range(rank)]
                        total += at(pl[n][co], p) * at(wl[ci][co_local], j)
                out[(n, ci, *i)] = total
    return out
