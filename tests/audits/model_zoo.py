"""Real-world-like transposed convolutions, each written both as an ONNX file (``onnx.helper``) and
as a PyTorch module with a saved ``state_dict``, holding the same weights.

- ``dcgan``: a DCGAN generator layer, k4 s2 p1, no bias (Radford et al. 2015);
- ``unet_up``: a U-Net up-convolution, k2 s2 (Ronneberger et al. 2015);
- ``fcn_up``: an FCN 2× upsampling, k4 s2 p1 groups=C, initialised to bilinear interpolation
  (Long et al. 2015);
- ``vocoder``: a 1-D vocoder upsampler, k16 s8 p4 (MelGAN);
- ``decoder3d``: a 3-D decoder layer, k3 s2 p1 output_padding 1 (a 3-D U-Net);
- ``depthwise``: a depthwise transposed convolution, k3 s1 p1 groups=C.

``zoo`` is the factory ``port-model tests.audits.model_zoo:zoo`` imports: a module whose forward
takes one input per layer, in :data:`LAYERS` order. :data:`SUPER_RES` (an FSRCNN-like k9 s2 p4
output_padding 1) is apart: ``mindspore.nn`` diverges on it (known-findings.yaml), so its port needs
a workaround. :func:`generator` is a two-layer DCGAN generator chained through a ReLU, whose second
layer's input shape is known only through the graph. :class:`GeneratedWeights` is a test target
that computes with the case's generated weights instead of the ones it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from tests.targets_for_tests import ReferenceTarget


@dataclass(frozen=True)
class Spec:
    """One layer: the constructor's arguments and the shape of its input."""

    name: str
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    input_shape: tuple[int, ...]
    output_padding: int = 0
    groups: int = 1
    bias: bool = True

    @property
    def rank(self) -> int:
        """Spatial dimensions."""
        return len(self.input_shape) - 2

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """(C_in, C_out/groups, k, …), torch's and ONNX's layout."""
        return (self.in_channels, self.out_channels // self.groups, *(self.kernel,) * self.rank)


LAYERS = (
    Spec("dcgan", 16, 8, 4, 2, 1, (2, 16, 4, 4), bias=False),
    Spec("unet_up", 8, 4, 2, 2, 0, (1, 8, 6, 6)),
    Spec("fcn_up", 4, 4, 4, 2, 1, (1, 4, 5, 5), groups=4, bias=False),
    Spec("vocoder", 8, 4, 16, 8, 4, (1, 8, 10)),
    Spec("decoder3d", 4, 2, 3, 2, 1, (1, 4, 3, 3, 3), output_padding=1),
    Spec("depthwise", 6, 6, 3, 1, 1, (1, 6, 5, 5), groups=6),
)


SUPER_RES = Spec("fsrcnn", 8, 1, 9, 2, 4, (1, 8, 6, 6), output_padding=1)


def bilinear(spec: Spec) -> np.ndarray:
    """FCN's bilinear-interpolation initialisation of a k×k upsampling kernel, one per channel."""
    factor = (spec.kernel + 1) // 2
    center = factor - 1 if spec.kernel % 2 == 1 else factor - 0.5
    og = np.arange(spec.kernel)
    filt = 1 - np.abs(og - center) / factor
    return np.broadcast_to(np.outer(filt, filt), spec.weight_shape).astype(np.float32)


Arrays = dict[str, tuple[np.ndarray, np.ndarray | None]]


def weights(seed: int = 7, specs: tuple[Spec, ...] = LAYERS) -> Arrays:
    """Each layer's float32 weight and bias (None without one), drawn as a trained model's might be."""
    rng = np.random.default_rng(seed)
    out: Arrays = {}
    for spec in specs:
        w = bilinear(spec) if spec.name == "fcn_up" else (0.2 * rng.standard_normal(spec.weight_shape))
        b = (0.1 * rng.standard_normal(spec.out_channels)).astype(np.float32) if spec.bias else None
        out[spec.name] = (np.asarray(w, dtype=np.float32), b)
    return out


def onnx_file(path: Path, arrays: Arrays, specs: tuple[Spec, ...] = LAYERS) -> Path:
    """An ONNX file with one ConvTranspose node per layer, its weights as initializers."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inputs, outputs, inits = [], [], [], []
    for spec in specs:
        w, b = arrays[spec.name]
        names = [f"{spec.name}_x", f"{spec.name}_w"]
        inits.append(numpy_helper.from_array(w, names[1]))
        if b is not None:
            names.append(f"{spec.name}_b")
            inits.append(numpy_helper.from_array(b, names[2]))
        r = spec.rank
        attributes: dict[str, Any] = dict(
            kernel_shape=[spec.kernel] * r, strides=[spec.stride] * r, pads=[spec.padding] * 2 * r
        )
        if spec.output_padding:
            attributes["output_padding"] = [spec.output_padding] * r
        if spec.groups > 1:
            attributes["group"] = spec.groups
        nodes.append(
            helper.make_node("ConvTranspose", names, [f"{spec.name}_y"], name=spec.name, **attributes)
        )
        inputs.append(helper.make_tensor_value_info(names[0], TensorProto.FLOAT, list(spec.input_shape)))
        outputs.append(helper.make_tensor_value_info(f"{spec.name}_y", TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "zoo", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def zoo() -> Any:
    """The layers as one torch module (forward: one input per layer, in LAYERS order)."""
    import torch

    class Zoo(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for spec in LAYERS:
                kind = getattr(torch.nn, f"ConvTranspose{spec.rank}d")
                layer = kind(
                    spec.in_channels,
                    spec.out_channels,
                    spec.kernel,
                    stride=spec.stride,
                    padding=spec.padding,
                    output_padding=spec.output_padding,
                    groups=spec.groups,
                    bias=spec.bias,
                )
                self.add_module(spec.name, layer)

        def forward(self, *xs: Any) -> tuple[Any, ...]:
            return tuple(getattr(self, spec.name)(x) for spec, x in zip(LAYERS, xs, strict=True))

    return Zoo()


def state_dict_file(path: Path, arrays: Arrays) -> Path:
    """``arrays`` saved as the state_dict of :func:`zoo`."""
    import torch

    state = {}
    for name, (w, b) in arrays.items():
        state[f"{name}.weight"] = torch.from_numpy(w.copy())
        if b is not None:
            state[f"{name}.bias"] = torch.from_numpy(b.copy())
    torch.save(state, path)
    return path


def shape_args(prefix: bool = True, specs: tuple[Spec, ...] = LAYERS) -> list[str]:
    """``--input-shape`` options for every layer (ONNX: named by the node's input)."""
    out = []
    for spec in specs:
        shape = "x".join(map(str, spec.input_shape))
        out += ["--input-shape", f"{spec.name}_x={shape}" if prefix else f"x{spec.name}={shape}"]
    return out


def generator_onnx(path: Path, batch: str | int = "N") -> Path:
    """A DCGAN generator's first two layers: ConvT k4 s1 (1×1 → 4×4), ReLU, ConvT k4 s2 p1; the
    input's batch is ``batch`` (a name: symbolic)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    w1 = (0.2 * rng.standard_normal((8, 4, 4, 4))).astype(np.float32)
    w2 = (0.2 * rng.standard_normal((4, 2, 4, 4))).astype(np.float32)
    nodes = [
        helper.make_node("ConvTranspose", ["z", "w1"], ["h"], name="project", kernel_shape=[4, 4]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("ConvTranspose", ["r", "w2"], ["y"], name="up", strides=[2, 2], pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "generator",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, 8, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def zoo_with_super_res() -> Any:
    """:func:`zoo` with :data:`SUPER_RES` as a seventh layer (and input)."""
    import torch

    model = zoo()
    model.add_module(SUPER_RES.name, torch.nn.ConvTranspose2d(8, 1, 9, stride=2, padding=4, output_padding=1))
    plain = type(model).forward

    def forward(*xs: Any) -> tuple[Any, ...]:
        return (*plain(model, *xs[:-1]), model.fsrcnn(xs[-1]))

    model.forward = forward
    return model


class GeneratedWeights(ReferenceTarget):
    """Computes with the case's generated weight and bias, not the ones it is given."""

    name = "test.generated_weights"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The reference of the given input with the seed's weights."""
        drawn = make_arrays(case)
        return self.compute(case, arrays.x, drawn.weight, drawn.bias)
