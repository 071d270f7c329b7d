"""Target ``paddle.functional``: ``paddle.nn.functional.conv{1,2,3}d_transpose``."""

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
from adapters.probing import Code, RawParams, call_text
from harness.model.arrays import CaseArrays
from harness.model.case import Case

#: Documented defaults of paddle.nn.functional.conv{1,2,3}d_transpose, left out of call text.
FUNCTIONAL_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}


def _extension_kwargs(call: PaddleCall) -> dict[str, Any]:
    """``output_padding=`` or ``output_size=``, only when the call uses one (they are exclusive)."""
    if call.output_size is not None:
        return {"output_size": call.output_size}
    if call.output_padding is not None:
        return {"output_padding": call.output_padding}
    return {}


class PaddleFunctional(PaddleTarget):
    """``paddle.nn.functional.conv{rank}d_transpose(x, weight, bias, ...)``, called by keyword."""

    name = "paddle.functional"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Call the functional form by keyword (the positional order differs between ranks)."""
        call = plan_call(case)
        paddle = self._paddle
        x, w, b = self.tensors(case, arrays)
        fn = getattr(paddle.nn.functional, f"conv{case.rank}d_transpose")
        with paddle.no_grad():
            y = fn(
                x,
                w,
                bias=b,
                stride=list(case.stride),
                padding=call.padding,
                dilation=list(case.dilation),
                groups=case.groups,
                data_format=call.data_format,
                **_extension_kwargs(call),
            )
        return self.to_numpy(case, y)

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone paddle code reproducing the call exactly as :meth:`run` makes it."""
        call = plan_call(case)
        extension = "".join(f", {k}={v!r}" for k, v in _extension_kwargs(call).items())
        return snippet_prelude(self, case, npz_name) + (
            "with paddle.no_grad():\n"
            f"    y = paddle.nn.functional.conv{case.rank}d_transpose(\n"
            f"        x, weight, bias=bias, stride={list(case.stride)!r}, padding={call.padding!r},\n"
            f"        dilation={list(case.dilation)!r}, groups={case.groups}, "
            f"data_format={call.data_format!r}{extension})\n" + snippet_output(case)
        )

    def equivalent_call(self, case: Case) -> str:
        """The functional call :meth:`run` makes (weight ``(C_in, C_out/groups, *k)``)."""
        call = plan_call(case)
        keywords: dict[str, object] = {
            "bias": Code("bias") if case.bias else None,
            "stride": list(case.stride),
            "padding": call.padding,
            "dilation": list(case.dilation),
            "groups": case.groups,
            "data_format": call.data_format,
            **_extension_kwargs(call),
        }
        defaults = dict(FUNCTIONAL_DEFAULTS, data_format=CHANNELS_FIRST_FORMAT[case.rank])
        return call_text(
            f"paddle.nn.functional.conv{case.rank}d_transpose",
            (Code("x"), Code("weight")),
            keywords,
            defaults,
        )

    def probe(self, params: dict[str, object]) -> list[int]:
        """Call the functional form with raw parameters on random data; the output shape."""
        p = RawParams.from_dict(params)
        p.require_kernel_from_weight(f"paddle.nn.functional.conv{p.rank}d_transpose")
        self.prepare()
        paddle = self._paddle
        x = paddle.to_tensor(p.data())
        w = paddle.to_tensor(p.data(p.weight_shape, seed=1))
        b = paddle.to_tensor(p.data((p.out_channels,), seed=2)) if p.bias else None
        fn = getattr(paddle.nn.functional, f"conv{p.rank}d_transpose")
        with paddle.no_grad():
            y = fn(
                x,
                w,
                bias=b,
                stride=list(p.stride),
                padding=raw_padding(p),
                output_padding=list(p.output_padding),
                dilation=list(p.dilation),
                groups=p.groups,
                data_format=CHANNELS_FIRST_FORMAT[p.rank],
            )
        return list(y.shape)
