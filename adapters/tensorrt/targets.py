"""Targets ``tensorrt``, ``tensorrt.round_up``, ``tensorrt.dla`` and ``tensorrt.dla.gpu_fallback``:
one ``IDeconvolutionLayer`` built with the TensorRT Python API and run on an NVIDIA GPU or DLA.

The network (explicit batch, static shapes) has one input ``x``; the kernel (CKRS order) and bias
are build-time weights, as in seed 000's example. The case's crops become ``pre_padding`` /
``post_padding`` (``padding_mode`` EXPLICIT_ROUND_DOWN, or EXPLICIT_ROUND_UP for
``tensorrt.round_up``); the named modes become SAME_UPPER / SAME_LOWER. Builder: TF32 cleared so
float32 is judged as float32; float16 cases set ``BuilderFlag.FP16`` where it exists (TensorRT ≤ 10,
weak typing) and otherwise build a strongly typed float16 network (TensorRT 11 removed the flag).
Engines are cached per configuration — the layer attributes, shapes, precision, device and the
weights themselves (they are baked into the engine).

DLA (Jetson/DRIVE): ``default_device_type = DLA`` on ``DLA_core`` (``$CONVT_TRT_DLA_CORE``, default
0); ``tensorrt.dla`` sends only cases the documented DLA restrictions allow
(:func:`adapters.tensorrt_model.dla_reason`) with GPU fallback off, ``tensorrt.dla.gpu_fallback``
sends everything TensorRT expresses with ``GPU_FALLBACK`` on. Where the layer really ran is read from
the engine inspector (``ProfilingVerbosity.DETAILED``) and reported by :meth:`TensorRTTarget.run_info`.

Device buffers use cuda-python (``cuda.bindings.runtime``, or ``cuda.cudart`` in older releases).
Nothing here has run on a GPU yet: see docs/tensorrt.md for what was and was not executed.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import importlib.util
import json
import os
import shutil
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np

from adapters.protocol import CROPS_BEGIN_END, Capabilities, Target
from adapters.tensorrt import model as tm
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.oracle.tolerance import AccumulationModel, exact_model

#: Declared, not yet measured (no GPU here): float32 with TF32 cleared; float16 accumulating in
#: float32 and rounded once. docs/tensorrt.md says how to calibrate on a machine with TensorRT.
ACCUMULATION = {
    "float32": exact_model("float32"),
    "float16": AccumulationModel("float32", "float32"),
}
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
    use_dla: ClassVar[bool] = False
    gpu_fallback: ClassVar[bool] = False

    def __init__(self, device: str = "cuda") -> None:
        super().__init__(device)
        self._engines: OrderedDict[str, Any] = OrderedDict()
        self._trt: Any = None
        self._cuda: Any = None
        self._logger: Any = None
        self._timing_cache: Any = None
        self._last_info: dict[str, Any] = {}
        self.engine_hits = 0
        self.engine_misses = 0

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
        """Seed 000's limits (no output_padding beyond the end crop, 2^31 elements)."""
        attrs = self.attributes(case)
        if isinstance(attrs, str):
            return attrs
        return tm.volume_reason(attrs)

    # --- building and running -----------------------------------------------------------------
    def prepare(self) -> None:
        """Import tensorrt and cuda-python; create the logger and a shared timing cache."""
        if self._trt is not None:
            return
        import tensorrt as trt

        try:
            from cuda.bindings import runtime as cudart
        except ImportError:  # cuda-python before 12.6
            from cuda import cudart  # type: ignore[no-redef]
        self._trt, self._cuda = trt, cudart
        self._logger = trt.Logger(trt.Logger.WARNING)

    def _dla_core(self) -> int:
        return int(os.environ.get(DLA_CORE_ENV, "0"))

    def _cuda_call(self, result: Any) -> Any:
        """Unwrap cuda-python's ``(error, value…)`` tuples, raising on an error."""
        err, *values = result if isinstance(result, tuple) else (result,)
        if int(err) != 0:
            raise RuntimeError(f"CUDA runtime error {err}")
        return values[0] if len(values) == 1 else tuple(values)

    def _engine_key(self, case: Case, attrs: tm.DeconvAttributes, arrays: CaseArrays) -> str:
        held = arrays.container()
        digest = hashlib.sha256()
        digest.update(
            repr((attrs, case.dtype, self.device, self.use_dla, self.gpu_fallback, self._dla_core())).encode()
        )
        digest.update(np.ascontiguousarray(held["weight"]).tobytes())
        if "bias" in held:
            digest.update(np.ascontiguousarray(held["bias"]).tobytes())
        return digest.hexdigest()

    def _build(self, case: Case, attrs: tm.DeconvAttributes, arrays: CaseArrays) -> dict[str, Any]:
        """Build the engine for one configuration; returns the engine and what the build decided."""
        trt = self._trt
        half = case.dtype == "float16"
        weak_fp16 = hasattr(trt.BuilderFlag, "FP16")
        strongly_typed = half and not weak_fp16
        builder = trt.Builder(self._logger)
        flags = 0
        major = int(trt.__version__.split(".")[0])
        if major < 10:
            flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        if strongly_typed and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
            flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        network = builder.create_network(flags)
        dtype = trt.float16 if half else trt.float32
        x = network.add_input("x", dtype, attrs.input_shape)
        held = arrays.container()
        kernel = tm.kernel_weights(held["weight"], case.dtype)
        bias = np.ascontiguousarray(held["bias"], dtype=kernel.dtype) if case.bias else None
        layer = network.add_deconvolution_nd(
            x,
            attrs.num_output_maps,
            trt.Dims(attrs.kernel_shape),
            trt.Weights(kernel),
            trt.Weights(bias) if bias is not None else trt.Weights(),
        )
        layer.name = "deconv"
        layer.num_groups = attrs.num_groups
        layer.stride_nd = trt.Dims(attrs.stride_nd)
        layer.dilation_nd = trt.Dims(attrs.dilation_nd)
        layer.pre_padding = trt.Dims(attrs.pre_padding)
        layer.post_padding = trt.Dims(attrs.post_padding)
        layer.padding_mode = getattr(trt.PaddingMode, attrs.padding_mode)
        out = layer.get_output(0)
        out.name = "y"
        network.mark_output(out)

        config = builder.create_builder_config()
        if hasattr(trt.BuilderFlag, "TF32"):
            config.clear_flag(trt.BuilderFlag.TF32)
        if half and weak_fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        if self._timing_cache is None:
            self._timing_cache = config.create_timing_cache(b"")
        config.set_timing_cache(self._timing_cache, False)
        can_run_on_dla = None
        if self.use_dla:
            config.default_device_type = trt.DeviceType.DLA
            config.DLA_core = self._dla_core()
            if self.gpu_fallback:
                config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
            can_run_on_dla = bool(config.can_run_on_DLA(layer))
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError(f"TensorRT could not build the engine for {attrs}")
        engine = trt.Runtime(self._logger).deserialize_cuda_engine(serialized)
        inspector = engine.create_engine_inspector()
        info_json = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
        return {
            "engine": engine,
            "build": {
                "precision": "fp16" if half else "fp32",
                "typing": "strong" if strongly_typed else "weak",
                "tf32": False,
                "dla_core": self._dla_core() if self.use_dla else None,
                "gpu_fallback": self.gpu_fallback if self.use_dla else None,
                "can_run_on_dla": can_run_on_dla,
                "placement": placement_from_inspector(info_json, "deconv"),
            },
        }

    def _engine(self, case: Case, attrs: tm.DeconvAttributes, arrays: CaseArrays) -> dict[str, Any]:
        key = self._engine_key(case, attrs, arrays)
        if key in self._engines:
            self.engine_hits += 1
            self._engines.move_to_end(key)
            return self._engines[key]
        self.engine_misses += 1
        built = self._build(case, attrs, arrays)
        self._engines[key] = built
        if len(self._engines) > ENGINE_CACHE_SIZE:
            self._engines.popitem(last=False)
        return built

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Build (or reuse) the engine, copy x in, execute, copy y out; output as float64."""
        self.prepare()
        attrs = self.attributes(case)
        assert not isinstance(attrs, str), attrs
        hits = self.engine_hits
        built = self._engine(case, attrs, arrays)
        engine = built["engine"]
        cudart = self._cuda
        x = np.ascontiguousarray(arrays.container()["x"])
        shape = tuple(engine.get_tensor_shape("y"))
        y = np.empty(shape, dtype=x.dtype)
        stream = self._cuda_call(cudart.cudaStreamCreate())
        d_x = self._cuda_call(cudart.cudaMalloc(x.nbytes))
        d_y = self._cuda_call(cudart.cudaMalloc(y.nbytes))
        try:
            h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
            d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
            self._cuda_call(cudart.cudaMemcpy(d_x, x.ctypes.data, x.nbytes, h2d))
            context = engine.create_execution_context()
            context.set_tensor_address("x", int(d_x))
            context.set_tensor_address("y", int(d_y))
            if not context.execute_async_v3(stream):
                raise RuntimeError("IExecutionContext.execute_async_v3 returned False")
            self._cuda_call(cudart.cudaStreamSynchronize(stream))
            self._cuda_call(cudart.cudaMemcpy(y.ctypes.data, d_y, y.nbytes, d2h))
        finally:
            cudart.cudaFree(d_x)
            cudart.cudaFree(d_y)
            cudart.cudaStreamDestroy(stream)
        predicted = tm.dla_reason(attrs, case.dtype)
        self._last_info = dict(
            built["build"],
            engine_cache_hit=self.engine_hits > hits,
            dla_predicted=predicted is None if self.use_dla else None,
            dla_predicted_reason=predicted if self.use_dla else None,
        )
        return y.astype(np.float64)

    def run_info(self) -> dict[str, Any]:
        """What the last :meth:`run` decided: precision, typing, engine cache, DLA placement."""
        return dict(self._last_info)

    def environment(self) -> dict[str, Any]:
        """TensorRT version, device name, DLA settings, TF32 off, and the last run's placement."""
        env = super().environment()
        env.update(
            explicit_mode=self.explicit_mode, tf32=False, use_dla=self.use_dla, gpu_fallback=self.gpu_fallback
        )
        if self.use_dla:
            env["dla_core"] = self._dla_core()
        if self._trt is not None:
            env["tensorrt_version"] = self._trt.__version__
        if self._last_info:
            env["last_run"] = self.run_info()
        return env

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone Python building the same layer with tensorrt and running it with cuda-python."""
        reason = self.supports(case)
        if reason is not None:
            return f"# not expressible in {self.name}: {reason}\n"
        attrs = self.attributes(case)
        assert not isinstance(attrs, str), attrs
        return snippet_text(
            attrs,
            case,
            npz_name,
            use_dla=self.use_dla,
            gpu_fallback=self.gpu_fallback,
            dla_core=self._dla_core(),
        )

    def equivalent_call(self, case: Case) -> str:
        """The layer construction and attributes :meth:`run` sets (kernel CKRS, bias ``(C_out,)``)."""
        attrs = self.attributes(case)
        assert not isinstance(attrs, str), attrs
        bias = "bias" if attrs.bias_count else "trt.Weights()"
        return "; ".join(
            [
                f"layer = network.add_deconvolution_nd(x, {attrs.num_output_maps}, "
                f"trt.Dims({attrs.kernel_shape}), kernel, {bias})",
                f"layer.num_groups = {attrs.num_groups}",
                f"layer.stride_nd = trt.Dims({attrs.stride_nd})",
                f"layer.dilation_nd = trt.Dims({attrs.dilation_nd})",
                f"layer.pre_padding = trt.Dims({attrs.pre_padding})",
                f"layer.post_padding = trt.Dims({attrs.post_padding})",
                f"layer.padding_mode = trt.PaddingMode.{attrs.padding_mode}",
            ]
        )


class TensorRTRoundUp(TensorRTTarget):
    """As ``tensorrt`` with ``padding_mode = EXPLICIT_ROUND_UP`` for explicit crops."""

    name = "tensorrt.round_up"
    explicit_mode = "EXPLICIT_ROUND_UP"


class TensorRTDLA(TensorRTTarget):
    """On DLA with GPU fallback off: only cases the documented DLA restrictions allow are sent."""

    name = "tensorrt.dla"
    use_dla = True

    def capabilities(self) -> Capabilities:
        """2D only, float16 only (DLA runs FP16/INT8; the canonical case has no int8)."""
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
    use_dla = True
    gpu_fallback = True


def placement_from_inspector(info_json: str, layer_name: str) -> str:
    """``"dla"``, ``"gpu"`` or ``"unknown"``: where the engine inspector says ``layer_name`` runs.

    With ``ProfilingVerbosity.DETAILED`` the inspector lists each engine layer with a ``Name`` and a
    ``LayerType``; a DLA subgraph is one engine layer whose type names DLA and whose name lists the
    network layers it holds. A layer found only in non-DLA engine layers ran on the GPU.
    """
    try:
        info = json.loads(info_json)
    except (TypeError, ValueError):
        return "unknown"
    layers = info.get("Layers", []) if isinstance(info, dict) else []
    found = False
    for layer in layers:
        if isinstance(layer, str):
            name, kind = layer, ""
        elif isinstance(layer, dict):
            name, kind = str(layer.get("Name", "")), str(layer.get("LayerType", ""))
        else:
            continue
        if layer_name not in name:
            continue
        found = True
        if "dla" in kind.lower():
            return "dla"
    return "gpu" if found else "unknown"


def snippet_text(
    attrs: tm.DeconvAttributes, case: Case, npz: str, *, use_dla: bool, gpu_fallback: bool, dla_core: int
) -> str:
    """The reproduction: build the layer as the target does, run it, print the output."""
    half = case.dtype == "float16"
    dla = ""
    if use_dla:
        dla = f"config.default_device_type = trt.DeviceType.DLA\nconfig.DLA_core = {dla_core}\n" + (
            "config.set_flag(trt.BuilderFlag.GPU_FALLBACK)\n" if gpu_fallback else ""
        )
    np_dtype = "np.float16" if half else "np.float32"
    return (
        "import numpy as np\n"
        "import tensorrt as trt\n"
        "try:\n    from cuda.bindings import runtime as cudart\n"
        "except ImportError:\n    from cuda import cudart\n\n"
        f"data = np.load({npz!r})\n"
        f"x = np.ascontiguousarray(data['x'], dtype={np_dtype})\n"
        f"kernel = np.ascontiguousarray(data['weight'], dtype={np_dtype})  # CKRS\n"
        f"bias = trt.Weights(np.ascontiguousarray(data['bias'], dtype={np_dtype})) "
        "if 'bias' in data else trt.Weights()\n"
        "logger = trt.Logger(trt.Logger.WARNING)\n"
        "builder = trt.Builder(logger)\n"
        "network = builder.create_network(0 if int(trt.__version__.split('.')[0]) >= 10 "
        "else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))\n"
        f"inp = network.add_input('x', trt.{'float16' if half else 'float32'}, {attrs.input_shape})\n"
        f"layer = network.add_deconvolution_nd(inp, {attrs.num_output_maps}, "
        f"trt.Dims({attrs.kernel_shape}), trt.Weights(kernel), bias)\n"
        f"layer.num_groups = {attrs.num_groups}\n"
        f"layer.stride_nd = trt.Dims({attrs.stride_nd})\n"
        f"layer.dilation_nd = trt.Dims({attrs.dilation_nd})\n"
        f"layer.pre_padding = trt.Dims({attrs.pre_padding})\n"
        f"layer.post_padding = trt.Dims({attrs.post_padding})\n"
        f"layer.padding_mode = trt.PaddingMode.{attrs.padding_mode}\n"
        "layer.get_output(0).name = 'y'\n"
        "network.mark_output(layer.get_output(0))\n"
        "config = builder.create_builder_config()\n"
        "config.clear_flag(trt.BuilderFlag.TF32)\n"
        + (
            "if hasattr(trt.BuilderFlag, 'FP16'):  # TensorRT <= 10; 11 types the network instead\n"
            "    config.set_flag(trt.BuilderFlag.FP16)\n"
            if half
            else ""
        )
        + dla
        + "engine = trt.Runtime(logger).deserialize_cuda_engine(\n"
        "    builder.build_serialized_network(network, config))\n"
        "y = np.empty(tuple(engine.get_tensor_shape('y')), dtype=x.dtype)\n"
        "_, d_x = cudart.cudaMalloc(x.nbytes)\n"
        "_, d_y = cudart.cudaMalloc(y.nbytes)\n"
        "cudart.cudaMemcpy(d_x, x.ctypes.data, x.nbytes, cudart.cudaMemcpyKind.cudaMemcpyHostToDevice)\n"
        "_, stream = cudart.cudaStreamCreate()\n"
        "context = engine.create_execution_context()\n"
        "context.set_tensor_address('x', int(d_x))\n"
        "context.set_tensor_address('y', int(d_y))\n"
        "context.execute_async_v3(stream)\n"
        "cudart.cudaStreamSynchronize(stream)\n"
        "cudart.cudaMemcpy(y.ctypes.data, d_y, y.nbytes, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost)\n"
        "print(y.shape)\nprint(y)\n"
    )
