"""What keeping ONNX Runtime sessions costs when each serves one case, side by side in one process.

Each "case" builds a one-node ConvTranspose model whose weight is an initializer holding values of
its own (as the ``onnxruntime.qdq`` target's models hold the case's weights), opens an
``InferenceSession`` with default options on the CPU provider and runs it once. The sessions are
then kept in a least-recently-used cache of ``size`` entries (0: dropped at once, as that target
does now), so that past the first ``size`` cases every case also destroys a session that has been
idle since its run. The cache sizes alternate by rounds; the line per size gives the median
milliseconds of wall and CPU time per case over the rounds and the ratio to size 0.

Usage::

    python -m benchmarks.ort_sessions [--cases 300] [--rounds 5] [--sizes 0,8,256]
"""

from __future__ import annotations

import harness  # noqa: F401 - applies the process settings (harness.process) before NumPy loads

# isort: split
import argparse
import statistics
import time
from collections import OrderedDict
from typing import Any

import numpy as np


def model_bytes(value: float) -> bytes:
    """A ConvTranspose1d model (2 → 2 channels, kernel 3, stride 2) whose weights all hold ``value``."""
    import onnx
    from onnx import TensorProto, helper

    weight = helper.make_tensor("W", TensorProto.FLOAT, [2, 2, 3], np.full(12, value, np.float32))
    node = helper.make_node("ConvTranspose", ["X", "W"], ["Y"], strides=[2])
    graph = helper.make_graph(
        [node],
        "conv_transpose",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None] * 3)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None] * 3)],
        [weight],
    )
    opsets = [helper.make_opsetid("", 22)]
    model = helper.make_model(graph, opset_imports=opsets, ir_version=10)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def per_case_ms(size: int, models: list[bytes]) -> tuple[float, float]:
    """Wall and CPU milliseconds per case with sessions kept in an LRU cache of ``size``; the cache
    is emptied before the clock stops (every kept session is destroyed within the measurement)."""
    import onnxruntime as ort

    x = np.ones((1, 2, 5), np.float32)
    kept: OrderedDict[int, Any] = OrderedDict()
    wall, cpu = time.perf_counter(), time.process_time()
    for index, model in enumerate(models):
        session = ort.InferenceSession(model, ort.SessionOptions(), providers=["CPUExecutionProvider"])
        session.run(None, {"X": x})
        kept[index] = session
        del session
        while len(kept) > size:
            kept.popitem(last=False)
    kept.clear()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return 1000 * wall / len(models), 1000 * cpu / len(models)


def main() -> None:
    """Print the median per-case wall and CPU milliseconds of each cache size and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="0,8,256")
    args = parser.parse_args()
    import onnxruntime as ort

    sizes = [int(s) for s in args.sizes.split(",")]
    models = [model_bytes(float(i)) for i in range(args.cases)]
    per_case_ms(0, models[:10])  # the first session pays for ORT's own start
    times: dict[int, list[tuple[float, float]]] = {s: [] for s in sizes}
    for round_ in range(args.rounds):
        order = sizes[round_ % len(sizes) :] + sizes[: round_ % len(sizes)]
        for size in order:
            times[size].append(per_case_ms(size, models))
    print(f"onnxruntime {ort.__version__}, {args.cases} cases, median of {args.rounds} rounds")
    base_wall = statistics.median(w for w, _ in times[sizes[0]])
    base_cpu = statistics.median(c for _, c in times[sizes[0]])
    for size in sizes:
        wall = statistics.median(w for w, _ in times[size])
        cpu = statistics.median(c for _, c in times[size])
        print(
            f"sessions kept {size:4d}: {wall:7.2f} ms wall ({wall / base_wall:5.1f}×), "
            f"{cpu:7.2f} ms CPU ({cpu / base_cpu:5.1f}×) per case"
        )


if __name__ == "__main__":
    main()
