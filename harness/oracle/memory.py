"""The main process's memory limit, checked before a case's reference is computed.

The workers are watched while they run (:mod:`harness.workers.worker`); the main process computes
every reference beside them, in float64, and holds what a target returns, so a case it cannot hold
would end the whole run. Before judging a case, the verdict therefore compares this process's
resident size plus what judging the case needs here (:func:`judging_bytes`) with
:data:`MAIN_MEMORY`; a case that would pass it is recorded as ``unsupported`` with detail
``memory_limit`` (:func:`memory_problem`) and the run goes on.

The limit defaults to half the machine's memory, as a worker's does; ``python -m harness run
--memory-mb MB`` sets it (:func:`configure_main_memory`).
"""

from __future__ import annotations

import math
import resource
import sys
from dataclasses import dataclass

from harness.model.case import Case
from harness.model.limits import reference_scratch_bytes
from harness.process import half_the_memory_mb, resident_mb

#: Output-sized float64 arrays judging a case holds at its peak: the exact result and its magnitudes,
#: the tap counts, the target's output and its float64 copy, the bound and its terms, the
#: comparison's temporaries (most on the nan/inf path) and a mismatch's pictures (measured with
#: tracemalloc: up to 17 on the ``special`` distribution).
OUTPUT_ARRAYS = 18
#: Input- and weight-sized float64 arrays: the drawn values, their rounding, the containers sent to
#: the target and the magnitudes' absolute values (up to 7 measured, bfloat16).
INPUT_ARRAYS = 8


@dataclass
class MainMemory:
    """The main process's limit on its resident size, in MiB."""

    limit_mb: int = half_the_memory_mb()


MAIN_MEMORY = MainMemory()


def configure_main_memory(limit_mb: int | None) -> MainMemory:
    """Set the main process's memory limit (None keeps it)."""
    if limit_mb is not None:
        MAIN_MEMORY.limit_mb = int(limit_mb)
    return MAIN_MEMORY


def judging_bytes(case: Case) -> int:
    """An upper bound on what judging ``case`` allocates in the main process: the reference's
    scratch (:func:`harness.model.limits.reference_scratch_bytes`) and the arrays around it."""
    tensors = math.prod(case.input_shape) + math.prod(case.weight_shape)
    return reference_scratch_bytes(case) + 8 * (
        OUTPUT_ARRAYS * math.prod(case.output_shape) + INPUT_ARRAYS * tensors
    )


def peak_resident_mb() -> float:
    """The largest resident size this process has had, in MiB (never below the current one)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(peak) / (2**20 if sys.platform == "darwin" else 2**10)  # bytes there, KiB on Linux


def memory_problem(case: Case) -> str | None:
    """Why judging ``case`` here would take the main process past its limit (None when it fits).

    The peak resident size, which costs no file read, settles most cases; the current one is read
    only when the peak would not fit."""
    need = judging_bytes(case) / 2**20
    if peak_resident_mb() + need <= MAIN_MEMORY.limit_mb:
        return None
    held = resident_mb()
    if held + need <= MAIN_MEMORY.limit_mb:
        return None
    return (
        f"judging this case would take about {need:.0f} MiB in the main process, which holds "
        f"{held:.0f} MiB: over its limit of {MAIN_MEMORY.limit_mb} MiB (--memory-mb), so the "
        "harness did not compute its reference"
    )
