"""Target ``paddle.functional``: ``paddle.nn.functional.conv{1,2,3}d_transpose``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters import plan as p
from adapters.defaults import NO_CROP, WITHOUT_BIAS, standard_defaults
from adapters.paddle import common
from adapters.paddle.forms import CHANNELS_FIRST_FORMAT, PaddleCall, padding_call, raw_padding
from adapters.probing import RawParams
from harness.model.case import Case

#: Documented defaults of paddle.nn.functional.conv{1,2,3}d_transpose, left out of the one-line call.
FUNCTIONAL_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}


def _extension_kwargs(call: PaddleCall) -> dict[str, Any]:
    """``output_padding=`` or ``output_size=``, only when the call uses one (they are exclusive)."""
    if call.output_size is not None:
        return {"output_size": call.output_size}
    if call.output_padding is not None:
        return {"output_padding": p.compact(call.output_padding)}
    return {}


def functional_plan(
    *,
    rank: int,
    stride: list[int],
    padding: int | str | list[int] | list[list[int]],
    dilation: list[int],
    groups: int,
    bias: bool,
    data_format: str,
    channels_last: bool,
    extension: dict[str, Any],
    dtype: str,
    device: str,
) -> p.Plan:
    """``conv{rank}d_transpose(x, weight, bias=..., ...)`` by keyword (the positional order differs
    between ranks)."""
    fn = p.call(
        f"paddle.nn.functional.conv{rank}d_transpose",
        p.Name("x"),
        p.Name("weight"),
        bias=p.Name("bias") if bias else None,
        stride=p.compact(stride),
        padding=padding,
        dilation=p.compact(dilation),
        groups=groups,
        data_format=data_format,
        **extension,
        defaults=dict(FUNCTIONAL_DEFAULTS, data_format=CHANNELS_FIRST_FORMAT[rank]),
    )
    body = [
        *common.tensors(dtype=dtype, channels_last=channels_last, weight=True, bias=bias),
        p.With(p.call("paddle.no_grad"), (p.Assign("y", fn),)),
    ]
    return p.Plan(
        common.IMPORTS, tuple(body), "y", common.to_numpy(channels_last), (fn,), setup=common.setup(device)
    )


class PaddleFunctional(common.PaddleTarget):
    """``paddle.nn.functional.conv{rank}d_transpose(x, weight, bias, ...)``, called by keyword."""

    name = "paddle.functional"

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """paddle.nn.functional.conv{1,2,3}d_transpose: no bias unless given, no crop, NC* data."""
        return standard_defaults(
            (WITHOUT_BIAS, "bias=None"), (NO_CROP, "padding=0"), "data_format='NCL'/'NCHW'/'NCDHW'"
        )

    def plan(self, case: Case) -> p.Plan:
        """The function in the case's padding form (:func:`~adapters.paddle.forms.padding_call`)."""
        call = padding_call(case)
        return functional_plan(
            rank=case.rank,
            stride=list(case.stride),
            padding=call.padding,
            dilation=list(case.dilation),
            groups=case.groups,
            bias=case.bias,
            data_format=call.data_format,
            channels_last=case.layout == "channels_last",
            extension=_extension_kwargs(call),
            dtype=case.dtype,
            device=self.device,
        )

    def probe_plan(self, params: RawParams) -> p.Plan:
        """The function with raw parameters on random float32 data and weight."""
        params.require_kernel_from_weight(f"paddle.nn.functional.conv{params.rank}d_transpose")
        return functional_plan(
            rank=params.rank,
            stride=list(params.stride),
            padding=raw_padding(params),
            dilation=list(params.dilation),
            groups=params.groups,
            bias=params.bias,
            data_format=CHANNELS_FIRST_FORMAT[params.rank],
            channels_last=False,
            extension={"output_padding": list(params.output_padding)},
            dtype="float32",
            device=self.device,
        )
