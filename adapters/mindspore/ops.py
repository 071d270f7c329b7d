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

from collections.abc import Mapping
from typing import Any

from adapters import plan as p
from adapters.defaults import NO_CROP, WITHOUT_BIAS, standard_defaults
from adapters.mindspore import common, docs, forms
from adapters.probing import RawParams
from harness.errors import NotExpressible
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.model.modes import DocumentedMode

#: Documented defaults of ops.Conv2DTranspose / ops.Conv3DTranspose (2.10), left out of the one-line call.
PRIMITIVE_DEFAULTS = {
    "pad_mode": "valid",
    "pad": 0,
    "stride": 1,
    "dilation": 1,
    "group": 1,
    "output_padding": 0,
}


def primitive_plan(
    *, rank: int, arguments: dict[str, Any], input_size: tuple[int, ...], bias: bool, device_target: str
) -> p.Plan:
    """Construct the primitive, call it on ``x`` and ``weight`` (2-D: with ``input_size``, the
    output shape), and add the bias with ``ops.bias_add``."""
    op = p.call(f"mindspore.ops.Conv{rank}DTranspose", **arguments, defaults=PRIMITIVE_DEFAULTS)
    inputs: tuple[Any, ...] = (p.Name("x"), p.Name("weight"))
    if rank == 2:
        inputs += (input_size,)
    body: list[p.Stmt] = [
        p.Assign("x", common.tensor("x")),
        p.Assign("weight", common.tensor("weight")),
        p.Assign("op", op),
        p.Assign("y", p.Call(p.Name("op"), inputs)),
    ]
    summary: p.Expr = p.Call(op, inputs)
    if bias:
        body.append(p.Assign("y", p.call("mindspore.ops.bias_add", p.Name("y"), common.tensor("bias"))))
        summary = p.call("mindspore.ops.bias_add", summary, p.Name("bias"))
    return p.Plan(
        common.IMPORTS,
        tuple(body),
        "y",
        common.TO_NUMPY,
        (summary,),
        setup=common.setup(device_target, squeeze_warm_up=False),
    )


class MindSporeOps(common.MindSporeTarget):
    """``ops.Conv2DTranspose(...)(x, weight, input_size)`` / ``ops.Conv3DTranspose(...)(x, weight)``."""

    name = "mindspore.ops"
    ranks = frozenset({2, 3})
    missing_rank_reason = (
        "mindspore.ops has no 1-D transposed-convolution primitive (Conv2DTranspose "
        "and Conv3DTranspose only; ops.conv_transpose2d has no CPU kernel)"
    )
    output_padding_limit = "2d:lt_stride 3d:lt_stride_or_dilation"

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """ops.Conv{2,3}DTranspose: no bias input (ops.bias_add adds it), pad_mode='valid', NC*."""
        return standard_defaults(
            (WITHOUT_BIAS, "no bias input (ops.bias_add adds one)"),
            (NO_CROP, "pad_mode='valid'"),
            "data_format='NCHW'/'NCDHW'",
            groups="group=1",
        )

    def padding_modes(self) -> dict[str, DocumentedMode]:
        """'same' and 'valid' as documented (2-D: via nn.Conv2dTranspose; 3-D: nn.Conv3dTranspose)."""
        return docs.ranked_modes("ops", self.ranks)

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

    def plan(self, case: Case) -> p.Plan:
        """The primitive with the case's arguments (:func:`~adapters.mindspore.forms.primitive_arguments`)."""
        documented = None if case.padding_mode == "explicit" else self.documented_mode(case.padding_mode)
        return primitive_plan(
            rank=case.rank,
            arguments=forms.primitive_arguments(case),
            input_size=forms.input_size(case, documented),
            bias=case.bias,
            device_target=self.device_target_name(),
        )

    def probe_plan(self, params: RawParams) -> p.Plan:
        """The primitive with raw parameters (``pad_mode='pad'``) on random data."""
        if params.rank == 1:
            raise NotExpressible(self.missing_rank_reason)
        args: dict[str, Any] = (
            {"out_channel": params.in_channels}
            if params.rank == 2
            else {"in_channel": params.in_channels, "out_channel": params.out_channels}
        )
        args.update(
            kernel_size=params.kernel_size,
            pad_mode="pad",
            pad=params.pairs(),
            stride=params.stride,
            dilation=params.dilation,
            group=params.groups,
        )
        if params.rank == 3:
            args["output_padding"] = params.output_padding
        return primitive_plan(
            rank=params.rank,
            arguments=args,
            input_size=(params.batch, params.out_channels, *params.output_size),
            bias=params.bias,
            device_target=self.device_target_name(),
        )

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The primitives' documented sizes (2-D: ``input_size``; 3-D: its docstring)."""
        return docs.ops_formula(rank)
