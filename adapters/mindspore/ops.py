"""Target ``mindspore.ops``: the primitives ``ops.Conv2DTranspose`` and ``ops.Conv3DTranspose``.

``ops.Conv2DTranspose`` is the gradient of a 2-D convolution: its ``out_channel`` is that
convolution's output channel count, i.e. the transposed convolution's *input* channels, and it is
called as ``op(x, weight, input_size)`` with ``input_size`` the shape of the result. So the output
size is the caller's choice; explicit crops go to ``pad=(top, bottom, left, right)`` with
``pad_mode='pad'`` and output padding is expressed through ``input_size``. ``ops.Conv3DTranspose``
takes ``in_channel``/``out_channel`` and ``output_padding`` itself. There is no 1-D primitive.

Bias: neither primitive takes one (Conv3DTranspose documents a ``bias`` input that must be None).
A bias is added with ``ops.bias_add``, which is how MindSpore's own ``nn.Conv2dTranspose`` and
``nn.Conv3dTranspose`` combine these primitives with a bias.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.mindspore.common import (
    MindSporeTarget,
    begin_end_pairs,
    pad_value,
    ranked_modes,
    snippet_prelude,
)
from adapters.probing import Code, RawParams, call_text
from harness.errors import NotExpressible
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.modes import DocumentedMode

#: Documented defaults of ops.Conv2DTranspose / ops.Conv3DTranspose (2.10), left out of call text.
PRIMITIVE_DEFAULTS = {
    "pad_mode": "valid",
    "pad": 0,
    "stride": 1,
    "dilation": 1,
    "group": 1,
    "output_padding": 0,
}


class MindSporeOps(MindSporeTarget):
    """``ops.Conv2DTranspose(...)(x, weight, input_size)`` / ``ops.Conv3DTranspose(...)(x, weight)``."""

    name = "mindspore.ops"
    ranks = frozenset({2, 3})
    missing_rank_reason = (
        "mindspore.ops has no 1-D transposed-convolution primitive (Conv2DTranspose "
        "and Conv3DTranspose only; ops.conv_transpose2d has no CPU kernel)"
    )
    output_padding_limit = "2d:lt_stride 3d:lt_stride_or_dilation"

    def padding_modes(self) -> dict[str, DocumentedMode]:
        """'same' and 'valid' as documented (2-D: via nn.Conv2dTranspose; 3-D: nn.Conv3dTranspose)."""
        return ranked_modes("ops", self.ranks)

    def expressible(self, case: Case) -> str | None:
        """2-D: output padding < stride (through input_size); 3-D: output_padding < max(s, d)."""
        if case.padding_mode != "explicit":
            return None
        for dim, (op, s, d) in enumerate(zip(case.output_padding, case.stride, case.dilation, strict=True)):
            if case.rank == 2 and op >= s:
                return (
                    f"output padding {op} ≥ stride {s} along dim {dim}: no convolution input of "
                    "that size has the case's input as its output, so ops.Conv2DTranspose "
                    "refuses the input_size"
                )
            if case.rank == 3 and op >= max(s, d):
                return (
                    f"output_padding {op} along dim {dim} is outside [0, max(stride, dilation)) = "
                    f"[0, {max(s, d)}): ops.Conv3DTranspose raises ValueError (its documentation "
                    "states no range)"
                )
        return None

    def input_size(self, case: Case) -> tuple[int, ...]:
        """The ``input_size`` argument of Conv2DTranspose: the output shape asked for."""
        if case.padding_mode == "explicit":
            size = case.output_size
        else:
            size = self.documented_mode(case.padding_mode).output_size(case)
        return (case.batch, case.out_channels, *size)

    def arguments(self, case: Case) -> dict[str, Any]:
        """The primitive's constructor keywords (shared by run and snippet)."""
        if case.rank == 2:
            args: dict[str, Any] = {"out_channel": case.in_channels}
        else:
            args = {"in_channel": case.in_channels, "out_channel": case.out_channels}
        args["kernel_size"] = case.kernel_size
        if case.padding_mode == "explicit":
            args.update(pad_mode="pad", pad=pad_value(case, begin_end_pairs(case)))
        else:
            args.update(pad_mode=case.padding_mode, pad=0)
        args.update(stride=case.stride, dilation=case.dilation, group=case.groups)
        if case.rank == 3 and case.padding_mode == "explicit":
            args["output_padding"] = pad_value(case, case.output_padding)
        return args

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Build the primitive, call it, and add the bias with ``ops.bias_add`` if the case has one."""
        ops = self._ms.ops
        held = arrays.container()
        x, weight = self.tensor(held["x"]), self.tensor(held["weight"])
        if case.rank == 2:
            y = ops.Conv2DTranspose(**self.arguments(case))(x, weight, self.input_size(case))
        else:
            y = ops.Conv3DTranspose(**self.arguments(case))(x, weight)
        if case.bias:
            y = ops.bias_add(y, self.tensor(held["bias"]))
        return self.to_numpy(y)

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone MindSpore code calling the primitive exactly as :meth:`run` does."""
        reason = self.supports(case)
        if reason is not None:
            return f"# not expressible in mindspore.ops: {reason}\n"
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments(case).items())
        if case.rank == 2:
            call = (
                f"op = ops.Conv2DTranspose({args})\n"
                f"y = op(x, weight, {self.input_size(case)!r})  # input_size: the output shape\n"
            )
        else:
            call = f"op = ops.Conv3DTranspose({args})\ny = op(x, weight)\n"
        return snippet_prelude(self, npz_name) + (
            f"{call}"
            'if "bias" in data:\n'
            '    y = ops.bias_add(y, Tensor(data["bias"]))\n'
            "print(y.shape)\nprint(y)\n"
        )

    def equivalent_call(self, case: Case) -> str:
        """The primitive call :meth:`run` makes (and the ``ops.bias_add`` around it with a bias)."""
        name = f"mindspore.ops.Conv{case.rank}DTranspose"
        text = call_text(name, (), self.arguments(case), PRIMITIVE_DEFAULTS)
        inputs = (Code("x"), Code("weight"))
        if case.rank == 2:
            inputs += (self.input_size(case),)
        text += "(" + ", ".join(repr(v) for v in inputs) + ")"
        return f"mindspore.ops.bias_add({text}, bias)" if case.bias else text

    def probe(self, params: dict[str, object]) -> list[int]:
        """Call the primitive with raw parameters (``pad_mode='pad'``) on random data; the shape."""
        p = RawParams.from_dict(params)
        ms = self._ms
        if p.rank == 1:
            raise NotExpressible(self.missing_rank_reason)
        x, w = ms.Tensor(p.data()), ms.Tensor(p.data(p.weight_shape, seed=1))
        common = {
            "kernel_size": p.kernel_size,
            "pad_mode": "pad",
            "pad": p.pairs(),
            "stride": p.stride,
            "dilation": p.dilation,
            "group": p.groups,
        }
        if p.rank == 2:
            op = ms.ops.Conv2DTranspose(out_channel=p.in_channels, **common)
            y = op(x, w, (p.batch, p.out_channels, *p.output_size))
        else:
            op = ms.ops.Conv3DTranspose(
                in_channel=p.in_channels,
                out_channel=p.out_channels,
                **common,
                output_padding=p.output_padding,
            )
            y = op(x, w)
        if p.bias:
            y = ms.ops.bias_add(y, ms.Tensor(p.data((p.out_channels,), seed=2)))
        return list(y.shape)
