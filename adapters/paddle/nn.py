"""Target ``paddle.nn``: the ``paddle.nn.Conv{1,2,3}DTranspose`` layers with the case's weights.

The layer is built in the case's dtype (``paddle.set_default_dtype``, the documented way to get
float64 parameters), its ``weight``/``bias`` parameters are overwritten with ``set_value``, and it
is called as ``layer(x)`` or, where the case extends the output through ``output_size``, as
``layer(x, output_size=[...])`` (seed 002: the size then lies in ``[O', O' + stride)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.paddle.common import (
    CHANNELS_FIRST_FORMAT,
    PaddleCall,
    PaddleTarget,
    plan_call,
    raw_padding,
    snippet_output,
    snippet_prelude,
)
from adapters.probing import RawParams, call_text
from harness.model.arrays import CaseArrays
from harness.model.case import Case

#: Documented defaults of paddle.nn.Conv{1,2,3}DTranspose, left out of call text.
LAYER_DEFAULTS = {
    "stride": 1,
    "padding": 0,
    "output_padding": 0,
    "dilation": 1,
    "groups": 1,
    "bias_attr": None,
}


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
            f"    y = {forward}\n" + snippet_output(case)
        )

    def equivalent_call(self, case: Case) -> str:
        """The layer construction (and forward) that :meth:`run` makes."""
        call = plan_call(case)
        keywords = {
            "stride": list(case.stride),
            "padding": call.padding,
            "output_padding": call.output_padding if call.output_padding is not None else 0,
            "dilation": list(case.dilation),
            "groups": case.groups,
            "bias_attr": None if case.bias else False,
            "data_format": call.data_format,
        }
        defaults = dict(LAYER_DEFAULTS, data_format=CHANNELS_FIRST_FORMAT[case.rank])
        text = call_text(
            f"paddle.nn.Conv{case.rank}DTranspose",
            (case.in_channels, case.out_channels, list(case.kernel_size)),
            keywords,
            defaults,
        )
        if call.output_size is not None:
            text += f"(x, output_size={call.output_size!r})"
        if case.dtype != "float32":
            text += f"  # built under paddle.set_default_dtype({case.dtype!r})"
        return text

    def probe(self, params: dict[str, object]) -> list[int]:
        """Build the layer from raw parameters and call it on random data; the output shape."""
        p = RawParams.from_dict(params)
        p.require_layer_weight(f"paddle.nn.Conv{p.rank}DTranspose")
        self.prepare()
        paddle = self._paddle
        layer = getattr(paddle.nn, f"Conv{p.rank}DTranspose")(
            p.in_channels,
            p.out_channels,
            list(p.kernel_size),
            stride=list(p.stride),
            padding=raw_padding(p),
            output_padding=list(p.output_padding),
            dilation=list(p.dilation),
            groups=p.groups,
            bias_attr=None if p.bias else False,
            data_format=CHANNELS_FIRST_FORMAT[p.rank],
        )
        with paddle.no_grad():
            y = layer(paddle.to_tensor(p.data()))
        return list(y.shape)
