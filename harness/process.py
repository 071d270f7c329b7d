"""The settings the harness applies to its own processes, in one place, and what it records of them.

- **BLAS threads**: ``OPENBLAS_THREAD_TIMEOUT=4`` (unless the user set it) before NumPy loads, so
  idle OpenBLAS threads stop spinning soon after a matrix product: spinning threads slowed a
  framework call made right after one about 60 times on the 2-core CI machine kind. Importing the
  ``harness`` package applies it (:func:`apply_blas_environment`).
- **Workers** (:func:`worker_environment`): the same BLAS setting, Python's fault handler (a crash
  prints its stack into the worker's log), unbuffered output, and ``OMP_WAIT_POLICY=PASSIVE``
  unless the user set it: a worker waits for its next case while the main process computes the
  reference, and OpenMP threads spinning in that wait took the cores from it (small3d: 14 ms a
  case instead of 4 ms in ``benchmarks/harness_overhead.py``).
- **Allocator** (:func:`tune_allocator`): a run allocates and frees arrays of a few MiB per case
  (the reference, its magnitudes, the bound, the comparison's temporaries). glibc's malloc serves
  blocks above its mmap threshold with fresh mappings and gives freed memory back to the kernel,
  so every such array is page-faulted again: about 1 ms per 2 MiB on the CI machine kind, more than
  half of the comparison's time on a 262k-element case (19 ms → 6 ms). Raising the mmap threshold
  to 32 MiB and the trim threshold to 1 GiB keeps such blocks in the heap for reuse; larger arrays
  are still mapped. Only the entry points call it (the CLI, the worker processes, a conformance
  test in pytest), never library modules: it changes the whole process.

:func:`recorded_settings` is what every run and worker environment records of these.
:func:`resident_mb` and :func:`half_the_memory_mb` are what the memory limits of the workers and of
the main process are measured with and default to.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Mapping

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 2**30

_state = {"setting": "default"}

#: Set before NumPy loads in every harness process, unless already set.
BLAS_ENVIRONMENT: dict[str, str] = {"OPENBLAS_THREAD_TIMEOUT": "4"}
#: Always set in a framework worker's environment.
WORKER_ENVIRONMENT: dict[str, str] = {
    **BLAS_ENVIRONMENT,
    "PYTHONFAULTHANDLER": "1",
    "PYTHONUNBUFFERED": "1",
}
#: Set in a framework worker's environment unless the user set them.
WORKER_DEFAULTS: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}


def apply_blas_environment() -> None:
    """Set :data:`BLAS_ENVIRONMENT` in this process where the user has not (before NumPy loads)."""
    for key, value in BLAS_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


def worker_environment(parent: Mapping[str, str], pythonpath: str) -> dict[str, str]:
    """The environment a framework worker starts with: the parent's, the worker settings, and
    ``pythonpath`` (so the worker resolves the same ``module:Class`` references)."""
    env = {**parent, **WORKER_ENVIRONMENT, "PYTHONPATH": pythonpath}
    for key, value in WORKER_DEFAULTS.items():
        env.setdefault(key, value)
    return env


def recorded_settings() -> dict[str, str | None]:
    """This process's settings as results record them."""
    return {
        "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "allocator": allocator_setting(),
    }


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


def half_the_memory_mb() -> int:
    """Half the machine's memory in MiB (8192 where ``/proc/meminfo`` cannot be read): the default
    memory limit of a worker and of the main process."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024 // 2
    except OSError:
        pass
    return 8192


def resident_mb(pid: int | str = "self") -> float:
    """The resident size of a process in MiB (``VmRSS``; 0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0
