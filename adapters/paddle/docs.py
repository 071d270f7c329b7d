"""What Paddle's documentation says about output sizes, as data with its sources.

Sources (paddle 3.3): the Chinese API pages of ``paddle.nn.Conv{1,2,3}DTranspose`` and
``paddle.nn.functional.conv{1,2,3}d_transpose`` (section 形状/Shape, the only place that gives the
'SAME'/'VALID' sizes; the English docstrings give none) and the English docstrings of the installed
wheel (Shape, Example).
"""

from __future__ import annotations

from adapters.paddle.forms import FORM_FULL_RANK, FORM_PAIRS, padding_call
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.model.modes import DocumentedMode, size_valid

DOCS_CN = "https://www.paddlepaddle.org.cn/documentation/docs/zh/api/paddle/nn/Conv{r}DTranspose_cn.html"
_SOURCES = (
    "Paddle API docs (Chinese), section 形状/Shape of Conv1DTranspose, Conv2DTranspose and "
    "Conv3DTranspose (" + DOCS_CN.format(r="2") + ") and of "
    "paddle.nn.functional.conv2d_transpose; github.com/PaddlePaddle/docs "
    "docs/api/paddle/nn/Conv{1,2,3}DTranspose_cn.rst. The English docstrings give no SAME/VALID size."
)


def _size_same_documented(n: int, k: int, s: int, d: int) -> int:
    """Paddle's documented SAME size, ``(L + s − 1) / s`` read as integer division (``⌈L/s⌉``)."""
    return (n + s - 1) // s


PADDING_MODES: dict[str, DocumentedMode] = {
    "same": DocumentedMode(
        api_value="SAME",
        formula="(L + stride − 1) / stride, i.e. ⌈L/stride⌉",
        size=_size_same_documented,
        split="extra_at_end",
        source=_SOURCES + " The page gives H'_out = (H_in + stride[0] − 1) / stride[0] for "
        "padding = 'SAME' (the forward-convolution SAME size); the fraction is read as integer "
        "division since a size is an integer.",
        split_source="Paddle's documentation is silent on how the SAME crop is divided between "
        "begin and end. Assumed: ⌊t/2⌋ at the begin and the rest at the end, the TensorFlow "
        "'SAME' convention that Paddle's padding string is named after (= ONNX SAME_UPPER).",
    ),
    "valid": DocumentedMode(
        api_value="VALID",
        formula="(L − 1)·stride + dilation·(k − 1) + 1",
        size=size_valid,
        split="extra_at_end",
        source=_SOURCES + " For padding = 'VALID': H'_out = (H_in − 1)·strides[0] + "
        "dilations[0]·(kernel_size[0] − 1) + 1.",
        split_source="VALID crops nothing, so no split arises.",
    ),
}


PADDLE_DOC = (
    "paddle 3.3.1 docstrings of paddle.nn.Conv{r}DTranspose (Shape) and "
    "paddle.nn.functional.conv{r}d_transpose (Example); "
    "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Conv{r}DTranspose_en.html"
)


def _paddle_size(case: Case) -> tuple[int, ...]:
    call = padding_call(case)
    if call.output_size is not None:
        return tuple(call.output_size)
    if call.form in (FORM_PAIRS, FORM_FULL_RANK):
        begin, end = case.pads_begin, case.pads_end
    else:
        assert isinstance(call.padding, int | list)
        values = call.padding if isinstance(call.padding, list) else [call.padding] * case.rank
        begin = end = tuple(int(v) for v in values)  # type: ignore[arg-type]
    extra = call.output_padding or [0] * case.rank
    return tuple(
        (n - 1) * s - b - e + d * (k - 1) + 1 + o
        for n, s, b, e, d, k, o in zip(
            case.input_size, case.stride, begin, end, case.dilation, case.kernel_size, extra, strict=True
        )
    )


def explicit_formula(rank: int) -> ExplicitFormula:
    """The documented size of ``Conv{rank}DTranspose`` / ``conv{rank}d_transpose`` with explicit padding."""
    return ExplicitFormula(
        f"paddle.nn.Conv{rank}DTranspose / paddle.nn.functional.conv{rank}d_transpose",
        "O' = (L − 1)·stride − 2·padding + dilation·(k − 1) + 1 (read as − pad_begin − pad_end for the "
        "pair forms), + output_padding; with output_size: O = output_size ∈ [O', O' + stride)",
        PADDLE_DOC.format(r=rank)
        + "; output_padding: 'additional size added to one side of each dimension in the output shape'",
        _paddle_size,
    )
