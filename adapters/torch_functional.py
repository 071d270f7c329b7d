"""Target ``torch.functional``: ``torch.nn.functional.conv_transpose{1,2,3}d``."""

from __future__ import annotations

import numpy as np

from adapters.protocol import symmetric_padding_for
from adapters.torch_common import TorchTarget, op_limit_reason, snippet_prelude
from harness.arrays import CaseArrays
from harness.case import Case


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
            y = fn(x, w, b, stride=case.stride, padding=padding, output_padding=output_padding,
                   groups=case.groups, dilation=case.dilation)
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
