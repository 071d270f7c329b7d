"""The MindSpore targets: argument mapping, capability declarations checked against mindspore,
documented examples, named modes, the float16 accumulation, the NumPy-ABI warm-up and snippets.

mindspore is never imported in the pytest process (it clashes with paddle): the pure parts are
tested here; everything that runs mindspore goes through :func:`harness.workers.client.isolated` or a
subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.mindspore import forms
from adapters.mindspore.common import MindSporeTarget
from adapters.mindspore.docs import documented_modes
from adapters.mindspore.nn import MindSporeNN
from adapters.mindspore.ops import MindSporeOps
from harness.engine.artefacts import save_arrays
from harness.engine.verdict import judge
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.oracle.reference import reference_for_case
from harness.workers.client import isolated
from harness.workers.worker import worker_for

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mindspore") is None,
    reason="mindspore is not installed (pip install the mindspore extra)",
)

ROOT = Path(__file__).resolve().parents[2]


def _case(**kw: Any) -> Case:
    base: dict[str, Any] = {"input_size": 5, "kernel_size": 3, "in_channels": 2, "out_channels": 3}
    base.update(kw)
    return Case.make(**base)


def _run_script(code: str, *args: str, timeout: int = 120) -> str:
    env = dict(os.environ, OPENBLAS_THREAD_TIMEOUT="4", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# --- pure: how a case becomes a call (no mindspore in this process) ------------------------------


def test_nn_2d_padding_is_top_bottom_left_right_and_int_only_for_equal_crops() -> None:
    asym = _case(input_size=(4, 6), pads_begin=(2, 0), pads_end=(1, 3), output_padding=(1, 0))
    for seed in (0, 1):
        args = forms.layer_arguments(asym.replace(seed=seed))
        assert args["pad_mode"] == "pad"
        assert args["padding"] == (2, 1, 0, 3)
        assert args["output_padding"] == (1, 0)
    equal = _case(input_size=(4, 6), pads_begin=1, pads_end=1, output_padding=1)
    by_seed = {seed: forms.layer_arguments(equal.replace(seed=seed)) for seed in (0, 1)}
    assert (by_seed[0]["padding"], by_seed[0]["output_padding"]) == (1, 1)
    assert (by_seed[1]["padding"], by_seed[1]["output_padding"]) == ((1, 1, 1, 1), (1, 1))


def test_nn_3d_padding_is_head_tail_top_bottom_left_right() -> None:
    case = _case(
        input_size=(3, 4, 5), kernel_size=(2, 3, 3), pads_begin=(1, 0, 2), pads_end=(0, 2, 1), seed=1
    )
    args = forms.layer_arguments(case)
    assert args["padding"] == (1, 0, 0, 2, 2, 1)
    assert args["kernel_size"] == (2, 3, 3)


def test_nn_1d_takes_plain_ints_and_folds_only_symmetric_forms() -> None:
    nn = MindSporeNN()
    args = forms.layer_arguments(_case(pads_begin=1, pads_end=1, stride=2, dilation=2))
    assert (args["kernel_size"], args["stride"], args["dilation"], args["padding"]) == (3, 2, 2, 1)
    assert "output_padding" not in args
    # crops 1/2 plus one extra element end where padding=1 ends: the same output
    assert nn.supports(_case(pads_begin=1, pads_end=2, output_padding=1)) is None
    assert "symmetric" in (nn.supports(_case(pads_begin=2, pads_end=0)) or "")
    assert "output_padding" in (nn.supports(_case(output_padding=1, stride=2)) or "")


def test_ops_2d_out_channel_is_the_input_channels_and_input_size_the_output_shape() -> None:
    case = _case(
        input_size=(4, 5),
        in_channels=4,
        out_channels=6,
        groups=2,
        stride=2,
        pads_begin=(1, 0),
        pads_end=(0, 2),
        output_padding=(1, 0),
        batch=2,
    )
    args = forms.primitive_arguments(case)
    assert args["out_channel"] == 4 and "in_channel" not in args
    assert args["pad"] == (1, 0, 0, 2)
    assert "output_padding" not in args
    full = [(n - 1) * 2 + 3 for n in (4, 5)]
    assert forms.input_size(case, None) == (2, 6, full[0] - 1 + 1, full[1] - 2)


def test_ops_3d_names_both_channel_counts_and_passes_output_padding() -> None:
    case = _case(
        input_size=(3, 3, 3),
        in_channels=2,
        out_channels=4,
        groups=2,
        stride=2,
        output_padding=(1, 0, 1),
        seed=1,
    )
    args = forms.primitive_arguments(case)
    assert (args["in_channel"], args["out_channel"], args["group"]) == (2, 4, 2)
    assert args["output_padding"] == (1, 0, 1)


def test_named_modes_use_pad_mode_and_no_padding() -> None:
    for mode in ("same", "valid"):
        case = _case(input_size=(4, 4), stride=2, padding_mode=mode)
        nn_args, ops_args = forms.layer_arguments(case), forms.primitive_arguments(case)
        assert (nn_args["pad_mode"], nn_args["padding"]) == (mode, 0)
        assert "output_padding" not in nn_args
        assert (ops_args["pad_mode"], ops_args["pad"]) == (mode, 0)


def test_documented_sizes_follow_the_documentation_text() -> None:
    # Hand-evaluated from the 2.10 docstrings (and the Conv2dTranspose page's example for 2-D),
    # L=5 k=3 s=2 d=2.
    size = {
        (r, m): documented_modes(r, "nn")[m].size(5, 3, 2, 2) for r in (1, 2, 3) for m in ("same", "valid")
    }
    assert size[(1, "same")] == 3  # (5 + 2 − 1) / 2
    assert size[(1, "valid")] == 13  # 4·2 + 2·2 + 1
    assert size[(2, "same")] == 10  # 5·2
    assert size[(2, "valid")] == 10  # 5·2 + max(1·2 − 2, 0)
    assert size[(3, "same")] == 3  # ⌊5/2 + 1⌋
    assert size[(3, "valid")] == 1  # ⌊(5 − 4)/2 + 1⌋
    ranked = MindSporeNN().documented_mode("same")
    assert ranked.output_size(_case(input_size=(5, 5, 5), stride=2)) == (3, 3, 3)
    assert ranked.output_size(_case(input_size=(5, 5), stride=2)) == (10, 10)
    assert "mindspore.nn.Conv2dTranspose.html" in MindSporeOps().documented_mode("valid").source


@pytest.mark.parametrize(
    ("target", "case", "needle"),
    [
        (MindSporeNN(), _case(input_size=(4, 4), layout="channels_last"), "GPU only"),
        (MindSporeOps(), _case(input_size=(4, 4), layout="channels_last"), "GPU only"),
        (MindSporeOps(), _case(), "no 1-D"),
        (MindSporeOps(), _case(layout="channels_last"), "no 1-D"),  # the missing primitive comes first
        (MindSporeNN(), _case(dtype="float64"), "float64"),
        (MindSporeNN(), _case(dtype="bfloat16"), "bfloat16"),
        (MindSporeNN(), _case(input_size=(3, 3, 3), dilation=(2, 1, 1)), "depth"),
        (MindSporeOps(), _case(input_size=(3, 3, 3), dilation=(2, 1, 1)), "depth"),
        (MindSporeNN(), _case(input_size=(4, 4), stride=2, output_padding=(2, 0)), "max(stride, dilation)"),
        (
            MindSporeOps(),
            _case(input_size=(4, 4), stride=(1, 3), dilation=2, output_padding=(1, 0)),
            "stride",
        ),
        (
            MindSporeOps(),
            _case(input_size=(3, 3, 3), stride=2, output_padding=(0, 2, 0)),
            "max(stride, dilation)",
        ),
    ],
)
def test_declared_unsupported_cases_say_why(target: MindSporeTarget, case: Case, needle: str) -> None:
    reason = target.supports(case)
    assert reason is not None and needle in reason


def test_output_padding_just_inside_the_limits_is_declared_supported() -> None:
    inside = [
        _case(input_size=(4, 4), stride=(2, 1), dilation=(1, 3), output_padding=(1, 2), seed=0),
        _case(input_size=(3, 3, 3), stride=(1, 2, 1), dilation=(1, 1, 2), output_padding=(0, 1, 1)),
    ]
    for case in inside:
        assert MindSporeNN().supports(case) is None
    assert MindSporeOps().supports(inside[1]) is None
    assert MindSporeOps().supports(_case(input_size=(4, 4), stride=3, output_padding=2)) is None


# --- mindspore called directly: what is declared unsupported is really refused -------------------

REFUSALS = r"""
import json, numpy as np, mindspore as ms
from mindspore import Tensor, nn, ops
ms.set_device("CPU")
f = lambda *s, dt=np.float32: Tensor(np.ones(s, dt))
calls = {
 "float64": lambda: nn.Conv2dTranspose(1, 1, 3, dtype=ms.float64)(f(1, 1, 3, 3, dt=np.float64)),
 "bfloat16": lambda: ops.Conv3DTranspose(1, 1, 3)(f(1, 1, 3, 3, 3).astype(ms.bfloat16),
                                                  f(1, 1, 3, 3, 3).astype(ms.bfloat16)),
 "nhwc_cpu": lambda: ops.Conv2DTranspose(1, 3, data_format="NHWC"),
 "conv1d_tuple_padding": lambda: nn.Conv1dTranspose(1, 1, 3, pad_mode="pad", padding=(2, 0)),
 "conv1d_output_padding": lambda: nn.Conv1dTranspose(1, 1, 3, pad_mode="pad", output_padding=1),
 "ops_has_no_1d": lambda: ops.Conv1DTranspose,
 "conv_transpose2d_cpu": lambda: ops.conv_transpose2d(f(1, 1, 3, 3), f(1, 1, 3, 3)),
 "depth_dilation": lambda: nn.Conv3dTranspose(1, 1, 3, dilation=(2, 1, 1)),
 "nn2_op_at_limit": lambda: nn.Conv2dTranspose(1, 1, 3, stride=2, pad_mode="pad",
                                               output_padding=(2, 0))(f(1, 1, 4, 4)),
 "ops3_op_at_limit": lambda: ops.Conv3DTranspose(1, 1, 3, stride=2, pad_mode="pad", output_padding=(0, 2, 0))(
     f(1, 1, 3, 3, 3), f(1, 1, 3, 3, 3)),
 "ops2_op_at_stride": lambda: ops.Conv2DTranspose(1, 3, stride=3, pad_mode="pad")(
     f(1, 1, 4, 4), f(1, 1, 3, 3), (1, 1, 12 + 3, 12)),
 "ops2_op_below_stride": lambda: ops.Conv2DTranspose(1, 3, stride=3, pad_mode="pad")(
     f(1, 1, 4, 4), f(1, 1, 3, 3), (1, 1, 12 + 2, 12)),
}
out = {}
for name, call in calls.items():
    try:
        result = call()
        if hasattr(result, "asnumpy"):
            result.asnumpy()  # PYNATIVE may defer a kernel's failure until the value is read
        out[name] = "ok"
    except Exception as exc:
        out[name] = type(exc).__name__
print("RESULT " + json.dumps(out))
"""


def test_declared_refusals_are_refused_by_mindspore_itself() -> None:
    lines = [ln for ln in _run_script(REFUSALS).splitlines() if ln.startswith("RESULT ")]
    got = json.loads(lines[-1][len("RESULT ") :])
    expected_error = {
        "float64": "TypeError",
        "bfloat16": "TypeError",
        "nhwc_cpu": "ValueError",
        "conv1d_tuple_padding": "TypeError",
        "conv1d_output_padding": "TypeError",
        "ops_has_no_1d": "AttributeError",
        "conv_transpose2d_cpu": "RuntimeError",
        "depth_dilation": "ValueError",
        "nn2_op_at_limit": "ValueError",
        "ops3_op_at_limit": "ValueError",
        "ops2_op_at_stride": "RuntimeError",
    }
    for name, exc in expected_error.items():
        assert got[name] == exc, (name, got[name])
    assert got["ops2_op_below_stride"] == "ok"


# --- mindspore in its worker ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, Any]]:
    """Both targets in a freshly started mindspore worker (stopped again afterwards)."""
    worker = worker_for("mindspore")
    worker.stop()
    yield {"nn": isolated(MindSporeNN()), "ops": isolated(MindSporeOps())}
    worker.stop()


def test_numpy_abi_warm_up_is_recorded_and_a_first_1d_case_passes(targets: dict[str, Any]) -> None:
    env = targets["nn"].runner.environment()
    warm = env["numpy_abi_warmup"]
    assert set(warm) >= {
        "nn.Conv1dTranspose",
        "nn.Conv2dTranspose",
        "nn.Conv3dTranspose",
        "ops.Conv2DTranspose",
        "ops.Conv3DTranspose",
        "ops.bias_add",
    }
    for label, outcome in warm.items():
        assert outcome == "ok" or outcome.endswith("second call: ok"), (label, outcome)
    if int(env["numpy_version"].split(".")[0]) >= 2:
        assert "SystemError" in warm["nn.Conv1dTranspose"]
    assert env["device_target"] == "CPU" and env["mode"] == "PYNATIVE"
    assert (
        judge(
            _case(in_channels=4, out_channels=6, groups=2, stride=2, dilation=2, pads_begin=1, pads_end=1),
            targets["nn"],
        ).outcome
        == Outcome.PASS
    )


def test_seed_001_example(targets: dict[str, Any]) -> None:
    # nn.Conv2dTranspose(3, 64, 4, has_bias=False, pad_mode='pad') on (1, 3, 16, 50) -> (1, 64, 19, 53)
    case = Case.make(input_size=(16, 50), in_channels=3, out_channels=64, kernel_size=4, bias=False)
    for name in ("nn", "ops"):
        verdict = judge(case, targets[name])
        assert verdict.outcome == Outcome.PASS, (name, verdict.message)
        assert verdict.actual_shape == [1, 64, 19, 53]


PASSING = [
    _case(
        input_size=(5, 6),
        in_channels=4,
        out_channels=2,
        groups=2,
        kernel_size=(3, 2),
        stride=(2, 3),
        dilation=(1, 2),
        pads_begin=(1, 0),
        pads_end=(2, 1),
        seed=1,
    ),
    _case(input_size=(5, 6), kernel_size=3, stride=2, pads_begin=1, pads_end=1, seed=0),
    _case(input_size=(3, 3), stride=3, pads_begin=(3, 0), pads_end=(0, 3), bias=False, seed=3),
    _case(
        input_size=(3, 4, 5),
        in_channels=4,
        out_channels=6,
        groups=2,
        kernel_size=(2, 3, 3),
        stride=(2, 1, 2),
        dilation=(1, 2, 1),
        pads_begin=(1, 0, 2),
        pads_end=(0, 2, 1),
        output_padding=(1, 0, 0),
        distribution="uniform",
        seed=1,
    ),
    _case(input_size=4, rank=3, kernel_size=3, stride=2, pads_begin=1, pads_end=1, output_padding=1, seed=0),
    _case(input_size=(3, 3, 3), kernel_size=2, stride=3, output_padding=2, distribution="small_int", seed=2),
]


@pytest.mark.parametrize("case", PASSING, ids=lambda c: c.short()[:60])
@pytest.mark.parametrize("name", ["nn", "ops"])
def test_pad_forms_groups_dilation_and_bias_match_the_reference(
    targets: dict[str, Any], name: str, case: Case
) -> None:
    verdict = judge(case, targets[name])
    assert verdict.outcome == Outcome.PASS, verdict.message


def test_nn_2d_output_padding_appends_zeros_after_the_bias(targets: dict[str, Any]) -> None:
    """Finding: nn.Conv2dTranspose pads its output with zeros (ops.Pad after BiasAdd)."""
    case = _case(input_size=(4, 4), stride=2, pads_begin=1, pads_end=1, output_padding=1)
    verdict = judge(case, targets["nn"])
    assert verdict.outcome == Outcome.VALUE_MISMATCH
    assert verdict.arrays is not None
    actual = verdict.arrays["actual"]
    assert np.all(actual[:, :, -1, :] == 0) and np.all(actual[:, :, :, -1] == 0)
    assert judge(case, targets["ops"]).outcome == Outcome.PASS
    assert (
        judge(
            case.replace(
                rank=3,
                input_size=(4, 4, 4),
                kernel_size=(3, 3, 3),
                stride=(2, 2, 2),
                dilation=(1, 1, 1),
                pads_begin=(1, 1, 1),
                pads_end=(1, 1, 1),
                output_padding=(1, 1, 1),
            ),
            targets["nn"],
        ).outcome
        == Outcome.PASS
    )


OP_AT_STRIDE_3D = {
    "input_size": (1, 1, 1),
    "kernel_size": 1,
    "dilation": (1, 1, 2),
    "output_padding": (0, 0, 1),
}


@pytest.mark.parametrize(
    ("name", "kw", "needle"),
    [
        # Conv3DTranspose accepts output_padding < max(stride, dilation) but its CPU kernel fails
        # once output_padding reaches the stride.
        ("nn", OP_AT_STRIDE_3D, "primitive descriptor"),
        ("ops", OP_AT_STRIDE_3D, "primitive descriptor"),
        # nn.Conv2dTranspose computes F − crops first and pads afterwards: a negative size fails.
        (
            "nn",
            {
                "input_size": (1, 1),
                "kernel_size": 1,
                "stride": (4, 1),
                "pads_begin": (3, 0),
                "output_padding": (3, 0),
            },
            "Shape",
        ),
    ],
)
def test_documented_configurations_mindspore_fails_on(
    targets: dict[str, Any], name: str, kw: dict[str, Any], needle: str
) -> None:
    verdict = judge(_case(in_channels=1, out_channels=1, bias=False, **kw), targets[name])
    assert verdict.outcome == Outcome.ERROR and needle in verdict.message, verdict.message


@pytest.mark.parametrize(
    ("name", "mode", "kw", "outcome", "documented"),
    [
        # 2-D 'same' is documented as H·s with the odd crop at the end: both hold.
        ("nn", "same", {"input_size": (5, 4), "kernel_size": 4, "stride": 2}, Outcome.PASS, [10, 8]),
        (
            "ops",
            "same",
            {"input_size": (5, 4), "kernel_size": (5, 3), "stride": 2, "dilation": (1, 2)},
            Outcome.PASS,
            [10, 8],
        ),
        # 2-D 'valid' is documented as H·s + max((d−1)(k−1) − s, 0); the layer gives the full output.
        ("nn", "valid", {"input_size": (5, 4), "kernel_size": 3, "stride": 2}, Outcome.DOC_MISMATCH, [10, 8]),
        # ops.Conv2DTranspose cannot produce that documented size: it refuses the input_size.
        ("ops", "valid", {"input_size": (5, 4), "kernel_size": 3, "stride": 2}, Outcome.ERROR, [10, 8]),
        # 1-D 'same' is documented as (L + s − 1)/s.
        ("nn", "same", {"input_size": 5, "kernel_size": 3, "stride": 2}, Outcome.DOC_MISMATCH, [3]),
        # 3-D sizes are documented with forward-convolution formulas: ⌊D/s + 1⌋.
        (
            "ops",
            "same",
            {"input_size": (4, 3, 5), "kernel_size": 3, "stride": 2},
            Outcome.DOC_MISMATCH,
            [3, 2, 3],
        ),
    ],
)
def test_named_modes_against_the_documentation(
    targets: dict[str, Any], name: str, mode: str, kw: dict[str, Any], outcome: str, documented: list[int]
) -> None:
    verdict = judge(_case(padding_mode=mode, seed=1, **kw), targets[name])
    assert verdict.outcome == outcome, verdict.message
    assert verdict.expected_shape[2:] == documented


def test_float16_sums_in_float32_and_rounds_once_before_the_bias(targets: dict[str, Any]) -> None:
    # One output receives 2048·1 + 1 + 1 + 1: 2052 when summed in float32 and rounded once to
    # float16, 2048 when every partial sum is float16.
    case = Case.make(input_size=(4, 1), kernel_size=(4, 1), bias=False, dtype="float16")
    weight = np.array([2048.0, 1.0, 1.0, 1.0]).reshape(case.weight_shape)
    arrays = CaseArrays(x=np.ones(case.input_shape), weight=weight, bias=None, dtype="float16")
    for name in ("nn", "ops"):
        assert targets[name].runner.run(case, arrays)[0, 0, 3, 0] == 2052.0
    with_bias = _case(
        input_size=(4, 4),
        in_channels=6,
        stride=2,
        pads_begin=1,
        pads_end=0,
        dtype="float16",
        distribution="uniform",
        seed=5,
    )
    for name in ("nn", "ops"):
        assert judge(with_bias, targets[name]).outcome == Outcome.PASS


# --- snippets: standalone code that reproduces what run() computes ------------------------------

SNIPPETS = r"""
import sys, numpy as np
paths = sys.argv[1:]
outs = {}
for i, path in enumerate(paths):
    scope = {}
    exec(open(path).read(), scope)
    outs[f"y{i}"] = scope["y"].asnumpy()
np.savez(paths[0] + ".out.npz", **outs)
"""


def test_snippets_run_standalone_and_reproduce_the_reference(tmp_path: Path) -> None:
    cases = [
        (MindSporeNN(), _case(pads_begin=1, pads_end=1, stride=2, seed=1)),
        (MindSporeNN(), _case(input_size=(4, 5), pads_begin=(1, 0), pads_end=(0, 2), stride=2, seed=2)),
        (
            MindSporeOps(),
            _case(
                input_size=(4, 5), pads_begin=(1, 0), pads_end=(0, 2), stride=2, output_padding=(1, 1), seed=3
            ),
        ),
        (MindSporeOps(), _case(input_size=(3, 3, 2), stride=2, output_padding=1, dtype="float16", seed=4)),
    ]
    paths = []
    for i, (target, case) in enumerate(cases):
        npz = save_arrays(case, tmp_path / f"case{i}.npz")
        path = tmp_path / f"snippet{i}.py"
        path.write_text(target.snippet(case, str(npz)), encoding="utf-8")
        paths.append(str(path))
    _run_script(SNIPPETS, *paths)
    outs = np.load(paths[0] + ".out.npz")
    for i, (_, case) in enumerate(cases):
        arrays = make_arrays(case)
        expected = reference_for_case(case, arrays.x, arrays.weight, arrays.bias)
        got = outs[f"y{i}"].astype(np.float64)
        assert got.shape == case.output_shape
        np.testing.assert_allclose(
            got,
            expected,
            rtol=2e-3 if case.dtype == "float16" else 1e-5,
            atol=2e-2 if case.dtype == "float16" else 1e-5,
        )
