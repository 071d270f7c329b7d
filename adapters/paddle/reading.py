"""The PaddlePaddle calls ``port`` reads: ``paddle.nn.Conv{1,2,3}DTranspose`` (with an optional forward
call ``(x, output_size=...)``) and ``paddle.nn.functional.conv{1,2,3}d_transpose``, as documented for
paddle 3.3; the positional order of ``groups`` and ``dilation`` differs between the ranks."""

from __future__ import annotations

from typing import Any

from adapters.call_text import ParsedCall, int_sequence, is_int
from adapters.reading import (
    CHANNELS_FIRST_FORMATS,
    CHANNELS_LAST_FORMATS,
    Api,
    Shapes,
    Translation,
    bias_present,
    channels_match,
    extension,
    input_shape,
    make_case,
    per_dim,
    read_dtype,
    split_layout,
    weight_shape,
)
from harness.errors import PortError

PADDLE_DOCS = "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Conv{r}DTranspose_en.html"
PADDLE_F_DOCS = "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/functional/conv{r}d_transpose_en.html"

PADDLE_MODULE = {
    1: (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "groups",
        "dilation",
        "weight_attr",
        "bias_attr",
        "data_format",
    ),
    2: (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "dilation",
        "groups",
        "weight_attr",
        "bias_attr",
        "data_format",
    ),
}
PADDLE_MODULE[3] = PADDLE_MODULE[2]
PADDLE_FUNCTIONAL = {
    1: (
        "x",
        "weight",
        "bias",
        "stride",
        "padding",
        "output_padding",
        "groups",
        "dilation",
        "output_size",
        "data_format",
        "name",
    ),
    2: (
        "x",
        "weight",
        "bias",
        "stride",
        "padding",
        "output_padding",
        "dilation",
        "groups",
        "output_size",
        "data_format",
        "name",
    ),
    3: (
        "x",
        "weight",
        "bias",
        "stride",
        "padding",
        "output_padding",
        "groups",
        "dilation",
        "output_size",
        "data_format",
        "name",
    ),
}


def paddle_padding(value: Any, api: Api, channels_last: bool) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """(mode, begin, end) of each of Paddle's padding forms (mode ``explicit``, ``same``, ``valid``)."""
    r = api.rank
    zero = (0,) * r
    if isinstance(value, str):
        mode = value.upper()
        if mode not in ("SAME", "VALID"):
            raise PortError(f"{api.name}: padding={value!r} must be 'SAME' or 'VALID' as a string")
        return mode.lower(), zero, zero
    if is_int(value):
        return "explicit", (value,) * r, (value,) * r
    if int_sequence(value) and len(value) == r:
        return "explicit", tuple(value), tuple(value)
    if int_sequence(value) and len(value) == 2 * r:
        return "explicit", tuple(value[0::2]), tuple(value[1::2])
    if (
        isinstance(value, list | tuple)
        and len(value) == r + 2
        and all(int_sequence(v) and len(v) == 2 for v in value)
    ):
        outer = (0, -1) if channels_last else (0, 1)
        spatial = value[1:-1] if channels_last else value[2:]
        if any(tuple(value[i]) != (0, 0) for i in outer):
            raise PortError(
                f"{api.name}: padding {value!r} pads the batch or channel dimension (paddle raises)"
            )
        return "explicit", tuple(v[0] for v in spatial), tuple(v[1] for v in spatial)
    raise PortError(
        f"{api.name}: padding={value!r} is none of Paddle's forms (int, {r} ints, "
        f"{2 * r} ints, {r + 2} pairs, 'SAME', 'VALID')"
    )


def _paddle(call: ParsedCall, api: Api, a: dict[str, Any], shapes: Shapes) -> Translation:
    notes: list[str] = []
    functional = api.family == "paddle.functional"
    fmt = a["data_format"]
    if fmt not in (CHANNELS_FIRST_FORMATS[api.rank], {1: "NLC", 2: "NHWC", 3: "NDHWC"}[api.rank]):
        raise PortError(f"{api.name}: data_format={fmt!r} is not a {api.rank}-D format")
    channels_last = fmt in CHANNELS_LAST_FORMATS
    data = a["x"] if functional else (call.forward_args[0] if call.forward_args else None)
    n, c, size = split_layout(input_shape(api, data, shapes, notes), channels_last)
    mode, pb, pe = paddle_padding(a["padding"], api, channels_last)
    s = per_dim(a["stride"], api.rank, "stride", api)
    d = per_dim(a["dilation"], api.rank, "dilation", api)
    op = per_dim(a["output_padding"], api.rank, "output_padding", api)
    if functional:
        w = weight_shape(api, a["weight"], shapes)
        if c != w[0]:
            raise PortError(f"{api.name}: the input has {c} channels, the weight {list(w)} expects {w[0]}")
        groups, in_channels, out_channels, k = a["groups"], w[0], w[1] * a["groups"], w[2:]
        bias = bias_present(a["bias"], api, out_channels)
        requested = a["output_size"]
        dtype = read_dtype(None, api, shapes)
    else:
        channels_match(api, c, a["in_channels"])
        groups, in_channels, out_channels = a["groups"], a["in_channels"], a["out_channels"]
        k = per_dim(a["kernel_size"], api.rank, "kernel_size", api)
        bias = a["bias_attr"] is not False
        requested = call.forward_kwargs.get("output_size")
        if len(call.forward_args) > 1:
            requested = call.forward_args[1]
        dtype = read_dtype(None, api, shapes)
        if a["weight_attr"] is not None or a["bias_attr"] not in (None, False):
            notes.append("weight_attr/bias_attr initialise the parameters; the port loads the weights")
    if requested is None:
        requested = shapes.output_size
    elif shapes.output_size is not None:
        raise PortError("output_size is given twice (in the call and as --output-size)")
    if is_int(requested):
        requested = (requested,) * api.rank
    if requested is not None:
        if any(op):
            raise PortError(
                f"{api.name}: output_padding and output_size are mutually exclusive (paddle raises)"
            )
        if mode != "explicit":
            raise PortError(f"{api.name}: output_size with padding={a['padding']!r} has no canonical form")
        smallest = tuple(
            (L - 1) * si - b - e + di * (ki - 1) + 1
            for L, si, b, e, di, ki in zip(size, s, pb, pe, d, k, strict=True)
        )
        op = extension(api, requested, smallest, s) or op
    if mode != "explicit" and any(op):
        raise PortError(f"{api.name}: output_padding with padding={a['padding']!r} has no canonical form")
    case = make_case(
        api,
        batch=n,
        in_channels=in_channels,
        out_channels=out_channels,
        groups=groups,
        input_size=size,
        kernel_size=k,
        stride=s,
        dilation=d,
        pads_begin=pb,
        pads_end=pe,
        output_padding=op,
        bias=bias,
        dtype=dtype,
        layout="channels_last" if channels_last else "channels_first",
        padding_mode=mode,
        seed=shapes.seed,
    )
    return Translation(call, api, a, case, api.family, notes)


def _apis() -> tuple[Api, ...]:
    out: list[Api] = []
    for r in (1, 2, 3):
        defaults = {
            "stride": 1,
            "padding": 0,
            "output_padding": 0,
            "groups": 1,
            "dilation": 1,
            "data_format": CHANNELS_FIRST_FORMATS[r],
        }
        out.append(
            Api(
                "paddle.nn",
                f"paddle.nn.Conv{r}DTranspose",
                r,
                PADDLE_MODULE[r],
                3,
                defaults,
                "paddle.nn",
                PADDLE_DOCS.format(r=r),
                ("paddle.nn", "nn", ""),
                _paddle,
            )
        )
        out.append(
            Api(
                "paddle.functional",
                f"paddle.nn.functional.conv{r}d_transpose",
                r,
                PADDLE_FUNCTIONAL[r],
                2,
                defaults,
                "paddle.functional",
                PADDLE_F_DOCS.format(r=r),
                ("paddle.nn.functional", "nn.functional", "F", "functional", ""),
                _paddle,
            )
        )
    return tuple(out)


#: Every PaddlePaddle API ``port`` reads.
APIS = _apis()
