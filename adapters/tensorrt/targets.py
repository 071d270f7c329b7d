"""Targets ``tensorrt``, ``tensorrt.round_up``, ``tensorrt.dla`` and ``tensorrt.dla.gpu_fallback``:
one ``IDeconvolutionLayer`` built with the TensorRT Python API and run on an NVIDIA GPU or DLA.

The network (explicit batch, static shapes) has one input ``x``; the kernel (CKRS order) and bias
are build-time weights, as in the operator page's example. The case's crops become ``pre_padding`` /
``post_padding`` (``padding_mode`` EXPLICIT_ROUND_DOWN, or EXPLICIT_ROUND_UP for
``tensorrt.round_up``); the named modes become SAME_UPPER / SAME_LOWER. Builder: TF32 cleared so
float32 is judged as float32; float16 cases set ``BuilderFlag.FP16`` where it exists (TensorRT ≤ 10,
weak typing) and otherwise build a strongly typed float16 network (TensorRT 11 removed the flag).
Engines are cached per configuration — the layer attributes, shapes, precision, device and the
weights themselves (they are baked into the engine).

DLA (Jetson/DRIVE): ``default_device_type = DLA`` on ``DLA_core`` (``$CONVT_TRT_DLA_CORE``, default
0); ``tensorrt.dla`` sends only cases the documented DLA restrictions allow
(:func:`adapters.tensorrt.model.dla_reason`) with GPU fallback off, ``tensorrt.dla.gpu_fallback``
sends everything TensorRT expresses with ``GPU_FALLBACK`` on. Where the layer really ran is read from
the engine inspector (``ProfilingVerbosity.DETAILED``) and reported by :meth:`TensorRTTarget.run_info`.

Device buffers use cuda-python (``cuda.bindings.runtime``, or ``cuda.cudart`` in older releases).
Nothing here has run on a GPU yet: see docs/tensorrt.md for what was and was not executed.
"""

from __future__ import annotations

import dataclasses
import glob
import importlib.util
import os
import shutil
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from adapters import plan as p
from adapters.defaults import NO_CROP, WEIGHT_LAYOUT, WITHOUT_BIAS, standard_defaults
from adapters.protocol import CROPS_BEGIN_END, Capabilities, Target
from adapters.tensorrt import docs, engine
from adapters.tensorrt import model as tm
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.oracle.tolerance import AccumulationModel, exact_model

#: Declared, not yet measured (no GPU here): float32 with TF32 cleared; float16 accumulating in
#: float32 and rounded once. docs/tensorrt.md says how to calibrate on a machine with TensorRT.
ACCUMULATION = {
    "float32": exact_model("float32"),
    "float16": AccumulationModel("float32", "float32"),
}
#: Built engines kept per target (each holds device memory).
ENGINE_CACHE_SIZE = 64
DLA_CORE_ENV = "CONVT_TRT_DLA_CORE"


def cuda_device_reason() -> str | None:
    """None when this machine shows an NVIDIA GPU (device nodes or nvidia-smi), else why not."""
    if glob.glob("/dev/nvidia[0-9]*") or shutil.which("nvidia-smi"):
        return None
    if glob.glob("/dev/nvhost-ctrl-gpu") or glob.glob("/dev/nvgpu*"):  # Jetson's integrated GPU
        return None
    return "no CUDA device here (no /dev/nvidia*, /dev/nvhost-ctrl-gpu or nvidia-smi)"


def dla_device_reason() -> str | None:
    """None when a DLA engine's device nodes exist (Jetson/DRIVE), else why not."""
    if glob.glob("/dev/nvhost-*nvdla*") or glob.glob("/dev/nvdla*"):
        return None
    return "no DLA here (no /dev/nvhost-*nvdla* device: DLA exists on Jetson and DRIVE parts only)"


class TensorRTTarget(Target):
    """``network.add_deconvolution_nd`` on the GPU (EXPLICIT_ROUND_DOWN for explicit crops)."""

    name = "tensorrt"
    framework = "tensorrt"
    requires = "tensorrt"
    explicit_mode: ClassVar[str] = "EXPLICIT_ROUND_DOWN"
    api_forms: ClassVar[tuple[str, ...]] = ("tensorrt.round_up",)
    use_dla: ClassVar[bool] = False
    gpu_fallback: ClassVar[bool] = False

    def __init__(self, device: str = "cuda") -> None:
        super().__init__(device)
        self._executor = p.Executor(cache_size=ENGINE_CACHE_SIZE)  # engines hold device memory

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """add_deconvolution_nd: no bias with empty weights, no padding, NC* data."""
        return standard_defaults(
            (WITHOUT_BIAS, "bias=trt.Weights() (empty)"),
            (NO_CROP, "pre_padding=post_padding=0"),
            "NC* network input",
            stride="stride_nd=1",
            dilation="dilation_nd=1",
            groups="num_groups=1",
        )

    def weight_layout(self, case: Case) -> tuple[str, str]:
        """The kernel as one contiguous buffer in CKRS order, i.e. the canonical order flattened."""
        return WEIGHT_LAYOUT, "flattened into one contiguous trt.Weights buffer (CKRS order)"

    # --- availability -------------------------------------------------------------------------
    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this target cannot run here, decided without importing any framework."""
        if importlib.util.find_spec("tensorrt") is None:
            return (
                "cannot import tensorrt (the TensorRT Python package is not installed; it comes "
                "with TensorRT or from NVIDIA's package index, see docs/tensorrt.md)"
            )
        reason = cuda_device_reason()
        if reason is not None:
            return f"tensorrt is installed but {reason}"
        if importlib.util.find_spec("cuda") is None:
            return "cannot import cuda-python (cuda.bindings), which holds the device buffers"
        if cls.use_dla:
            return dla_device_reason()
        return None

    # --- capability model ---------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        """2D/3D, float32/float16, NCHW, begin/end crops, no output_padding, cuda only."""
        return Capabilities(
            ranks=frozenset({2, 3}),
            dtypes=frozenset(ACCUMULATION),
            layouts=frozenset({"channels_first"}),
            crops=CROPS_BEGIN_END,
            output_padding_limit="none",
            groups=True,
            dilation=True,
            devices=frozenset({"cuda"}),
            accumulation=ACCUMULATION,
            padding_modes=tm.documented_modes(),
        )

    def supports(self, case: Case) -> str | None:
        """The generic checks, with the reason for channels-last data first."""
        if case.layout == "channels_last":
            return (
                f"{self.name}: the network input is declared in TensorRT's default linear NCHW "
                "format; channels-last I/O formats (TensorFormat.HWC/HWC8) are not modelled by "
                "this adapter"
            )
        return super().supports(case)

    def attributes(self, case: Case) -> tm.DeconvAttributes | str:
        """The layer attributes, or why TensorRT cannot express the case."""
        return tm.translate(case, self.explicit_mode)

    def expressible(self, case: Case) -> str | None:
        """The documented limits (no output_padding beyond the end crop, 2^31 elements)."""
        attrs = self.attributes(case)
        if isinstance(attrs, str):
            return attrs
        return tm.volume_reason(attrs)

    # --- the call -----------------------------------------------------------------------------
    def plan(self, case: Case) -> p.Plan:
        """The network of one deconvolution layer, its (cached) engine, and one execution."""
        attrs = self.attributes(case)
        assert not isinstance(attrs, str), attrs
        return engine_plan(
            attrs,
            half=case.dtype == "float16",
            bias=case.bias,
            dla_core=self._dla_core() if self.use_dla else None,
            gpu_fallback=self.gpu_fallback,
        )

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The documented size of this target's explicit padding mode."""
        return docs.explicit_formula(self.explicit_mode)

    # --- running ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Import tensorrt and cuda-python (the device buffers), so that a missing one fails here."""
        import tensorrt  # noqa: F401

        try:
            from cuda.bindings import runtime  # noqa: F401
        except ImportError:  # cuda-python before 12.6
            from cuda import cudart  # noqa: F401

    def _dla_core(self) -> int:
        return int(os.environ.get(DLA_CORE_ENV, "0"))

    @property
    def engine_hits(self) -> int:
        """Cases that reused a built engine."""
        return self.executor.cache_hits["(engine, placement)"]

    @property
    def engine_misses(self) -> int:
        """Cases that built an engine."""
        return self.executor.cache_misses["(engine, placement)"]

    def run_info(self) -> dict[str, Any]:
        """What the last run decided: precision, typing, engine cache, DLA prediction and placement."""
        ns = self.last_namespace
        if "placement" not in ns:
            return {}
        trt = ns["trt"]
        half = ns["x"].dtype == np.float16
        info: dict[str, Any] = {
            "precision": "fp16" if half else "fp32",
            "typing": "strong" if half and not hasattr(trt.BuilderFlag, "FP16") else "weak",
            "tf32": False,
            "dla_core": self._dla_core() if self.use_dla else None,
            "gpu_fallback": self.gpu_fallback if self.use_dla else None,
            "can_run_on_dla": bool(ns["can_run_on_dla"]) if self.use_dla else None,
            "placement": ns["placement"],
            "engine_cache_hit": self.executor.last_hits.get("(engine, placement)", False),
        }
        if self.use_dla:
            info["dla_predicted"] = ns.get("dla_predicted_reason") is None
            info["dla_predicted_reason"] = ns.get("dla_predicted_reason")
        else:
            info["dla_predicted"] = info["dla_predicted_reason"] = None
        return info

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Execute the plan; the documented DLA restrictions' prediction is kept for run_info."""
        output = super().run(case, arrays)
        attrs = self.attributes(case)
        assert not isinstance(attrs, str), attrs
        self.last_namespace["dla_predicted_reason"] = tm.dla_reason(attrs, case.dtype)
        return output

    def environment(self) -> dict[str, Any]:
        """TensorRT version, DLA settings, TF32 off, and the last run's placement."""
        env = super().environment()
        env.update(
            explicit_mode=self.explicit_mode, tf32=False, use_dla=self.use_dla, gpu_fallback=self.gpu_fallback
        )
        if self.use_dla:
            env["dla_core"] = self._dla_core()
        trt = self.last_namespace.get("trt")
        if trt is not None:
            env["tensorrt_version"] = trt.__version__
        if self.run_info():
            env["last_run"] = self.run_info()
        return env


def layer_attributes(layer: p.Name, attrs: tm.DeconvAttributes) -> list[p.Stmt]:
    """The statements that set the deconvolution layer's groups, stride, dilation and padding
    (shared by the float and the int8 plans)."""
    return [
        p.SetAttr(layer, "num_groups", attrs.num_groups),
        p.SetAttr(layer, "stride_nd", p.call("trt.Dims", attrs.stride_nd)),
        p.SetAttr(layer, "dilation_nd", p.call("trt.Dims", attrs.dilation_nd)),
        p.SetAttr(layer, "pre_padding", p.call("trt.Dims", attrs.pre_padding)),
        p.SetAttr(layer, "post_padding", p.call("trt.Dims", attrs.post_padding)),
        p.SetAttr(layer, "padding_mode", p.sym(f"trt.PaddingMode.{attrs.padding_mode}")),
    ]


def engine_plan(
    attrs: tm.DeconvAttributes, *, half: bool, bias: bool, dla_core: int | None, gpu_fallback: bool
) -> p.Plan:
    """Build the network (explicit batch, static shapes, the kernel in CKRS order and the bias as
    build-time weights), configure the builder, build the engine (cached per configuration and
    weights) and execute it on ``x``."""
    np_dtype = p.sym("np.float16" if half else "np.float32")
    trt_dtype = p.sym("trt.float16" if half else "trt.float32")
    layer, config = p.Name("layer"), p.Name("config")
    weights = p.call("np.ascontiguousarray", p.data("weight"), dtype=np_dtype)
    bias_weights = (
        p.call("trt.Weights", p.call("np.ascontiguousarray", p.data("bias"), dtype=np_dtype))
        if bias
        else p.call("trt.Weights")
    )
    add = p.method(
        p.Name("network"),
        "add_deconvolution_nd",
        p.Name("inp"),
        attrs.num_output_maps,
        p.call("trt.Dims", attrs.kernel_shape),
        p.call("trt.Weights", p.Name("kernel")),
        p.Name("bias"),
    )
    attributes = layer_attributes(layer, attrs)
    body: list[p.Stmt] = [
        p.Assign("kernel", weights),
        p.Assign("bias", bias_weights),
        p.Assign("logger", p.call("trt.Logger", p.sym("trt.Logger.WARNING"))),
        p.Assign("builder", p.call("trt.Builder", p.Name("logger"))),
        p.Assign(
            "network",
            p.method(
                p.Name("builder"), "create_network", p.call(p.Name("network_flags"), p.Name("trt"), half)
            ),
        ),
        p.Assign("inp", p.method(p.Name("network"), "add_input", "x", trt_dtype, attrs.input_shape)),
        p.Assign("layer", add),
        p.SetAttr(layer, "name", "deconv"),
        *attributes,
        p.Assign("out", p.method(layer, "get_output", 0)),
        p.SetAttr(p.Name("out"), "name", "y"),
        p.Do(p.method(p.Name("network"), "mark_output", p.Name("out"))),
        p.Assign("config", p.method(p.Name("builder"), "create_builder_config")),
        p.Do(p.call(p.Name("precision_flags"), p.Name("trt"), config, half)),
        p.SetAttr(config, "profiling_verbosity", p.sym("trt.ProfilingVerbosity.DETAILED")),
        p.Assign("timing_cache", p.method(config, "create_timing_cache", b""), cache=p.CACHE_ONCE),
        p.Do(p.method(config, "set_timing_cache", p.Name("timing_cache"), False)),
    ]
    if dla_core is not None:
        body += [
            p.SetAttr(config, "default_device_type", p.sym("trt.DeviceType.DLA")),
            p.SetAttr(config, "DLA_core", dla_core),
        ]
        if gpu_fallback:
            body.append(p.Do(p.method(config, "set_flag", p.sym("trt.BuilderFlag.GPU_FALLBACK"))))
        body.append(p.Assign("can_run_on_dla", p.method(config, "can_run_on_DLA", layer)))
    body += [
        p.Assign(
            ("engine", "placement"),
            p.call(
                p.Name("build_engine"),
                p.Name("trt"),
                p.Name("logger"),
                p.Name("builder"),
                p.Name("network"),
                config,
            ),
            cache=p.CACHE_CONFIGURATION,
        ),
        p.Assign("x", p.call("np.ascontiguousarray", p.data("x"), dtype=np_dtype)),
        p.Assign("y", p.call(p.Name("execute_engine"), p.Name("engine"), p.Name("x"))),
    ]
    summary = (p.Assign("layer", add), *attributes)
    return p.Plan(
        (p.Import("numpy", "np"), p.Import("tensorrt", "trt")),
        tuple(body),
        "y",
        p.method(p.Name("y"), "astype", p.sym("np.float64")),
        summary,
        helpers=(
            engine.network_flags,
            engine.precision_flags,
            engine.placement_from_inspector,
            engine.build_engine,
            engine.execute_engine,
        ),
    )


class TensorRTRoundUp(TensorRTTarget):
    """As ``tensorrt`` with ``padding_mode = EXPLICIT_ROUND_UP`` for explicit crops."""

    name = "tensorrt.round_up"
    explicit_mode = "EXPLICIT_ROUND_UP"
    api_forms = ("tensorrt",)


class TensorRTDLA(TensorRTTarget):
    """On DLA with GPU fallback off: only cases the documented DLA restrictions allow are sent."""

    name = "tensorrt.dla"
    api_forms = ()
    use_dla = True

    def capabilities(self) -> Capabilities:
        """2D only, float16 only (DLA runs FP16/INT8; int8 cases run on ``tensorrt.int8.dla``)."""
        accumulation = {"float16": ACCUMULATION["float16"]}
        return dataclasses.replace(
            super().capabilities(),
            ranks=frozenset({2}),
            dtypes=frozenset(accumulation),
            groups=False,
            dilation=False,
            accumulation=accumulation,
        )

    def expressible(self, case: Case) -> str | None:
        """TensorRT's limits, then the documented DLA restrictions."""
        reason = super().expressible(case)
        if reason is not None:
            return reason
        attrs = self.attributes(case)
        assert not isinstance(attrs, str), attrs
        return tm.dla_reason(attrs, case.dtype)


class TensorRTDLAFallback(TensorRTTarget):
    """DLA as the default device with GPU_FALLBACK on: every expressible case, placement recorded."""

    name = "tensorrt.dla.gpu_fallback"
    api_forms = ()
    use_dla = True
    gpu_fallback = True
