"""The output size the ONNX ``ConvTranspose`` specification gives for explicit ``pads`` and for
``output_shape``, as data with its source (the named ``auto_pad`` modes are in
:func:`adapters.onnxruntime.model.documented_modes`)."""

from __future__ import annotations

from adapters.onnxruntime import model as onnx_model
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula


def _pads_size(case: Case) -> tuple[int, ...]:
    attrs = onnx_model.attributes(case)
    pads = attrs["pads"]
    op = attrs.get("output_padding", [0] * case.rank)
    r = case.rank
    return tuple(
        s * (n - 1) + o + ((k - 1) * d + 1) - pads[i] - pads[i + r]
        for i, (n, s, k, d, o) in enumerate(
            zip(case.input_size, case.stride, case.kernel_size, case.dilation, op, strict=True)
        )
    )


def _output_shape_size(case: Case) -> tuple[int, ...]:
    return tuple(onnx_model.attributes(case, use_output_shape=True)["output_shape"])


def pads_formula(opset: int) -> ExplicitFormula:
    """``ConvTranspose-{opset}`` with explicit ``pads`` and ``output_padding``."""
    return ExplicitFormula(
        f"ONNX ConvTranspose-{opset}",
        "O = stride·(L − 1) + output_padding + ((k − 1)·dilation + 1) − pads_begin − pads_end",
        f"{onnx_model.SPEC_URL} (ConvTranspose-{opset})",
        _pads_size,
    )


def output_shape_formula() -> ExplicitFormula:
    """``ConvTranspose-22`` given ``output_shape``."""
    return ExplicitFormula(
        "ONNX ConvTranspose-22 with output_shape",
        "O = output_shape",
        f"{onnx_model.SPEC_URL} (attribute output_shape)",
        _output_shape_size,
    )
