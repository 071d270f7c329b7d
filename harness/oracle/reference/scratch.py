"""Threads and work memory of the reference kernel.

The memory-bound passes (copies, sums) are split across a small thread pool: NumPy releases the GIL
for them. Page-faulting fresh memory can cost as much as the arithmetic (measured on the 2-core CI
machine kind), so each thread keeps its work buffer between calls, as long as it is at most
``SCRATCH_KEEP_BYTES``; :func:`release_scratch` frees it.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Largest work buffer (bytes) a thread keeps between calls; larger ones are freed after the call.
#: (The ``large2d`` benchmark shape needs 286 MiB; faulting it in afresh costs about 10 % of a call.)
SCRATCH_KEEP_BYTES = 320 * 2**20

#: Arrays smaller than this (elements) are summed and copied on the calling thread alone.
PARALLEL_MIN_ELEMENTS = 1 << 20

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


def threads_for(elements: int) -> int:
    """Threads for a pass over ``elements`` elements: one below ``PARALLEL_MIN_ELEMENTS``."""
    return reference_threads() if elements >= PARALLEL_MIN_ELEMENTS else 1


def run_all(tasks: Sequence[Callable[[], None]]) -> None:
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


def chunks(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, near-equal ranges covering ``[0, n)`` (fewer when ``n`` is small)."""
    parts = max(1, min(parts, n))
    edges = [n * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if a < b]


def parallel_copy(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[...] = src`` split along the first axis of size > 1 among axes 1 and 2."""
    threads = threads_for(dst.size)
    axis = next((a for a in (1, 2) if a < dst.ndim and dst.shape[a] >= threads), None)
    if threads == 1 or axis is None:
        np.copyto(dst, src)
        return

    def index(a: int, b: int) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(a, b),)

    run_all(
        [
            functools.partial(np.copyto, dst[index(a, b)], src[index(a, b)])
            for a, b in chunks(dst.shape[axis], threads)
        ]
    )


def release_scratch() -> None:
    """Free the work buffer the calling thread keeps between calls (see ``SCRATCH_KEEP_BYTES``)."""
    _kept.buffer = None


def scratch(size: int) -> np.ndarray:
    """A float64 work buffer of ``size`` elements (contents undefined), reused when one is kept."""
    kept: np.ndarray | None = getattr(_kept, "buffer", None)
    if kept is not None and kept.size >= size:
        return kept[:size]
    buffer = np.empty(size)
    if 8 * size <= SCRATCH_KEEP_BYTES:
        _kept.buffer = buffer
    return buffer
