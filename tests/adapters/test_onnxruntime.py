"""The ONNX model built from a case, and the ONNX Runtime targets judged against the reference."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.onnxruntime import model as onnx_model
from adapters.onnxruntime.targets import (
    OnnxRuntime,
    OnnxRuntimeOpset11,
    OnnxRuntimeOutputShape,
    OnnxRuntimeTensorRTEP,
)
from harness.engine.artefacts import save_arrays
from harness.engine.verdict import judge
from harness.errors import TargetUnavailable
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.modes import resolve_mode
from harness.model.outcomes import Outcome


def _model(case: Case) -> Any:
    """The ModelProto the opset-22 target's plan builds for ``case`` (the plan is executed)."""
    target = OnnxRuntime()
    return target.executor.execute(target.plan(case), make_arrays(case).container())["model"]


HAVE_ONNX = importlib.util.find_spec("onnx") is not None
HAVE_ORT = HAVE_ONNX and importlib.util.find_spec("onnxruntime") is not None
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="onnx is not installed (the onnx extra)")
needs_ort = pytest.mark.skipif(not HAVE_ORT, reason="onnxruntime/onnx are not installed (the onnx extra)")


def _case(**kw: Any) -> Case:
    base: dict[str, Any] = {
        "input_size": 5,
        "kernel_size": 3,
        "in_channels": 2,
        "out_channels": 3,
        "dtype": "float32",
    }
    base.update(kw)
    return Case.make(**base)


# --- the model (pure, or onnx only) ----------------------------------------------------------------


def test_attributes_of_an_explicit_case() -> None:
    case = _case(
        input_size=(4, 5, 3),
        kernel_size=(2, 3, 1),
        stride=(2, 1, 3),
        dilation=(1, 2, 1),
        pads_begin=(1, 0, 2),
        pads_end=(0, 3, 1),
        output_padding=(1, 0, 0),
        in_channels=4,
        out_channels=6,
        groups=2,
    )
    attrs = onnx_model.attributes(case)
    assert attrs == {
        "kernel_shape": [2, 3, 1],
        "strides": [2, 1, 3],
        "dilations": [1, 2, 1],
        "group": 2,
        "pads": [1, 0, 2, 0, 3, 1],
        "output_padding": [1, 0, 0],
    }


def test_no_output_padding_attribute_when_zero_and_named_modes_use_auto_pad() -> None:
    assert "output_padding" not in onnx_model.attributes(_case(pads_begin=1, pads_end=1))
    for mode, value in (("same", "SAME_UPPER"), ("same_lower", "SAME_LOWER"), ("valid", "VALID")):
        attrs = onnx_model.attributes(_case(stride=2, padding_mode=mode))
        assert attrs["auto_pad"] == value
        assert "pads" not in attrs and "output_shape" not in attrs


def test_output_shape_form_gives_the_spatial_size_only() -> None:
    case = _case(input_size=(6, 4), stride=2, pads_begin=1, pads_end=1, output_padding=1)
    attrs = onnx_model.attributes(case, use_output_shape=True)
    assert attrs["output_shape"] == [12, 8]  # (6-1)*2+3-2+1 and (4-1)*2+3-2+1, by hand
    assert "pads" not in attrs and "output_padding" not in attrs


@pytest.mark.parametrize(
    ("total", "auto_pad", "expected"),
    [
        (3, "NOTSET", (2, 1)),
        (3, "SAME_UPPER", (1, 2)),
        (3, "SAME_LOWER", (2, 1)),
        (4, "NOTSET", (2, 2)),
        (0, "NOTSET", (0, 0)),
    ],
)
def test_derived_pads_follow_the_spec_equations(total: int, auto_pad: str, expected: tuple[int, int]) -> None:
    # ConvTranspose-22: SAME_UPPER begin = total/2, otherwise begin = total - total/2 (integer halves)
    assert onnx_model.derived_pads(total, auto_pad) == expected


@pytest.mark.parametrize(
    ("begin", "end", "op", "ok"),
    [
        (1, 1, 1, True),
        (1, 0, 0, True),
        (2, 1, 0, True),
        (0, 1, 0, False),
        (2, 0, 0, False),
        (0, 0, 1, True),
        (0, 0, 2, False),
        (1, 0, 2, False),
    ],
    ids=[
        "pytorch-like",
        "odd-total",
        "total-3",
        "extra-at-end",
        "begin-too-big",
        "past-full-below-stride",
        "past-full-by-stride",
        "past-full-with-begin-crop",
    ],
)
def test_output_shape_expressibility(begin: int, end: int, op: int, ok: bool) -> None:
    reason = onnx_model.output_shape_reason(
        _case(stride=2, pads_begin=begin, pads_end=end, output_padding=op)
    )
    assert (reason is None) == ok, reason


@pytest.mark.parametrize(
    ("stride", "dilation", "op", "ok"),
    [(2, 1, 1, True), (2, 1, 2, False), (1, 3, 2, True), (1, 3, 3, False), (3, 3, 2, True)],
)
def test_output_padding_limit_from_the_spec(stride: int, dilation: int, op: int, ok: bool) -> None:
    reason = onnx_model.output_padding_reason(_case(stride=stride, dilation=dilation, output_padding=op))
    assert (reason is None) == ok
    if not ok:
        assert reason is not None and "stride/dilation" in reason


@needs_onnx
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_model_proto_is_valid_and_carries_the_case(bias: bool, dtype: str) -> None:
    import onnx
    from onnx import helper

    case = _case(
        input_size=(3, 4),
        in_channels=4,
        out_channels=2,
        groups=2,
        stride=(2, 1),
        pads_begin=(1, 0),
        pads_end=(0, 1),
        output_padding=(1, 0),
        bias=bias,
        dtype=dtype,
    )
    model = _model(case)
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 22)]
    (node,) = model.graph.node
    assert node.op_type == "ConvTranspose"
    assert list(node.input) == (["X", "W", "B"] if bias else ["X", "W"])
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["pads"] == [1, 0, 0, 1]
    assert attrs["output_padding"] == [1, 0]
    assert attrs["group"] == 2
    elem = onnx.TensorProto.FLOAT if dtype == "float32" else onnx.TensorProto.FLOAT16
    ranks = {}
    for vi in model.graph.input:
        assert vi.type.tensor_type.elem_type == elem
        dims = vi.type.tensor_type.shape.dim
        assert all(not d.HasField("dim_value") for d in dims)  # symbolic: one session per config
        ranks[vi.name] = len(dims)
    assert ranks == ({"X": 4, "W": 4, "B": 1} if bias else {"X": 4, "W": 4})


@needs_onnx
def test_documented_modes_quote_the_installed_spec() -> None:
    from onnx import defs

    for opset in (11, 22):
        doc = defs.get_schema("ConvTranspose", opset).attributes["auto_pad"].description
        assert "output_shape[i] = input_shape[i] * strides[i]" in doc
        assert "extra padding is added at the end for SAME_UPPER and at the beginning for SAME_LOWER" in doc
        modes = onnx_model.documented_modes(opset)
        assert modes["same"].split == "extra_at_end" and modes["same_lower"].split == "extra_at_begin"
        assert f"ConvTranspose-{opset}" in modes["same"].source
    # L·s = 8, full (4−1)·2 + 5 = 11: a crop of 3, the odd element first for SAME_LOWER
    case = _case(input_size=4, kernel_size=5, stride=2, padding_mode="same_lower")
    explicit = resolve_mode(case, onnx_model.documented_modes(22)["same_lower"])
    assert (explicit.pads_begin, explicit.pads_end, explicit.output_size) == ((2,), (1,), (8,))
    upper = resolve_mode(case.replace(padding_mode="same"), onnx_model.documented_modes(22)["same"])
    assert (upper.pads_begin, upper.pads_end) == ((1,), (2,))


# --- the targets (onnxruntime) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ort_targets() -> dict[str, OnnxRuntime]:
    """One in-process instance of each CPU target (onnxruntime clashes with no framework)."""
    if not HAVE_ORT:
        pytest.skip("onnxruntime/onnx are not installed (the onnx extra)")
    return {t.name: t for t in (OnnxRuntime(), OnnxRuntimeOpset11(), OnnxRuntimeOutputShape())}


RUN_CASES = {
    "1d-stride-asym-crop": _case(input_size=7, stride=2, pads_begin=1, pads_end=2),
    "1d-groups-dilation-batch": _case(
        in_channels=4, out_channels=6, groups=2, dilation=2, stride=2, batch=2, bias=False
    ),
    "2d-nonsquare-op-past-full": _case(
        input_size=(4, 5), kernel_size=(2, 3), stride=(3, 1), output_padding=(2, 0), distribution="uniform"
    ),
    "2d-crop-beyond-kernel": _case(
        input_size=(3, 4), kernel_size=2, stride=1, pads_begin=(2, 0), pads_end=(0, 1)
    ),
    "3d-groups-dilation": _case(
        input_size=(3, 3, 2),
        kernel_size=(2, 3, 2),
        in_channels=6,
        out_channels=4,
        groups=2,
        dilation=(1, 2, 1),
        stride=(1, 2, 2),
    ),
    "2d-f16": _case(input_size=(5, 4), stride=2, pads_begin=1, pads_end=1, output_padding=1, dtype="float16"),
    "3d-f16-small-int": _case(
        input_size=(2, 3, 3), kernel_size=2, stride=2, dtype="float16", distribution="small_int"
    ),
    "2d-f32-large": _case(input_size=(3, 3), stride=2, distribution="large"),
}


@needs_ort
@pytest.mark.parametrize("label", list(RUN_CASES))
def test_representative_cases_pass(ort_targets: dict[str, OnnxRuntime], label: str) -> None:
    case = RUN_CASES[label]
    for name in ("onnxruntime", "onnxruntime.opset11"):
        verdict = judge(case, ort_targets[name])
        assert verdict.outcome == Outcome.PASS, f"{name} {label}: {verdict.message}"
        assert verdict.actual_shape == list(case.output_shape)


@needs_ort
@pytest.mark.parametrize(
    "case",
    [
        _case(stride=2, pads_begin=1, pads_end=1, output_padding=1),
        _case(input_size=(3, 4), stride=2, pads_begin=(2, 1), pads_end=(1, 0)),
        _case(input_size=(2, 2, 3), kernel_size=2, stride=3, pads_begin=1, pads_end=0),
    ],
    ids=["pytorch-like", "2d-odd-totals", "3d-begin-only"],
)
def test_output_shape_variant_passes_what_it_can_express(
    ort_targets: dict[str, OnnxRuntime], case: Case
) -> None:
    target = ort_targets["onnxruntime.output_shape"]
    assert target.supports(case) is None
    verdict = judge(case, target)
    assert verdict.outcome == Outcome.PASS, verdict.message


@needs_ort
def test_output_shape_variant_refuses_the_split_it_cannot_reach(ort_targets: dict[str, OnnxRuntime]) -> None:
    case = _case(stride=2, pads_begin=0, pads_end=1)  # total 1: the spec puts it at the begin
    verdict = judge(case, ort_targets["onnxruntime.output_shape"])
    assert verdict.outcome == Outcome.UNSUPPORTED and "begin pad 1" in verdict.message
    assert judge(case, ort_targets["onnxruntime"]).outcome == Outcome.PASS
    mode = _case(stride=2, padding_mode="same")
    assert "no named padding mode" in (ort_targets["onnxruntime.output_shape"].supports(mode) or "")


@needs_ort
@pytest.mark.parametrize(
    ("mode", "kernel", "stride", "dilation"),
    [
        ("same", 4, 2, 1),
        ("same_lower", 4, 2, 1),
        ("same", 3, 2, 2),
        ("same_lower", 3, 3, 1),
        ("valid", 3, 2, 1),
        ("valid", 2, 3, 2),
    ],
)
def test_named_modes_match_the_spec_when_the_kernel_reaches_the_stride(
    ort_targets: dict[str, OnnxRuntime], mode: str, kernel: int, stride: int, dilation: int
) -> None:
    case = _case(input_size=(4, 3), kernel_size=kernel, stride=stride, dilation=dilation, padding_mode=mode)
    for name in ("onnxruntime", "onnxruntime.opset11"):
        verdict = judge(case, ort_targets[name])
        assert verdict.outcome == Outcome.PASS, f"{name}: {verdict.message}"
        if mode != "valid":
            assert verdict.actual_shape[2:] == [4 * stride, 3 * stride]


@needs_ort
@pytest.mark.parametrize("mode", ["same", "same_lower"])
def test_same_with_kernel_shorter_than_stride_departs_from_the_spec(
    ort_targets: dict[str, OnnxRuntime], mode: str
) -> None:
    # A finding (onnxruntime 1.31.1): the spec documents L·s = 8; ORT returns the full output
    # (L-1)·s + k = 7, i.e. min(L·s, F), TensorRT's documented SAME size. Fails once ORT changes.
    case = _case(input_size=2, kernel_size=3, stride=4, padding_mode=mode)
    verdict = judge(case, ort_targets["onnxruntime"])
    assert verdict.outcome == Outcome.DOC_MISMATCH, verdict.message
    assert verdict.expected_shape[2:] == [8] and verdict.actual_shape[2:] == [7]


@needs_ort
@pytest.mark.parametrize("dtype", ["float64", "bfloat16"])
def test_dtypes_declared_unsupported_are_refused_by_ort(
    ort_targets: dict[str, OnnxRuntime], dtype: str
) -> None:
    target = ort_targets["onnxruntime"]
    case = _case(dtype=dtype)
    assert f"does not run {dtype}" in (target.supports(case) or "")
    with pytest.raises(Exception, match=r"NOT_IMPLEMENTED|Could not find an implementation"):
        target.run(case, make_arrays(case))  # attempted directly, bypassing supports()


@needs_ort
def test_float32_and_float16_sessions_really_run(ort_targets: dict[str, OnnxRuntime]) -> None:
    target = ort_targets["onnxruntime"]
    for dtype in ("float32", "float16"):
        case = _case(dtype=dtype)
        assert target.supports(case) is None
        out = target.run(case, make_arrays(case))
        assert out.shape == case.output_shape and np.all(np.isfinite(out))


@needs_ort
def test_channels_last_is_refused_with_the_reason(ort_targets: dict[str, OnnxRuntime]) -> None:
    reason = ort_targets["onnxruntime"].supports(_case(input_size=(3, 3), layout="channels_last"))
    assert reason is not None and "NC*" in reason and "channels-last" in reason


@needs_ort
def test_output_padding_beyond_the_spec_limit_is_unsupported(ort_targets: dict[str, OnnxRuntime]) -> None:
    verdict = judge(_case(stride=2, output_padding=2), ort_targets["onnxruntime"])
    assert verdict.outcome == Outcome.UNSUPPORTED and "stride/dilation" in verdict.message


@needs_ort
def test_output_padding_below_dilation_only_is_refused_by_ort(ort_targets: dict[str, OnnxRuntime]) -> None:
    # A finding (onnxruntime 1.31.1): the spec allows op < stride *or* dilation (PyTorch's rule);
    # ORT's kernel refuses op ≥ stride ("output_padding (1) may be too large for stride (1)").
    case = _case(stride=1, dilation=2, output_padding=1)
    target = ort_targets["onnxruntime"]
    assert target.supports(case) is None
    verdict = judge(case, target)
    assert verdict.outcome == Outcome.ERROR and "output_padding" in verdict.message


@needs_ort
def test_sessions_are_cached_per_model() -> None:
    target = OnnxRuntime()
    first = _case(input_size=4, seed=1)
    for case in (first, first.replace(input_size=(9,), seed=2, batch=3)):
        assert judge(case, target).outcome == Outcome.PASS
    assert (target.session_misses, target.session_hits) == (1, 1)  # dims are symbolic: same model
    assert target.run_info() == {"session_providers": ["CPUExecutionProvider"], "session_cache_hit": True}
    assert judge(first.replace(stride=(2,)), target).outcome == Outcome.PASS
    assert judge(first.replace(bias=False), target).outcome == Outcome.PASS
    assert (target.session_misses, target.session_hits) == (3, 1)


@needs_ort
def test_on_the_cpu_only_the_last_session_is_kept() -> None:
    from harness.workers.zygote import thread_count

    target = OnnxRuntime()
    first = _case(input_size=4, seed=1)
    assert judge(first, target).outcome == Outcome.PASS
    before = thread_count()
    for stride in (2, 3, 4):
        assert judge(first.replace(stride=(stride,)), target).outcome == Outcome.PASS
    assert judge(first.replace(seed=2), target).outcome == Outcome.PASS  # its session was let go
    assert (target.session_misses, target.session_hits) == (5, 0)
    assert thread_count() <= before  # no idle session's threads are left behind


@needs_ort
def test_float16_is_rounded_once_from_float32() -> None:
    # The declared model: ORT's CPU provider casts float16 to float and back around the node.
    target = OnnxRuntime()
    case = _case(input_size=(6, 5), in_channels=8, out_channels=4, stride=2, dtype="float16", seed=3)
    arrays = make_arrays(case)
    held32 = {k: v.astype(np.float32) for k, v in arrays.container().items()}
    import onnxruntime as ort

    model = _model(case.replace(dtype="float32"))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y32,) = session.run(["Y"], {"X": held32["x"], "W": held32["weight"], "B": held32["bias"]})
    got = target.run(case, arrays)
    assert np.array_equal(got, y32.astype(np.float16).astype(np.float64))


@needs_ort
def test_environment_names_versions_and_providers(ort_targets: dict[str, OnnxRuntime]) -> None:
    env = ort_targets["onnxruntime.opset11"].environment()
    assert env["opset"] == 11 and env["device"] == "cpu"
    assert "CPUExecutionProvider" in env["available_providers"]
    assert env["requested_providers"] == ["CPUExecutionProvider"]
    assert env["framework_version"] == ort_targets["onnxruntime"].framework_version()


@needs_ort
def test_isolated_worker_runs_the_target() -> None:
    from harness.workers.client import isolated
    from harness.workers.worker import shutdown_all

    try:
        target = isolated(OnnxRuntime())
        for case in (RUN_CASES["1d-stride-asym-crop"], RUN_CASES["2d-f16"]):
            verdict = judge(case, target)
            assert verdict.outcome == Outcome.PASS, verdict.message
        assert target.runner.environment()["isolated"] is True
    finally:
        shutdown_all()


def test_unavailable_without_onnx(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "onnx" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    reason = OnnxRuntime.unavailable_reason()
    assert reason is not None and "onnx" in reason
    if HAVE_ORT:
        assert reason == "onnx is not installed (pip install the onnx extra)"


def test_capabilities_per_device_and_the_tensorrt_ep_variant() -> None:
    cpu = OnnxRuntime("cpu").capabilities()
    assert cpu.dtypes == {"float32", "float16"} and cpu.layouts == {"channels_first"}
    assert cpu.padding_modes["same"].api_value == "SAME_UPPER"
    cuda = OnnxRuntime("cuda").capabilities()
    assert cuda.dtypes == {"float64", "float32", "float16"}
    trt_ep = OnnxRuntimeTensorRTEP("cuda")
    assert trt_ep.capabilities().devices == {"cuda"}
    assert "float64" not in trt_ep.capabilities().dtypes
    assert "does not run on device 'cpu'" in (OnnxRuntimeTensorRTEP("cpu").supports(_case()) or "")
    assert OnnxRuntimeOutputShape().capabilities().padding_modes == {}


def test_pure_hooks_import_no_framework() -> None:
    code = (
        "import sys\n"
        "from adapters.onnxruntime.targets import OnnxRuntimeOutputShape\n"
        "from harness.model.case import Case\n"
        "t = OnnxRuntimeOutputShape('cpu')\n"
        "c = Case.make(input_size=5, stride=2, pads_begin=1, pads_end=1, output_padding=1)\n"
        "t.capabilities(); t.supports(c); t.snippet(c); t.unavailable_reason()\n"
        "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=root, text=True, capture_output=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# --- the snippet, run standalone ---------------------------------------------------------------------


@pytest.fixture
def snippet_run(tmp_path: Path) -> Iterator[tuple[Case, subprocess.CompletedProcess[str]]]:
    """The opset-22 snippet of a grouped, asymmetric 2D case, run beside its case.npz."""
    if not HAVE_ORT:
        pytest.skip("onnxruntime/onnx are not installed (the onnx extra)")
    case = _case(
        input_size=(3, 4),
        in_channels=4,
        out_channels=2,
        groups=2,
        stride=2,
        pads_begin=(1, 0),
        pads_end=(0, 2),
        output_padding=(1, 1),
    )
    save_arrays(case, tmp_path / "case.npz")
    (tmp_path / "snippet.py").write_text(OnnxRuntime().snippet(case), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "snippet.py"], cwd=tmp_path, text=True, capture_output=True, timeout=120, check=False
    )
    yield case, run


def test_snippet_prints_the_output_shape(snippet_run: tuple[Case, subprocess.CompletedProcess[str]]) -> None:
    case, run = snippet_run
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == str(case.output_shape)


def test_unexpressible_snippet_says_why() -> None:
    text = OnnxRuntimeOutputShape().snippet(_case(stride=2, pads_end=1))
    assert text.startswith("# not expressible in onnxruntime.output_shape")


@needs_ort
def test_cuda_without_a_gpu_provider_says_so() -> None:
    import onnxruntime as ort

    for target, provider in (
        (OnnxRuntime("cuda"), "CUDAExecutionProvider"),
        (OnnxRuntimeTensorRTEP("cuda:1"), "TensorrtExecutionProvider"),
    ):
        if provider in ort.get_available_providers():
            ((name, options),) = target.providers()
            assert name == provider and options["device_id"] in ("0", "1")
            continue
        with pytest.raises(TargetUnavailable, match=provider):
            target.prepare()


@needs_ort
def test_loading_the_target_imports_what_every_case_needs() -> None:
    # A worker preloads its targets while other work goes on; an import left to the first case
    # (onnx's takes about a second) would be paid there, in a fresh process on every fresh check.
    code = (
        "import sys\n"
        "from adapters.onnxruntime.targets import OnnxRuntime\n"
        "assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules\n"
        "OnnxRuntime('cpu').ready()\n"
        "print('onnx' in sys.modules, 'onnxruntime' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
