"""The TensorRT targets are written against the real ``tensorrt`` API: every class, method, enum value,
property and argument they use exists, with that signature, in TensorRT's Python bindings.

PyPI has the bindings (``tensorrt-cu12-bindings``, installed by the dev extra on Linux x86-64) but
not the libraries they link; ``tensorrt_api_check`` compiles stand-ins for those and drives every
TensorRT target through the recording stand-in with each access checked against the bindings, in
a subprocess whose dynamic linker finds the stand-ins. ``tox -e tensorrt-api`` adds cuda-python's
bindings to the check, ``tox -e tensorrt11-api`` runs it against TensorRT 11's bindings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tensorrt_api_check import bindings_library, build_stub_libraries, tools_missing

ROOT = Path(__file__).resolve().parents[2]

#: Names ``adapters/tensorrt/engine.py`` probes with ``hasattr`` because TensorRT versions differ.
VERSION_PROBES = {
    "tensorrt.BuilderFlag.FP16",
    "tensorrt.BuilderFlag.INT8",
    "tensorrt.BuilderFlag.TF32",
    "tensorrt.NetworkDefinitionCreationFlag.STRONGLY_TYPED",
}


def _skip_reason() -> str | None:
    if bindings_library() is None:
        return "TensorRT's Python bindings are not installed (the dev extra installs tensorrt-cu12-bindings)"
    if tools_missing():
        return f"building the stand-in libraries needs {', '.join(tools_missing())}"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The check's report on the targets and on the planted misuses."""
    module = bindings_library()
    assert module is not None
    stubs = tmp_path_factory.mktemp("trt-stubs")
    build_stub_libraries(module, stubs)
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(stubs), env.get("LD_LIBRARY_PATH")]))
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(ROOT / "tests" / "adapters"), env.get("PYTHONPATH")])
    )
    script = str(ROOT / "tests" / "adapters" / "tensorrt_api_check.py")
    reports = {}
    for mode in ("targets", "planted"):
        args = [sys.executable, script] + (["--planted"] if mode == "planted" else [])
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-3000:]
        reports[mode] = json.loads(done.stdout)
    return reports


def test_every_name_the_targets_use_exists_with_that_signature(checks: dict[str, dict[str, Any]]) -> None:
    report = checks["targets"]
    assert report["violations"] == []
    assert set(report["absent"]) <= VERSION_PROBES
    for name in (
        "INetworkDefinition.add_deconvolution_nd",
        "IDeconvolutionLayer.stride_nd =",
        "IDeconvolutionLayer.dilation_nd =",
        "IDeconvolutionLayer.pre_padding =",
        "IDeconvolutionLayer.post_padding =",
        "IDeconvolutionLayer.padding_mode =",
        "IDeconvolutionLayer.num_groups =",
        "tensorrt.PaddingMode.EXPLICIT_ROUND_UP",
        "tensorrt.PaddingMode.SAME_LOWER",
        "IBuilderConfig.default_device_type =",
        "IBuilderConfig.DLA_core =",
        "IBuilderConfig.can_run_on_DLA",
        "tensorrt.BuilderFlag.GPU_FALLBACK",
        "IExecutionContext.execute_async_v3",
        # the int8 targets' Q/DQ network
        "INetworkDefinition.add_constant",
        "INetworkDefinition.add_quantize",
        "INetworkDefinition.add_dequantize",
        "IConstantLayer.get_output",
        "IQuantizeLayer.axis =",
        "IQuantizeLayer.get_output",
        "IDequantizeLayer.axis =",
        "IDequantizeLayer.get_output",
        "IDeconvolutionLayer.set_input",
        "tensorrt.float32",
    ):
        assert name in report["uses"], name
    # only where a weakly typed int8 network is built (TensorRT 10's DLA): its output typed int8
    if "tensorrt.BuilderFlag.INT8" in report["uses"]:
        assert {"tensorrt.int8", "ITensor.dtype =", "IBuilderConfig.set_flag"} <= set(report["uses"])


def test_every_cuda_python_call_binds(checks: dict[str, dict[str, Any]]) -> None:
    report = checks["targets"]
    if not report["cudart_checked"]:
        pytest.skip("cuda-python's bindings are not installed (tox -e tensorrt-api installs them)")
    calls = {"cudaMalloc", "cudaMemcpy", "cudaFree", "cudaStreamCreate", "cudaStreamSynchronize"}
    assert {f"cudart.{name}" for name in calls} <= set(report["uses"])
    assert not [v for v in report["violations"] if v.startswith("cudart")]


def test_the_checked_runs_judge_every_case(checks: dict[str, dict[str, Any]]) -> None:
    # A name used without a version probe that the bindings lack would have failed the case.
    verdicts = {(target, case): outcome for target, case, outcome, _ in checks["targets"]["verdicts"]}
    assert len(verdicts) == 20 + 6
    for (target, case), outcome in verdicts.items():
        refused_by_dla = (target, case) not in {("tensorrt.dla", "2d-f16-dla-eligible")} and (
            target == "tensorrt.dla" or (target == "tensorrt.int8.dla" and case != "2d-int8-dla-eligible")
        )
        assert outcome == ("unsupported" if refused_by_dla else "pass"), (target, case)


def test_planted_misuses_are_reported(checks: dict[str, dict[str, Any]]) -> None:
    report = checks["planted"]
    assert set(report["absent"]) == {
        "INetworkDefinition.add_deconvolution",
        "tensorrt.PaddingMode.EXPLICIT_ROUND_SIDEWAYS",
    }
    violations = report["violations"]
    assert len(violations) == 4
    assert sum("add_deconvolution_nd(" in v and "binds to no signature" in v for v in violations) == 2
    assert any("'strides'" in v for v in violations)
    assert any(v.startswith("IQuantizeLayer.zero_point") for v in violations)
