"""Calibration of the tolerance model: random cases, and deliberately planted errors.

Used by ``benchmarks/tolerance_calibration.py`` (thousands of cases) and by the test suite (a few
hundred). The planted errors are the small real bugs a tolerance must never absorb:

- ``fp16_accumulation``: every partial sum rounded to float16 (channel by channel, then the bias);
- ``dropped_tap``: one kernel tap missing for every channel pair;
- ``dropped_weight``: a single weight element missing;
- ``misplaced_tap``: two neighbouring taps of the last spatial dimension swapped;
- ``zero_extension``: output_padding positions past the full output hold 0 instead of the bias.

Nothing here imports a framework: the framework call is passed in as a function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from harness.errors import InvalidCase
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.oracle.reference import reference_for_case

RunFn = Callable[[Case, CaseArrays], np.ndarray]
PLANTED = ("fp16_accumulation", "dropped_tap", "dropped_weight", "misplaced_tap", "zero_extension")


def random_symmetric_case(rng: np.random.Generator, dtype: str, distribution: str) -> Case:
    """A random valid case with symmetric crops and ``output_padding < max(stride, dilation)``.

    These are the cases PyTorch's API can express, so torch can be calibrated on all of them.
    """
    while True:
        rank = int(rng.integers(1, 4))
        max_len = {1: 24, 2: 9, 3: 5}[rank]
        groups = int(rng.integers(1, 4))
        k = tuple(int(v) for v in rng.integers(1, 5, rank))
        s = tuple(int(v) for v in rng.integers(1, 4, rank))
        d = tuple(int(v) for v in rng.integers(1, 3, rank))
        p = tuple(int(rng.integers(0, dd * (kk - 1) + 1)) for kk, dd in zip(k, d, strict=True))
        op = tuple(int(rng.integers(0, max(ss, dd))) for ss, dd in zip(s, d, strict=True))
        try:
            return Case.make(
                rank=rank,
                batch=int(rng.integers(1, 3)),
                in_channels=groups * int(rng.integers(1, 17)),
                out_channels=groups * int(rng.integers(1, 9)),
                groups=groups,
                input_size=tuple(int(v) for v in rng.integers(1, max_len + 1, rank)),
                kernel_size=k,
                stride=s,
                dilation=d,
                pads_begin=p,
                pads_end=p,
                output_padding=op,
                bias=bool(rng.integers(0, 2)),
                dtype=dtype,
                distribution=distribution,
                seed=int(rng.integers(0, 2**31)),
            )
        except InvalidCase:
            continue


def extension_mask(case: Case) -> np.ndarray:
    """Boolean mask over the output (broadcastable NC*) of positions past the full output."""
    mask = np.zeros(case.output_size, dtype=bool)
    dims = zip(case.output_size, case.pads_begin, case.full_size, strict=True)
    for dim, (size, cb, full) in enumerate(dims):
        past = np.arange(size) + cb >= full
        shape = [1] * case.rank
        shape[dim] = size
        mask |= past.reshape(shape)
    return mask[np.newaxis, np.newaxis]


def fp16_accumulated(case: Case, arrays: CaseArrays) -> np.ndarray:
    """The case's result with every partial sum rounded to float16 (channels, then bias)."""
    acc = np.zeros(case.output_shape)
    for ci in range(case.in_channels):
        only = np.zeros_like(arrays.weight)
        only[ci] = arrays.weight[ci]
        contribution = reference_for_case(case, arrays.x, only, None)
        acc = round_to_format(acc + round_to_format(contribution, "float16"), "float16")
    if arrays.bias is not None:
        acc = round_to_format(acc + arrays.bias.reshape((1, -1) + (1,) * case.rank), "float16")
    return acc


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - b)
    finite = diff[np.isfinite(diff)]
    return float(finite.max()) if finite.size else 0.0


def planted_output(
    kind: str, case: Case, arrays: CaseArrays, run: RunFn, rng: np.random.Generator
) -> tuple[np.ndarray, float] | None:
    """A target output carrying planted error ``kind`` and the exact size of the plant's effect.

    The effect is ``max |exact planted result − exact clean result|``; 0 means the plant changed
    nothing (a tap that lands only in cropped positions, two equal swapped taps) and cannot be
    detected by any comparison. Returns None where the case cannot carry the plant at all.
    """
    clean = reference_for_case(case, arrays.x, arrays.weight, arrays.bias)
    if kind == "fp16_accumulation":
        out = fp16_accumulated(case, arrays)
        # Measured against the correctly rounded result: equal to it means nothing to detect.
        return out, _max_diff(out, round_to_format(clean, "float16"))
    if kind == "zero_extension":
        mask = extension_mask(case)
        if arrays.bias is None or not mask.any():
            return None
        return np.where(mask, 0.0, run(case, arrays).astype(np.float64)), _max_diff(
            np.where(mask, 0.0, clean), clean
        )
    w = arrays.weight.copy()
    if kind == "dropped_tap":
        tap = tuple(int(rng.integers(0, k)) for k in case.kernel_size)
        every_channel_pair: tuple[slice | int, ...] = (slice(None), slice(None), *tap)
        w[every_channel_pair] = 0.0
    elif kind == "dropped_weight":
        idx = tuple(int(rng.integers(0, n)) for n in w.shape)
        w[idx] = 0.0
    elif kind == "misplaced_tap":
        k_last = case.kernel_size[-1]
        if k_last < 2:
            return None
        j = int(rng.integers(0, k_last - 1))
        w[..., [j, j + 1]] = w[..., [j + 1, j]]
    else:
        raise ValueError(f"unknown planted error {kind!r}; known: {', '.join(PLANTED)}")
    planted = replace(arrays, weight=w)
    effect = _max_diff(reference_for_case(case, planted.x, planted.weight, planted.bias), clean)
    return run(case, planted).astype(np.float64), effect
