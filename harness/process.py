"""Let the harness's own processes reuse freed memory instead of page-faulting it in afresh.

A run allocates and frees arrays of a few MiB per case (the reference, its magnitudes, the bound,
the comparison's temporaries). glibc's malloc serves blocks above its mmap threshold with fresh
mappings and gives freed memory back to the kernel, so every such array is page-faulted again:
about 1 ms per 2 MiB on the 2-core CI machine kind, which made up more than half of the
comparison's time on a 262k-element case (``benchmarks/harness_overhead.py``: 19 ms → 6 ms).
Raising the mmap threshold to 32 MiB and the trim threshold to 1 GiB keeps such blocks in the
heap for reuse; larger arrays are still mapped (and NumPy asks for huge pages for them).

Only the harness's entry points call :func:`tune_allocator` (the CLI, the worker processes, a
conformance test in pytest), never the library modules: it changes the whole process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 2**30

_state = {"setting": "default"}


def tune_allocator(mmap_threshold_bytes: int = MMAP_THRESHOLD_BYTES) -> str:
    """Apply the thresholds where the C library is glibc; returns the setting now in force.

    ``mmap_threshold_bytes`` other than the default is for diagnostics (``benchmarks/reference.py
    --mmap-threshold-mib``); the harness's processes use the default.
    """
    if _state["setting"] != "default" or not sys.platform.startswith("linux"):
        return _state["setting"]
    name = ctypes.util.find_library("c")
    if name is None:
        return _state["setting"]
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return _state["setting"]
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if (
        mallopt(M_MMAP_THRESHOLD, mmap_threshold_bytes) == 1
        and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    ):
        _state["setting"] = (
            f"glibc mallopt: mmap_threshold={mmap_threshold_bytes >> 20} MiB, "
            f"trim_threshold={TRIM_THRESHOLD_BYTES >> 20} MiB"
        )
    return _state["setting"]


def allocator_setting() -> str:
    """The setting applied by :func:`tune_allocator` in this process ("default" when none)."""
    return _state["setting"]
