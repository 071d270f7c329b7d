"""The TensorRT int8 targets (explicit Q/DQ): which quantized cases they express, the int8 groups and
DLA rules at each boundary, and — through the recording stand-in for ``tensorrt`` (no TensorRT or
GPU here) — the network they hand TensorRT: layers, scales, axes and types. What TensorRT computes
is not checked here; tests/adapters/test_tensorrt_api.py checks the calls against the real bindings.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from tensorrt_stand_in import stand_in_modules

from adapters.registry import resolve
from adapters.tensorrt import model as tm
from adapters.tensorrt import quant as tq
from adapters.tensorrt import targets as tt
from adapters.tensorrt.int8_targets import TensorRTInt8, TensorRTInt8DLA
from harness.engine.verdict import judge
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.model.quant import Quantization, TensorQuant, WeightQuant
from harness.spec.loader import load_spec
from harness.spec.strategies import cases

ROOT = Path(__file__).resolve().parents[2]


def quant(**changes: Any) -> Quantization:
    """Symmetric int8 in, weight and out, float bias, half to even: the form TensorRT takes."""
    fields: dict[str, Any] = {
        "input": TensorQuant("int8", 0.0625, 0),
        "weight": WeightQuant("int8", (0.0078125,), (0,)),
        "bias": "float",
        "output": TensorQuant("int8", 0.25, 0),
    }
    fields.update(changes)
    return Quantization(**fields)


def case(q: Quantization | None = None, **changes: Any) -> Case:
    q = q or quant()
    fields: dict[str, Any] = {
        "input_size": (4, 3),
        "in_channels": 4,
        "out_channels": 4,
        "stride": 2,
        "dtype": "int8",
        "quantization": q,
        "bias": q.bias != "none",
        "distribution": "uniform",
        "seed": 5,
    }
    fields.update(changes)
    return Case.make(**fields)


# --- what a Q/DQ network expresses ---------------------------------------------------------------


def test_the_symmetric_int8_form_is_expressible() -> None:
    assert tq.int8_reason(case()) is None
    assert tq.int8_reason(case(quant(output=None))) is None  # dequantized to float
    assert tq.int8_reason(case(quant(bias="none"))) is None


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"input": TensorQuant("int8", 0.0625, 1)}, ("symmetric", "input zero point is 1")),
        ({"input": TensorQuant("int8", 0.0625, -128)}, ("zero point must be 0", "-128")),
        ({"weight": WeightQuant("int8", (0.0078125,), (3,))}, ("symmetric", "weight zero point is 3")),
        ({"output": TensorQuant("int8", 0.25, 127)}, ("symmetric", "output zero point is 127")),
        ({"input": TensorQuant("uint8", 0.0625, 0)}, ("not uint8", "input")),
        ({"weight": WeightQuant("uint8", (0.0078125,), (0,))}, ("not uint8", "weight")),
        ({"output": TensorQuant("uint8", 0.25, 0)}, ("not uint8", "output")),
        ({"bias": "int32"}, ("float weights", "int32")),
        ({"rounding": "half_away"}, ("half to even", "half_away")),
        ({"input": TensorQuant("int8", 0.1, 0)}, ("float32", "input scale 0.1")),
        ({"output": TensorQuant("int8", 0.3, 0)}, ("float32", "output scale 0.3")),
    ],
)
def test_what_tensorrt_cannot_express_is_refused_with_the_reason(
    changes: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    reason = tq.quantization_reason(quant(**changes))
    assert reason is not None
    for fragment in fragments:
        assert fragment in reason, reason


def test_a_per_output_channel_weight_has_no_tensorrt_axis() -> None:
    per_channel = quant(weight=WeightQuant("int8", (0.0078125, 0.015625, 0.0078125, 0.03125), (0,) * 4))
    reason = tq.int8_reason(case(per_channel))
    assert reason is not None and "axis 0" in reason and tq.DECONV_AXIS_ISSUE in reason
    assert tq.WEIGHT_AXIS == 0  # CKRS: C_in is axis 0, the axis TensorRT's deconvolution scales along


def test_a_float32_scale_passes_and_its_float64_neighbour_does_not() -> None:
    # 2^-4 and float32(0.1) are float32 numbers; 0.1 itself is not
    assert tq.float32_exact(0.0625) and tq.float32_exact(0.10000000149011612)
    assert not tq.float32_exact(0.1)
    assert tq.quantization_reason(quant(input=TensorQuant("int8", 0.10000000149011612, 0))) is None


# --- the int8 groups rule, at each boundary --------------------------------------------------------


@pytest.mark.parametrize(
    ("per_group_in", "per_group_out", "ok"),
    [
        (3, 4, False),
        (4, 4, True),
        (5, 4, False),
        (4, 3, False),
        (4, 5, False),
        (8, 4, True),
    ],
)
def test_int8_groups_need_multiples_of_four_channels_per_group(
    per_group_in: int, per_group_out: int, ok: bool
) -> None:
    c = case(in_channels=2 * per_group_in, out_channels=2 * per_group_out, groups=2)
    reason = tq.int8_reason(c)
    assert (reason is None) == ok, reason
    if not ok:
        assert reason is not None and "multiple of 4" in reason


def test_the_groups_rule_does_not_bind_ungrouped_layers() -> None:
    # channels per group 3 and 5, but one group: the rule is for grouped int8 layers only
    assert tq.int8_reason(case(in_channels=3, out_channels=5)) is None


# --- DLA with int8 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({}, None),
        ({"input_size": (4, 3, 2), "kernel_size": 2}, "2D"),
        ({"in_channels": 8, "out_channels": 8, "groups": 2}, "num_groups 1"),
        ({"dilation": 2}, "dilated"),
        ({"pads_begin": 1, "pads_end": 1}, "padding 0"),
        ({"kernel_size": (1, 33), "input_size": (4, 40)}, "[1, 32]"),
    ],
)
def test_dla_takes_the_int8_case_2d_ungrouped_only(changes: dict[str, Any], fragment: str | None) -> None:
    attrs = tm.translate(case(**changes))
    assert isinstance(attrs, tm.DeconvAttributes)
    reason = tm.dla_reason(attrs, "int8")
    if fragment is None:
        assert reason is None
    else:
        assert reason is not None and fragment in reason, reason


# --- the targets' capability models (no tensorrt import) -----------------------------------------


def test_capability_models_take_int8_cases_only() -> None:
    gpu, dla = TensorRTInt8("cuda"), TensorRTInt8DLA("cuda")
    assert gpu.capabilities().dtypes == {"int8"} and gpu.capabilities().quantized == tq.INT8_MODEL
    assert gpu.capabilities().ranks == {2, 3}
    assert dla.capabilities().ranks == {2} and not dla.capabilities().groups
    assert gpu.supports(case()) is None and dla.supports(case()) is None
    float_case = Case.make(input_size=(4, 3), in_channels=2, out_channels=2, dtype="float32")
    assert "float32" in (gpu.supports(float_case) or "")
    assert "zero point" in (gpu.supports(case(quant(input=TensorQuant("int8", 0.0625, 2)))) or "")
    assert "multiple of 4" in (gpu.supports(case(in_channels=6, out_channels=8, groups=2)) or "")
    assert "padding 0" in (dla.supports(case(pads_begin=1, pads_end=1)) or "")
    assert "1-D" in (gpu.supports(case(input_size=5)) or "")
    for name in ("tensorrt.int8", "tensorrt.int8.dla"):
        assert resolve(name).name == name


def test_snippet_holds_the_qdq_network() -> None:
    text = TensorRTInt8DLA("cuda").snippet(case())
    compile(text, "snippet.py", "exec")
    for fragment in (
        "network.add_quantize(inp, x_scale.get_output(0), trt.int8)",
        "x_q.axis = 1",
        "w_q.axis = 0",
        "layer.set_input(1, w_dq.get_output(0))",
        "trt.Weights()",
        "np.multiply(data['weight'], 0.0078125, dtype=np.float32)",
        "DeviceType.DLA",
        "np.int8",
    ):
        assert fragment in text, fragment


# --- the build-and-run path, against the recording stand-in --------------------------------------


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Install the stand-in modules; returns what they record."""
    record: dict[str, Any] = {}
    for name, module in stand_in_modules(record).items():
        monkeypatch.setitem(sys.modules, name, module)
    return record


def test_run_path_builds_the_qdq_network(stand_in: dict[str, Any]) -> None:
    target = TensorRTInt8("cuda")
    verdict = judge(case(), target)
    assert verdict.outcome == Outcome.PASS, verdict.message
    kinds = [q["kind"] for q in stand_in["qdq"]]
    assert kinds == ["quantize", "dequantize", "quantize", "dequantize", "quantize"]
    assert [float(q["scale"][0]) for q in stand_in["qdq"]] == [0.0625, 0.0625, 0.0078125, 0.0078125, 0.25]
    assert all(q["scale"].dtype == np.float32 and q["scale"].shape == (1,) for q in stand_in["qdq"])
    assert [q["axis"] for q in stand_in["qdq"]] == [1, 1, 0, 0, 1]
    assert [q["output_type"] for q in stand_in["qdq"]] == ["int8", "float32", "int8", "float32", "int8"]
    # the kernel reaches the layer as input 1 (dequantized), its weights argument is empty
    assert stand_in["kernel"] is None and 1 in stand_in["set_inputs"]
    kernel = stand_in["constants"][1]
    assert kernel.shape == (4, 4, 3, 3) and kernel.dtype == np.float32
    assert stand_in["input_dtype"] == "float32" and stand_in["output"].dtype == "int8"
    trt = sys.modules["tensorrt"]
    assert stand_in["network_flags"] == 1 << trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED
    assert trt.BuilderFlag.TF32 in stand_in["cleared"] and trt.BuilderFlag.INT8 not in stand_in["flags"]
    info = target.run_info()
    assert (info["precision"], info["typing"], info["placement"]) == ("int8", "strong", "gpu")


def test_the_drawn_integers_come_back_from_the_input_quantize(stand_in: dict[str, Any]) -> None:
    # full-range int8 input: s·q rounded to float32, divided by s in float32, rounds back to q
    c = case(quant(input=TensorQuant("int8", 0.10000000149011612, 0)), distribution="uniform", seed=9)
    assert judge(c, TensorRTInt8("cuda")).outcome == Outcome.PASS
    x_q = stand_in["qdq"][0]
    arrays = make_arrays(c)
    x = np.multiply(arrays.x, 0.10000000149011612, dtype=np.float32)
    back = np.clip(np.rint(x / x_q["scale"]), -128, 127)  # float32 division, as TensorRT's Q layer
    assert np.array_equal(back, arrays.x)


@pytest.mark.parametrize(
    "changes",
    [
        {"quantization": quant(output=None)},
        {"quantization": quant(bias="none"), "bias": False},
        {"input_size": (3, 2, 2), "kernel_size": 2, "pads_begin": (0, 1, 0), "pads_end": (1, 0, 0)},
        {"in_channels": 8, "out_channels": 8, "groups": 2, "dilation": (1, 2)},
    ],
    ids=["dequantized", "no-bias", "3d-crops", "groups-of-4"],
)
def test_run_path_judges_each_form(stand_in: dict[str, Any], changes: dict[str, Any]) -> None:
    c = case(**changes)
    verdict = judge(c, TensorRTInt8("cuda"))
    assert verdict.outcome == Outcome.PASS, verdict.message
    requantized = c.quantization is not None and c.quantization.output is not None
    assert len(stand_in["qdq"]) == (5 if requantized else 4)
    assert stand_in["output"].dtype == ("int8" if requantized else "float32")
    assert stand_in["num_groups"] == c.groups
    assert (stand_in["bias"] is not None) == c.bias


def test_an_output_off_by_one_is_a_value_mismatch(stand_in: dict[str, Any]) -> None:
    # the int8 output is judged exactly under the declared model, not passed for being close
    class OffByOne(TensorRTInt8):
        def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
            return super().run(case, arrays) + 1.0

    verdict = judge(case(), OffByOne("cuda"))
    assert verdict.outcome == Outcome.VALUE_MISMATCH and verdict.detail == "beyond_rounding_model"


def test_refused_cases_never_reach_tensorrt(stand_in: dict[str, Any]) -> None:
    target = TensorRTInt8("cuda")
    zero_point = judge(case(quant(output=TensorQuant("int8", 0.25, 4))), target)
    assert zero_point.outcome == Outcome.UNSUPPORTED and "zero point is 4" in zero_point.message
    groups = judge(case(in_channels=10, out_channels=8, groups=2), target)
    assert groups.outcome == Outcome.UNSUPPORTED and "multiple of 4" in groups.message
    assert "builds" not in stand_in


def test_dla_int8_build_settings(stand_in: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tt.DLA_CORE_ENV, "1")
    trt = sys.modules["tensorrt"]
    dla = TensorRTInt8DLA("cuda")
    assert judge(case(), dla).outcome == Outcome.PASS
    assert stand_in["default_device_type"] == trt.DeviceType.DLA and stand_in["DLA_core"] == 1
    # TensorRT 10's DLA takes precision from the builder flags: weakly typed, INT8 on, no fallback
    assert stand_in["network_flags"] == 0 and trt.BuilderFlag.INT8 in stand_in["flags"]
    assert trt.BuilderFlag.GPU_FALLBACK not in stand_in["flags"]
    assert stand_in["output"].dtype == "int8"  # the weakly typed network's output typed int8
    info = dla.run_info()
    assert info["placement"] == "dla" and info["dla_predicted"] is True and info["typing"] == "weak"
    grouped = judge(case(in_channels=8, out_channels=8, groups=2), dla)
    assert grouped.outcome == Outcome.UNSUPPORTED


def test_the_symmetric_spec_draws_only_what_tensorrt_expresses_but_the_groups_rule() -> None:
    spec = load_spec(ROOT / "specs" / "int8" / "conv_transpose_int8_symmetric_2d.yaml")
    reasons: list[str | None] = []

    @settings(max_examples=80, database=None, derandomize=True, deadline=None)
    @given(cases(spec))
    def collect(c: Case) -> None:
        reasons.append(TensorRTInt8("cuda").supports(c))

    collect()
    refused = [r for r in reasons if r is not None]
    assert 0 < len(refused) < len(reasons)  # both sides of the groups rule are drawn
    assert all("multiple of 4" in r for r in refused), refused
