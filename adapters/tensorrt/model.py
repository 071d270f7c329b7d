"""TensorRT ``IDeconvolutionLayer`` as data: a case's layer attributes, the documented output sizes,
DLA eligibility and the int8 rules. Pure: nothing here imports ``tensorrt``.

Sources (cited by the constants below):

- the TensorRT operator page for Deconvolution (:data:`OPERATOR_PAGE`): the
  output size of each padding mode, 2D/3D only, data types int8/float16/float32, at most 2^31
  elements per input and output tensor, DLA FP16 2D / DLA INT8 2D non-grouped;
- ``NvInfer.h`` (``IDeconvolutionLayer``, TensorRT 8.x/10.x): kernel weights are one contiguous
  array in CKRS order; pre/post padding trim the output, negative padding is not supported; the
  padding mode takes precedence over pre/post padding; and, if the layer executes on DLA: kernel
  and stride each in [1, 32] per dimension or {64, 96, 128} in one dimension with 1 in the other,
  padding 0, ``nbGroups`` 1, ``nbOutputMaps`` in [1, 8192]; in int8 mode "the size of the groups
  (i.e. the channel count divided by the group count) must be a multiple of 4 for both input and
  output";
- https://docs.nvidia.com/deeplearning/tensorrt/latest/inference-library/dla-layer-restrictions.html:
  DLA deconvolution is FP16/INT8, 2D only, no grouped or dilated deconvolution, padding 0; batch at
  most 4096 and every non-batch dimension at most 8192.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.model.case import Case
from harness.model.modes import DocumentedMode

OPERATOR_PAGE = "https://docs.nvidia.com/deeplearning/tensorrt/latest/_static/operators/Deconvolution.html"
#: Where the documented sizes and limits below come from.
SEED = f"TensorRT operator documentation, Deconvolution ({OPERATOR_PAGE}), padding_mode"
NVINFER_H = "NvInfer.h, class IDeconvolutionLayer (setKernelSizeNd, setStrideNd, setPrePadding, setNbGroups)"
DLA_PAGE = (
    "https://docs.nvidia.com/deeplearning/tensorrt/latest/inference-library/dla-layer-restrictions.html"
)

EXPLICIT_MODES = ("EXPLICIT_ROUND_DOWN", "EXPLICIT_ROUND_UP")
SAME_MODES = ("SAME_UPPER", "SAME_LOWER")
PADDING_MODES = EXPLICIT_MODES + SAME_MODES
#: canonical named mode → TensorRT PaddingMode (TensorRT has no VALID mode: zero padding is explicit)
NAMED_MODES = {"same": "SAME_UPPER", "same_lower": "SAME_LOWER"}

#: "input and output may have at most 2^31 elements" (the operator page, volume limits)
MAX_ELEMENTS = 2**31
DLA_MAX_OUTPUT_MAPS = 8192
DLA_MAX_BATCH = 4096
DLA_MAX_DIM = 8192
DLA_RANGE = range(1, 33)
DLA_LARGE = frozenset({64, 96, 128})
#: data dtypes TensorRT deconvolution takes (the operator page: T is int8, float16 or float32)
TRT_DTYPES = ("float32", "float16")
DLA_PRECISIONS = ("float16", "int8")


# --- documented output sizes (the operator page) --------------------------------------------------
def dilated_kernel(k: int, d: int) -> int:
    """``DK = d·(k−1) + 1``."""
    return d * (k - 1) + 1


def same_padding(n: int, k: int, s: int, d: int, mode: str) -> tuple[int, int]:
    """The operator page's SAME padding: ``P = max(DK − S, 0)``, split into (B, A) by the mode."""
    total = max(dilated_kernel(k, d) - s, 0)
    if mode == "SAME_UPPER":
        begin = total // 2
        return begin, total - begin
    end = total // 2
    return total - end, end


def documented_size(mode: str, n: int, k: int, s: int, d: int, pre: int = 0, post: int = 0) -> int:
    """The output size the operator page gives for one dimension under ``mode``.

    EXPLICIT_ROUND_DOWN and EXPLICIT_ROUND_UP: ``O = (I − 1)·S + DK − (B + A)`` with B, A the pre
    and post padding; SAME_UPPER and SAME_LOWER: ``O = min(I·S, (I − 1)·S + DK)`` (explicit padding is
    ignored: the mode takes precedence).
    """
    full = (n - 1) * s + dilated_kernel(k, d)
    if mode in EXPLICIT_MODES:
        return full - (pre + post)
    if mode in SAME_MODES:
        return min(n * s, full)
    raise ValueError(f"unknown TensorRT padding mode {mode!r}; one of {', '.join(PADDING_MODES)}")


def size_same_trt(n: int, k: int, s: int, d: int) -> int:
    """The operator page's SAME size ``min(I·S, (I−1)·S + DK)`` as a DocumentedMode formula."""
    return documented_size("SAME_UPPER", n, k, s, d)


def documented_modes() -> dict[str, DocumentedMode]:
    """Canonical named modes → what the operator page documents for the TensorRT mode that asks for them."""
    formula = "min(I·S, (I−1)·S + DK)"
    return {
        "same": DocumentedMode(
            "SAME_UPPER",
            formula,
            size_same_trt,
            "extra_at_end",
            SEED,
            f"{SEED}: SAME_UPPER B = ⌊P/2⌋, A = P − B (pre-padding ≤ post-padding)",
        ),
        "same_lower": DocumentedMode(
            "SAME_LOWER",
            formula,
            size_same_trt,
            "extra_at_begin",
            SEED,
            f"{SEED}: SAME_LOWER A = ⌊P/2⌋, B = P − A (pre ≥ post)",
        ),
    }


# --- translation of a case into layer attributes -------------------------------------------------
@dataclass(frozen=True)
class DeconvAttributes:
    """What ``network.add_deconvolution_nd`` and the layer's attributes are given for one case."""

    num_output_maps: int
    kernel_shape: tuple[int, ...]
    #: shape of the kernel weights array, CKRS: (C_in, C_out/groups, *k)
    kernel_weights_shape: tuple[int, ...]
    bias_count: int
    num_groups: int
    stride_nd: tuple[int, ...]
    dilation_nd: tuple[int, ...]
    pre_padding: tuple[int, ...]
    post_padding: tuple[int, ...]
    padding_mode: str
    input_shape: tuple[int, ...]

    def output_size(self) -> tuple[int, ...]:
        """The documented output spatial size of these attributes (the operator page)."""
        return tuple(
            documented_size(self.padding_mode, n, k, s, d, b, a)
            for n, k, s, d, b, a in zip(
                self.input_shape[2:],
                self.kernel_shape,
                self.stride_nd,
                self.dilation_nd,
                self.pre_padding,
                self.post_padding,
                strict=True,
            )
        )

    def effective_padding(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(pre, post) the layer applies: the explicit values, or the SAME mode's B and A."""
        if self.padding_mode in EXPLICIT_MODES:
            return self.pre_padding, self.post_padding
        split = [
            same_padding(n, k, s, d, self.padding_mode)
            for n, k, s, d in zip(
                self.input_shape[2:], self.kernel_shape, self.stride_nd, self.dilation_nd, strict=True
            )
        ]
        return tuple(b for b, _ in split), tuple(a for _, a in split)


def explicit_padding(case: Case) -> tuple[tuple[int, ...], tuple[int, ...]] | str:
    """The case's crops as (pre_padding, post_padding), or why TensorRT cannot express them.

    TensorRT has no output_padding. The output depends only on the begin crop and the output size,
    so ``op`` is expressible as ``ce − op`` less post-padding while that stays ≥ 0 (negative padding
    is not supported).
    """
    post: list[int] = []
    for dim, (ce, op) in enumerate(zip(case.pads_end, case.output_padding, strict=True)):
        if ce - op < 0:
            return (
                f"output_padding {op} exceeds the end crop {ce} along dim {dim}: TensorRT's "
                f"IDeconvolutionLayer has no output_padding and does not support negative "
                f"post-padding ({SEED}; {NVINFER_H})"
            )
        post.append(ce - op)
    return case.pads_begin, tuple(post)


def translate(case: Case, explicit_mode: str = "EXPLICIT_ROUND_DOWN") -> DeconvAttributes | str:
    """The layer attributes for ``case``, or the reason TensorRT cannot express it."""
    if case.rank not in (2, 3):
        return f"IDeconvolutionLayer is 2D or 3D only (kernel_size has 2 or 3 elements, {SEED})"
    if explicit_mode not in EXPLICIT_MODES:
        raise ValueError(f"explicit_mode must be one of {EXPLICIT_MODES}")
    zero = (0,) * case.rank
    if case.padding_mode == "explicit":
        padding = explicit_padding(case)
        if isinstance(padding, str):
            return padding
        pre, post = padding
        mode = explicit_mode
    elif case.padding_mode in NAMED_MODES:
        pre, post, mode = zero, zero, NAMED_MODES[case.padding_mode]
    else:
        return f"TensorRT has no {case.padding_mode!r} padding mode (modes: {', '.join(PADDING_MODES)})"
    return DeconvAttributes(
        num_output_maps=case.out_channels,
        kernel_shape=case.kernel_size,
        kernel_weights_shape=case.weight_shape,
        bias_count=case.out_channels if case.bias else 0,
        num_groups=case.groups,
        stride_nd=case.stride,
        dilation_nd=case.dilation,
        pre_padding=pre,
        post_padding=post,
        padding_mode=mode,
        input_shape=case.input_shape,
    )


def kernel_weights(weight: np.ndarray, dtype: str) -> np.ndarray:
    """The kernel as TensorRT's one contiguous CKRS array: ``(C_in, C_out/groups, *k)``, C order.

    The canonical weight already has that layout, so this is a contiguous copy in the data type.
    """
    return np.ascontiguousarray(weight, dtype=np.dtype(dtype))


def volume_reason(attrs: DeconvAttributes) -> str | None:
    """The operator page's volume limit: input and output tensors hold at most 2^31 elements."""
    n, _, *_ = attrs.input_shape
    checks = {
        "input": math.prod(attrs.input_shape),
        "output": n * attrs.num_output_maps * math.prod(attrs.output_size()),
    }
    for which, count in checks.items():
        if count > MAX_ELEMENTS:
            return f"the {which} tensor would hold {count} elements, over TensorRT's 2^31 ({SEED})"
    return None


# --- DLA -----------------------------------------------------------------------------------------
def _dla_dims_reason(what: str, values: tuple[int, ...]) -> str | None:
    """Each of the two values in [1, 32], or one in {64, 96, 128} with the other 1."""
    if all(v in DLA_RANGE for v in values):
        return None
    large = [v for v in values if v in DLA_LARGE]
    if len(values) == 2 and len(large) == 1 and sorted(values)[0] == 1:
        return None
    return (
        f"DLA needs each {what} dimension in [1, 32], or 64/96/128 in one dimension with 1 in "
        f"the other; got {list(values)} ({NVINFER_H})"
    )


def dla_reason(attrs: DeconvAttributes, precision: str) -> str | None:
    """None if the documented DLA restrictions allow this layer, else the first one it breaks."""
    if precision not in DLA_PRECISIONS:
        return f"DLA runs FP16 or INT8 only, not {precision} ({SEED}; {DLA_PAGE})"
    if len(attrs.kernel_shape) != 2:
        return f"DLA runs 2D deconvolution only ({SEED}; {DLA_PAGE})"
    if attrs.num_groups != 1:
        return f"DLA needs num_groups 1, got {attrs.num_groups} ({NVINFER_H}; {DLA_PAGE})"
    if any(d != 1 for d in attrs.dilation_nd):
        return f"DLA has no dilated deconvolution, got dilation {list(attrs.dilation_nd)} ({DLA_PAGE})"
    pre, post = attrs.effective_padding()
    if any(pre) or any(post):
        return (
            f"DLA needs padding 0, the layer pads {list(pre)} before and {list(post)} after "
            f"({NVINFER_H}; {DLA_PAGE})"
        )
    for what, values in (("kernel", attrs.kernel_shape), ("stride", attrs.stride_nd)):
        reason = _dla_dims_reason(what, values)
        if reason is not None:
            return reason
    if not 1 <= attrs.num_output_maps <= DLA_MAX_OUTPUT_MAPS:
        return (
            f"DLA needs num_output_maps in [1, {DLA_MAX_OUTPUT_MAPS}], got "
            f"{attrs.num_output_maps} ({NVINFER_H})"
        )
    batch, channels, *spatial = attrs.input_shape
    if batch > DLA_MAX_BATCH:
        return f"DLA batch is at most {DLA_MAX_BATCH}, got {batch} ({DLA_PAGE})"
    dims = {
        "input channels": channels,
        **{f"input dim {i}": v for i, v in enumerate(spatial)},
        **{f"output dim {i}": v for i, v in enumerate(attrs.output_size())},
    }
    for what, value in dims.items():
        if value > DLA_MAX_DIM:
            return f"DLA non-batch dimensions are at most {DLA_MAX_DIM}: {what} is {value} ({DLA_PAGE})"
    return None


# --- int8 ----------------------------------------------------------------------------------------
def int8_groups_reason(in_channels: int, out_channels: int, groups: int) -> str | None:
    """In int8 mode, grouped layers need channels per group that are multiples of 4 (in and out)."""
    if groups == 1:
        return None
    for which, channels in (("input", in_channels), ("output", out_channels)):
        per_group = channels // groups
        if per_group % 4:
            return (
                f"int8 with {groups} groups needs {which} channels per group a multiple of 4, "
                f"got {per_group} ({NVINFER_H}, setNbGroups)"
            )
    return None


INT8_MAX = 127


def int8_scale(values: np.ndarray) -> float:
    """The symmetric per-tensor scale chosen for int8 (zero point 0).

    Integer data already inside [−127, 127] gets scale 1, so quantisation is exact and an int8 case
    can be compared exactly; anything else gets ``max|v| / 127`` (the tensor's dynamic range maps
    onto the int8 range). An all-zero tensor gets scale 1.
    """
    finite = np.asarray(values, dtype=np.float64)
    peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    if peak == 0.0:
        return 1.0
    if peak <= INT8_MAX and bool(np.all(finite == np.round(finite))):
        return 1.0
    return peak / INT8_MAX


def dynamic_range(values: np.ndarray) -> tuple[float, float]:
    """The ``(−r, r)`` dynamic range equivalent to :func:`int8_scale` (``r = 127·scale``)."""
    r = INT8_MAX * int8_scale(values)
    return -r, r
