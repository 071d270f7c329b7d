"""Reading every ``torch.nn.ConvTranspose{1,2,3}d`` of a PyTorch module into a :class:`ModelLayer`.

The module comes from ``package.module:factory`` (a callable returning an ``nn.Module``, imported
and called: this is the user's own code), optionally with ``--state-dict FILE.pt`` loaded with
``torch.load(weights_only=True)`` and ``load_state_dict`` (strict). Each layer is named by its
qualified name in ``named_modules()``.

A module does not record the shape of its input, so the shapes are found by running it: the
model's forward is called once, under ``torch.no_grad()``, on zeros of each ``--input-shape`` (its
positional inputs, in the order given; the names only label them), and a forward pre-hook on each
transposed convolution records the shape of its input and any ``output_size`` it was called with.
A layer the forward does not reach is said per layer; a layer called more than once is ported with
its first call's shape.

Each layer is then written as the constructor call a user writes and read by ``port``'s own
PyTorch reader (:mod:`adapters.reading`), so a model's layer and a ``port`` call mean the same.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from adapters.reading import Shapes, translate
from adapters.registry import readable_apis
from harness.audits.model_layers import WEIGHT_DTYPES, ModelLayer, weight_problem
from harness.errors import PortError


def load_module(spec: str, state_dict: Path | None) -> Any:
    """The module ``package.module:factory()`` returns, with ``state_dict``'s weights loaded."""
    import torch

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise PortError(f"{spec!r}: give the model as package.module:factory (or an .onnx file)")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PortError(f"{spec}: cannot load the factory ({type(exc).__name__}: {exc})") from exc
    if not callable(factory):
        raise PortError(f"{spec}: {attr} is not callable")
    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise PortError(f"{spec}: the factory returned {type(model).__name__}, not a torch.nn.Module")
    if state_dict is not None:
        try:
            weights = torch.load(state_dict, weights_only=True, map_location="cpu")
            model.load_state_dict(weights)
        except Exception as exc:  # unpickling and key/shape mismatches raise several types
            raise PortError(
                f"{state_dict}: not a state_dict of {spec} ({type(exc).__name__}: {exc})"
            ) from exc
    return model.eval()


def read_torch(
    spec: str, state_dict: Path | None, input_shapes: list[tuple[int, ...]], seed: int = 0
) -> list[ModelLayer]:
    """Every transposed convolution of the module, in ``named_modules()`` order."""
    import torch

    model = load_module(spec, state_dict)
    kinds = (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, kinds)]
    if not found:
        raise PortError(f"{spec}: the module holds no torch.nn.ConvTranspose1d/2d/3d")
    if not input_shapes:
        raise PortError(f"{spec}: give the model input's shape: --input-shape x=1x3x8x8")
    calls: dict[str, tuple[tuple[int, ...], Any]] = {}

    def recorder(name: str) -> Any:
        def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if name not in calls and args:
                size = kwargs.get("output_size", args[1] if len(args) > 1 else None)
                calls[name] = (tuple(args[0].shape), size)

        return hook

    handles = [m.register_forward_pre_hook(recorder(n), with_kwargs=True) for n, m in found]
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    try:
        with torch.no_grad():
            model(*[torch.zeros(shape, dtype=dtype) for shape in input_shapes])
    except Exception as exc:  # the user's forward on the given shapes
        shapes = ", ".join("x".join(map(str, s)) for s in input_shapes)
        raise PortError(f"{spec}: its forward fails on input {shapes} ({type(exc).__name__}: {exc})") from exc
    finally:
        for handle in handles:
            handle.remove()
    return [_layer(name, m, calls.get(name), seed) for name, m in found]


def _call_text(m: Any) -> str:
    rank = len(m.kernel_size)
    return (
        f"torch.nn.ConvTranspose{rank}d({m.in_channels}, {m.out_channels}, "
        f"kernel_size={tuple(m.kernel_size)}, stride={tuple(m.stride)}, padding={m.padding!r}, "
        f"output_padding={tuple(m.output_padding)}, groups={m.groups}, bias={m.bias is not None}, "
        f"dilation={tuple(m.dilation)}, padding_mode={m.padding_mode!r})"
    )


def _layer(name: str, m: Any, call: tuple[tuple[int, ...], Any] | None, seed: int) -> ModelLayer:
    text = _call_text(m)
    layer = ModelLayer(name, "torch.nn", text.split("(")[0], text)
    if call is None:
        layer.problem = "the forward pass on the given input does not call it: its input shape is unknown"
        return layer
    shape, output_size = call
    weight = m.weight.detach().cpu()
    dtype = WEIGHT_DTYPES.get(str(weight.dtype).removeprefix("torch."))
    if dtype is None:
        layer.problem = f"weight dtype {weight.dtype} is not ported"
        return layer
    if output_size is not None:
        output_size = tuple(int(v) for v in output_size)[-len(m.kernel_size) :]
        layer.source_call += f"; forward(x, output_size={list(output_size)})"
    shapes = Shapes(input_shape=shape, output_size=output_size, dtype=dtype, seed=seed)
    try:
        tr = translate(text, readable_apis(), shapes)
    except PortError as exc:
        layer.problem = str(exc)
        return layer
    layer.case, layer.source_target, layer.notes = tr.case, tr.source_target, list(tr.notes)
    layer.weight = weight.numpy()
    layer.bias = None if m.bias is None else m.bias.detach().cpu().numpy()
    layer.problem = weight_problem(tr.case, layer.weight, layer.bias)
    return layer
