"""How a case is written in MindSpore's API: the layer's and the primitives' arguments.

Explicit crops use ``pad_mode='pad'``: 2-D ``padding=(top, bottom, left, right)``, 3-D ``(head,
tail, top, bottom, left, right)``, or one int where every crop is equal (chosen per case, so that
both documented forms are exercised); 1-D takes one int for both ends and has no
``output_padding``. Named modes use ``pad_mode='same'``/``'valid'``.
"""

from __future__ import annotations

from typing import Any

from harness.model.case import Case
from harness.model.modes import DocumentedMode


def pad_value(case: Case, values: tuple[int, ...]) -> int | tuple[int, ...]:
    """An int where every value is equal and the case's seed is even, else the tuple.

    Deterministic per case, so both documented forms of ``padding``/``output_padding`` are exercised.
    """
    if len(set(values)) == 1 and case.seed % 2 == 0:
        return values[0]
    return values


def begin_end_pairs(case: Case) -> tuple[int, ...]:
    """``(b1, e1, b2, e2, …)``: MindSpore's (top, bottom, left, right) / (head, tail, …) order."""
    out: list[int] = []
    for cb, ce in zip(case.pads_begin, case.pads_end, strict=True):
        out += [cb, ce]
    return tuple(out)


def scalar_or_tuple(case: Case, values: tuple[int, ...]) -> int | tuple[int, ...]:
    """1-D layers take plain ints for kernel, stride and dilation; 2-D/3-D take an int (written
    where every dimension is equal) or a tuple."""
    return values[0] if case.rank == 1 or len(set(values)) == 1 else values


def layer_arguments(case: Case) -> dict[str, Any]:
    """``mindspore.nn.Conv{rank}dTranspose``'s keyword arguments, except tensors and dtype."""
    args: dict[str, Any] = {
        "in_channels": case.in_channels,
        "out_channels": case.out_channels,
        "kernel_size": scalar_or_tuple(case, case.kernel_size),
        "stride": scalar_or_tuple(case, case.stride),
    }
    if case.padding_mode != "explicit":
        args.update(pad_mode=case.padding_mode, padding=0)
    elif case.rank == 1:
        args.update(pad_mode="pad", padding=case.pads_begin[0])
    else:
        args.update(pad_mode="pad", padding=pad_value(case, begin_end_pairs(case)))
        args["output_padding"] = pad_value(case, case.output_padding)
    args.update(dilation=scalar_or_tuple(case, case.dilation), group=case.groups, has_bias=case.bias)
    return args


def primitive_arguments(case: Case) -> dict[str, Any]:
    """``ops.Conv2DTranspose`` / ``ops.Conv3DTranspose`` constructor keywords.

    ``ops.Conv2DTranspose`` is the gradient of a 2-D convolution: its ``out_channel`` is that
    convolution's output channel count, i.e. the transposed convolution's *input* channels.
    """
    if case.rank == 2:
        args: dict[str, Any] = {"out_channel": case.in_channels}
    else:
        args = {"in_channel": case.in_channels, "out_channel": case.out_channels}
    args["kernel_size"] = scalar_or_tuple(case, case.kernel_size)
    if case.padding_mode == "explicit":
        args.update(pad_mode="pad", pad=pad_value(case, begin_end_pairs(case)))
    else:
        args.update(pad_mode=case.padding_mode, pad=0)
    args.update(
        stride=scalar_or_tuple(case, case.stride),
        dilation=scalar_or_tuple(case, case.dilation),
        group=case.groups,
    )
    if case.rank == 3 and case.padding_mode == "explicit":
        args["output_padding"] = pad_value(case, case.output_padding)
    return args


def input_size(case: Case, documented: DocumentedMode | None) -> tuple[int, ...]:
    """``ops.Conv2DTranspose``'s ``input_size``: the output shape asked for (a named mode's
    documented size, from ``documented``)."""
    if documented is None:
        size = case.output_size
    else:
        size = documented.output_size(case)
    return (case.batch, case.out_channels, *size)
