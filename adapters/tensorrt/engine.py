"""The TensorRT steps a plan calls by name: each function uses only ``tensorrt``, ``cuda-python``,
``json`` and NumPy, and its source is pasted into the snippet as written, so a reproduction runs
exactly what the worker ran.

They hold what depends on the installed TensorRT (its major version, the flags it still has) and
the device buffers; the layer and its attributes stay plain plan statements.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def network_flags(trt: Any, half: bool) -> int:
    """Explicit batch before TensorRT 10; a strongly typed network for float16 where the FP16
    builder flag is gone (TensorRT 11 removed the weak-typing flags)."""
    flags = 0
    if int(trt.__version__.split(".")[0]) < 10:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    strongly_typed = half and not hasattr(trt.BuilderFlag, "FP16")
    if strongly_typed and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return flags


def precision_flags(trt: Any, config: Any, half: bool) -> None:
    """TF32 off, so float32 is judged as float32; FP16 on for float16 where the flag exists."""
    if hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    if half and hasattr(trt.BuilderFlag, "FP16"):
        config.set_flag(trt.BuilderFlag.FP16)


def int8_strongly_typed(trt: Any, dla: bool) -> bool:
    """Whether the int8 Q/DQ network is strongly typed: where the flag exists, as the explicit
    quantization guide asks, except on DLA while ``BuilderFlag.INT8`` exists (TensorRT <= 10: DLA
    precision came from the builder flags; TensorRT 11's DLA pages say every DLA network is strongly
    typed and the flag is gone)."""
    if not hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        return False
    return not (dla and hasattr(trt.BuilderFlag, "INT8"))


def int8_network_flags(trt: Any, strongly_typed: bool) -> int:
    """STRONGLY_TYPED for a strongly typed int8 network (TensorRT 10 and later: batch is explicit)."""
    return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0


def int8_precision_flags(trt: Any, config: Any, strongly_typed: bool) -> None:
    """TF32 off; a weakly typed Q/DQ network sets ``BuilderFlag.INT8`` (a strongly typed one takes
    its precision from the Q/DQ types and must not set precision flags)."""
    if hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    if not strongly_typed and hasattr(trt.BuilderFlag, "INT8"):
        config.set_flag(trt.BuilderFlag.INT8)


def int8_output_type(trt: Any, tensor: Any, strongly_typed: bool, requantized: bool) -> None:
    """In a weakly typed network the I/O types are the user's to set: the Q layer's int8 output is
    declared int8, so the output buffer holds the quantized integers (a strongly typed network takes
    the type from the layer and must not be told)."""
    if requantized and not strongly_typed:
        tensor.dtype = trt.int8


def placement_from_inspector(info_json: str, layer_name: str) -> str:
    """``"dla"``, ``"gpu"`` or ``"unknown"``: where the engine inspector says ``layer_name`` runs.

    With ``ProfilingVerbosity.DETAILED`` the inspector lists each engine layer with a ``Name`` and a
    ``LayerType``; a DLA subgraph is one engine layer whose type names DLA and whose name lists the
    network layers it holds. A layer found only in non-DLA engine layers ran on the GPU.
    """
    import json

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


def build_engine(trt: Any, logger: Any, builder: Any, network: Any, config: Any) -> tuple[Any, str]:
    """Build and deserialize the engine; returns it with where the layer named ``deconv`` runs."""
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT could not build the engine")
    engine = trt.Runtime(logger).deserialize_cuda_engine(serialized)
    inspector = engine.create_engine_inspector()
    info = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    return engine, placement_from_inspector(info, "deconv")


def execute_engine(engine: Any, x: np.ndarray, y_dtype: Any = None) -> np.ndarray:
    """Copy ``x`` to the device, execute the engine, copy ``y`` back (cuda-python buffers); ``y``
    has ``x``'s dtype unless ``y_dtype`` is given (an int8 network's output)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:  # cuda-python before 12.6
        from cuda import cudart

    def checked(result: Any) -> Any:
        err, *values = result if isinstance(result, tuple) else (result,)
        if int(err) != 0:
            raise RuntimeError(f"CUDA runtime error {err}")
        return values[0] if len(values) == 1 else tuple(values)

    y = np.empty(tuple(engine.get_tensor_shape("y")), dtype=x.dtype if y_dtype is None else y_dtype)
    stream = checked(cudart.cudaStreamCreate())
    d_x = checked(cudart.cudaMalloc(x.nbytes))
    d_y = checked(cudart.cudaMalloc(y.nbytes))
    try:
        kinds = cudart.cudaMemcpyKind
        checked(cudart.cudaMemcpy(d_x, x.ctypes.data, x.nbytes, kinds.cudaMemcpyHostToDevice))
        context = engine.create_execution_context()
        context.set_tensor_address("x", int(d_x))
        context.set_tensor_address("y", int(d_y))
        if not context.execute_async_v3(stream):
            raise RuntimeError("IExecutionContext.execute_async_v3 returned False")
        checked(cudart.cudaStreamSynchronize(stream))
        checked(cudart.cudaMemcpy(y.ctypes.data, d_y, y.nbytes, kinds.cudaMemcpyDeviceToHost))
    finally:
        cudart.cudaFree(d_x)
        cudart.cudaFree(d_y)
        cudart.cudaStreamDestroy(stream)
    return y
