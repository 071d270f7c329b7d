"""The MindSpore calls ``port`` reads: ``mindspore.nn.Conv{1,2,3}dTranspose`` (with an optional forward
call ``(x)``), as documented for mindspore 2.10; the position of ``output_padding`` differs between
2-D and 3-D, and 1-D has none."""

from __future__ import annotations

from typing import Any

from adapters.call_text import ParsedCall, int_sequence, is_int
from adapters.reading import (
    Api,
    Shapes,
    Translation,
    channels_match,
    input_shape,
    make_case,
    per_dim,
    read_dtype,
    split_layout,
)
from harness.errors import PortError

MS_DOCS = "https://www.mindspore.cn/docs/en/r2.10.0/api_python/nn/mindspore.nn.Conv{r}dTranspose.html"

MS_MODULE = {
    1: (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "pad_mode",
        "padding",
        "dilation",
        "group",
        "has_bias",
        "weight_init",
        "bias_init",
        "dtype",
    ),
    2: (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "pad_mode",
        "padding",
        "output_padding",
        "dilation",
        "group",
        "has_bias",
        "weight_init",
        "bias_init",
        "dtype",
    ),
    3: (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "pad_mode",
        "padding",
        "dilation",
        "group",
        "output_padding",
        "has_bias",
        "weight_init",
        "bias_init",
        "data_format",
        "dtype",
    ),
}


def mindspore_padding(value: Any, api: Api) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(begin, end) of MindSpore's padding: one int, or (top, bottom, left, right) / 6 for 3-D."""
    r = api.rank
    if is_int(value):
        return (value,) * r, (value,) * r
    if r > 1 and int_sequence(value) and len(value) == 2 * r:
        return tuple(value[0::2]), tuple(value[1::2])
    expected = "an int" if r == 1 else f"an int or {2 * r} ints"
    raise PortError(f"{api.name}: padding={value!r} must be {expected}")


def _mindspore(call: ParsedCall, api: Api, a: dict[str, Any], shapes: Shapes) -> Translation:
    notes: list[str] = []
    mode = a["pad_mode"]
    if mode not in ("same", "valid", "pad"):
        raise PortError(
            f"{api.name}: pad_mode={mode!r} must be 'same', 'valid' or 'pad' (lower case; "
            "mindspore raises ValueError otherwise)"
        )
    pb, pe = mindspore_padding(a["padding"], api)
    if mode != "pad" and (any(pb) or any(pe)):
        raise PortError(f"{api.name}: padding must be 0 unless pad_mode='pad' (mindspore raises)")
    if api.rank == 3 and a["data_format"] != "NCDHW":
        raise PortError(f"{api.name}: data_format must be 'NCDHW'")
    op = per_dim(a.get("output_padding") or 0, api.rank, "output_padding", api)
    if mode != "pad" and any(op):
        raise PortError(f"{api.name}: output_padding with pad_mode={mode!r} has no canonical form")
    if "pad_mode" not in call.kwargs and len(call.args) <= api.params.index("pad_mode"):
        notes.append("pad_mode is MindSpore's default 'same' (unlike PyTorch's padding=0)")
    data = call.forward_args[0] if call.forward_args else None
    n, c, size = split_layout(input_shape(api, data, shapes, notes), False)
    channels_match(api, c, a["in_channels"])
    if not isinstance(a["has_bias"], bool):
        raise PortError(f"{api.name}: has_bias={a['has_bias']!r} must be True or False")
    case = make_case(
        api,
        batch=n,
        in_channels=a["in_channels"],
        out_channels=a["out_channels"],
        groups=a["group"],
        input_size=size,
        kernel_size=per_dim(a["kernel_size"], api.rank, "kernel_size", api),
        stride=per_dim(a["stride"], api.rank, "stride", api),
        dilation=per_dim(a["dilation"], api.rank, "dilation", api),
        pads_begin=pb,
        pads_end=pe,
        output_padding=op,
        bias=a["has_bias"],
        dtype=read_dtype(a["dtype"], api, shapes),
        padding_mode="explicit" if mode == "pad" else mode,
        seed=shapes.seed,
    )
    return Translation(call, api, a, case, "mindspore.nn", notes)


def _apis() -> tuple[Api, ...]:
    return tuple(
        Api(
            "mindspore.nn",
            f"mindspore.nn.Conv{r}dTranspose",
            r,
            MS_MODULE[r],
            3,
            {
                "stride": 1,
                "pad_mode": "same",
                "padding": 0,
                "output_padding": 0,
                "dilation": 1,
                "group": 1,
                "has_bias": False,
                "data_format": "NCDHW",
            },
            "mindspore.nn",
            MS_DOCS.format(r=r),
            ("mindspore.nn", "ms.nn", "nn", ""),
            _mindspore,
        )
        for r in (1, 2, 3)
    )


#: Every MindSpore API ``port`` reads.
APIS = _apis()
