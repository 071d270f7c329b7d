"""The wall time of a tiny ``port`` to every installed target, against the frameworks' own start-up.

Measured side by side in one process, each repeat in a rotating order:

- ``port``: ``python -m harness port CALL --to <every installed target>`` in a fresh process (the
  harness's own import, every worker's start-up, the source's and every target's run, the
  reference and the report), as a user runs it;
- per framework, ``python -c "import <framework>; <one call>"`` in a fresh process: its start-up
  plus one tiny transposed convolution, the least any port to it can take.

The goal (issue 18): ``port ≤ 2 × the slowest framework's start-up + call``. The machine's cores
are shared by every process here, so the figures are medians over ``--repeats``.

``--compare-with DIR`` adds ``port`` run from another checkout of the project (e.g. the branch
before a change), in the same rotation.

Usage::

    python -m benchmarks.port_speed --repeats 5 [--compare-with /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 2.0
CALL = "torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1)"
INPUT_SHAPE = "1,4,5,5"

#: framework → (module that decides it is installed, the start-up + one-call program)
FRAMEWORKS = {
    "torch": (
        "torch",
        "import torch; torch.nn.ConvTranspose2d(4, 4, 3, stride=2)(torch.zeros(1, 4, 5, 5))",
    ),
    "paddle": (
        "paddle",
        "import paddle; paddle.nn.Conv2DTranspose(4, 4, 3, stride=2)(paddle.zeros([1, 4, 5, 5]))",
    ),
    "mindspore": (
        "mindspore",
        "import numpy as np, mindspore as ms; ms.set_device('CPU'); "
        "ms.nn.Conv2dTranspose(4, 4, 3, stride=2)(ms.Tensor(np.zeros((1, 4, 5, 5), np.float32))).asnumpy()",
    ),
    "onnxruntime": (
        "onnxruntime",
        "import numpy as np, onnx, onnxruntime as ort; from onnx import helper as h; "
        "f = onnx.TensorProto.FLOAT; "
        "g = h.make_graph([h.make_node('ConvTranspose', ['X', 'W'], ['Y'], strides=[2, 2])], 'g', "
        "[h.make_tensor_value_info('X', f, [1, 4, 5, 5]), h.make_tensor_value_info('W', f, [4, 4, 3, 3])], "
        "[h.make_tensor_value_info('Y', f, None)]); "
        "m = h.make_model(g, opset_imports=[h.make_opsetid('', 22)], ir_version=10); "
        "s = ort.InferenceSession(m.SerializeToString(), providers=['CPUExecutionProvider']); "
        "s.run(None, {'X': np.zeros((1, 4, 5, 5), np.float32), 'W': np.zeros((4, 4, 3, 3), np.float32)})",
    ),
}


def installed_targets() -> list[str]:
    """Every registered target whose framework is installed here."""
    sys.path.insert(0, str(ROOT))
    from adapters.registry import availability

    return [name for name, reason in availability().items() if reason is None]


def _timed(argv: Sequence[str], root: Path = ROOT) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - began
    if done.returncode not in (0, 1):  # port exits 1 when a target's call does not verify
        raise RuntimeError(f"{' '.join(argv[:3])} … exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Print the medians side by side; exit 1 when the goal is missed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare-with", type=Path, metavar="DIR", help="another checkout's port, timed too")
    args = parser.parse_args(argv)
    frameworks = {k: v for k, v in FRAMEWORKS.items() if importlib.util.find_spec(v[0]) is not None}
    targets = installed_targets()
    port = [
        sys.executable,
        "-m",
        "harness",
        "port",
        CALL,
        "--input-shape",
        INPUT_SHAPE,
        "--to",
        ",".join(targets),
    ]
    runs: dict[str, Sequence[str]] = {"port": port}
    roots = {"port": ROOT}
    if args.compare_with is not None:
        runs["port@other"], roots["port@other"] = port, args.compare_with.resolve()
    runs.update({name: [sys.executable, "-c", program] for name, (_, program) in frameworks.items()})
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(args.repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_timed(runs[name], roots.get(name, ROOT)))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"port of {CALL} (input {INPUT_SHAPE}) to {len(targets)} installed targets: {', '.join(targets)}")
    print(f"{'what':<28s}{'median s':>10s}{'min s':>9s}{'max s':>9s}   ({args.repeats} repeats, one process)")
    for name in names:
        label = {"port": "port (python -m harness)", "port@other": f"port from {args.compare_with}"}.get(
            name, f"{name} start-up + call"
        )
        values = times[name]
        print(f"{label:<28s}{median[name]:>10.2f}{min(values):>9.2f}{max(values):>9.2f}")
    slowest = max((n for n in names if not n.startswith("port")), key=lambda n: median[n])
    ratio = median["port"] / median[slowest]
    verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    print(
        f"port / slowest framework ({slowest}, {median[slowest]:.2f} s) = {ratio:.2f} "
        f"(goal ≤ {GOAL_RATIO:g}): {verdict}; cores here: {os.cpu_count()}"
    )
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
