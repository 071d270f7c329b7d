"""Target ``paddle.nn``: the ``paddle.nn.Conv{1,2,3}DTranspose`` layers with the case's weights.

The layer is built in the case's dtype (``paddle.set_default_dtype``, the documented way to get
float64 parameters), its ``weight``/``bias`` parameters are overwritten with ``set_value``, and it
is called as ``layer(x)`` or, where the case extends the output through ``output_size``, as
``layer(x, output_size=[...])`` (the size then lies in ``[O', O' + stride)``).
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters import plan as p
from adapters.defaults import NO_CROP, WITH_BIAS, standard_defaults
from adapters.paddle import common
from adapters.paddle.forms import CHANNELS_FIRST_FORMAT, padding_call, raw_padding
from adapters.probing import RawParams
from harness.model.case import Case

#: Documented defaults of paddle.nn.Conv{1,2,3}DTranspose, left out of the one-line call.
LAYER_DEFAULTS = {
    "stride": 1,
    "padding": 0,
    "output_padding": 0,
    "dilation": 1,
    "groups": 1,
    "bias_attr": None,
}


def layer_plan(
    *,
    rank: int,
    in_channels: int,
    out_channels: int,
    kernel_size: list[int],
    stride: list[int],
    padding: int | str | list[int] | list[list[int]],
    output_padding: int | list[int],
    dilation: list[int],
    groups: int,
    bias: bool,
    data_format: str,
    channels_last: bool,
    output_size: list[int] | None,
    dtype: str,
    device: str,
    load_weights: bool = True,
) -> p.Plan:
    """Build the layer under the case's default dtype, load the weights (unless not
    ``load_weights``: the layer keeps its own) and call it."""
    layer = p.call(
        f"paddle.nn.Conv{rank}DTranspose",
        in_channels,
        out_channels,
        p.compact(kernel_size),
        stride=p.compact(stride),
        padding=padding,
        output_padding=output_padding if isinstance(output_padding, int) else p.compact(output_padding),
        dilation=p.compact(dilation),
        groups=groups,
        bias_attr=None if bias else False,
        data_format=data_format,
        defaults=dict(LAYER_DEFAULTS, data_format=CHANNELS_FIRST_FORMAT[rank]),
    )
    name, x = p.Name("layer"), p.Name("x")
    forward = (
        p.Call(name, (x,)) if output_size is None else p.Call(name, (x,), (("output_size", output_size),))
    )
    body: list[p.Stmt] = [
        *common.tensors(
            dtype=dtype, channels_last=channels_last, weight=load_weights, bias=load_weights and bias
        ),
        p.Assign("previous", p.call("paddle.get_default_dtype")),
        p.Do(p.call("paddle.set_default_dtype", dtype)),
        p.Try(
            (p.Assign("layer", layer),),
            (p.Do(p.call("paddle.set_default_dtype", p.Name("previous"))),),
        ),
    ]
    if load_weights:
        body.append(p.Do(p.method(p.Attr(name, "weight"), "set_value", p.Name("weight"))))
    if load_weights and bias:
        body.append(p.Do(p.method(p.Attr(name, "bias"), "set_value", p.Name("bias"))))
    body.append(p.With(p.call("paddle.no_grad"), (p.Assign("y", forward),)))
    summary = layer if output_size is None else p.Call(layer, (x,), (("output_size", output_size),))
    note = f"built under paddle.set_default_dtype({dtype!r})" if dtype != "float32" else ""
    return p.Plan(
        common.IMPORTS,
        tuple(body),
        "y",
        common.to_numpy(channels_last),
        (summary,),
        setup=common.setup(device),
        note=note,
    )


class PaddleNN(common.PaddleTarget):
    """``paddle.nn.Conv{rank}DTranspose(...)`` called on the case's input."""

    name = "paddle.nn"

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """paddle.nn.Conv{1,2,3}DTranspose: a bias (bias_attr=None), no crop, NC* data."""
        return standard_defaults(
            (WITH_BIAS, "bias_attr=None"), (NO_CROP, "padding=0"), "data_format='NCL'/'NCHW'/'NCDHW'"
        )

    def plan(self, case: Case) -> p.Plan:
        """The layer in the case's padding form (:func:`~adapters.paddle.forms.padding_call`)."""
        call = padding_call(case)
        return layer_plan(
            rank=case.rank,
            in_channels=case.in_channels,
            out_channels=case.out_channels,
            kernel_size=list(case.kernel_size),
            stride=list(case.stride),
            padding=call.padding,
            output_padding=call.output_padding if call.output_padding is not None else 0,
            dilation=list(case.dilation),
            groups=case.groups,
            bias=case.bias,
            data_format=call.data_format,
            channels_last=case.layout == "channels_last",
            output_size=call.output_size,
            dtype=case.dtype,
            device=self.device,
        )

    def probe_plan(self, params: RawParams) -> p.Plan:
        """The layer built from raw parameters (per-dimension or pair padding), float32."""
        params.require_layer_weight(f"paddle.nn.Conv{params.rank}DTranspose")
        return layer_plan(
            rank=params.rank,
            in_channels=params.in_channels,
            out_channels=params.out_channels,
            kernel_size=list(params.kernel_size),
            stride=list(params.stride),
            padding=raw_padding(params),
            output_padding=list(params.output_padding),
            dilation=list(params.dilation),
            groups=params.groups,
            bias=params.bias,
            data_format=CHANNELS_FIRST_FORMAT[params.rank],
            channels_last=False,
            output_size=None,
            dtype="float32",
            device=self.device,
            load_weights=False,
        )
