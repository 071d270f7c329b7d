"""The ONNX ``ConvTranspose`` model of a canonical case: attributes, documented modes, the ModelProto.

Everything here is pure: the targets' plans build the model with ``onnx.helper`` from these
attributes. The attribute semantics are those of the ONNX operator
specification (``ConvTranspose`` opsets 11 and 22, identical in what matters here):

- explicit ``pads`` ``[x1_begin, x2_begin, …, x1_end, x2_end, …]`` give the output size
  ``s·(L−1) + output_padding + d·(k−1) + 1 − pads_begin − pads_end``;
- ``output_padding`` "must be less than the corresponding stride/dilation dimension";
- ``auto_pad`` ``SAME_UPPER``/``SAME_LOWER`` give ``L·s`` with the odd crop at the end (UPPER) or the
  begin (LOWER); ``VALID`` crops nothing;
- given ``output_shape``, pads are derived from ``total = s·(L−1) + output_padding + K − output_shape``:
  with ``auto_pad == SAME_UPPER`` ``begin = ⌊total/2⌋``, otherwise ``begin = total − ⌊total/2⌋``,
  and ``end = total − begin``. The text says nothing of a negative total (an ``output_shape`` past
  the full output ``F``). ONNX's own backend test ``test_convtranspose_output_shape`` has total −1
  and expects the extra positions at the end, holding zeros; ONNX Runtime 1.31.1 and
  ``onnx.reference`` (1.23) both crop nothing then and extend the end, and both refuse
  ``output_shape ≥ F + stride`` (that size is not the transpose of a convolution of input ``L``:
  "Explicit output_shape is inconsistent with input spatial dimensions", measured here).

Sources: https://onnx.ai/onnx/operators/onnx__ConvTranspose.html (ConvTranspose-22 and -11), the
same text as ``onnx.defs.get_schema("ConvTranspose", 22).doc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.model.case import Case
from harness.model.modes import DocumentedMode, size_same, size_valid

SPEC_URL = "https://onnx.ai/onnx/operators/onnx__ConvTranspose.html"

#: canonical dtype → ``onnx.TensorProto`` data type name
ONNX_DTYPES = {"float32": "FLOAT", "float16": "FLOAT16", "float64": "DOUBLE", "bfloat16": "BFLOAT16"}

#: canonical named mode → the ``auto_pad`` value that asks for it
AUTO_PAD = {"same": "SAME_UPPER", "same_lower": "SAME_LOWER", "valid": "VALID"}


def documented_modes(opset: int) -> dict[str, DocumentedMode]:
    """What the ConvTranspose specification of ``opset`` says each ``auto_pad`` value produces."""
    where = f"{SPEC_URL} (ConvTranspose-{opset}, attribute auto_pad)"
    split_text = (
        "auto_pad: 'In case the padding is an odd number, the extra padding is added at the "
        "end for SAME_UPPER and at the beginning for SAME_LOWER'"
    )
    return {
        "same": DocumentedMode(
            "SAME_UPPER", "L·s", size_same, "extra_at_end", where, f"{where}: {split_text}"
        ),
        "same_lower": DocumentedMode(
            "SAME_LOWER", "L·s", size_same, "extra_at_begin", where, f"{where}: {split_text}"
        ),
        "valid": DocumentedMode(
            "VALID",
            "(L−1)·s + d·(k−1) + 1",
            size_valid,
            "extra_at_end",
            where,
            "VALID means no padding: the crop is 0, nothing to split",
        ),
    }


def output_padding_reason(case: Case) -> str | None:
    """The specification's limit: each output_padding below its stride or its dilation."""
    for dim, (op, s, d) in enumerate(zip(case.output_padding, case.stride, case.dilation, strict=True)):
        if op >= s and op >= d:
            return (
                f"output_padding {op} along dim {dim} is not less than stride {s} or dilation {d} "
                f"(ONNX ConvTranspose: 'must be less than the corresponding stride/dilation "
                f"dimension', {SPEC_URL})"
            )
    return None


def derived_pads(total: int, auto_pad: str) -> tuple[int, int]:
    """The specification's (begin, end) pads from a total padding when ``output_shape`` is given."""
    if auto_pad == "SAME_UPPER":
        begin = total // 2
    else:
        begin = total - total // 2
    return begin, total - begin


def output_shape_reason(case: Case) -> str | None:
    """Why ``output_shape`` (with auto_pad NOTSET, no output_padding) cannot express ``case``, or None.

    The output depends only on the begin crop and the output size, so the case is expressible
    exactly when ``output_shape = O`` gives begin crop ``cb``: for a total padding ``F − O ≥ 0`` the
    specification's derived begin pad; for a negative total (``O`` past the full output) no begin
    crop, and only up to ``stride − 1`` positions past ``F`` (see the module docstring).
    """
    for dim, (full, size, s) in enumerate(zip(case.full_size, case.output_size, case.stride, strict=True)):
        if size - full >= s:
            return (
                f"output size {size} along dim {dim} is {size - full} past the full output {full}, "
                f"not less than stride {s}: ONNX Runtime refuses that output_shape ('Explicit "
                "output_shape is inconsistent with input spatial dimensions')"
            )
    return begin_crop_reason(case.full_size, case.output_size, case.pads_begin)


def begin_crop_reason(
    full_size: Sequence[int], output_size: Sequence[int], pads_begin: Sequence[int]
) -> str | None:
    """Why no ``output_shape`` gives these begin crops with this output size, or None: the begin
    pad is derived from the total, never passed."""
    for dim, (full, size, cb) in enumerate(zip(full_size, output_size, pads_begin, strict=True)):
        total = full - size
        if total < 0:
            if cb != 0:
                return (
                    f"output size {size} along dim {dim} is past the full output {full}: "
                    f"output_shape then crops nothing at the begin, the case crops {cb}"
                )
            continue
        begin, _ = derived_pads(total, "NOTSET")
        if begin != cb:
            return (
                f"output_shape derives begin pad {begin} (= total {total} − ⌊total/2⌋) along dim "
                f"{dim}, the case crops {cb} at the begin"
            )
    return None


def attributes(case: Case, *, use_output_shape: bool = False) -> dict[str, Any]:
    """The ConvTranspose node attributes for ``case`` (``pads`` or ``auto_pad`` or ``output_shape``)."""
    attrs: dict[str, Any] = {
        "kernel_shape": list(case.kernel_size),
        "strides": list(case.stride),
        "dilations": list(case.dilation),
        "group": case.groups,
    }
    if case.padding_mode != "explicit":
        attrs["auto_pad"] = AUTO_PAD[case.padding_mode]
    elif use_output_shape:
        attrs["output_shape"] = list(case.output_size)
    else:
        attrs["pads"] = [*case.pads_begin, *case.pads_end]
        if any(case.output_padding):
            attrs["output_padding"] = list(case.output_padding)
    return attrs


def input_names(case: Case) -> list[str]:
    """The node's inputs: ``X``, ``W`` and ``B`` when the case has a bias."""
    return ["X", "W", "B"] if case.bias else ["X", "W"]


def input_ranks(case: Case) -> dict[str, int]:
    """Rank of each graph input (dimensions are left symbolic in the value info)."""
    ranks = {"X": case.rank + 2, "W": case.rank + 2}
    if case.bias:
        ranks["B"] = 1
    return ranks


def raw_attributes(params: Any, *, use_output_shape: bool = False) -> dict[str, Any]:
    """The node attributes for raw (unvalidated) parameters, as :func:`attributes` sets them."""
    attrs: dict[str, Any] = {
        "kernel_shape": list(params.kernel_size),
        "strides": list(params.stride),
        "dilations": list(params.dilation),
        "group": params.groups,
    }
    if use_output_shape:
        attrs["output_shape"] = list(params.output_size)
    else:
        attrs["pads"] = [*params.pads_begin, *params.pads_end]
        if any(params.output_padding):
            attrs["output_padding"] = list(params.output_padding)
    return attrs
