"""Cases per second per core of the default specs on each framework, and where the time goes.

Each installed framework gets a process of its own (frameworks that cannot share one never meet),
started with one thread (``OMP_NUM_THREADS=1`` and the like). There, every available CPU target
of that framework runs the cases of every default spec (``specs/*.yaml``) through
:func:`harness.engine.run.run_target_spec`, as ``run`` explores them — Hypothesis, the verdict,
shrinking, a record per case written to a scratch ``results.jsonl`` — with the target in the
process instead of a worker (the worker round trip is ``benchmarks/harness_overhead.py``'s).

The process's time is split into (shares of its wall time: a framework's own thread pool, such
as ONNX Runtime's, which spins between calls, would put its CPU time in the harness's share):

- ``framework``: the target's ``run`` (the adapter's conversions and the framework's call);
- ``reference``: :meth:`ReferenceResult.for_case`, the exact float64 result;
- ``comparison``: :func:`harness.oracle.compare.compare` (with any magnitude ``M`` it needs);
- ``harness``: the rest (drawing cases, their arrays, support checks, records, shrinking).

``cases/s/core`` is the cases recorded per second of the process's CPU time (``time.process_time``:
other load on the machine does not count, a framework's extra threads do).

Usage::

    python -m benchmarks.run_throughput [--examples 100] [--frameworks torch,onnxruntime]
"""

from __future__ import annotations

import harness  # noqa: F401 - applies the process settings (harness.process) before NumPy loads

# isort: split
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("framework", "reference", "comparison")
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


class Clock:
    """Seconds spent inside wrapped callables, by part (a part inside another counts once,
    in the outer one)."""

    def __init__(self) -> None:
        self.spent = dict.fromkeys(PARTS, 0.0)
        self._inside = False

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, with its time added to ``part``."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._inside:
                return fn(*args, **kwargs)
            self._inside = True
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[part] += time.perf_counter() - start
                self._inside = False

        return timed


def framework_targets(framework: str) -> list[str]:
    """The registered targets of ``framework`` that are installed and run on the CPU."""
    from adapters.registry import known_names, resolve

    names = []
    for name in known_names():
        cls = resolve(name)
        if cls.framework == framework and cls.unavailable_reason() is None:
            if "cpu" in cls("cpu").capabilities().devices:
                names.append(name)
    return names


def measure_target(name: str, examples: int, seed: int, out: Path) -> dict[str, Any] | None:
    """Run the default specs on target ``name`` in this process; its figures (None when the target
    cannot run here)."""
    import hypothesis

    import harness.engine.verdict as verdict
    from adapters.protocol import handle
    from adapters.registry import resolve
    from harness.engine.progress import Progress
    from harness.engine.results import ResultsWriter
    from harness.engine.run import run_target_spec
    from harness.engine.tally import RunReport
    from harness.errors import TargetUnavailable
    from harness.oracle.tolerance import ReferenceResult
    from harness.spec.loader import load_spec

    target = resolve(name)("cpu")
    try:
        target.ready()
    except TargetUnavailable:
        return None
    clock = Clock()
    compare = verdict.compare  # type: ignore[attr-defined]
    descriptor = ReferenceResult.__dict__["for_case"]
    for_case = clock.wrap("reference", ReferenceResult.for_case)
    setattr(ReferenceResult, "for_case", staticmethod(for_case))  # noqa: B010 - restored below
    setattr(verdict, "compare", clock.wrap("comparison", compare))  # noqa: B010
    target.run = clock.wrap("framework", target.run)  # type: ignore[method-assign]
    settings = hypothesis.settings(max_examples=examples, database=None, deadline=None)
    out.mkdir(parents=True, exist_ok=True)
    writer = ResultsWriter(out)
    report = RunReport(out_dir=out)
    start = time.process_time()
    started = time.perf_counter()
    try:
        for spec_path in sorted((ROOT / "specs").glob("*.yaml")):
            spec = load_spec(spec_path)
            run_target_spec(
                target=handle(target),
                spec=spec,
                settings=settings,
                writer=writer,
                report=report,
                run_id="throughput",
                progress=Progress(False),
                store=None,
                seed=seed,
            )
    finally:
        setattr(ReferenceResult, "for_case", descriptor)  # noqa: B010
        setattr(verdict, "compare", compare)  # noqa: B010
        writer.close()
    total = time.process_time() - start
    records = [json.loads(line) for line in writer.path.read_text(encoding="utf-8").splitlines()]
    return {
        "target": name,
        "cases": len(records),
        "judged": sum(1 for r in records if r.get("ran")),
        "cpu_seconds": total,
        "wall_seconds": time.perf_counter() - started,
        "parts": clock.spent,
    }


def inner(framework: str, examples: int, seed: int, only: list[str] | None) -> int:
    """The child: measure every target of ``framework`` (those in ``only``, if given); one JSON
    line per target on stdout."""
    names = [n for n in framework_targets(framework) if only is None or n in only]
    with tempfile.TemporaryDirectory() as scratch:
        for i, name in enumerate(names):
            figures = measure_target(name, examples, seed, Path(scratch) / str(i))
            if figures is not None:
                print(json.dumps({"framework": framework, **figures}), flush=True)
    return 0


def frameworks() -> list[str]:
    """Every framework of the registered targets whose module is installed, in registry order."""
    import importlib.util

    from adapters.registry import known_names, resolve

    found: list[str] = []
    for name in known_names():
        cls = resolve(name)
        if cls.framework not in found and importlib.util.find_spec(cls.requires) is not None:
            found.append(cls.framework)
    return found


def table(rows: list[dict[str, Any]]) -> str:
    """The printed table, a line per target."""
    head = f"{'framework':12s} {'target':26s} {'cases':>6s} {'judged':>6s} {'cases/s/core':>12s} "
    head += " ".join(f"{p + ' %':>12s}" for p in (*PARTS, "harness"))
    lines = [head, "-" * len(head)]
    for row in rows:
        cpu, wall = row["cpu_seconds"], row["wall_seconds"]
        shares = [row["parts"][p] / wall if wall else 0.0 for p in PARTS]
        shares.append(1.0 - sum(shares))
        rate = row["cases"] / cpu if cpu else 0.0
        lines.append(
            f"{row['framework']:12s} {row['target']:26s} {row['cases']:6d} {row['judged']:6d} {rate:12.1f} "
            + " ".join(f"{100 * s:12.1f}" for s in shares)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure every installed framework (each in a child process) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="cases drawn per (target, spec)")
    parser.add_argument("--frameworks", default=None, help="comma-separated subset (default: all installed)")
    parser.add_argument("--targets", default=None, help="comma-separated subset of the targets")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--framework", default=None, help=argparse.SUPPRESS)  # the child's
    args = parser.parse_args(argv)
    if args.framework:
        return inner(args.framework, args.examples, args.seed, args.targets and args.targets.split(","))
    chosen = args.frameworks.split(",") if args.frameworks else frameworks()
    rows: list[dict[str, Any]] = []
    failed = []
    options = ["--examples", str(args.examples), "--seed", str(args.seed)]
    options += ["--targets", args.targets] if args.targets else []
    for framework in chosen:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.run_throughput", "--framework", framework, *options],
            cwd=ROOT,
            env={**os.environ, **ONE_THREAD},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            failed.append(framework)
            print(f"{framework}: the measuring process failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        rows += [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    print(
        f"default specs, {args.examples} examples per (target, spec), one thread; cases per CPU second, "
        "shares of wall time"
    )
    print(table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
