"""Target ``mindspore.nn``: the ``mindspore.nn.Conv{1,2,3}dTranspose`` layers.

The arguments follow :mod:`adapters.mindspore.forms`. Weights and bias come from the case through
``weight_init``/``bias_init`` tensors; 1-D takes a ``(C_in, C_out/g, k)`` tensor there and stores
it as ``(C_in, C_out/g, 1, k)`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters import plan as p
from adapters.defaults import WEIGHT_LAYOUT, WITHOUT_BIAS, standard_defaults
from adapters.mindspore import common, docs, forms
from adapters.probing import RawParams
from adapters.protocol import symmetric_padding_for
from harness.errors import NotExpressible
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.model.modes import DocumentedMode

#: Documented defaults of mindspore.nn.Conv{1,2,3}dTranspose (2.10), left out of the one-line call.
LAYER_DEFAULTS = {
    "stride": 1,
    "pad_mode": "same",
    "padding": 0,
    "output_padding": 0,
    "dilation": 1,
    "group": 1,
    "has_bias": False,
    "bias_init": None,
    "dtype": p.sym("mindspore.float32"),
}
DOC_2D = "https://www.mindspore.cn/docs/en/r2.10.0/api_python/nn/mindspore.nn.Conv2dTranspose.html"


def layer_plan(
    *, rank: int, arguments: dict[str, Any], dtype: str, device_target: str, load_weights: bool
) -> p.Plan:
    """Build the layer (with the case's weights unless not ``load_weights``) and call it on ``x``."""
    bias = bool(arguments["has_bias"])
    body: list[p.Stmt] = []
    initial: dict[str, Any] = {}
    if load_weights:
        if bias:
            body.append(p.Assign("bias", common.tensor("bias")))
        body.append(p.Assign("weight", common.tensor("weight")))
        initial["weight_init"] = p.Name("weight")
        initial["bias_init"] = p.Name("bias") if bias else None
        initial["dtype"] = p.sym(f"mindspore.{dtype}")
    layer = p.call(f"mindspore.nn.Conv{rank}dTranspose", **arguments, **initial, defaults=LAYER_DEFAULTS)
    body += [
        p.Assign("net", layer),
        p.Assign("x", common.tensor("x")),
        p.Assign("y", p.Call(p.Name("net"), (p.Name("x"),))),
    ]
    return p.Plan(
        common.IMPORTS,
        tuple(body),
        "y",
        common.TO_NUMPY,
        (layer,),
        setup=common.setup(device_target, squeeze_warm_up=rank == 1),
        helpers=(common.warm_up_squeeze,) if rank == 1 else (),
    )


class MindSporeNN(common.MindSporeTarget):
    """``mindspore.nn.Conv{rank}dTranspose(..., pad_mode, padding, [output_padding,] ...)``."""

    name = "mindspore.nn"
    output_padding_limit = "1d:none 2d:lt_stride_or_dilation 3d:lt_stride_or_dilation"

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """mindspore.nn.Conv{1,2,3}dTranspose: no bias, pad_mode='same', NC* data."""
        return standard_defaults(
            (WITHOUT_BIAS, "has_bias=False"),
            ("SAME crops (output L·s, the crops adapt to the input)", "pad_mode='same'"),
            "no data-format argument",
            groups="group=1",
        )

    def weight_layout(self, case: Case) -> tuple[str, str]:
        """1-D: given as (C_in, C_out/groups, k), held by the layer as (C_in, C_out/groups, 1, k)."""
        if case.rank != 1:
            return super().weight_layout(case)
        return (
            "(C_in, C_out/groups, 1, k)",
            f"weight_init takes {WEIGHT_LAYOUT}; nn.Conv1dTranspose holds its weight parameter as a "
            "2-D kernel of height 1, so a 1-D checkpoint loads into it only reshaped",
        )

    def padding_modes(self) -> dict[str, DocumentedMode]:
        """'same' and 'valid' as the nn layers' documentation gives them, per rank."""
        return docs.ranked_modes("nn", self.ranks)

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

    def plan(self, case: Case) -> p.Plan:
        """The layer with the case's arguments (:func:`~adapters.mindspore.forms.layer_arguments`)."""
        return layer_plan(
            rank=case.rank,
            arguments=forms.layer_arguments(case),
            dtype=case.dtype,
            device_target=self.device_target_name(),
            load_weights=True,
        )

    def probe_plan(self, params: RawParams) -> p.Plan:
        """The layer built from raw parameters (``pad_mode='pad'``, its own weights), float32 data."""
        params.require_layer_weight(f"mindspore.nn.Conv{params.rank}dTranspose")
        args: dict[str, Any] = {"in_channels": params.in_channels, "out_channels": params.out_channels}
        if params.rank == 1:
            params.require_symmetric("mindspore.nn.Conv1dTranspose")
            if any(params.output_padding):
                raise NotExpressible("mindspore.nn.Conv1dTranspose has no output_padding")
            args.update(
                kernel_size=params.kernel_size[0],
                stride=params.stride[0],
                pad_mode="pad",
                padding=params.pads_begin[0],
                dilation=params.dilation[0],
            )
        else:
            args.update(
                kernel_size=params.kernel_size,
                stride=params.stride,
                pad_mode="pad",
                padding=params.pairs(),
                output_padding=params.output_padding,
                dilation=params.dilation,
            )
        args.update(group=params.groups, has_bias=params.bias)
        return layer_plan(
            rank=params.rank,
            arguments=args,
            dtype="float32",
            device_target=self.device_target_name(),
            load_weights=False,
        )

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The layer's documented size with ``pad_mode='pad'``."""
        return docs.nn_formula(rank)
