"""Targets ``torch.nn`` and ``torch.nn.output_size``: the ``torch.nn.ConvTranspose{1,2,3}d`` modules.

``torch.nn`` passes ``output_padding`` to the constructor; ``torch.nn.output_size`` leaves it 0 and
asks for the size in ``forward(input, output_size=...)``, the form the PyTorch documentation shows
for undoing a strided convolution (seed 003).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.probing import Code, RawParams, call_text
from adapters.protocol import symmetric_padding_for
from adapters.torch.common import (
    TORCH_DTYPES,
    TorchTarget,
    memory_format_name,
    op_limit_reason,
    snippet_prelude,
)
from harness.model.arrays import CaseArrays
from harness.model.case import Case

#: Documented defaults of torch.nn.ConvTranspose{1,2,3}d (seeds 003/004), left out of call text.
MODULE_DEFAULTS = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "bias": True, "dilation": 1}


class TorchNN(TorchTarget):
    """``torch.nn.ConvTranspose{rank}d(..., output_padding=op)`` with weights loaded into it."""

    name = "torch.nn"
    uses_output_size = False

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
        return op_limit_reason(case, output_padding)

    def _module(self, case: Case, padding: tuple[int, ...], output_padding: tuple[int, ...]) -> Any:
        torch = self._torch
        cls = getattr(torch.nn, f"ConvTranspose{case.rank}d")
        return cls(
            case.in_channels,
            case.out_channels,
            case.kernel_size,
            stride=case.stride,
            padding=padding,
            output_padding=(0,) * case.rank if self.uses_output_size else output_padding,
            groups=case.groups,
            bias=case.bias,
            dilation=case.dilation,
            device=self.device,
            dtype=getattr(torch, TORCH_DTYPES[case.dtype]),
        )

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Build the module, load the case's weights into it and call it."""
        form = symmetric_padding_for(case)
        assert not isinstance(form, str), form
        padding, output_padding = form
        torch = self._torch
        x, w, b = self.tensors(case, arrays)
        module = self._module(case, padding, output_padding)
        with torch.no_grad():
            module.weight.copy_(w)
            if b is not None:
                module.bias.copy_(b)
            if case.layout == "channels_last":
                module = module.to(memory_format=self.memory_format(case))
            if self.uses_output_size:
                y = module(x, output_size=list(case.output_size))
            else:
                y = module(x)
        return self.to_numpy(y)

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone torch code building the module and calling it."""
        form = symmetric_padding_for(case)
        if isinstance(form, str):
            return f"# not expressible in torch.nn: {form}\n"
        padding, output_padding = form
        op = (0,) * case.rank if self.uses_output_size else output_padding
        call = f"m(x, output_size={list(case.output_size)})" if self.uses_output_size else "m(x)"
        layout = ""
        if case.layout == "channels_last":
            layout = f"    m = m.to(memory_format=torch.{memory_format_name(case)})\n"
        return snippet_prelude(self, case, npz_name) + (
            f"m = torch.nn.ConvTranspose{case.rank}d(\n"
            f"    {case.in_channels}, {case.out_channels}, {case.kernel_size}, stride={case.stride},\n"
            f"    padding={padding}, output_padding={op}, groups={case.groups}, bias={case.bias},\n"
            f"    dilation={case.dilation}, device={self.device!r}, dtype=dtype)\n"
            "with torch.no_grad():\n"
            "    m.weight.copy_(weight)\n"
            "    if bias is not None:\n"
            "        m.bias.copy_(bias)\n"
            f"{layout}"
            f"    y = {call}\n"
            "print(y.shape)\nprint(y)\n"
        )

    def equivalent_call(self, case: Case) -> str:
        """The module construction (and forward, with ``output_size``) that :meth:`run` makes."""
        form = symmetric_padding_for(case)
        assert not isinstance(form, str), form
        padding, output_padding = form
        keywords: dict[str, object] = {
            "stride": case.stride,
            "padding": padding,
            "output_padding": (0,) * case.rank if self.uses_output_size else output_padding,
            "groups": case.groups,
            "bias": case.bias,
            "dilation": case.dilation,
        }
        if case.dtype != "float32":
            keywords["dtype"] = Code(f"torch.{TORCH_DTYPES[case.dtype]}")
        text = call_text(
            f"torch.nn.ConvTranspose{case.rank}d",
            (case.in_channels, case.out_channels, case.kernel_size),
            keywords,
            MODULE_DEFAULTS,
        )
        if self.uses_output_size:
            text += f"(x, output_size={list(case.output_size)!r})"
        if case.layout == "channels_last":
            text += f"  # x and the module in torch.{memory_format_name(case)}"
        return text

    def probe(self, params: dict[str, object]) -> list[int]:
        """Build the module from raw parameters and call it on random data; the output shape."""
        p = RawParams.from_dict(params)
        p.require_layer_weight(f"torch.nn.ConvTranspose{p.rank}d")
        p.require_symmetric("torch.nn.ConvTranspose")
        torch = self._torch
        module = getattr(torch.nn, f"ConvTranspose{p.rank}d")(
            p.in_channels,
            p.out_channels,
            p.kernel_size,
            stride=p.stride,
            padding=p.pads_begin,
            output_padding=(0,) * p.rank if self.uses_output_size else p.output_padding,
            groups=p.groups,
            bias=p.bias,
            dilation=p.dilation,
        )
        x = torch.from_numpy(p.data())
        with torch.no_grad():
            y = module(x, output_size=list(p.output_size)) if self.uses_output_size else module(x)
        return list(y.shape)


class TorchNNOutputSize(TorchNN):
    """``torch.nn.ConvTranspose{rank}d`` called as ``forward(x, output_size=...)``."""

    name = "torch.nn.output_size"
    uses_output_size = True
