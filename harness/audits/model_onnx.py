"""Reading every ``ConvTranspose`` node of an ONNX file into a :class:`ModelLayer`.

The file is read with the ``onnx`` package and never run. Per node:

- the attributes (``auto_pad``, ``pads``, ``output_padding``, ``output_shape``, ``group``,
  ``dilations``, ``strides``, ``kernel_shape``) with the defaults of the ConvTranspose specification
  (https://onnx.ai/onnx/operators/onnx__ConvTranspose.html);
- the weight and bias from the graph's initializers: the real arrays. A weight or bias computed in
  the graph (not an initializer) is said per layer; that layer is not ported;
- the input shape from the graph's inputs and ``onnx.shape_inference``, with ``--input-shape NAME=…``
  fixing a graph input (then inferred through the graph) or naming any tensor directly. A symbolic
  batch alone is read as 1 (said in the layer's notes); any other unknown size is an error naming
  the node.

``output_shape`` gives the crops by the specification's derivation
(``total = s·(L−1) + output_padding + K − output_shape``, ``begin = ⌊total/2⌋`` for ``SAME_UPPER``,
else ``total − ⌊total/2⌋``); a negative total is read as no crop and the extra positions at the end,
as ONNX's own backend test ``test_convtranspose_output_shape`` expects. ``auto_pad`` SAME/VALID stay
named modes: ``port`` pins them by running the node in ONNX Runtime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.audits.model_layers import WEIGHT_DTYPES, ModelLayer, weight_problem
from harness.errors import InvalidCase, PortError
from harness.model.case import Case

#: ``auto_pad`` → the canonical named mode (NOTSET: explicit pads).
AUTO_PAD_MODES = {"SAME_UPPER": "same", "SAME_LOWER": "same_lower", "VALID": "valid"}
API_NAME = "ONNX ConvTranspose"


def read_onnx(path: Path, input_shapes: dict[str, tuple[int, ...]], seed: int = 0) -> list[ModelLayer]:
    """Every ConvTranspose node of the file, in graph order (PortError: an unreadable file, no such
    node, an unknown input shape, an ``--input-shape`` naming no tensor)."""
    import onnx
    from onnx import numpy_helper, shape_inference

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, OSError, … for what is not a model
        raise PortError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from exc
    graph = model.graph
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    tensors = {name for node in graph.node for name in [*node.input, *node.output]}
    tensors |= {i.name for i in graph.input}
    for name in input_shapes:
        if name not in tensors:
            raise PortError(f"{path}: --input-shape {name}=…: the graph has no tensor named {name!r}")
    for given in graph.input:
        if given.name in input_shapes:
            _set_shape(given, input_shapes[given.name])
    try:
        inferred = shape_inference.infer_shapes(model)
    except Exception:  # an inconsistent graph: only the declared shapes are known
        inferred = model
    known = {
        vi.name: _dims(vi)
        for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]
    }
    known.update({name: tuple(shape) for name, shape in input_shapes.items()})
    layers = []
    for index, node in enumerate(graph.node):
        if node.op_type == "ConvTranspose" and node.domain in ("", "ai.onnx"):
            name = node.name or f"ConvTranspose#{index}"
            attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            layers.append(_layer(path, name, node, attributes, initializers, known, seed))
    if not layers:
        raise PortError(f"{path}: the graph has no ConvTranspose node")
    return layers


def _set_shape(value_info: Any, shape: tuple[int, ...]) -> None:
    dims = value_info.type.tensor_type.shape.dim
    del dims[:]
    for size in shape:
        dims.add().dim_value = size


def _dims(value_info: Any) -> tuple[int | None, ...] | None:
    tensor = value_info.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _source_call(attributes: dict[str, Any], x_shape: Any) -> str:
    parts = [f"{k}={_text(v)!r}" if isinstance(v, bytes | str) else f"{k}={v}" for k, v in attributes.items()]
    return f"ConvTranspose({', '.join(parts)}) on x of shape {x_shape}"


def _layer(
    path: Path,
    name: str,
    node: Any,
    attributes: dict[str, Any],
    initializers: dict[str, np.ndarray],
    known: dict[str, tuple[int | None, ...] | None],
    seed: int,
) -> ModelLayer:
    x_name, w_name = node.input[0], node.input[1]
    b_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
    layer = ModelLayer(name, "onnxruntime", API_NAME, _source_call(attributes, known.get(x_name)))
    for what, tensor in (("weight", w_name), ("bias", b_name)):
        if tensor is not None and tensor not in initializers:
            layer.problem = (
                f"its {what} {tensor!r} is not an initializer (it is computed in the graph): "
                "the file holds no values to port it with"
            )
            return layer
    weight = initializers[w_name]
    bias = None if b_name is None else initializers[b_name]
    dtype = WEIGHT_DTYPES.get(str(weight.dtype))
    if dtype is None or (bias is not None and str(bias.dtype) != str(weight.dtype)):
        layer.problem = f"weight dtype {weight.dtype} (bias {getattr(bias, 'dtype', None)}) is not ported"
        return layer
    rank = weight.ndim - 2
    if rank not in (1, 2, 3):
        layer.problem = f"a {weight.ndim}-D weight: only 1-, 2- and 3-D transposed convolutions are ported"
        return layer
    shape = _input_shape(path, name, x_name, known.get(x_name), rank, layer)
    try:
        layer.case, layer.source_target = _case(attributes, weight, shape, rank, dtype, bias, seed)
    except (InvalidCase, ValueError) as exc:
        layer.problem = str(exc)
        return layer
    layer.problem = weight_problem(layer.case, weight, bias)
    layer.weight, layer.bias = weight, bias
    return layer


def _input_shape(
    path: Path, name: str, x_name: str, dims: tuple[int | None, ...] | None, rank: int, layer: ModelLayer
) -> tuple[int, ...]:
    hint = f"give --input-shape {x_name}=N" + "x".join(["", "C", *["L"] * rank])
    if dims is None or len(dims) != rank + 2:
        raise PortError(f"{path}: node {name!r}: the shape of its input {x_name!r} is not known ({hint})")
    if any(d is None or d <= 0 for d in dims[1:]):
        raise PortError(
            f"{path}: node {name!r}: its input {x_name!r} has unknown sizes {list(dims)} ({hint})"
        )
    if dims[0] is None or dims[0] <= 0:
        layer.notes.append(f"the batch of {x_name!r} is symbolic: read as 1")
        return (1, *(int(d or 0) for d in dims[1:]))
    return tuple(int(d or 0) for d in dims)


def _case(
    attributes: dict[str, Any],
    weight: np.ndarray,
    shape: tuple[int, ...],
    rank: int,
    dtype: str,
    bias: np.ndarray | None,
    seed: int,
) -> tuple[Case, str]:
    groups = int(attributes.get("group", 1))
    kernel = tuple(int(k) for k in attributes.get("kernel_shape", weight.shape[2:]))
    if kernel != tuple(weight.shape[2:]):
        raise ValueError(f"kernel_shape {list(kernel)} is not the weight's {list(weight.shape[2:])}")
    stride = tuple(attributes.get("strides", [1] * rank))
    dilation = tuple(attributes.get("dilations", [1] * rank))
    pads = tuple(attributes.get("pads", [0] * 2 * rank))
    op = tuple(attributes.get("output_padding", [0] * rank))
    auto_pad = _text(attributes.get("auto_pad", "NOTSET"))
    if shape[1] != weight.shape[0]:
        raise ValueError(f"the input has {shape[1]} channels, the weight {weight.shape[0]}")
    fields: dict[str, Any] = dict(
        rank=rank,
        batch=shape[0],
        in_channels=weight.shape[0],
        out_channels=weight.shape[1] * groups,
        groups=groups,
        input_size=shape[2:],
        kernel_size=kernel,
        stride=stride,
        dilation=dilation,
        bias=bias is not None,
        dtype=dtype,
        seed=seed,
    )
    if "output_shape" in attributes:
        out = tuple(attributes["output_shape"])[-rank:]
        begin, end, extra = [], [], []
        for L, s, d, k, p, o in zip(shape[2:], stride, dilation, kernel, op, out, strict=True):
            total = s * (L - 1) + p + d * (k - 1) + 1 - o
            low = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            begin.append(max(low, 0) if total >= 0 else 0)
            end.append(total - low if total >= 0 else 0)
            extra.append(p if total >= 0 else p - total)
        fields.update(pads_begin=begin, pads_end=end, output_padding=extra)
        return Case.make(**fields), "onnxruntime.output_shape"
    if auto_pad in AUTO_PAD_MODES:
        if any(op):
            raise ValueError(f"output_padding {list(op)} with auto_pad {auto_pad} is not ported")
        return Case.make(**fields, padding_mode=AUTO_PAD_MODES[auto_pad]), "onnxruntime"
    if auto_pad != "NOTSET":
        raise ValueError(f"auto_pad {auto_pad!r} is not a value of the specification")
    fields.update(pads_begin=pads[:rank], pads_end=pads[rank:], output_padding=op)
    return Case.make(**fields), "onnxruntime"
