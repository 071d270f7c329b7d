"""The PyTorch calls ``port`` reads: ``torch.nn.ConvTranspose{1,2,3}d`` (with an optional forward call
``(x, output_size=...)``) and ``torch.nn.functional.conv_transpose{1,2,3}d``, as documented for
torch 2.13."""

from __future__ import annotations

from typing import Any

from adapters.call_text import ParsedCall, is_int
from adapters.reading import (
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
from adapters.torch.docs import FUNCTIONAL_PAGE, MODULE_PAGE
from harness.errors import PortError

TORCH_MODULE = (
    "in_channels",
    "out_channels",
    "kernel_size",
    "stride",
    "padding",
    "output_padding",
    "groups",
    "bias",
    "dilation",
    "padding_mode",
    "device",
    "dtype",
)
TORCH_FUNCTIONAL = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")


def _torch_module(call: ParsedCall, api: Api, a: dict[str, Any], shapes: Shapes) -> Translation:
    notes: list[str] = []
    if a["padding_mode"] != "zeros":
        raise PortError(
            f"{api.name}: padding_mode={a['padding_mode']!r}; ConvTranspose supports only "
            "'zeros' (torch raises ValueError)"
        )
    if isinstance(a["padding"], str):
        raise PortError(f"{api.name} takes no string padding ({a['padding']!r}): only ints")
    if not isinstance(a["bias"], bool):
        raise PortError(f"{api.name}: bias={a['bias']!r} must be True or False")
    k, s, d = (per_dim(a[n], api.rank, n, api) for n in ("kernel_size", "stride", "dilation"))
    p = per_dim(a["padding"], api.rank, "padding", api)
    op = per_dim(a["output_padding"], api.rank, "output_padding", api)
    forward_input = call.forward_args[0] if call.forward_args else None
    n, c, size = split_layout(input_shape(api, forward_input, shapes, notes), False)
    channels_match(api, c, a["in_channels"])
    requested = call.forward_kwargs.get("output_size")
    if len(call.forward_args) > 1:
        requested = call.forward_args[1]
    if requested is not None and shapes.output_size is not None:
        raise PortError("output_size is given twice (in the call and as --output-size)")
    requested = requested if requested is not None else shapes.output_size
    target = "torch.nn"
    if requested is not None:
        smallest = tuple(
            (L - 1) * si - 2 * pi + di * (ki - 1) + 1
            for L, si, pi, di, ki in zip(size, s, p, d, k, strict=True)
        )
        # torch accepts sizes up to smallest + stride − 1, and ignores the module's output_padding
        op = extension(api, requested, smallest, s) or op
        target = "torch.nn.output_size"
        if any(per_dim(a["output_padding"], api.rank, "output_padding", api)):
            notes.append("forward(output_size=…) replaces the module's output_padding")
    if a["device"] is not None:
        notes.append(f"device={a['device']!r} is not part of the canonical case (see --device)")
    case = make_case(
        api,
        batch=n,
        in_channels=a["in_channels"],
        out_channels=a["out_channels"],
        groups=a["groups"],
        input_size=size,
        kernel_size=k,
        stride=s,
        dilation=d,
        pads_begin=p,
        pads_end=p,
        output_padding=op,
        bias=a["bias"],
        dtype=read_dtype(a["dtype"], api, shapes),
        seed=shapes.seed,
    )
    return Translation(call, api, a, case, target, notes)


def _torch_functional(call: ParsedCall, api: Api, a: dict[str, Any], shapes: Shapes) -> Translation:
    notes: list[str] = []
    if isinstance(a["padding"], str):
        raise PortError(
            f"{api.name} takes no string padding ({a['padding']!r}) for transposed convolution: only ints"
        )
    n, c, size = split_layout(input_shape(api, a["input"], shapes, notes), False)
    w = weight_shape(api, a["weight"], shapes)
    if c != w[0]:
        raise PortError(
            f"{api.name}: the input has {c} channels, the weight {list(w)} expects "
            f"{w[0]} (weight is (C_in, C_out/groups, *k))"
        )
    groups = a["groups"]
    if not is_int(groups) or groups < 1:
        raise PortError(f"{api.name}: groups={groups!r} must be a positive int")
    out = w[1] * groups
    p = per_dim(a["padding"], api.rank, "padding", api)
    case = make_case(
        api,
        batch=n,
        in_channels=c,
        out_channels=out,
        groups=groups,
        input_size=size,
        kernel_size=w[2:],
        stride=per_dim(a["stride"], api.rank, "stride", api),
        dilation=per_dim(a["dilation"], api.rank, "dilation", api),
        pads_begin=p,
        pads_end=p,
        output_padding=per_dim(a["output_padding"], api.rank, "output_padding", api),
        bias=bias_present(a["bias"], api, out),
        dtype=read_dtype(None, api, shapes),
        seed=shapes.seed,
    )
    return Translation(call, api, a, case, "torch.functional", notes)


def _apis() -> tuple[Api, ...]:
    out: list[Api] = []
    for r in (1, 2, 3):
        out.append(
            Api(
                "torch.nn",
                f"torch.nn.ConvTranspose{r}d",
                r,
                TORCH_MODULE,
                3,
                {
                    "stride": 1,
                    "padding": 0,
                    "output_padding": 0,
                    "groups": 1,
                    "bias": True,
                    "dilation": 1,
                    "padding_mode": "zeros",
                },
                "torch.nn",
                MODULE_PAGE.format(r=r),
                ("torch.nn", "nn", ""),
                _torch_module,
            )
        )
        out.append(
            Api(
                "torch.functional",
                f"torch.nn.functional.conv_transpose{r}d",
                r,
                TORCH_FUNCTIONAL,
                2,
                {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1},
                "torch.functional",
                FUNCTIONAL_PAGE.format(r=r),
                ("torch.nn.functional", "nn.functional", "F", "functional", ""),
                _torch_functional,
            )
        )
    return tuple(out)


#: Every PyTorch API ``port`` reads.
APIS = _apis()
