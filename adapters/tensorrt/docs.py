"""The output size TensorRT's documentation gives for explicit padding, as data with its source (the
SAME modes are in :func:`adapters.tensorrt.model.documented_modes`)."""

from __future__ import annotations

from adapters.tensorrt import model as tm
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula


def _size(case: Case) -> tuple[int, ...]:
    attrs = tm.translate(case)
    assert not isinstance(attrs, str), attrs
    return attrs.output_size()


def explicit_formula(mode: str) -> ExplicitFormula:
    """``IDeconvolutionLayer`` under the explicit padding ``mode`` (the two give the same size)."""
    note = " (no division: rounding up or down gives the same size)" if mode == "EXPLICIT_ROUND_UP" else ""
    return ExplicitFormula(
        f"IDeconvolutionLayer ({mode})", f"O = (I − 1)·S + DK − (B + A){note}", tm.SEED, _size
    )
