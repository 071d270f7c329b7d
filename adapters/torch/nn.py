"""Targets ``torch.nn`` and ``torch.nn.output_size``: the ``torch.nn.ConvTranspose{1,2,3}d`` modules.

``torch.nn`` passes ``output_padding`` to the constructor; ``torch.nn.output_size`` leaves it 0 and
asks for the size in ``forward(input, output_size=...)``, the form the PyTorch documentation shows
for undoing a strided convolution.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from adapters import plan as p
from adapters.defaults import NO_CROP, WITH_BIAS, standard_defaults
from adapters.probing import RawParams
from adapters.protocol import Capabilities, symmetric_padding_for
from adapters.torch import common, docs
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula

if TYPE_CHECKING:
    from adapters.reading import Api

#: Documented defaults of torch.nn.ConvTranspose{1,2,3}d, left out of the one-line call.
MODULE_DEFAULTS = {
    "stride": 1,
    "padding": 0,
    "output_padding": 0,
    "groups": 1,
    "bias": True,
    "dilation": 1,
    "device": "cpu",
    "dtype": p.sym("torch.float32"),
}


def module_plan(
    *,
    rank: int,
    in_channels: int,
    out_channels: int,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_padding: tuple[int, ...],
    groups: int,
    bias: bool,
    dilation: tuple[int, ...],
    dtype: str,
    device: str,
    channels_last: bool,
    output_size: list[int] | None,
    load_weights: bool = True,
) -> p.Plan:
    """Build the module, load ``weight`` (and ``bias``) into it and call it on ``x``, optionally as
    ``forward(x, output_size=...)``; without ``load_weights`` the module keeps its own."""
    module = p.call(
        f"torch.nn.ConvTranspose{rank}d",
        in_channels,
        out_channels,
        p.compact(kernel_size),
        stride=p.compact(stride),
        padding=p.compact(padding),
        output_padding=p.compact(output_padding),
        groups=groups,
        bias=bias,
        dilation=p.compact(dilation),
        device=device,
        dtype=p.sym(f"torch.{dtype}"),
        defaults=MODULE_DEFAULTS,
    )
    m, x = p.Name("m"), p.Name("x")
    inner: list[p.Stmt] = []
    if load_weights:
        inner.append(p.Do(p.method(p.Attr(m, "weight"), "copy_", p.Name("weight"))))
    if load_weights and bias:
        inner.append(p.Do(p.method(p.Attr(m, "bias"), "copy_", p.Name("bias"))))
    memory_format = p.sym(f"torch.{common.memory_format_name(rank)}")
    if channels_last:
        inner.append(p.Assign("m", p.method(m, "to", memory_format=memory_format)))
    forward = p.Call(m, (x,)) if output_size is None else p.Call(m, (x,), (("output_size", output_size),))
    inner.append(p.Assign("y", forward))
    body = [
        *common.tensors(
            dtype=dtype,
            device=device,
            rank=rank,
            channels_last=channels_last,
            weight=load_weights,
            bias=load_weights and bias,
        ),
        p.Assign("m", module),
        p.With(p.call("torch.no_grad"), tuple(inner)),
    ]
    summary = module if output_size is None else p.Call(module, (x,), (("output_size", output_size),))
    note = f"x and the module in torch.{common.memory_format_name(rank)}" if channels_last else ""
    return p.Plan(common.IMPORTS, tuple(body), "y", common.TO_NUMPY, (summary,), note=note)


class TorchNN(common.TorchTarget):
    """``torch.nn.ConvTranspose{rank}d(..., output_padding=op)`` with weights loaded into it."""

    name = "torch.nn"
    uses_output_size = False
    api_forms = ("torch.nn.output_size",)

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """torch.nn.ConvTranspose{1,2,3}d: a bias, no crop, NC* (a memory format, no argument)."""
        return standard_defaults((WITH_BIAS, "bias=True"), (NO_CROP, "padding=0"), "no data-format argument")

    def expressible(self, case: Case) -> str | None:
        """Symmetric padding plus output padding within the module's limits."""
        form = symmetric_padding_for(case)
        if isinstance(form, str):
            return form
        _, output_padding = form
        if self.uses_output_size:
            for dim, (op, s) in enumerate(zip(output_padding, case.stride, strict=True)):
                if op >= s:
                    return (
                        f"output_size exceeds the smallest size by {op} ≥ stride {s} along dim "
                        f"{dim}: forward(output_size=) accepts at most stride − 1 more"
                    )
        return common.op_limit_reason(case, output_padding)

    def plan(self, case: Case) -> p.Plan:
        """The module with the case's symmetric padding, its weights loaded, called on ``x``."""
        form = symmetric_padding_for(case)
        assert not isinstance(form, str), form
        padding, output_padding = form
        return module_plan(
            rank=case.rank,
            in_channels=case.in_channels,
            out_channels=case.out_channels,
            kernel_size=case.kernel_size,
            stride=case.stride,
            padding=padding,
            output_padding=(0,) * case.rank if self.uses_output_size else output_padding,
            groups=case.groups,
            bias=case.bias,
            dilation=case.dilation,
            dtype=case.dtype,
            device=self.device,
            channels_last=case.layout == "channels_last",
            output_size=list(case.output_size) if self.uses_output_size else None,
        )

    def probe_plan(self, params: RawParams) -> p.Plan:
        """The module built from raw parameters (float32), called on random data."""
        params.require_layer_weight(f"torch.nn.ConvTranspose{params.rank}d")
        params.require_symmetric("torch.nn.ConvTranspose")
        return module_plan(
            rank=params.rank,
            in_channels=params.in_channels,
            out_channels=params.out_channels,
            kernel_size=params.kernel_size,
            stride=params.stride,
            padding=params.pads_begin,
            output_padding=(0,) * params.rank if self.uses_output_size else params.output_padding,
            groups=params.groups,
            bias=params.bias,
            dilation=params.dilation,
            dtype="float32",
            device=self.device,
            channels_last=False,
            output_size=list(params.output_size) if self.uses_output_size else None,
            load_weights=False,
        )

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The module's documented output size (``output_size`` when it is asked for)."""
        return docs.requested_size(rank) if self.uses_output_size else docs.module_size(rank)

    @classmethod
    def call_apis(cls) -> Sequence[Api]:
        """``torch.nn.ConvTranspose{1,2,3}d`` and ``torch.nn.functional.conv_transpose{1,2,3}d``."""
        from adapters.torch import reading

        return reading.APIS


class TorchNNOutputSize(TorchNN):
    """``torch.nn.ConvTranspose{rank}d`` called as ``forward(x, output_size=...)``."""

    name = "torch.nn.output_size"
    uses_output_size = True
    api_forms = ("torch.nn",)

    def capabilities(self) -> Capabilities:
        """As ``torch.nn``, but an output size at most stride − 1 past the smallest one: the
        module derives ``output_padding`` from it and checks it below the stride alone."""
        return dataclasses.replace(super().capabilities(), output_padding_limit="lt_stride")
