"""Target ``mindspore.nn``: the ``mindspore.nn.Conv{1,2,3}dTranspose`` layers.

Explicit crops use ``pad_mode='pad'``: 2-D ``padding=(top, bottom, left, right)``, 3-D
``(head, tail, top, bottom, left, right)``, or one int where every crop is equal (chosen per case by
:func:`~adapters.mindspore_common.pad_value`); 1-D takes one int for both ends and has no
``output_padding``. Named modes use ``pad_mode='same'``/``'valid'``. Weights and bias come from the
case through ``weight_init``/``bias_init`` tensors; 1-D takes a ``(C_in, C_out/g, k)`` tensor there
and stores it as ``(C_in, C_out/g, 1, k)`` itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.mindspore.common import (
    MS_DTYPES,
    MindSporeTarget,
    begin_end_pairs,
    pad_value,
    ranked_modes,
    snippet_prelude,
)
from adapters.probing import Code, RawParams, call_text
from adapters.protocol import symmetric_padding_for
from harness.errors import NotExpressible
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.modes import DocumentedMode

#: Documented defaults of mindspore.nn.Conv{1,2,3}dTranspose (2.10), left out of call text.
LAYER_DEFAULTS = {
    "stride": 1,
    "pad_mode": "same",
    "padding": 0,
    "output_padding": 0,
    "dilation": 1,
    "group": 1,
    "has_bias": False,
}
DOC_2D = "https://www.mindspore.cn/docs/en/r2.10.0/api_python/nn/mindspore.nn.Conv2dTranspose.html"


def scalar_or_tuple(case: Case, values: tuple[int, ...]) -> int | tuple[int, ...]:
    """1-D layers take plain ints for kernel, stride and dilation; 2-D/3-D take tuples."""
    return values[0] if case.rank == 1 else values


class MindSporeNN(MindSporeTarget):
    """``mindspore.nn.Conv{rank}dTranspose(..., pad_mode, padding, [output_padding,] ...)``."""

    name = "mindspore.nn"
    output_padding_limit = "1d:none 2d:lt_stride_or_dilation 3d:lt_stride_or_dilation"

    def padding_modes(self) -> dict[str, DocumentedMode]:
        """'same' and 'valid' as the nn layers' documentation gives them, per rank."""
        return ranked_modes("nn", self.ranks)

    def expressible(self, case: Case) -> str | None:
        """1-D: symmetric padding only, no output_padding; 2-D/3-D: output_padding < max(s, d)."""
        if case.padding_mode != "explicit":
            return None
        if case.rank == 1:
            form = symmetric_padding_for(case)
            if isinstance(form, str):
                return f"nn.Conv1dTranspose takes one padding for both ends: {form}"
            if any(form[1]):
                return (
                    f"nn.Conv1dTranspose has no output_padding and one padding for both ends: "
                    f"crops {list(case.pads_begin)}/{list(case.pads_end)} with output_padding "
                    f"{list(case.output_padding)} is not a symmetric padding"
                )
            return None
        for dim, (op, s, d) in enumerate(zip(case.output_padding, case.stride, case.dilation, strict=True)):
            if op >= max(s, d):
                where = (
                    f"the documented range of nn.Conv2dTranspose ({DOC_2D})"
                    if case.rank == 2
                    else "nn.Conv3dTranspose documents only ≥ 0; its Conv3DTranspose primitive raises "
                    "ValueError"
                )
                return (
                    f"output_padding {op} along dim {dim} is outside [0, max(stride, dilation)) = "
                    f"[0, {max(s, d)}): {where}"
                )
        return None

    def arguments(self, case: Case) -> dict[str, Any]:
        """The layer's keyword arguments, except the tensors and dtype (shared by run and snippet)."""
        args: dict[str, Any] = {
            "in_channels": case.in_channels,
            "out_channels": case.out_channels,
            "kernel_size": scalar_or_tuple(case, case.kernel_size),
            "stride": scalar_or_tuple(case, case.stride),
        }
        if case.padding_mode != "explicit":
            args.update(pad_mode=case.padding_mode, padding=0)
        elif case.rank == 1:
            args.update(pad_mode="pad", padding=case.pads_begin[0])
        else:
            args.update(pad_mode="pad", padding=pad_value(case, begin_end_pairs(case)))
            args["output_padding"] = pad_value(case, case.output_padding)
        args.update(dilation=scalar_or_tuple(case, case.dilation), group=case.groups, has_bias=case.bias)
        return args

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Build the layer with the case's weights and call it."""
        ms = self._ms
        held = arrays.container()
        layer = getattr(ms.nn, f"Conv{case.rank}dTranspose")
        bias = self.tensor(held["bias"]) if case.bias else None
        net = layer(
            **self.arguments(case),
            weight_init=self.tensor(held["weight"]),
            bias_init=bias,
            dtype=self.ms_dtype(case),
        )
        return self.to_numpy(net(self.tensor(held["x"])))

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone MindSpore code building the layer exactly as :meth:`run` does."""
        reason = self.supports(case)
        if reason is not None:
            return f"# not expressible in mindspore.nn: {reason}\n"
        args = ",\n    ".join(f"{k}={v!r}" for k, v in self.arguments(case).items())
        return snippet_prelude(self, npz_name, squeeze_warm_up=case.rank == 1) + (
            'bias = Tensor(data["bias"]) if "bias" in data else None\n'
            f"net = nn.Conv{case.rank}dTranspose(\n    {args},\n"
            f"    weight_init=weight, bias_init=bias, dtype=ms.{MS_DTYPES[case.dtype]})\n"
            "y = net(x)\nprint(y.shape)\nprint(y)\n"
        )

    def equivalent_call(self, case: Case) -> str:
        """The layer construction :meth:`run` makes (weights go to ``weight_init``/``bias_init``)."""
        keywords: dict[str, object] = dict(self.arguments(case))
        if case.dtype != "float32":
            keywords["dtype"] = Code(f"mindspore.{MS_DTYPES[case.dtype]}")
        return call_text(f"mindspore.nn.Conv{case.rank}dTranspose", (), keywords, LAYER_DEFAULTS)

    def probe(self, params: dict[str, object]) -> list[int]:
        """Build the layer from raw parameters (``pad_mode='pad'``) and call it; the output shape."""
        p = RawParams.from_dict(params)
        p.require_layer_weight(f"mindspore.nn.Conv{p.rank}dTranspose")
        ms = self._ms
        args: dict[str, object] = {"in_channels": p.in_channels, "out_channels": p.out_channels}
        if p.rank == 1:
            p.require_symmetric("mindspore.nn.Conv1dTranspose")
            if any(p.output_padding):
                raise NotExpressible("mindspore.nn.Conv1dTranspose has no output_padding")
            args.update(
                kernel_size=p.kernel_size[0],
                stride=p.stride[0],
                pad_mode="pad",
                padding=p.pads_begin[0],
                dilation=p.dilation[0],
            )
        else:
            args.update(
                kernel_size=p.kernel_size,
                stride=p.stride,
                pad_mode="pad",
                padding=p.pairs(),
                output_padding=p.output_padding,
                dilation=p.dilation,
            )
        layer = getattr(ms.nn, f"Conv{p.rank}dTranspose")(**args, group=p.groups, has_bias=p.bias)
        return list(layer(ms.Tensor(p.data())).shape)
