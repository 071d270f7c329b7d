"""Target ``torch.functional``: ``torch.nn.functional.conv_transpose{1,2,3}d``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from adapters import plan as p
from adapters.defaults import NO_CROP, WITHOUT_BIAS, standard_defaults
from adapters.probing import RawParams
from adapters.protocol import symmetric_padding_for
from adapters.torch import common, docs
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula

if TYPE_CHECKING:
    from adapters.reading import Api

#: Documented defaults of torch.nn.functional.conv_transpose{1,2,3}d, left out of the one-line call.
FUNCTIONAL_DEFAULTS = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1}


def functional_plan(
    *,
    rank: int,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_padding: tuple[int, ...],
    groups: int,
    bias: bool,
    dilation: tuple[int, ...],
    dtype: str,
    device: str,
    channels_last: bool,
) -> p.Plan:
    """``conv_transpose{rank}d(x, weight, bias, ...)`` by keyword, as its documentation recommends."""
    fn = p.call(
        f"torch.nn.functional.conv_transpose{rank}d",
        p.Name("x"),
        p.Name("weight"),
        p.Name("bias") if bias else None,
        stride=p.compact(stride),
        padding=p.compact(padding),
        output_padding=p.compact(output_padding),
        groups=groups,
        dilation=p.compact(dilation),
        defaults=FUNCTIONAL_DEFAULTS,
    )
    body = [
        *common.tensors(
            dtype=dtype, device=device, rank=rank, channels_last=channels_last, weight=True, bias=bias
        ),
        p.With(p.call("torch.no_grad"), (p.Assign("y", fn),)),
    ]
    return p.Plan(common.IMPORTS, tuple(body), "y", common.TO_NUMPY, (fn,))


class TorchFunctional(common.TorchTarget):
    """``torch.nn.functional.conv_transpose{rank}d(input, weight, bias, stride, padding, ...)``."""

    name = "torch.functional"

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """torch.nn.functional.conv_transpose{1,2,3}d: no bias unless given, no crop, NC*."""
        return standard_defaults(
            (WITHOUT_BIAS, "bias=None"), (NO_CROP, "padding=0"), "no data-format argument"
        )

    def expressible(self, case: Case) -> str | None:
        """Symmetric padding plus output_padding within torch's limit."""
        form = symmetric_padding_for(case)
        if isinstance(form, str):
            return form
        return common.op_limit_reason(case, form[1])

    def plan(self, case: Case) -> p.Plan:
        """The functional call with the case's weight (``(C_in, C_out/groups, *k)``) and bias."""
        form = symmetric_padding_for(case)
        assert not isinstance(form, str), form
        padding, output_padding = form
        return functional_plan(
            rank=case.rank,
            stride=case.stride,
            padding=padding,
            output_padding=output_padding,
            groups=case.groups,
            bias=case.bias,
            dilation=case.dilation,
            dtype=case.dtype,
            device=self.device,
            channels_last=case.layout == "channels_last",
        )

    def probe_plan(self, params: RawParams) -> p.Plan:
        """The functional call with raw parameters on random float32 data and weight."""
        params.require_kernel_from_weight(f"torch.nn.functional.conv_transpose{params.rank}d")
        params.require_symmetric("torch.nn.functional.conv_transpose")
        return functional_plan(
            rank=params.rank,
            stride=params.stride,
            padding=params.pads_begin,
            output_padding=params.output_padding,
            groups=params.groups,
            bias=params.bias,
            dilation=params.dilation,
            dtype="float32",
            device=self.device,
            channels_last=False,
        )

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The module's documented size, which the functional page refers to."""
        return docs.functional_size(rank)

    @classmethod
    def call_apis(cls) -> Sequence[Api]:
        """The same readers as ``torch.nn``: one framework, one parser."""
        from adapters.torch import reading

        return reading.APIS
