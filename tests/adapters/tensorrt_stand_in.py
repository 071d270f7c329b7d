"""A recording stand-in for the ``tensorrt`` and cuda-python modules, for driving the TensorRT
targets' build-and-run path on a machine without TensorRT: the network it is handed is recorded and
computed with the reference, device buffers are host memory. It checks what the adapter asks
TensorRT for, not what TensorRT computes (tests/adapters/test_tensorrt_api.py checks the names and
signatures it uses against the real bindings)."""

from __future__ import annotations

import ctypes
import dataclasses
import json
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from adapters.tensorrt import model as tm
from harness.model.quant import Quantization, TensorQuant, WeightQuant
from harness.oracle.reference import conv_transpose

#: The canonical case every run-path case starts from.
RUN_PATH_BASE: dict[str, Any] = {"input_size": (5, 4), "kernel_size": 3, "in_channels": 2, "out_channels": 3}

#: Cases that take the build-and-run path through its branches (explicit crops with groups, 3-D
#: without bias, a named mode in float16, a DLA-eligible layer, a grouped one DLA refuses).
RUN_PATH_CASES: dict[str, dict[str, Any]] = {
    "2d-groups-crops": {
        "input_size": (4, 3),
        "kernel_size": (3, 2),
        "in_channels": 4,
        "out_channels": 6,
        "groups": 2,
        "stride": (2, 1),
        "dilation": (1, 2),
        "pads_begin": (1, 0),
        "pads_end": (2, 1),
        "output_padding": (1, 0),
    },
    "3d-no-bias": {
        "input_size": (2, 3, 2),
        "kernel_size": 2,
        "stride": 2,
        "bias": False,
        "pads_begin": (0, 1, 0),
        "pads_end": (1, 0, 0),
    },
    "2d-f16-same-lower": {
        "input_size": (4, 4),
        "kernel_size": 4,
        "stride": 2,
        "padding_mode": "same_lower",
        "dtype": "float16",
        "distribution": "small_int",
    },
    "2d-f16-dla-eligible": {"stride": 2, "dtype": "float16"},
    "2d-f16-grouped": {"in_channels": 4, "out_channels": 4, "groups": 2, "stride": 2, "dtype": "float16"},
}


#: int8 cases for the Q/DQ targets (symmetric int8, float32 scales): requantized with a bias (DLA
#: eligible), dequantized in 3-D without one, grouped with 4 channels per group and crops.
INT8_QUANT = Quantization(
    input=TensorQuant("int8", 0.0625, 0),
    weight=WeightQuant("int8", (0.0078125,), (0,)),
    bias="float",
    output=TensorQuant("int8", 0.25, 0),
)
INT8_RUN_PATH_CASES: dict[str, dict[str, Any]] = {
    "2d-int8-dla-eligible": {"in_channels": 4, "out_channels": 4, "stride": 2},
    "3d-int8-dequantized": {
        "input_size": (2, 3, 2),
        "kernel_size": 2,
        "stride": 2,
        "bias": False,
        "quantization": dataclasses.replace(INT8_QUANT, bias="none", output=None),
    },
    "2d-int8-groups-crops": {
        "in_channels": 8,
        "out_channels": 8,
        "groups": 2,
        "pads_begin": (1, 0),
        "pads_end": (0, 1),
    },
}
INT8_RUN_PATH_BASE: dict[str, Any] = {
    **RUN_PATH_BASE,
    "dtype": "int8",
    "quantization": INT8_QUANT,
    "distribution": "uniform",
}


class _Enum:
    """Attribute access returns the attribute's name (enough for a recording stand-in)."""

    def __init__(self, *names: str) -> None:
        for i, name in enumerate(names):
            setattr(self, name, i)


class _Tensor:
    """A network tensor: its dtype, shape and how to compute it from the network input."""

    def __init__(self, compute: Callable[[np.ndarray], np.ndarray], dtype: str, shape: Any = ()) -> None:
        self.compute, self.dtype, self.shape, self.name = compute, dtype, tuple(shape), ""


def _along(scale: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """A Q/DQ scale broadcast against a tensor: one coefficient, or one per index along ``axis``."""
    if scale.size == 1:
        return scale.reshape(())
    return scale.reshape([-1 if d == axis else 1 for d in range(ndim)])


class _QdqLayer:
    """IQuantizeLayer / IDequantizeLayer: the documented formulas, round half to even and clamp to
    [-128, 127] for Q; what is set on it is recorded in ``info``."""

    _info: dict[str, Any]
    _output: _Tensor

    def __init__(
        self, record: dict[str, Any], kind: str, source: _Tensor, scale: _Tensor, output_type: str
    ) -> None:
        info: dict[str, Any] = {
            "kind": kind,
            "scale": scale.compute(np.empty(0)),
            "axis": None,
            "output_type": output_type,
        }
        record.setdefault("qdq", []).append(info)
        self.__dict__["_info"] = info

        def compute(x: np.ndarray) -> np.ndarray:
            v = np.asarray(source.compute(x), dtype=np.float64)
            s = _along(np.asarray(info["scale"], dtype=np.float64), info["axis"], v.ndim)
            out: np.ndarray = np.clip(np.rint(v / s), -128, 127) if kind == "quantize" else v * s
            return out

        self.__dict__["_output"] = _Tensor(compute, output_type, source.shape)

    def __setattr__(self, name: str, value: Any) -> None:
        self._info[name] = value

    def get_output(self, index: int) -> _Tensor:
        return self._output


class _Layer:
    _record: dict[str, Any]
    _output: _Tensor

    def __init__(
        self, record: dict[str, Any], x: _Tensor, n: int, k: tuple[int, ...], kernel: Any, bias: Any
    ) -> None:
        record.update(
            num_output_maps=n,
            kernel_shape=tuple(k),
            kernel=kernel.array,
            bias=bias.array,
            input_shape=x.shape,
        )
        self.__dict__["_record"] = record
        self.__dict__["_output"] = _Tensor(lambda v: _deconvolution(record, x.compute(v)), x.dtype)

    def __setattr__(self, name: str, value: Any) -> None:
        self._record[name] = value

    def set_input(self, index: int, tensor: _Tensor) -> None:
        self._record.setdefault("set_inputs", {})[index] = tensor

    def get_output(self, index: int) -> _Tensor:
        return self._output


def _deconvolution(record: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The recorded layer on ``x`` with the reference: the kernel is its weights, or the tensor set
    as input 1 (a Q/DQ network's dequantized kernel)."""
    x = np.asarray(x, dtype=np.float64)
    mode = record["padding_mode"]
    pre, post = record["pre_padding"], record["post_padding"]
    if mode in tm.SAME_MODES:
        split = [
            tm.same_padding(n, k, s, d, mode)
            for n, k, s, d in zip(
                x.shape[2:], record["kernel_shape"], record["stride_nd"], record["dilation_nd"], strict=True
            )
        ]
        pre, post = tuple(b for b, _ in split), tuple(a for _, a in split)
    kernel_input = record.get("set_inputs", {}).get(1)
    kernel = record["kernel"] if kernel_input is None else kernel_input.compute(x)
    bias = None if record["bias"] is None else record["bias"].astype(np.float64)
    return conv_transpose(
        x,
        np.asarray(kernel, dtype=np.float64),
        bias,
        stride=record["stride_nd"],
        dilation=record["dilation_nd"],
        pads_begin=pre,
        pads_end=post,
        output_padding=(0,) * len(pre),
        groups=record["num_groups"],
    )


def _fake_modules(record: dict[str, Any]) -> tuple[types.ModuleType, types.ModuleType]:
    """A ``tensorrt`` that records the network and computes it with the reference, and a cudart."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.0.0"
    trt.float32, trt.float16, trt.int8 = "float32", "float16", "int8"
    trt.BuilderFlag = _Enum("TF32", "FP16", "GPU_FALLBACK", "INT8")
    trt.NetworkDefinitionCreationFlag = _Enum("EXPLICIT_BATCH", "STRONGLY_TYPED")
    trt.DeviceType = _Enum("GPU", "DLA")
    trt.PaddingMode = types.SimpleNamespace(**{m: m for m in tm.PADDING_MODES})
    trt.ProfilingVerbosity = _Enum("DETAILED")
    trt.LayerInformationFormat = _Enum("JSON")
    trt.Logger = type("Logger", (), {"WARNING": 0, "__init__": lambda self, level: None})
    trt.Dims = tuple
    trt.Weights = lambda array=None: types.SimpleNamespace(array=array)
    memory: dict[int, bytearray] = {}

    class Config:
        def __init__(self) -> None:
            record["flags"] = set()

        def set_flag(self, flag: int) -> None:
            record["flags"].add(flag)

        def clear_flag(self, flag: int) -> None:
            record.setdefault("cleared", set()).add(flag)

        def create_timing_cache(self, blob: bytes) -> str:
            record["timing_caches"] = record.get("timing_caches", 0) + 1
            return "cache"

        def set_timing_cache(self, cache: str, ignore: bool) -> None:
            pass

        def can_run_on_DLA(self, layer: _Layer) -> bool:
            return True

        def __setattr__(self, name: str, value: Any) -> None:
            record[name] = value

    class Network:
        def add_input(self, name: str, dtype: str, shape: tuple[int, ...]) -> _Tensor:
            record["input_dtype"] = dtype
            return _Tensor(lambda x: x, dtype, shape)

        def add_constant(self, shape: tuple[int, ...], weights: Any) -> types.SimpleNamespace:
            value = np.asarray(weights.array).reshape(tuple(shape))
            record.setdefault("constants", []).append(value)
            tensor = _Tensor(lambda x: value, str(value.dtype), shape)
            return types.SimpleNamespace(get_output=lambda index: tensor)

        def add_quantize(self, source: _Tensor, scale: _Tensor, output_type: str = "int8") -> _QdqLayer:
            return _QdqLayer(record, "quantize", source, scale, output_type)

        def add_dequantize(self, source: _Tensor, scale: _Tensor, output_type: str = "float32") -> _QdqLayer:
            return _QdqLayer(record, "dequantize", source, scale, output_type)

        def add_deconvolution_nd(self, *args: Any) -> _Layer:
            return _Layer(record, *args)

        def mark_output(self, tensor: _Tensor) -> None:
            record["output"] = tensor

    def execute(addresses: dict[str, int], stream: Any) -> bool:
        x = np.frombuffer(bytes(memory[addresses["x"]]), dtype=np.dtype(record["input_dtype"]))
        y = np.asarray(record["output"].compute(x.reshape(record["input_shape"])))
        out = memory[addresses["y"]]
        out[:] = y.astype(np.dtype(record["output"].dtype)).tobytes()[: len(out)].ljust(len(out), b"\0")
        record["executions"] = record.get("executions", 0) + 1
        return True

    class Engine:
        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            attrs = tm.DeconvAttributes(
                num_output_maps=record["num_output_maps"],
                kernel_shape=record["kernel_shape"],
                kernel_weights_shape=(),
                bias_count=0,
                num_groups=record["num_groups"],
                stride_nd=record["stride_nd"],
                dilation_nd=record["dilation_nd"],
                pre_padding=record["pre_padding"],
                post_padding=record["post_padding"],
                padding_mode=record["padding_mode"],
                input_shape=record["input_shape"],
            )
            return (record["input_shape"][0], record["num_output_maps"], *attrs.output_size())

        def create_execution_context(self) -> types.SimpleNamespace:
            addresses: dict[str, int] = {}
            return types.SimpleNamespace(
                set_tensor_address=lambda name, ptr: addresses.__setitem__(name, ptr),
                execute_async_v3=lambda stream: execute(addresses, stream),
            )

        def create_engine_inspector(self) -> types.SimpleNamespace:
            kind = "DLA" if record.get("default_device_type") == trt.DeviceType.DLA else "Deconvolution"
            text = json.dumps({"Layers": [{"Name": "deconv", "LayerType": kind}]})
            return types.SimpleNamespace(get_engine_information=lambda fmt: text)

    def build(network: Network, config: Config) -> bytes:
        record["builds"] = record.get("builds", 0) + 1
        return b"plan"

    trt.Builder = lambda logger: types.SimpleNamespace(
        create_network=lambda flags: record.__setitem__("network_flags", flags) or Network(),
        create_builder_config=Config,
        build_serialized_network=build,
    )
    trt.Runtime = lambda logger: types.SimpleNamespace(deserialize_cuda_engine=lambda plan: Engine())

    cudart = types.ModuleType("cuda.bindings.runtime")
    cudart.cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice="h2d", cudaMemcpyDeviceToHost="d2h")

    def malloc(size: int) -> tuple[int, int]:
        ptr = len(memory) + 1
        memory[ptr] = bytearray(size)
        return 0, ptr

    def memcpy(dst: int, src: int, size: int, kind: str) -> tuple[int]:
        if kind == "h2d":
            memory[dst][:] = ctypes.string_at(src, size)
        else:
            ctypes.memmove(dst, bytes(memory[src][:size]).ljust(size, b"\0"), size)
        return (0,)

    cudart.cudaMalloc = malloc
    cudart.cudaMemcpy = memcpy
    cudart.cudaFree = lambda ptr: (0,)
    cudart.cudaStreamCreate = lambda: (0, 7)
    cudart.cudaStreamSynchronize = lambda stream: (0,)
    cudart.cudaStreamDestroy = lambda stream: (0,)
    return trt, cudart


def stand_in_modules(record: dict[str, Any]) -> dict[str, types.ModuleType]:
    """The stand-in modules by their import names (``tensorrt``, ``cuda``, ``cuda.bindings``,
    ``cuda.bindings.runtime``), recording into ``record``."""
    trt, cudart = _fake_modules(record)
    cuda = types.ModuleType("cuda")
    bindings = types.ModuleType("cuda.bindings")
    bindings.runtime = cudart
    cuda.bindings = bindings
    return {"tensorrt": trt, "cuda": cuda, "cuda.bindings": bindings, "cuda.bindings.runtime": cudart}
