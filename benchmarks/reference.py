"""Benchmark the NumPy reference kernel against torch's own transposed convolution.

For each benchmark shape it times ``harness.oracle.reference.conv_transpose`` (float64),
``torch.nn.functional.conv_transpose{1,2,3}d`` in float64 and in float32, and the float64 ceiling —
a 2048³ NumPy matmul — side by side in one process: every repeat runs each of the four once, in an
order that rotates from repeat to repeat, so drift on a noisy machine hits all of them alike. It
prints medians, the ratios reference / torch-float64 and reference / torch-float32, GFLOP/s (the
flops of the direct sum, ``2·N·C_out·(C_in/g)·prod(k)·prod(L_in)``), the reference's fraction of the
ceiling measured alongside it, the reference's peak extra memory (tracemalloc: NumPy reports its
buffers to it) and its agreement with torch float64.

Targets, over medium2d, large2d, 3d and 1d: geometric mean of reference / torch-float64 ≤ 1.0, no
single ratio above 1.25, and large2d at ≥ 50 % of the matmul ceiling; peak memory about the output
plus one GEMM result (``taps·C_out·N·L_in`` elements). Those of issue 17: the geometric mean of
reference / torch-float32 over the same shapes ≤ 1.0, and every shape with enough arithmetic
(``ENOUGH_GFLOP``, 3-D included) at ≥ 50 % of the ceiling. A reference that disagrees with torch float64
beyond ``--max-rel-error`` makes the script exit with status 1; missed performance targets print
FAIL but do not change the exit status (timings on a shared machine are not a test).

Every kernel also reports the median system CPU time of its calls: on a virtual machine, faulting
in fresh memory can stall for much longer than the arithmetic takes (freshly mapped pages that the
host must back first), and both torch (its column buffers and output) and the reference (its output)
allocate on every call. For ``large2d`` the summary counts the reference calls that spent more than
a quarter of their time in the system and gives the median of the others. ``--mmap-threshold-mib``
(a diagnostic) makes glibc keep freed memory for reuse, which takes those faults out of every kernel
alike; the default leaves malloc as it is. The header says whether the machine is a VM whose balloon
device reports free pages to its host (virtio ``VIRTIO_BALLOON_F_REPORTING``): there, memory that has
stayed free for about two seconds is handed back to the host, and touching it again costs host faults
(measured on the CI machine kind: about 0.3–0.45 s of system time per fresh 136 MB after a pause of
2.5 s or more, 10–30 ms without a pause), so whether a call stalls depends on how long ago the
memory it gets was freed.

Usage::

    python -m benchmarks.reference --repeats 21 --shapes large2d,1d --threads 2
    python -m benchmarks.reference --mmap-threshold-mib 512   # without fresh-page faults
    python -m benchmarks.reference --threads 1 --clock cpu    # on a machine shared with other load

``--clock cpu`` times every kernel by the CPU time of the whole process instead of the wall clock:
on a machine whose cores other processes share, a single-threaded run then measures the work done
rather than the share of the cores it was given (with several threads, spinning BLAS threads count).
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import math
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

#: Shapes whose reference / torch-float64 ratios the targets are computed over.
TARGET_SHAPES: tuple[str, ...] = ("medium2d", "large2d", "3d", "1d")
GEOMEAN_TARGET = 1.0
MAX_RATIO_TARGET = 1.25
CEILING_FRACTION_TARGET = 0.5
CEILING_SHAPE = "large2d"
#: Reference / torch-float32 geometric mean over TARGET_SHAPES (issue 17).
GEOMEAN32_TARGET = 1.0
#: Shapes of at least this many GFLOP must reach CEILING_FRACTION_TARGET (issue 17): all but the
#: two whose calls are dominated by fixed costs (small2d, depthwise2d).
ENOUGH_GFLOP = 0.1
MEMORY_SLACK = 1.05  # "about" output + one GEMM result
MATMUL_SIZE = 2048
#: A call whose system CPU time exceeds this share of its wall time is counted as fault-stalled.
FAULTING_SHARE = 0.25


@dataclass(frozen=True)
class Shape:
    """One benchmark geometry; per-dimension parameters are the same in every spatial dim."""

    name: str
    batch: int
    c_in: int
    c_out: int
    spatial: tuple[int, ...]
    kernel: int
    stride: int
    padding: int
    output_padding: int
    dilation: int
    groups: int

    @property
    def rank(self) -> int:
        """Number of spatial dimensions."""
        return len(self.spatial)

    def per_dim(self, value: int) -> tuple[int, ...]:
        """``value`` repeated once per spatial dimension."""
        return (value,) * self.rank

    @property
    def output_spatial(self) -> tuple[int, ...]:
        """Output size per dimension: ``(L−1)s − 2p + d(k−1) + op + 1``."""
        return tuple(
            (n - 1) * self.stride
            - 2 * self.padding
            + self.dilation * (self.kernel - 1)
            + self.output_padding
            + 1
            for n in self.spatial
        )

    @property
    def flops(self) -> int:
        """``2·N·C_out·(C_in/g)·prod(k)·prod(L_in)``: the multiply-adds of a direct sum, times two."""
        return (
            2
            * self.batch
            * self.c_out
            * (self.c_in // self.groups)
            * math.prod(self.per_dim(self.kernel))
            * math.prod(self.spatial)
        )

    @property
    def output_bytes(self) -> int:
        """Size of the float64 output."""
        return 8 * self.batch * self.c_out * math.prod(self.output_spatial)

    @property
    def gemm_bytes(self) -> int:
        """Size of one float64 GEMM result holding every tap's contribution: ``taps·C_out·N·L_in``."""
        return 8 * math.prod(self.per_dim(self.kernel)) * self.c_out * self.batch * math.prod(self.spatial)

    @property
    def memory_budget(self) -> float:
        """The memory target, output + one GEMM result, relative to the output."""
        return (self.output_bytes + self.gemm_bytes) / self.output_bytes

    def describe(self) -> str:
        """A one-line summary of the geometry."""
        spatial = "x".join(str(n) for n in self.spatial)
        return (
            f"N={self.batch} C={self.c_in}->{self.c_out} L={spatial} k={self.kernel} s={self.stride} "
            f"p={self.padding} op={self.output_padding} d={self.dilation} g={self.groups}"
        )


SHAPES: tuple[Shape, ...] = (
    Shape("small2d", 2, 8, 8, (16, 16), 3, 2, 1, 1, 1, 1),
    Shape("medium2d", 8, 64, 32, (32, 32), 4, 2, 1, 0, 1, 1),
    Shape("large2d", 16, 128, 64, (64, 64), 3, 2, 1, 1, 1, 1),
    Shape("3d", 2, 16, 16, (16, 16, 16), 3, 2, 1, 1, 1, 1),
    Shape("1d", 16, 64, 64, (1024,), 5, 3, 0, 2, 2, 1),
    Shape("depthwise2d", 8, 64, 64, (32, 32), 4, 2, 1, 0, 1, 64),
)


@dataclass(frozen=True)
class Result:
    """Measurements of one shape (times are medians, in seconds)."""

    shape: Shape
    ref_s: float
    t64_s: float
    t32_s: float
    ceiling_gflops: float  # the matmul ceiling measured alongside this shape
    ref_best_s: float  # the fastest reference call (the kernel without the machine's noise)
    ceiling_best_gflops: float
    peak_bytes: int
    kept_bytes: int  # still allocated by the kernel after the call (a work buffer kept for reuse)
    max_rel_error: float
    ref_sys_s: float  # median system CPU time of a reference call (page faults, mostly)
    t64_sys_s: float
    ref_faulting: int  # reference calls that spent over FAULTING_SHARE of their time in the system
    ref_other_s: float  # median of the other reference calls (the kernel without fault stalls)

    @property
    def ratio64(self) -> float:
        """Reference time over torch float64 time."""
        return self.ref_s / self.t64_s

    @property
    def ratio32(self) -> float:
        """Reference time over torch float32 time."""
        return self.ref_s / self.t32_s

    @property
    def peak_ratio(self) -> float:
        """Peak extra memory of one reference call relative to the output size."""
        return self.peak_bytes / self.shape.output_bytes

    @property
    def ceiling_fraction(self) -> float:
        """The reference's GFLOP/s over the ceiling measured alongside it."""
        return self.gflops(self.ref_s) / self.ceiling_gflops

    def gflops(self, seconds: float) -> float:
        """GFLOP/s of this shape's flop count done in ``seconds``."""
        return self.shape.flops / seconds / 1e9


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per kernel and shape")
    parser.add_argument(
        "--shapes",
        default="",
        help="comma-separated shape names to run (default: all of " + ", ".join(s.name for s in SHAPES) + ")",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads for OpenBLAS and torch (default: leave both libraries' defaults)",
    )
    parser.add_argument(
        "--max-rel-error",
        type=float,
        default=1e-12,
        help="largest tolerated |ref − torch64| / Σ|x|·|w| per output element",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time kernels by the wall clock (default) or by the process's CPU time (shared machines)",
    )
    parser.add_argument(
        "--mmap-threshold-mib",
        type=int,
        default=0,
        help="diagnostic: raise glibc's mmap threshold (and trim threshold to 1 GiB) so that every "
        "kernel reuses freed memory instead of faulting in fresh pages (default: leave malloc alone)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be ≥ 1")
    known = {s.name for s in SHAPES}
    wanted = [name for name in args.shapes.split(",") if name]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        parser.error(f"unknown shape(s) {unknown}; choose from {sorted(known)}")
    args.selected = [s for s in SHAPES if not wanted or s.name in wanted]
    return args


def configure_threads(threads: int) -> None:
    """Set the thread environment; must run before NumPy (OpenBLAS) is imported.

    ``OPENBLAS_THREAD_TIMEOUT=4`` makes idle OpenBLAS threads sleep soon after a GEMM instead of
    spinning, which otherwise starves the next torch call on a small machine (harness/process.py).
    """
    if "numpy" in sys.modules:
        raise RuntimeError("configure_threads must run before numpy is imported")
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"
    if threads > 0:
        os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)


def openblas_info() -> str:
    """OpenBLAS configuration and thread count of NumPy's bundled library, if it can be found."""
    import numpy

    site = os.path.dirname(os.path.dirname(numpy.__file__))
    for path in glob.glob(os.path.join(site, "numpy.libs", "*openblas*")):
        try:
            lib = ctypes.CDLL(path)  # already loaded by NumPy: this returns the same handle
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", "_64_"), ("openblas", "")):
            get_threads = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            if get_threads is None:
                continue
            get_threads.restype = ctypes.c_int
            config = ""
            get_config = getattr(lib, f"{prefix}_get_config{suffix}", None)
            if get_config is not None:
                get_config.restype = ctypes.c_char_p
                config = get_config().decode(errors="replace").strip()
            return f"{config} — {get_threads()} thread(s)"
    return "unknown BLAS (no OpenBLAS library found next to numpy)"


#: Feature bit of the virtio balloon device: free page reporting (virtio spec 1.2, 5.5.3).
BALLOON_F_REPORTING = 5


def free_page_reporting(devices: str = "/sys/bus/virtio/drivers/virtio_balloon") -> bool | None:
    """Whether a virtio balloon device here reports free pages to the host (None: no such device)."""
    answers = []
    for path in glob.glob(os.path.join(devices, "virtio*", "features")):
        try:
            with open(path) as handle:
                bits = handle.read().strip()
        except OSError:
            continue
        answers.append(len(bits) > BALLOON_F_REPORTING and bits[BALLOON_F_REPORTING] == "1")
    return any(answers) if answers else None


#: The clock of every timing: ``time.perf_counter`` (wall) or ``time.process_time`` (``--clock cpu``).
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCKS["wall"]


def time_call(fn: Callable[[], Any]) -> float:
    """Time of one call by the chosen clock, in seconds."""
    start = _clock()
    fn()
    return _clock() - start


def time_call_with_system(fn: Callable[[], Any]) -> tuple[float, float]:
    """Time (chosen clock) and system CPU time (all threads of the process) of one call, in seconds.

    The result is dropped inside the timed region, as in :func:`time_call`.
    """
    before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    start = _clock()
    fn()
    elapsed = _clock() - start
    return elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_stime - before


class Ceiling:
    """The float64 ceiling: a ``MATMUL_SIZE``³ NumPy matmul into a preallocated output."""

    flops = 2 * MATMUL_SIZE**3

    def __init__(self, np_mod: ModuleType, seed: int) -> None:
        rng = np_mod.random.default_rng(seed)
        self._np = np_mod
        self._a = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE))
        self._b = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE))
        self._out = np_mod.empty_like(self._a)

    def __call__(self) -> None:
        self._np.matmul(self._a, self._b, out=self._out)

    def standalone(self, repeats: int) -> float:
        """Median GFLOP/s of ``repeats`` matmuls in a row (after one warm-up)."""
        self()
        return self.flops / statistics.median(time_call(self) for _ in range(repeats)) / 1e9


def measure_shape(
    shape: Shape,
    repeats: int,
    seed: int,
    ceiling: Ceiling,
    np_mod: ModuleType,
    torch: ModuleType,
    reference: ModuleType,
) -> Result:
    """Check, memory-profile and time one shape (interleaved with the ceiling matmul)."""
    rng = np_mod.random.default_rng(seed)
    x = rng.standard_normal((shape.batch, shape.c_in, *shape.spatial))
    w = rng.standard_normal((shape.c_in, shape.c_out // shape.groups, *shape.per_dim(shape.kernel)))
    b = rng.standard_normal(shape.c_out)
    kwargs: dict[str, Any] = {
        "stride": shape.per_dim(shape.stride),
        "dilation": shape.per_dim(shape.dilation),
        "pads_begin": shape.per_dim(shape.padding),
        "pads_end": shape.per_dim(shape.padding),
        "output_padding": shape.per_dim(shape.output_padding),
        "groups": shape.groups,
    }
    conv_t = getattr(torch.nn.functional, f"conv_transpose{shape.rank}d")
    t_kwargs: dict[str, Any] = {
        "stride": shape.stride,
        "padding": shape.padding,
        "output_padding": shape.output_padding,
        "groups": shape.groups,
        "dilation": shape.dilation,
    }
    x64, w64, b64 = (torch.from_numpy(a) for a in (x, w, b))
    x32, w32, b32 = (a.float().contiguous() for a in (x64, w64, b64))

    def run_ref() -> Any:
        return reference.conv_transpose(x, w, b, **kwargs)

    def run_t64() -> Any:
        with torch.no_grad():
            return conv_t(x64, w64, b64, **t_kwargs)

    def run_t32() -> Any:
        with torch.no_grad():
            return conv_t(x32, w32, b32, **t_kwargs)

    # Correctness first: a fast but wrong kernel must fail loudly. The error of each element is
    # taken relative to Σ|x|·|w| + |b| over its products (the scale rounding errors are bounded by).
    ref = run_ref()
    expected = run_t64().numpy()
    if ref.shape != expected.shape:
        raise AssertionError(f"{shape.name}: reference shape {ref.shape} != torch {expected.shape}")
    magnitude = reference.conv_transpose(np_mod.abs(x), np_mod.abs(w), np_mod.abs(b), **kwargs)
    max_rel_error = float(np_mod.max(np_mod.abs(ref - expected) / magnitude))
    del ref, expected, magnitude

    # Peak extra memory of one reference call from a cold start (any work buffer the kernel keeps
    # between calls released first); the inputs exist already, the output counts. What is still
    # allocated once the output is dropped is what the kernel keeps for its next call.
    release = getattr(reference, "release_scratch", None)
    if release is not None:
        release()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    result = run_ref()
    _, peak = tracemalloc.get_traced_memory()
    del result
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    kernels: tuple[Callable[[], Any], ...] = (run_ref, run_t64, run_t32, ceiling)
    for fn in kernels:  # warm-up
        fn()
    samples: list[list[float]] = [[] for _ in kernels]
    system: list[list[float]] = [[] for _ in kernels]
    for r in range(repeats):
        for k in range(len(kernels)):
            index = (r + k) % len(kernels)
            wall, sys_time = time_call_with_system(kernels[index])
            samples[index].append(wall)
            system[index].append(sys_time)
    ref_s, t64_s, t32_s, ceil_s = (statistics.median(s) for s in samples)
    other = [w for w, st in zip(samples[0], system[0], strict=True) if st <= FAULTING_SHARE * w]
    return Result(
        shape,
        ref_s,
        t64_s,
        t32_s,
        ceiling.flops / ceil_s / 1e9,
        min(samples[0]),
        ceiling.flops / min(samples[3]) / 1e9,
        peak - base,
        kept - base,
        max_rel_error,
        statistics.median(system[0]),
        statistics.median(system[1]),
        repeats - len(other),
        statistics.median(other) if other else float("nan"),
    )


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def report(results: list[Result], max_rel_error: float) -> int:
    """Print the per-shape table and the target summary; return the exit status."""
    print()
    print(
        f"{'shape':<12} {'ref ms':>9} {'t64 ms':>9} {'t32 ms':>9} {'ref/t64':>8} {'ref/t32':>8} "
        f"{'ref GF/s':>9} {'t64 GF/s':>9} {'t32 GF/s':>9} {'ceil GF/s':>9} {'%ceil':>6} "
        f"{'peak/out':>9} {'budget':>7} {'kept/out':>9} {'max rel err':>12} {'ref sys':>8} {'t64 sys':>8}"
    )
    for r in results:
        print(
            f"{r.shape.name:<12} {r.ref_s * 1e3:9.3f} {r.t64_s * 1e3:9.3f} {r.t32_s * 1e3:9.3f} "
            f"{r.ratio64:8.3f} {r.ratio32:8.3f} {r.gflops(r.ref_s):9.2f} {r.gflops(r.t64_s):9.2f} "
            f"{r.gflops(r.t32_s):9.2f} {r.ceiling_gflops:9.1f} {100 * r.ceiling_fraction:5.1f}% "
            f"{r.peak_ratio:9.2f} {r.shape.memory_budget:7.2f} {r.kept_bytes / r.shape.output_bytes:9.2f} "
            f"{r.max_rel_error:12.2e} {r.ref_sys_s * 1e3:8.1f} {r.t64_sys_s * 1e3:8.1f}"
        )
    print()
    print("Times are medians. ceil: the 2048³ float64 matmul timed alongside the shape; %ceil: ref GF/s")
    print("over it. peak/out: tracemalloc peak of one reference call from a cold start over the output's")
    print("bytes; budget: output + one GEMM result of taps·C_out·N·L_in elements, over the output's")
    print("bytes; kept/out: memory the kernel still holds after the call (its reused work buffer).")
    print("max rel err: max over elements of |ref − torch64| / (Σ|x|·|w| + |b|). ref sys, t64 sys:")
    print("median system CPU ms per call (page faults of fresh memory, mostly).")
    print()

    status = 0
    bad = [r.shape.name for r in results if not r.max_rel_error <= max_rel_error]
    print(
        f"agreement with torch float64 (≤ {max_rel_error:.0e}): {verdict(not bad)}"
        + (f" — {', '.join(bad)}" if bad else "")
    )
    if bad:
        status = 1
    over = [r.shape.name for r in results if r.peak_ratio > MEMORY_SLACK * r.shape.memory_budget]
    print(
        f"peak memory ≤ output + one GEMM result (+{100 * (MEMORY_SLACK - 1):.0f} %): {verdict(not over)}"
        + (f" — {', '.join(over)}" if over else "")
    )

    by_name = {r.shape.name: r for r in results}
    targeted = [by_name[name] for name in TARGET_SHAPES if name in by_name]
    missing = [name for name in TARGET_SHAPES if name not in by_name]
    if targeted:
        geomean = math.exp(statistics.fmean(math.log(r.ratio64) for r in targeted))
        worst = max(targeted, key=lambda r: r.ratio64)
        note = f" (without {', '.join(missing)})" if missing else ""
        print(
            f"geomean ref/torch64 over {', '.join(r.shape.name for r in targeted)}{note}: "
            f"{geomean:.3f} (target ≤ {GEOMEAN_TARGET}) {verdict(geomean <= GEOMEAN_TARGET)}"
        )
        print(
            f"max ref/torch64: {worst.ratio64:.3f} at {worst.shape.name} "
            f"(target ≤ {MAX_RATIO_TARGET}) {verdict(worst.ratio64 <= MAX_RATIO_TARGET)}"
        )
        geomean32 = math.exp(statistics.fmean(math.log(r.ratio32) for r in targeted))
        print(
            f"geomean ref/torch32 over {', '.join(r.shape.name for r in targeted)}{note}: "
            f"{geomean32:.3f} (target ≤ {GEOMEAN32_TARGET}) {verdict(geomean32 <= GEOMEAN32_TARGET)}"
        )
    else:
        print("geomean / max ref/torch64, geomean ref/torch32: n/a (no target shape selected)")
    print(ceiling_summary(results))
    if CEILING_SHAPE in by_name:
        r = by_name[CEILING_SHAPE]
        print(
            f"{CEILING_SHAPE} reference: {r.gflops(r.ref_s):.1f} GF/s = {100 * r.ceiling_fraction:.1f} % "
            f"of the matmul ceiling measured alongside ({r.ceiling_gflops:.1f} GF/s) "
            f"(target ≥ {100 * CEILING_FRACTION_TARGET:.0f} %) "
            f"{verdict(r.ceiling_fraction >= CEILING_FRACTION_TARGET)}"
        )
        best = r.gflops(r.ref_best_s) / r.ceiling_best_gflops
        print(
            f"  (for information, best calls only: {r.gflops(r.ref_best_s):.1f} GF/s = {100 * best:.1f} % "
            f"of the best matmul, {r.ceiling_best_gflops:.1f} GF/s)"
        )
        other = r.gflops(r.ref_other_s) / r.ceiling_gflops if r.ref_other_s == r.ref_other_s else float("nan")
        print(
            f"  (for information: {r.ref_faulting} of the reference calls spent over "
            f"{100 * FAULTING_SHARE:.0f} % of their time in the system, faulting in fresh memory; "
            f"the median of the others is {r.ref_other_s * 1e3:.1f} ms = {100 * other:.1f} % "
            f"of the ceiling)"
        )
    else:
        print(f"{CEILING_SHAPE} fraction of the ceiling: n/a (not selected)")
    return status


def ceiling_summary(results: Sequence[Result]) -> str:
    """The line judging every shape of at least ``ENOUGH_GFLOP`` against the ceiling target."""
    heavy = [r for r in results if r.shape.flops >= ENOUGH_GFLOP * 1e9]
    if not heavy:
        return f"%ceil on every shape of ≥ {ENOUGH_GFLOP} GFLOP: n/a (none selected)"
    shares = ", ".join(f"{r.shape.name} {100 * r.ceiling_fraction:.1f} %" for r in heavy)
    ok = all(r.ceiling_fraction >= CEILING_FRACTION_TARGET for r in heavy)
    return (
        f"%ceil on every shape of ≥ {ENOUGH_GFLOP} GFLOP ({shares}) "
        f"(target ≥ {100 * CEILING_FRACTION_TARGET:.0f} %) {verdict(ok)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; the exit status is 1 if the reference disagrees with torch float64."""
    global _clock
    args = parse_args(argv)
    configure_threads(args.threads)
    _clock = CLOCKS[args.clock]
    import numpy
    import torch

    from harness.oracle import reference
    from harness.process import tune_allocator

    if args.mmap_threshold_mib:
        print("allocator:", tune_allocator(mmap_threshold_bytes=args.mmap_threshold_mib * 2**20))

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")
    print(f"numpy {numpy.__version__}: {openblas_info()}")
    print(
        f"torch {torch.__version__}: {torch.get_num_threads()} intra-op thread(s), "
        f"{torch.get_num_interop_threads()} inter-op"
    )
    print(
        f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')} "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')} "
        f"repeats={args.repeats} clock={args.clock}"
    )
    reporting = free_page_reporting()
    reporting_text = {
        None: "no balloon device",
        False: "off",
        True: "ON — memory left free for ~2 s goes back to the host; touching it again stalls",
    }
    print(f"free page reporting to a hypervisor (virtio balloon): {reporting_text[reporting]}")
    ceiling = Ceiling(numpy, args.seed)
    print(f"float64 matmul {MATMUL_SIZE}³ alone, before the shapes: {ceiling.standalone(5):.1f} GF/s")
    print()
    results = []
    for shape in args.selected:
        print(f"{shape.name:<12} {shape.describe()}  ({shape.flops / 1e9:.3f} GFLOP)", flush=True)
        results.append(measure_shape(shape, args.repeats, args.seed, ceiling, numpy, torch, reference))
    print(f"float64 matmul {MATMUL_SIZE}³ alone, after the shapes: {ceiling.standalone(5):.1f} GF/s")
    return report(results, args.max_rel_error)


if __name__ == "__main__":
    sys.exit(main())
