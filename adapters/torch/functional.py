"""Target ``torch.functional``: ``torch.nn.functional.conv_transpose{1,2,3}d``."""

from __future__ import annotations

import numpy as np

from adapters.probing import Code, RawParams, call_text
from adapters.protocol import symmetric_padding_for
from adapters.torch.common import TorchTarget, op_limit_reason, snippet_prelude
from harness.model.arrays import CaseArrays
from harness.model.case import Case

#: Documented defaults of torch.nn.functional.conv_transpose{1,2,3}d, left out of call text.
FUNCTIONAL_DEFAULTS = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1}


class TorchFunctional(TorchTarget):
    """``torch.nn.functional.conv_transpose{rank}d(input, weight, bias, stride, padding, ...)``."""

    name = "torch.functional"

    def expressible(self, case: Case) -> str | None:
        """Symmetric padding plus output_padding within torch's limit."""
        form = symmetric_padding_for(case)
        if isinstance(form, str):
            return form
        return op_limit_reason(case, form[1])

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Call the functional form by keyword, as its documentation recommends."""
        form = symmetric_padding_for(case)
        assert not isinstance(form, str), form
        padding, output_padding = form
        torch = self._torch
        x, w, b = self.tensors(case, arrays)
        fn = getattr(torch.nn.functional, f"conv_transpose{case.rank}d")
        with torch.no_grad():
            y = fn(
                x,
                w,
                b,
                stride=case.stride,
                padding=padding,
                output_padding=output_padding,
                groups=case.groups,
                dilation=case.dilation,
            )
        return self.to_numpy(y)

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone torch code reproducing the call."""
        form = symmetric_padding_for(case)
        if isinstance(form, str):
            return f"# not expressible in torch.nn.functional: {form}\n"
        padding, output_padding = form
        return snippet_prelude(self, case, npz_name) + (
            f"y = torch.nn.functional.conv_transpose{case.rank}d(\n"
            f"    x, weight, bias, stride={case.stride}, padding={padding},\n"
            f"    output_padding={output_padding}, groups={case.groups}, dilation={case.dilation})\n"
            "print(y.shape)\nprint(y)\n"
        )

    def equivalent_call(self, case: Case) -> str:
        """The functional call :meth:`run` makes (weight ``(C_in, C_out/groups, *k)``)."""
        form = symmetric_padding_for(case)
        assert not isinstance(form, str), form
        padding, output_padding = form
        keywords = {
            "stride": case.stride,
            "padding": padding,
            "output_padding": output_padding,
            "groups": case.groups,
            "dilation": case.dilation,
        }
        bias = Code("bias") if case.bias else None
        return call_text(
            f"torch.nn.functional.conv_transpose{case.rank}d",
            (Code("x"), Code("weight"), bias),
            keywords,
            FUNCTIONAL_DEFAULTS,
        )

    def probe(self, params: dict[str, object]) -> list[int]:
        """Call the functional form with raw parameters on random data; the output shape."""
        p = RawParams.from_dict(params)
        p.require_kernel_from_weight(f"torch.nn.functional.conv_transpose{p.rank}d")
        p.require_symmetric("torch.nn.functional.conv_transpose")
        torch = self._torch
        x = torch.from_numpy(p.data())
        w = torch.from_numpy(p.data(p.weight_shape, seed=1))
        b = torch.from_numpy(p.data((p.out_channels,), seed=2)) if p.bias else None
        fn = getattr(torch.nn.functional, f"conv_transpose{p.rank}d")
        with torch.no_grad():
            y = fn(
                x,
                w,
                b,
                stride=p.stride,
                padding=p.pads_begin,
                output_padding=p.output_padding,
                groups=p.groups,
                dilation=p.dilation,
            )
        return list(y.shape)
