"""What MindSpore's documentation says about output sizes (mindspore 2.10), as data with sources.

The sizes are copied from the documentation as written, including formulas that do not describe
a transposed convolution (3-D, 1-D 'same', 2-D 'valid'): the harness reports departures as
doc_mismatch. The documentation's ``a / b`` inside a size is read as integer (floor) division.
"""

from __future__ import annotations

from typing import Any

from adapters.mindspore import forms
from adapters.mindspore.common import DOCS
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.model.modes import DocumentedMode, RankedMode

SPLIT_END_2D = (
    "2.10 docstring of mindspore.nn.Conv2dTranspose, pad_mode 'same': 'if it is odd, the "
    "excess amount goes to the right/bottom side' (crop ⌊t/2⌋ at the begin, the rest at "
    f"the end); {DOCS}/nn/mindspore.nn.Conv2dTranspose.html"
)
SPLIT_END_1D = (
    "2.10 docstring of mindspore.nn.Conv1dTranspose, pad_mode 'same': 'if it is odd, the "
    f"excess padding goes to the right side'; {DOCS}/nn/mindspore.nn.Conv1dTranspose.html"
)
SPLIT_END_3D = (
    "2.10 docstring of mindspore.nn.Conv3dTranspose / ops.Conv3DTranspose, pad_mode 'same': "
    "'if it is odd, the excess amount goes to the front/right/bottom side'; read as the "
    "end of every dimension (like right/bottom; 'front' is not defined further); "
    f"{DOCS}/nn/mindspore.nn.Conv3dTranspose.html"
)
SPLIT_VALID = (
    "'valid' is documented as 'no padding is applied ... extra pixels that could not "
    "complete a full stride will be discarded': the whole crop is taken off the end"
)


def _size_1d_same(n: int, k: int, s: int, d: int) -> int:
    return (n + s - 1) // s


def _size_valid_full(n: int, k: int, s: int, d: int) -> int:
    return (n - 1) * s + d * (k - 1) + 1


def _size_2d_same(n: int, k: int, s: int, d: int) -> int:
    return n * s


def _size_2d_valid(n: int, k: int, s: int, d: int) -> int:
    return n * s + max((d - 1) * (k - 1) - s, 0)


def _size_3d_same(n: int, k: int, s: int, d: int) -> int:
    return n // s + 1


def _size_3d_valid(n: int, k: int, s: int, d: int) -> int:
    return (n - d * (k - 1)) // s + 1


def documented_modes(rank: int, api: str) -> dict[str, DocumentedMode]:
    """MindSpore's documented 'same' and 'valid' for ``api`` ("nn" or "ops") at ``rank``."""
    if rank == 1:
        src = (
            "2.10 docstring of mindspore.nn.Conv1dTranspose (Outputs); "
            f"{DOCS}/nn/mindspore.nn.Conv1dTranspose.html"
        )
        return {
            "same": DocumentedMode(
                "same",
                "L_out = (L_in + stride − 1) / stride",
                _size_1d_same,
                "extra_at_end",
                src,
                SPLIT_END_1D,
            ),
            "valid": DocumentedMode(
                "valid",
                "L_out = (L_in − 1)·stride + dilation·(kernel_size − 1) + 1",
                _size_valid_full,
                "all_at_end",
                src,
                SPLIT_VALID,
            ),
        }
    if rank == 2:
        src = (
            "the 2.10 docstring of mindspore.nn.Conv2dTranspose (Outputs); "
            f"{DOCS}/nn/mindspore.nn.Conv2dTranspose.html"
        )
        if api == "ops":
            src = (
                "mindspore.ops.Conv2DTranspose refers to mindspore.nn.Conv2dTranspose for pad_mode "
                f"({DOCS}/ops/mindspore.ops.Conv2DTranspose.html); sizes from " + src
            )
        return {
            "same": DocumentedMode(
                "same", "H_out = H_in·stride", _size_2d_same, "extra_at_end", src, SPLIT_END_2D
            ),
            "valid": DocumentedMode(
                "valid",
                "H_out = H_in·stride + max{(dilation − 1)·(kernel_size − 1) − stride, 0}",
                _size_2d_valid,
                "all_at_end",
                src,
                SPLIT_VALID,
            ),
        }
    src = (
        "2.10 docstring of mindspore.nn.Conv3dTranspose (Outputs); "
        f"{DOCS}/nn/mindspore.nn.Conv3dTranspose.html"
    )
    if api == "ops":
        src = (
            "mindspore.ops.Conv3DTranspose documents only the 'pad' size "
            f"({DOCS}/ops/mindspore.ops.Conv3DTranspose.html); sizes from nn.Conv3dTranspose, which "
            "calls this primitive with the same pad_mode: " + src
        )
    return {
        "same": DocumentedMode(
            "same", "D_out = ⌊D_in / stride + 1⌋", _size_3d_same, "extra_at_end", src, SPLIT_END_3D
        ),
        "valid": DocumentedMode(
            "valid",
            "D_out = ⌊(D_in − dilation·(kernel_size − 1)) / stride + 1⌋",
            _size_3d_valid,
            "all_at_end",
            src,
            SPLIT_VALID,
        ),
    }


def ranked_modes(api: str, ranks: frozenset[int]) -> dict[str, DocumentedMode]:
    """'same' and 'valid' of ``api`` over ``ranks``, each documented per rank."""
    return {
        mode: RankedMode.combine(mode, {r: documented_modes(r, api)[mode] for r in sorted(ranks)})
        for mode in ("same", "valid")
    }


# --- explicit padding (pad_mode='pad') -----------------------------------------------------------
def _pairs(value: Any, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """MindSpore's int-or-(b1, e1, b2, e2, …) padding as (begin, end)."""
    if isinstance(value, int):
        return (value,) * rank, (value,) * rank
    return tuple(value[0::2]), tuple(value[1::2])


def _per_dim(value: Any, rank: int) -> tuple[int, ...]:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _nn_size(case: Case) -> tuple[int, ...]:
    args = forms.layer_arguments(case)
    r = case.rank
    k, s, d = (_per_dim(args[n], r) for n in ("kernel_size", "stride", "dilation"))
    begin, end = _pairs(args["padding"], r)
    op = _per_dim(args.get("output_padding", 0), r)
    rows = zip(case.input_size, k, s, d, begin, end, op, strict=True)
    if r == 1:
        return tuple((n - 1) * si - 2 * b + di * (ki - 1) + 1 for n, ki, si, di, b, _, _ in rows)
    if r == 2:
        return tuple(n * si - (b + e) + ki + (di - 1) * (ki - 1) - si + o for n, ki, si, di, b, e, o in rows)
    return tuple((n + b + e - (di - 1) * ki - 1) // si + 1 for n, ki, si, di, b, e, _ in rows)


def _ops_size(case: Case) -> tuple[int, ...]:
    if case.rank == 2:
        return tuple(forms.input_size(case, None)[2:])
    args = forms.primitive_arguments(case)
    pad = args["pad"]
    # As written: "− 2 × pad[i]" for dimension i, pad[i] indexing the int or the 6-tuple.
    pads = (pad,) * 3 if isinstance(pad, int) else tuple(pad[:3])
    op = _per_dim(args.get("output_padding", 0), 3)
    return tuple(
        (n - 1) * s - 2 * pd + d * (k - 1) + o + 1
        for n, s, pd, d, k, o in zip(
            case.input_size, case.stride, pads, case.dilation, case.kernel_size, op, strict=True
        )
    )


_NN_FORMULAS = {
    1: "L_out = (L_in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + 1",
    2: "H_out = H_in·stride − (padding[0] + padding[1]) + kernel_size "
    "+ (dilation − 1)·(kernel_size − 1) − stride + output_padding",
    3: "D_out = ⌊(D_in + padding[0] + padding[1] − (dilation − 1)·kernel_size − 1) / stride + 1⌋",
}


def nn_formula(rank: int) -> ExplicitFormula:
    """``mindspore.nn.Conv{rank}dTranspose`` with ``pad_mode='pad'``, as its docstring gives it."""
    api = f"mindspore.nn.Conv{rank}dTranspose"
    return ExplicitFormula(
        f"{api} (pad_mode='pad')",
        _NN_FORMULAS[rank],
        f"2.10 docstring of {api} (Outputs, pad_mode 'pad'); {DOCS}/nn/{api}.html",
        _nn_size,
    )


def ops_formula(rank: int) -> ExplicitFormula | None:
    """``ops.Conv2DTranspose`` (the size asked for) or ``ops.Conv3DTranspose`` (its docstring)."""
    if rank == 2:
        return ExplicitFormula(
            "mindspore.ops.Conv2DTranspose",
            "output shape = input_size ('It has the same shape as the input', input_size being that "
            "input's shape)",
            "2.10 docstring of mindspore.ops.Conv2DTranspose (Inputs, Outputs); "
            f"{DOCS}/ops/mindspore.ops.Conv2DTranspose.html",
            _ops_size,
        )
    if rank == 3:
        return ExplicitFormula(
            "mindspore.ops.Conv3DTranspose (pad_mode='pad')",
            "D_out = (D_in − 1)·stride[0] − 2·pad[0] + dilation[0]·(kernel_size[0] − 1) + output_padding[0]"
            " + 1, and likewise with pad[1], pad[2] for H and W (pad as written: the int, or the first "
            "three of the 6-tuple (head, tail, top, …))",
            f"2.10 docstring of mindspore.ops.Conv3DTranspose; {DOCS}/ops/mindspore.ops.Conv3DTranspose.html",
            _ops_size,
        )
    return None
