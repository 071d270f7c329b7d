"""Where target names are resolved: built-ins, the entry-point group, and ``module:Class``.

Third-party targets register under the entry-point group ``convt_harness.targets`` (name → class)
or are named directly as ``package.module:ClassName`` wherever a target name is accepted, so an
in-house framework is testable without editing this project.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from adapters.protocol import Target
from adapters.reading import Api
from harness.errors import UnknownTarget

ENTRY_POINT_GROUP = "convt_harness.targets"

BUILTIN: dict[str, str] = {
    "torch.nn": "adapters.torch.nn:TorchNN",
    "torch.nn.output_size": "adapters.torch.nn:TorchNNOutputSize",
    "torch.functional": "adapters.torch.functional:TorchFunctional",
    "torch.quantized.fbgemm": "adapters.torch.quantized:TorchQuantized",
    "torch.quantized.x86": "adapters.torch.quantized:TorchQuantizedX86",
    "torch.quantized.qnnpack": "adapters.torch.quantized:TorchQuantizedQnnpack",
    "torch.quantized.onednn": "adapters.torch.quantized:TorchQuantizedOnednn",
    "paddle.nn": "adapters.paddle.nn:PaddleNN",
    "paddle.functional": "adapters.paddle.functional:PaddleFunctional",
    "mindspore.nn": "adapters.mindspore.nn:MindSporeNN",
    "mindspore.ops": "adapters.mindspore.ops:MindSporeOps",
    "onnxruntime": "adapters.onnxruntime.targets:OnnxRuntime",
    "onnxruntime.opset11": "adapters.onnxruntime.targets:OnnxRuntimeOpset11",
    "onnxruntime.output_shape": "adapters.onnxruntime.targets:OnnxRuntimeOutputShape",
    "onnxruntime.tensorrt_ep": "adapters.onnxruntime.targets:OnnxRuntimeTensorRTEP",
    "onnxruntime.qdq": "adapters.onnxruntime.quant_target:OnnxRuntimeQDQ",
    "tensorrt": "adapters.tensorrt.targets:TensorRTTarget",
    "tensorrt.round_up": "adapters.tensorrt.targets:TensorRTRoundUp",
    "tensorrt.dla": "adapters.tensorrt.targets:TensorRTDLA",
    "tensorrt.dla.gpu_fallback": "adapters.tensorrt.targets:TensorRTDLAFallback",
    "tensorrt.int8": "adapters.tensorrt.int8_targets:TensorRTInt8",
    "tensorrt.int8.dla": "adapters.tensorrt.int8_targets:TensorRTInt8DLA",
}


def _load(spec: str) -> type[Target]:
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise UnknownTarget(f"target {spec!r} is not a known name and not of the form module:Class")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownTarget(f"cannot load target {spec!r}: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, Target)):
        raise UnknownTarget(f"{spec!r} is not a subclass of adapters.protocol.Target")
    return obj


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_names() -> list[str]:
    """Every registered target name (built-in first, then entry points)."""
    names = list(BUILTIN)
    names += [n for n in sorted(_entry_points()) if n not in BUILTIN]
    return names


def resolve(name: str) -> type[Target]:
    """The target class for a registered name or a ``module:Class`` reference."""
    if name in BUILTIN:
        return _load(BUILTIN[name])
    eps = _entry_points()
    if name in eps:
        return _load(eps[name])
    if ":" in name:
        return _load(name)
    raise UnknownTarget(f"unknown target {name!r}; known: {', '.join(known_names())} (or module:Class)")


def availability() -> dict[str, str | None]:
    """Each registered target name → None if it can run here, else the reason it cannot."""
    out: dict[str, str | None] = {}
    for name in known_names():
        try:
            out[name] = resolve(name).unavailable_reason()
        except ValueError as exc:
            out[name] = str(exc)
    return out


def readable_apis() -> list[Api]:
    """Every call signature ``port`` reads, from the registered targets' :meth:`call_apis` (each API
    once, in registration order); a target that cannot be loaded contributes none."""
    seen: dict[str, Api] = {}
    for name in known_names():
        try:
            apis = resolve(name).call_apis()
        except UnknownTarget:
            continue
        for api in apis:
            seen.setdefault(api.name, api)
    return list(seen.values())


def installed_targets() -> list[str]:
    """Registered targets whose framework imports here (the default for a run)."""
    return [name for name, reason in availability().items() if reason is None]
