"""What PyTorch's documentation says the transposed-convolution output size is, as data.

Source: the ``torch.nn.ConvTranspose{1,2,3}d`` pages (section "Shape"; torch 2.13) and the
``torch.nn.functional.conv_transpose{1,2,3}d`` pages, which refer to the module for the details.
"""

from __future__ import annotations

from adapters.protocol import symmetric_padding_for
from adapters.torch.common import DOCS
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula

MODULE_PAGE = DOCS + "/torch.nn.ConvTranspose{r}d.html"
FUNCTIONAL_PAGE = DOCS + "/torch.nn.functional.conv_transpose{r}d.html"
FORMULA = "O = (L − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1"


def _module_size(case: Case) -> tuple[int, ...]:
    form = symmetric_padding_for(case)
    assert not isinstance(form, str), form
    padding, op = form
    return tuple(
        (n - 1) * s - 2 * pad + d * (k - 1) + o + 1
        for n, s, pad, d, k, o in zip(
            case.input_size, case.stride, padding, case.dilation, case.kernel_size, op, strict=True
        )
    )


def _requested_size(case: Case) -> tuple[int, ...]:
    return tuple(case.output_size)


def module_size(rank: int) -> ExplicitFormula:
    """``torch.nn.ConvTranspose{rank}d``'s documented output size."""
    page = MODULE_PAGE.format(r=rank)
    return ExplicitFormula(
        f"torch.nn.ConvTranspose{rank}d", FORMULA, f"{page} (Shape; torch 2.13)", _module_size
    )


def requested_size(rank: int) -> ExplicitFormula:
    """``forward(input, output_size)``: the size asked for."""
    return ExplicitFormula(
        f"torch.nn.ConvTranspose{rank}d.forward(input, output_size)",
        "O = output_size ('exact output size can be also specified as an argument')",
        f"{MODULE_PAGE.format(r=rank)} (torch 2.13)",
        _requested_size,
    )


def functional_size(rank: int) -> ExplicitFormula:
    """The functional form's size: the module's, which its page refers to."""
    return ExplicitFormula(
        f"torch.nn.functional.conv_transpose{rank}d",
        f"{FORMULA} (the module's formula; the functional page refers to ConvTranspose{rank}d)",
        f"{FUNCTIONAL_PAGE.format(r=rank)}; {MODULE_PAGE.format(r=rank)} (Shape; torch 2.13)",
        _module_size,
    )
