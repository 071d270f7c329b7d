"""What a fresh judgement costs: a process forked from the framework's zygote against one of two
spawned processes that take turns, side by side in one process.

For each framework asked for (its first target that runs on the CPU), two fresh runners are made:
one forks each new process from the zygote, the other starts processes from scratch, two taking
turns so that one imports while the other judges (``importer=False``: not forked from the importer
either).
Each judgement is a restart followed by one small case, timed in bursts of ``--repeats`` in a row,
as a run's findings come. The line per framework gives the median seconds of each and their ratio;
a framework whose zygote refuses to fork (it started threads of its own) says why.

Usage::

    python -m benchmarks.fresh_start [--repeats 9] [--frameworks torch,paddle,onnxruntime,mindspore]
"""

from __future__ import annotations

import harness  # noqa: F401 - applies the process settings (harness.process) before NumPy loads

# isort: split
import argparse
import statistics
import time

from adapters.registry import availability, resolve
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.workers.client import FreshRunner, forked_worker
from harness.workers.worker import shutdown_all

#: The first target of each framework that runs on the CPU.
FIRST_TARGET = {
    "torch": "torch.nn",
    "paddle": "paddle.nn",
    "onnxruntime": "onnxruntime",
    "mindspore": "mindspore.nn",
}
CASE = Case.make(input_size=[6, 5], kernel_size=3, stride=2, in_channels=3, out_channels=4, batch=2)


def fresh_seconds(runner: FreshRunner) -> float:
    """Seconds for one restart and one case judged in the new process."""
    began = time.perf_counter()
    runner.restart()
    runner.run(CASE, make_arrays(CASE))
    return time.perf_counter() - began


def burst(runner: FreshRunner, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` fresh judgements in a row."""
    return [fresh_seconds(runner) for _ in range(repeats)]


def measure(target_name: str, repeats: int) -> str:
    """The framework's line: median seconds forked and spawned, and their ratio.

    The two alternate by bursts (forked, spawned, forked, spawned), not by judgement: a spawned
    runner's process importing in the background would otherwise slow the forked one's."""
    api = resolve(target_name)("cpu")
    forked = FreshRunner(api)
    forked.warm()
    fresh_seconds(forked)  # the zygote loaded: the bursts start from a warm state
    from_zygote = forked_worker(api.framework)
    if from_zygote is None or from_zygote.refused is not None:
        why = from_zygote.refused if from_zygote is not None else "not forked"
        shutdown_all(kill=True)
        return f"{api.framework:12s} {target_name:16s} not forked: {why}"
    spawned = FreshRunner(api, fork=False, importer=False)
    spawned.warm()
    fresh_seconds(spawned)
    times: dict[str, list[float]] = {"forked": [], "spawned": []}
    for _ in range(2):
        times["forked"] += burst(forked, repeats)
        times["spawned"] += burst(spawned, repeats)
    median = {key: statistics.median(value) for key, value in times.items()}
    shutdown_all(kill=True)
    return (
        f"{api.framework:12s} {target_name:16s} forked {median['forked'] * 1e3:8.1f} ms  "
        f"spawned {median['spawned'] * 1e3:8.1f} ms  "
        f"forked/spawned {median['forked'] / median['spawned']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Print one line per framework."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--frameworks", default="torch,paddle,onnxruntime,mindspore")
    args = parser.parse_args(argv)
    installed = availability()
    print(f"repeats={args.repeats}: a restart and one case in the new process, median of the burst")
    for framework in args.frameworks.split(","):
        name = FIRST_TARGET.get(framework)
        if name is None or (name in installed and installed[name] is not None):
            print(f"{framework:12s} skipped: {installed.get(name or '', 'no target known')}")
            continue
        print(measure(name, args.repeats), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
