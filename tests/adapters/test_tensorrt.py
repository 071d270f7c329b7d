"""The TensorRT targets' pure parts: layer attributes, the operator page's output sizes, DLA and int8 rules.

Expected sizes are worked by hand from the operator page's formulas (quoted beside each test), not from the
code under test. The last section drives the targets' build-and-run path through a recording
stand-in for the ``tensorrt`` and cuda-python modules (no TensorRT exists on this machine): it checks
what the adapter asks TensorRT for, not what TensorRT computes.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tensorrt_stand_in import RUN_PATH_CASES, stand_in_modules

from adapters.registry import resolve
from adapters.tensorrt import engine
from adapters.tensorrt import model as tm
from adapters.tensorrt import targets as tt
from harness.engine.verdict import judge
from harness.model.case import Case
from harness.model.modes import resolve_mode
from harness.model.outcomes import Outcome

ROOT = Path(__file__).resolve().parents[2]


def _case(**kw: Any) -> Case:
    base: dict[str, Any] = {
        "input_size": (5, 4),
        "kernel_size": 3,
        "in_channels": 2,
        "out_channels": 3,
        "dtype": "float32",
    }
    base.update(kw)
    return Case.make(**base)


def _attrs(**kw: Any) -> tm.DeconvAttributes:
    """Layer attributes written directly (for limits too large to build a Case's arrays for)."""
    base: dict[str, Any] = {
        "num_output_maps": 4,
        "kernel_shape": (3, 3),
        "kernel_weights_shape": (2, 4, 3, 3),
        "bias_count": 0,
        "num_groups": 1,
        "stride_nd": (2, 2),
        "dilation_nd": (1, 1),
        "pre_padding": (0, 0),
        "post_padding": (0, 0),
        "padding_mode": "EXPLICIT_ROUND_DOWN",
        "input_shape": (1, 2, 4, 4),
    }
    base.update(kw)
    return tm.DeconvAttributes(**base)


# --- the operator page's output sizes, by hand -------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "n", "k", "s", "d", "pre", "post", "expected"),
    [
        # the seed's example: 3x3 input, 3x3 kernel, stride 1 → 5x5: (3−1)·1 + 3 − 0
        ("EXPLICIT_ROUND_DOWN", 3, 3, 1, 1, 0, 0, 5),
        ("EXPLICIT_ROUND_UP", 3, 3, 1, 1, 0, 0, 5),
        # DK = 2·(3−1)+1 = 5: (4−1)·2 + 5 − (1+2) = 8, the same for both explicit modes
        ("EXPLICIT_ROUND_DOWN", 4, 3, 2, 2, 1, 2, 8),
        ("EXPLICIT_ROUND_UP", 4, 3, 2, 2, 1, 2, 8),
        # SAME: min(I·S, (I−1)·S + DK) = min(8, 11) = 8; explicit padding is ignored by the mode
        ("SAME_UPPER", 4, 3, 2, 2, 0, 0, 8),
        ("SAME_LOWER", 4, 3, 2, 2, 5, 5, 8),
        # kernel shorter than stride: min(3·4, 2·4 + 2) = 10 < I·S = 12
        ("SAME_UPPER", 3, 2, 4, 1, 0, 0, 10),
        ("SAME_LOWER", 3, 2, 4, 1, 0, 0, 10),
        # k = s: min(15, 4·3 + 3) = 15
        ("SAME_UPPER", 5, 3, 3, 1, 0, 0, 15),
        ("EXPLICIT_ROUND_DOWN", 1, 1, 1, 1, 0, 0, 1),
    ],
)
def test_documented_size(
    mode: str, n: int, k: int, s: int, d: int, pre: int, post: int, expected: int
) -> None:
    assert tm.documented_size(mode, n, k, s, d, pre, post) == expected


@pytest.mark.parametrize(
    ("mode", "n", "k", "s", "d", "expected"),
    [
        # P = max(DK − S, 0) = max(5 − 2, 0) = 3; SAME_UPPER B = ⌊3/2⌋ = 1, A = 2
        ("SAME_UPPER", 4, 3, 2, 2, (1, 2)),
        # SAME_LOWER A = ⌊3/2⌋ = 1, B = 2
        ("SAME_LOWER", 4, 3, 2, 2, (2, 1)),
        # P = max(4 − 2, 0) = 2: 1 and 1 either way
        ("SAME_UPPER", 3, 4, 2, 1, (1, 1)),
        ("SAME_LOWER", 3, 4, 2, 1, (1, 1)),
        # DK = 2 < S = 4: P = 0
        ("SAME_UPPER", 3, 2, 4, 1, (0, 0)),
    ],
)
def test_same_padding_split(mode: str, n: int, k: int, s: int, d: int, expected: tuple[int, int]) -> None:
    assert tm.same_padding(n, k, s, d, mode) == expected


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown TensorRT padding mode"):
        tm.documented_size("VALID", 3, 3, 1, 1)


def test_documented_modes_resolve_to_the_seed_crops() -> None:
    modes = tm.documented_modes()
    assert set(modes) == {"same", "same_lower"}  # TensorRT has no VALID mode
    case = _case(input_size=(4, 3), kernel_size=(3, 2), stride=(2, 4), dilation=(2, 1), padding_mode="same")
    # dim 0: min(8, 11) = 8, crop 3 → B 1, A 2; dim 1: min(12, 10) = 10 = F, nothing cropped
    assert modes["same"].output_size(case) == (8, 10)
    upper = resolve_mode(case, modes["same"])
    assert (upper.pads_begin, upper.pads_end, upper.output_padding) == ((1, 0), (2, 0), (0, 0))
    lower = resolve_mode(case.replace(padding_mode="same_lower"), modes["same_lower"])
    assert (lower.pads_begin, lower.pads_end) == ((2, 0), (1, 0))
    assert tm.OPERATOR_PAGE in modes["same"].source and "SAME_UPPER" in modes["same"].split_source


# --- translation of a case --------------------------------------------------------------------------


def test_translation_of_an_explicit_case() -> None:
    case = _case(
        input_size=(5, 4),
        kernel_size=(2, 3),
        in_channels=4,
        out_channels=6,
        groups=2,
        stride=(2, 1),
        dilation=(1, 2),
        pads_begin=(1, 0),
        pads_end=(2, 1),
        output_padding=(1, 0),
        batch=2,
    )
    attrs = tm.translate(case)
    assert isinstance(attrs, tm.DeconvAttributes)
    assert attrs.num_output_maps == 6
    assert attrs.kernel_shape == (2, 3)
    assert attrs.kernel_weights_shape == (4, 3, 2, 3)  # CKRS: C_in, C_out/groups, R, S
    assert attrs.bias_count == 6
    assert attrs.num_groups == 2
    assert (attrs.stride_nd, attrs.dilation_nd) == ((2, 1), (1, 2))
    # output_padding 1 along dim 0 shortens the 2-element end crop to post_padding 1
    assert (attrs.pre_padding, attrs.post_padding) == ((1, 0), (1, 1))
    assert attrs.padding_mode == "EXPLICIT_ROUND_DOWN"
    assert attrs.input_shape == (2, 4, 5, 4)
    # (5−1)·2 + 2 − (1+1) = 8 and (4−1)·1 + 5 − (0+1) = 7
    assert attrs.output_size() == (8, 7) == case.output_size
    assert tm.translate(case, "EXPLICIT_ROUND_UP").padding_mode == "EXPLICIT_ROUND_UP"  # type: ignore[union-attr]


def test_translation_of_named_modes_and_refusals() -> None:
    same = tm.translate(_case(stride=2, padding_mode="same"))
    assert isinstance(same, tm.DeconvAttributes)
    assert (same.padding_mode, same.pre_padding, same.post_padding) == ("SAME_UPPER", (0, 0), (0, 0))
    lower = tm.translate(_case(stride=2, padding_mode="same_lower"))
    assert isinstance(lower, tm.DeconvAttributes) and lower.padding_mode == "SAME_LOWER"
    assert "no 'valid' padding mode" in str(tm.translate(_case(padding_mode="valid")))
    assert "2D or 3D only" in str(tm.translate(_case(input_size=5)))
    past = tm.translate(_case(stride=2, pads_end=(1, 0), output_padding=(2, 0)))
    assert isinstance(past, str) and "no output_padding" in past and "negative" in past
    assert isinstance(
        tm.translate(_case(stride=2, pads_end=(2, 0), output_padding=(2, 0))), tm.DeconvAttributes
    )
    with pytest.raises(ValueError, match="explicit_mode"):
        tm.translate(_case(), "SAME_UPPER")


def test_kernel_weights_are_one_contiguous_ckrs_array() -> None:
    weight = np.arange(4 * 3 * 2 * 3, dtype=np.float64).reshape(4, 3, 2, 3)[:, :, :, :]
    strided = np.asfortranarray(weight)
    kernel = tm.kernel_weights(strided, "float16")
    assert kernel.flags.c_contiguous and kernel.dtype == np.float16 and kernel.shape == (4, 3, 2, 3)
    # flat index of [c=3, k=2, r=1, s=0] in CKRS order: ((3·3 + 2)·2 + 1)·3 + 0 = 69
    assert kernel.ravel()[69] == weight[3, 2, 1, 0] == 69.0


def test_volume_limit_at_two_to_the_31() -> None:
    # input 1·2·32768·32768 = 2^31 elements: allowed ("at most 2^31")
    at_limit = _attrs(
        input_shape=(1, 2, 32768, 32768), num_output_maps=1, kernel_shape=(1, 1), stride_nd=(1, 1)
    )
    assert at_limit.output_size() == (32768, 32768)
    assert tm.volume_reason(at_limit) is None
    over_input = _attrs(
        input_shape=(1, 2, 32768, 32769), num_output_maps=1, kernel_shape=(1, 1), stride_nd=(1, 1)
    )
    assert "input tensor would hold 2147549184" in (tm.volume_reason(over_input) or "")
    # output 1·2·32768·32768 + one more row: the input is small, the output is over
    over_output = _attrs(
        input_shape=(1, 1, 32768, 32768), num_output_maps=2, kernel_shape=(2, 1), stride_nd=(1, 1)
    )
    assert "output tensor would hold 2147549184" in (tm.volume_reason(over_output) or "")


# --- DLA eligibility, boundary values of each rule ---------------------------------------------------


def test_a_plain_fp16_layer_is_dla_eligible() -> None:
    assert tm.dla_reason(_attrs(), "float16") is None
    assert tm.dla_reason(_attrs(), "int8") is None


@pytest.mark.parametrize(
    ("change", "precision", "fragment"),
    [
        ({}, "float32", "FP16 or INT8"),
        (
            {
                "kernel_shape": (3, 3, 3),
                "stride_nd": (1, 1, 1),
                "dilation_nd": (1, 1, 1),
                "pre_padding": (0, 0, 0),
                "post_padding": (0, 0, 0),
                "input_shape": (1, 2, 4, 4, 4),
            },
            "float16",
            "2D",
        ),
        ({"num_groups": 2}, "float16", "num_groups 1"),
        ({"dilation_nd": (1, 2)}, "float16", "dilated"),
        ({"pre_padding": (1, 0)}, "float16", "padding 0"),
        ({"post_padding": (0, 1)}, "float16", "padding 0"),
        ({"padding_mode": "SAME_UPPER", "kernel_shape": (3, 3), "stride_nd": (2, 2)}, "float16", "padding 0"),
    ],
)
def test_dla_refusals(change: dict[str, Any], precision: str, fragment: str) -> None:
    reason = tm.dla_reason(_attrs(**change), precision)
    assert reason is not None and fragment in reason


def test_same_mode_without_padding_is_dla_eligible() -> None:
    # P = max(DK − S, 0) = max(2 − 2, 0) = 0: SAME pads nothing
    assert tm.dla_reason(_attrs(padding_mode="SAME_LOWER", kernel_shape=(2, 2)), "float16") is None


@pytest.mark.parametrize(
    ("dims", "ok"),
    [
        ((1, 1), True),
        ((32, 32), True),
        ((33, 1), False),
        ((1, 33), False),
        ((1, 64), True),
        ((64, 1), True),
        ((96, 1), True),
        ((1, 128), True),
        ((64, 64), False),
        ((2, 64), False),
        ((1, 65), False),
        ((1, 256), False),
    ],
)
@pytest.mark.parametrize("what", ["kernel_shape", "stride_nd"])
def test_dla_kernel_and_stride_ranges(what: str, dims: tuple[int, int], ok: bool) -> None:
    reason = tm.dla_reason(_attrs(**{what: dims}), "float16")
    assert (reason is None) == ok, reason


@pytest.mark.parametrize(
    ("change", "ok"),
    [
        ({"num_output_maps": 8192}, True),
        ({"num_output_maps": 8193}, False),
        ({"input_shape": (4096, 2, 4, 4)}, True),
        ({"input_shape": (4097, 2, 4, 4)}, False),
        ({"input_shape": (1, 8192, 1, 1)}, True),
        ({"input_shape": (1, 8193, 1, 1)}, False),
        ({"input_shape": (1, 2, 1, 8192), "kernel_shape": (1, 1), "stride_nd": (1, 1)}, True),
        ({"input_shape": (1, 2, 1, 8193), "kernel_shape": (1, 1), "stride_nd": (1, 1)}, False),
        # output (4097−1)·2 + 1 = 8193 along the last dimension, from an input of 4097
        ({"input_shape": (1, 2, 1, 4097), "kernel_shape": (1, 1), "stride_nd": (1, 2)}, False),
        ({"input_shape": (1, 2, 1, 4096), "kernel_shape": (1, 1), "stride_nd": (1, 2)}, True),
    ],
)
def test_dla_size_limits(change: dict[str, Any], ok: bool) -> None:
    reason = tm.dla_reason(_attrs(**change), "float16")
    assert (reason is None) == ok, reason


# --- int8 rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c_in", "c_out", "groups", "ok"),
    [
        (3, 5, 1, True),
        (8, 8, 2, True),
        (8, 6, 2, False),
        (6, 8, 2, False),
        (12, 24, 3, True),
        (12, 18, 3, False),
        (16, 16, 4, True),
        (4, 4, 2, False),
    ],
)
def test_int8_channels_per_group(c_in: int, c_out: int, groups: int, ok: bool) -> None:
    reason = tm.int8_groups_reason(c_in, c_out, groups)
    assert (reason is None) == ok, reason
    if not ok:
        assert reason is not None and "multiple of 4" in reason


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        ([0.0, 0.0], 1.0),
        ([-2.0, 1.0, 2.0], 1.0),
        ([-127.0, 3.0], 1.0),
        ([128.0, 1.0], 128 / 127),
        ([0.5, -0.25], 0.5 / 127),
        ([-254.0], 2.0),
    ],
)
def test_int8_scale_choice(values: list[float], scale: float) -> None:
    assert tm.int8_scale(np.array(values)) == pytest.approx(scale, rel=1e-15)
    low, high = tm.dynamic_range(np.array(values))
    assert low == -high == pytest.approx(-127 * scale, rel=1e-15)


# --- the targets' capability models and availability (no tensorrt import) ---------------------------


def test_capability_models() -> None:
    gpu = tt.TensorRTTarget("cuda")
    caps = gpu.capabilities()
    assert caps.ranks == {2, 3} and caps.dtypes == {"float32", "float16"}
    assert caps.output_padding_limit == "none" and caps.devices == {"cuda"}
    assert set(caps.padding_modes) == {"same", "same_lower"}
    assert gpu.supports(_case()) is None
    assert "does not run on device 'cpu'" in (tt.TensorRTTarget("cpu").supports(_case()) or "")
    assert "1-D" in (gpu.supports(_case(input_size=5)) or "")
    assert "float64" in (gpu.supports(_case(dtype="float64")) or "")
    assert "channels-last" in (gpu.supports(_case(layout="channels_last")) or "")
    assert "no named padding mode for 'valid'" in (gpu.supports(_case(padding_mode="valid")) or "")
    dla = tt.TensorRTDLA("cuda")
    assert dla.capabilities().dtypes == {"float16"} and dla.capabilities().ranks == {2}
    assert dla.supports(_case(dtype="float16")) is None
    assert "padding 0" in (dla.supports(_case(dtype="float16", pads_begin=1, pads_end=1)) or "")
    assert "float32" in (dla.supports(_case()) or "")
    fallback = tt.TensorRTDLAFallback("cuda")
    assert fallback.supports(_case(pads_begin=1, pads_end=1, groups=1)) is None
    assert fallback.supports(_case(in_channels=4, out_channels=4, groups=2, dilation=2)) is None


def test_registry_form_resolves_and_reports_unavailable() -> None:
    for ref in (
        "adapters.tensorrt.targets:TensorRTTarget",
        "adapters.tensorrt.targets:TensorRTDLA",
        "adapters.tensorrt.targets:TensorRTDLAFallback",
    ):
        cls = resolve(ref)
        if importlib.util.find_spec("tensorrt") is None:
            assert (cls.unavailable_reason() or "").startswith("cannot import tensorrt")


def test_unavailable_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    present: set[str] = set()
    nodes: list[str] = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name in present else None)
    monkeypatch.setattr(tt.glob, "glob", lambda pattern: fnmatch.filter(nodes, pattern))
    monkeypatch.setattr(tt.shutil, "which", lambda name: None)
    assert (tt.TensorRTTarget.unavailable_reason() or "").startswith("cannot import tensorrt")
    present.add("tensorrt")
    assert "no CUDA device" in (tt.TensorRTTarget.unavailable_reason() or "")
    nodes.append("/dev/nvidia0")
    assert "cuda-python" in (tt.TensorRTTarget.unavailable_reason() or "")
    present.add("cuda")
    assert tt.TensorRTTarget.unavailable_reason() is None
    assert "no DLA" in (tt.TensorRTDLA.unavailable_reason() or "")
    nodes.append("/dev/nvhost-nvdla0")
    assert tt.TensorRTDLA.unavailable_reason() is None
    monkeypatch.setattr(tt.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    nodes.clear()
    assert tt.cuda_device_reason() is None


def test_pure_hooks_import_no_framework() -> None:
    code = (
        "import sys\n"
        "from adapters.tensorrt.targets import TensorRTDLAFallback\n"
        "from harness.model.case import Case\n"
        "t = TensorRTDLAFallback('cuda')\n"
        "c = Case.make(input_size=(4, 4), stride=2, pads_begin=1, pads_end=1, dtype='float16')\n"
        "t.capabilities(); t.supports(c); t.snippet(c); t.unavailable_reason()\n"
        "print(sorted(m for m in ('tensorrt', 'cuda') if m in sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, text=True, capture_output=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_snippet_is_valid_python_with_the_layer_attributes() -> None:
    case = _case(
        input_size=(3, 4),
        in_channels=4,
        out_channels=2,
        groups=2,
        stride=2,
        pads_begin=(1, 0),
        pads_end=(2, 1),
        output_padding=(1, 0),
        dtype="float16",
    )
    text = tt.TensorRTDLAFallback("cuda").snippet(case)
    compile(text, "snippet.py", "exec")
    for fragment in (
        "add_deconvolution_nd(inp, 2, trt.Dims((3, 3))",
        "layer.num_groups = 2",
        "layer.pre_padding = trt.Dims((1, 0))",
        "layer.post_padding = trt.Dims((1, 1))",
        "PaddingMode.EXPLICIT_ROUND_DOWN",
        "DeviceType.DLA",
        "GPU_FALLBACK",
        "FP16",
    ):
        assert fragment in text
    assert tt.TensorRTTarget("cuda").snippet(_case(input_size=5)).startswith("# not expressible")


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([{"Name": "{ForeignNode[deconv]}", "LayerType": "DLA"}], "dla"),
        ([{"Name": "deconv", "LayerType": "Deconvolution"}], "gpu"),
        (
            [
                {"Name": "x_reformat", "LayerType": "Reformat"},
                {"Name": "deconv", "LayerType": "CaskDeconvolution"},
            ],
            "gpu",
        ),
        (["deconv"], "gpu"),
        ([{"Name": "other", "LayerType": "DLA"}], "unknown"),
    ],
)
def test_placement_from_inspector(layers: list[Any], expected: str) -> None:
    assert engine.placement_from_inspector(json.dumps({"Layers": layers}), "deconv") == expected
    assert engine.placement_from_inspector("not json", "deconv") == "unknown"


# --- the build-and-run path, against a recording stand-in for tensorrt and cuda-python -------------


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Install the stand-in modules; returns what they record."""
    record: dict[str, Any] = {}
    for name, module in stand_in_modules(record).items():
        monkeypatch.setitem(sys.modules, name, module)
    return record


@pytest.mark.parametrize(
    "case",
    [_case(**RUN_PATH_CASES[name]) for name in ("2d-groups-crops", "3d-no-bias", "2d-f16-same-lower")],
    ids=["2d-groups-crops", "3d-no-bias", "2d-f16-same-lower"],
)
def test_run_path_hands_tensorrt_the_case(stand_in: dict[str, Any], case: Case) -> None:
    target = tt.TensorRTTarget("cuda")
    verdict = judge(case, target)
    assert verdict.outcome == Outcome.PASS, verdict.message
    attrs = tm.translate(case)
    assert isinstance(attrs, tm.DeconvAttributes)
    assert stand_in["kernel"].shape == case.weight_shape and stand_in["kernel"].flags.c_contiguous
    assert (stand_in["bias"] is not None) == case.bias
    assert stand_in["num_groups"] == case.groups
    assert (stand_in["pre_padding"], stand_in["post_padding"]) == (attrs.pre_padding, attrs.post_padding)
    assert stand_in["padding_mode"] == attrs.padding_mode
    trt = sys.modules["tensorrt"]
    assert trt.BuilderFlag.TF32 in stand_in["cleared"]
    assert (trt.BuilderFlag.FP16 in stand_in["flags"]) == (case.dtype == "float16")
    assert stand_in["input_dtype"] == case.dtype
    info = target.run_info()
    assert info["precision"] == ("fp16" if case.dtype == "float16" else "fp32")
    assert info["placement"] == "gpu" and info["engine_cache_hit"] is False


def test_engines_are_cached_per_configuration(stand_in: dict[str, Any]) -> None:
    target = tt.TensorRTTarget("cuda")
    case = _case()
    assert judge(case, target).outcome == Outcome.PASS
    assert judge(case, target).outcome == Outcome.PASS  # same weights: the same engine
    assert (stand_in["builds"], target.engine_hits) == (1, 1)
    assert target.run_info()["engine_cache_hit"] is True
    assert judge(case.replace(seed=1), target).outcome == Outcome.PASS  # other weights: another engine
    assert stand_in["builds"] == 2 and stand_in["timing_caches"] == 1


def test_doc_mismatch_when_the_size_departs_from_seed_000(
    stand_in: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A TensorRT that returned I·S for SAME even when the kernel is shorter than the stride would be
    # reported against the operator page's min(I·S, F): here the stand-in is made to do exactly that.
    case = _case(input_size=(3, 3), kernel_size=2, stride=4, padding_mode="same")
    target = tt.TensorRTTarget("cuda")
    real_size = tm.DeconvAttributes.output_size
    monkeypatch.setattr(
        tm.DeconvAttributes,
        "output_size",
        lambda self: tuple(n * s for n, s in zip(self.input_shape[2:], self.stride_nd, strict=True)),
    )
    verdict = judge(case, target)
    monkeypatch.setattr(tm.DeconvAttributes, "output_size", real_size)
    assert verdict.outcome == Outcome.DOC_MISMATCH
    assert verdict.expected_shape[2:] == [10, 10] and verdict.actual_shape[2:] == [12, 12]


def test_dla_build_settings_and_placement(stand_in: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tt.DLA_CORE_ENV, "1")
    trt = sys.modules["tensorrt"]
    case = _case(dtype="float16", stride=2)
    dla = tt.TensorRTDLA("cuda")
    assert judge(case, dla).outcome == Outcome.PASS
    assert stand_in["default_device_type"] == trt.DeviceType.DLA and stand_in["DLA_core"] == 1
    assert trt.BuilderFlag.GPU_FALLBACK not in stand_in["flags"]
    info = dla.run_info()
    assert info["placement"] == "dla" and info["dla_predicted"] is True and info["can_run_on_dla"] is True
    fallback = tt.TensorRTDLAFallback("cuda")
    grouped = _case(in_channels=4, out_channels=4, groups=2, stride=2, dtype="float16")
    assert judge(grouped, fallback).outcome == Outcome.PASS
    assert trt.BuilderFlag.GPU_FALLBACK in stand_in["flags"]
    info = fallback.run_info()
    assert info["dla_predicted"] is False and "num_groups 1" in info["dla_predicted_reason"]
    assert fallback.environment()["last_run"]["gpu_fallback"] is True
    assert judge(grouped.replace(dtype="float32"), fallback).outcome == Outcome.PASS
    assert "FP16 or INT8" in fallback.run_info()["dla_predicted_reason"]
    refused = judge(grouped, dla)
    assert refused.outcome == Outcome.UNSUPPORTED and "has no groups" in refused.message
