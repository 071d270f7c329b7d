"""Target ``paddle.nn``: the ``paddle.nn.Conv{1,2,3}DTranspose`` layers with the case's weights.

The layer is built in the case's dtype (``paddle.set_default_dtype``, the documented way to get
float64 parameters), its ``weight``/``bias`` parameters are overwritten with ``set_value``, and it
is called as ``layer(x)`` or, where the case extends the output through ``output_size``, as
``layer(x, output_size=[...])`` (seed 002: the size then lies in ``[O', O' + stride)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.paddle_common import PaddleCall, PaddleTarget, plan_call, snippet_output, snippet_prelude
from harness.arrays import CaseArrays
from harness.case import Case


class PaddleNN(PaddleTarget):
    """``paddle.nn.Conv{rank}DTranspose(...)`` called on the case's input."""

    name = "paddle.nn"

    def _layer(self, case: Case, call: PaddleCall) -> Any:
        paddle = self._paddle
        cls = getattr(paddle.nn, f"Conv{case.rank}DTranspose")
        previous = paddle.get_default_dtype()
        paddle.set_default_dtype(case.dtype)
        try:
            return cls(
                case.in_channels,
                case.out_channels,
                list(case.kernel_size),
                stride=list(case.stride),
                padding=call.padding,
                output_padding=call.output_padding if call.output_padding is not None else 0,
                dilation=list(case.dilation),
                groups=case.groups,
                bias_attr=None if case.bias else False,
                data_format=call.data_format,
            )
        finally:
            paddle.set_default_dtype(previous)

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Build the layer, load the case's weights into it and call it."""
        call = plan_call(case)
        paddle = self._paddle
        x, w, b = self.tensors(case, arrays)
        layer = self._layer(case, call)
        layer.weight.set_value(w)
        if b is not None:
            layer.bias.set_value(b)
        with paddle.no_grad():
            y = layer(x) if call.output_size is None else layer(x, output_size=call.output_size)
        return self.to_numpy(case, y)

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone paddle code building the layer and calling it exactly as :meth:`run` does."""
        call = plan_call(case)
        bias = "" if case.bias else ", bias_attr=False"
        forward = "layer(x)" if call.output_size is None else f"layer(x, output_size={call.output_size!r})"
        return snippet_prelude(self, case, npz_name) + (
            f"paddle.set_default_dtype({case.dtype!r})\n"
            f"layer = paddle.nn.Conv{case.rank}DTranspose(\n"
            f"    {case.in_channels}, {case.out_channels}, {list(case.kernel_size)!r}, "
            f"stride={list(case.stride)!r},\n"
            f"    {call.keyword_text()}, dilation={list(case.dilation)!r},\n"
            f"    groups={case.groups}{bias}, data_format={call.data_format!r})\n"
            "layer.weight.set_value(weight)\n"
            "if bias is not None:\n"
            "    layer.bias.set_value(bias)\n"
            "with paddle.no_grad():\n"
            f"    y = {forward}\n"
            + snippet_output(case)
        )
