"""Per-case harness overhead against the raw framework call (target ``torch.functional``, CPU).

For a few case shapes it times, interleaved in one process (every repeat runs each measurement
once, in an order that rotates from repeat to repeat), and reports medians of:

- ``raw``: ``torch.nn.functional.conv_transpose{1,2,3}d`` on tensors prepared beforehand;
- ``judge``: :func:`harness.engine.verdict.judge` on the case with :class:`TorchFunctional` in this process;
- ``isolated``: the same through the target's worker process, as ``run`` does it (arrays and output
  cross a socket; the reference is computed while the worker runs the case);
- ``run``: the target's ``run`` (tensor transport, the call, conversion back to NumPy);
- ``arrays``: :func:`harness.model.arrays.make_arrays` (drawing and rounding the inputs);
- ``ref+cmp``: :meth:`ReferenceResult.for_case` plus :func:`harness.oracle.compare.compare`, and each
  alone as ``ref`` and ``cmp`` (the latter against a reference computed beforehand).

The overhead of a case is ``isolated − raw`` (the production path; ``judge − raw`` is shown too);
the goal is ``overhead ≤ 1 ms + 10 % of raw``.

Usage::

    python -m benchmarks.harness_overhead --repeats 31 --threads 2
"""

from __future__ import annotations

import harness  # noqa: F401 - applies the process settings (harness.process) before NumPy loads

# isort: split
import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

GOAL_FIXED_MS = 1.0
GOAL_FRACTION = 0.10
PARTS = ("raw", "judge", "isolated", "run", "arrays", "ref+cmp", "ref", "cmp")


def build_cases() -> dict[str, Any]:
    """The benchmark cases by name (small to large; float32, channels-first)."""
    from harness.model.case import Case

    return {
        "tiny1d": Case.make(
            input_size=16,
            kernel_size=3,
            stride=2,
            in_channels=4,
            out_channels=4,
            pads_begin=1,
            pads_end=1,
            output_padding=1,
        ),
        "small2d": Case.make(
            input_size=(16, 16),
            kernel_size=3,
            stride=2,
            in_channels=8,
            out_channels=8,
            pads_begin=1,
            pads_end=1,
            output_padding=1,
        ),
        "medium2d": Case.make(
            input_size=(32, 32),
            kernel_size=4,
            stride=2,
            in_channels=32,
            out_channels=32,
            batch=2,
            pads_begin=1,
            pads_end=1,
        ),
        "groups2d": Case.make(
            input_size=(24, 24),
            kernel_size=3,
            stride=2,
            dilation=2,
            in_channels=32,
            out_channels=32,
            groups=8,
            pads_begin=2,
            pads_end=2,
        ),
        "small3d": Case.make(
            input_size=(8, 8, 8),
            kernel_size=3,
            stride=2,
            in_channels=8,
            out_channels=8,
            pads_begin=1,
            pads_end=1,
            output_padding=1,
        ),
    }


def measurements(case: Any, target: Any, remote: Any) -> dict[str, Callable[[], object]]:
    """The timed callables of one case, by part name."""
    import torch

    from harness.engine.verdict import judge
    from harness.model.arrays import make_arrays
    from harness.oracle.compare import compare
    from harness.oracle.tolerance import ReferenceResult

    arrays = make_arrays(case)
    held = {k: torch.from_numpy(v) for k, v in arrays.container().items()}
    x, w, b = held["x"], held["weight"], held.get("bias")
    fn = getattr(torch.nn.functional, f"conv_transpose{case.rank}d")
    padding = case.pads_begin
    output_padding = tuple(
        cb - ce + o for cb, ce, o in zip(case.pads_begin, case.pads_end, case.output_padding, strict=True)
    )
    actual = target.run(case, arrays)
    model = target.accumulation(case.dtype)
    ref = ReferenceResult.for_case(case, arrays)

    def raw() -> object:
        with torch.no_grad():
            return fn(
                x,
                w,
                b,
                stride=case.stride,
                padding=padding,
                output_padding=output_padding,
                groups=case.groups,
                dilation=case.dilation,
            )

    def ref_cmp() -> object:
        return compare(actual, ReferenceResult.for_case(case, arrays), case.dtype, model)

    return {
        "raw": raw,
        "judge": lambda: judge(case, target),
        "isolated": lambda: judge(case, remote),
        "run": lambda: target.run(case, arrays),
        "arrays": lambda: make_arrays(case),
        "ref+cmp": ref_cmp,
        "ref": lambda: ReferenceResult.for_case(case, arrays),
        "cmp": lambda: compare(actual, ref, case.dtype, model),
    }


def time_case(calls: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, float]:
    """Median seconds per part over ``repeats`` interleaved rounds (after ``warmup`` rounds)."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(warmup + repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            calls[name]()
            elapsed = time.perf_counter() - start
            if r >= warmup:
                samples[name].append(elapsed)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table; exit status 1 if any case misses the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--cases", default=None, help="comma-separated subset of the case names")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from adapters.torch.functional import TorchFunctional
    from harness.engine.verdict import judge
    from harness.model.outcomes import Outcome
    from harness.process import tune_allocator

    allocator = tune_allocator()  # as `python -m harness run` and its workers do
    if args.threads:
        torch.set_num_threads(args.threads)
    from harness.workers.client import isolated
    from harness.workers.worker import shutdown_all

    target = TorchFunctional("cpu")
    remote = isolated(TorchFunctional("cpu"))
    cases = build_cases()
    if args.cases:
        cases = {k: v for k, v in cases.items() if k in args.cases.split(",")}
    print(
        f"harness overhead per case: torch {torch.__version__}, numpy {np.__version__}, "
        f"python {platform.python_version()}, {platform.machine()}, threads {torch.get_num_threads()}, "
        f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')}; allocator: {allocator}"
    )
    print(
        f"medians of {args.repeats} interleaved repeats (after {args.warmup} warm-up); "
        f"goal: overhead = isolated − raw ≤ {GOAL_FIXED_MS:g} ms + {GOAL_FRACTION:.0%} of raw"
    )
    header = (
        f"{'case':9s} {'out elems':>9s} "
        + " ".join(f"{p + ' ms':>10s}" for p in PARTS)
        + f" {'overhead ms':>12s} {'ratio':>7s} {'goal ms':>8s}  verdict"
    )
    print(header)
    print("-" * len(header))
    failed = 0
    for name, case in cases.items():
        verdict = judge(case, target)
        if verdict.outcome != Outcome.PASS:
            print(f"{name}: judge says {verdict.outcome}: {verdict.message}", file=sys.stderr)
            return 2
        if judge(case, remote).outcome != Outcome.PASS:
            print(f"{name}: the isolated judge does not pass", file=sys.stderr)
            return 2
        med = time_case(measurements(case, target, remote), args.repeats, args.warmup)
        ms = {k: v * 1e3 for k, v in med.items()}
        overhead = ms["isolated"] - ms["raw"]
        goal = GOAL_FIXED_MS + GOAL_FRACTION * ms["raw"]
        ok = overhead <= goal
        failed += not ok
        elems = int(np.prod(case.output_shape))
        print(
            f"{name:9s} {elems:9d} "
            + " ".join(f"{ms[p]:10.3f}" for p in PARTS)
            + f" {overhead:12.3f} {ms['isolated'] / ms['raw']:6.1f}x {goal:8.3f}  "
            + ("PASS" if ok else "FAIL")
        )
    shutdown_all()
    print(f"\n{len(cases) - failed}/{len(cases)} cases meet the goal")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
