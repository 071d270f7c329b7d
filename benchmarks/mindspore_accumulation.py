"""How MindSpore's CPU transposed convolutions accumulate float16: per-tap float16 or float32 once?

Two experiments, run through the ``mindspore.nn`` and ``mindspore.ops`` targets:

1. Probes that separate the models exactly. One output element sums ``2048·1`` and three ``1·1``
   products, either over four kernel taps (one channel) or over four channels (kernel 1). In float32
   the sum is 2051, rounded once to float16 → 2052; rounded after every addition in float16 it stays
   2048 (2049 is a tie that rounds to even).
2. Random cases (symmetric crops, no output padding): the distribution of ``observed error / bound``
   under the round-once model (accumulate and sum taps in float32) and under torch CPU's per-tap
   float16 model, and the fraction of outputs equal to the exact result rounded once to float16.

    python benchmarks/mindspore_accumulation.py --cases 300
"""

from __future__ import annotations

import harness  # noqa: F401 - applies the process settings (harness.process) before NumPy loads

# isort: split
import argparse
import sys

import numpy as np

from adapters.mindspore.common import MindSporeTarget
from adapters.mindspore.nn import MindSporeNN
from adapters.mindspore.ops import MindSporeOps
from harness.errors import InvalidCase
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.oracle.calibration import random_symmetric_case
from harness.oracle.compare import compare
from harness.oracle.tolerance import AccumulationModel, ReferenceResult

ROUND_ONCE = AccumulationModel("float32", "float32")
PER_TAP = AccumulationModel("float32", "float16")


def probe(target: MindSporeTarget, rank: int, over: str) -> float:
    """The probe element's value (2052 = round once, 2048 = float16 partial sums).

    ``taps``: one channel, input of ones of length 4 and kernel ``[2048, 1, 1, 1]`` along the first
    spatial dimension, so output 3 receives all four taps. ``channels``: four input channels of ones,
    kernel 1, weights ``[2048, 1, 1, 1]`` over the channels.
    """
    rest = [1] * (rank - 1)
    if over == "taps":
        case = Case.make(
            rank=rank, input_size=[4, *rest], kernel_size=[4, *rest], bias=False, dtype="float16"
        )
    else:
        case = Case.make(rank=rank, input_size=1, kernel_size=1, in_channels=4, bias=False, dtype="float16")
    weight = np.array([2048.0, 1.0, 1.0, 1.0]).reshape(case.weight_shape)
    arrays = CaseArrays(x=np.ones(case.input_shape), weight=weight, bias=None, dtype="float16")
    out = target.run(case, arrays)
    return float(out[(0, 0, 3 if over == "taps" else 0) + (0,) * (rank - 1)])


def random_cases(target: MindSporeTarget, n: int, rng: np.random.Generator) -> None:
    """Print error/bound under both models and the exact-match fraction for random float16 cases."""
    for dist, bias in (("normal", False), ("uniform", False), ("normal", True), ("uniform", True)):
        once, tap, exact_share = [], [], []
        while len(once) < n:
            case = random_symmetric_case(rng, "float16", dist).replace(bias=bias)
            try:
                case = case.replace(output_padding=(0,) * case.rank)
            except InvalidCase:
                continue
            if target.supports(case) is not None:
                continue
            arrays = make_arrays(case)
            ref = ReferenceResult.for_case(case, arrays)
            out = target.run(case, arrays)
            once.append(compare(out, ref, "float16", ROUND_ONCE).error_ratio)
            tap.append(compare(out, ref, "float16", PER_TAP).error_ratio)
            exact_share.append(float(np.mean(out == round_to_format(ref.exact, "float16"))))
        a, b = np.array(once), np.array(tap)
        print(
            f"  {target.name:13s} {dist:8s} bias={bias!s:5s} n={n}: round-once max={a.max():.3g} "
            f"p99={np.quantile(a, 0.99):.3g} over1={int((a > 1).sum())} | per-tap max={b.max():.3g} "
            f"over1={int((b > 1).sum())} | outputs equal to fl16(exact): min {min(exact_share):.3f} "
            f"mean {np.mean(exact_share):.4f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run both experiments and print their figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=300, help="random cases per target and distribution")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    import mindspore

    targets: list[MindSporeTarget] = [MindSporeNN(), MindSporeOps()]
    for t in targets:
        t.prepare()
    print(f"mindspore {mindspore.__version__}, numpy {np.__version__}")
    print("== probes: 2048 + 1 + 1 + 1 (2052 = float32 sum rounded once; 2048 = float16 partials) ==")
    for t in targets:
        for rank in sorted(t.ranks):
            values = {over: probe(t, rank, over) for over in ("taps", "channels")}
            print(
                f"  {t.name:13s} {rank}-D  over taps: {values['taps']:.0f}  "
                f"over channels: {values['channels']:.0f}"
            )
    print("== random float16 cases: observed error / bound ==")
    rng = np.random.default_rng(args.seed)
    for t in targets:
        random_cases(t, args.cases, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
