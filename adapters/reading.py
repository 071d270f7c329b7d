"""Reading a transposed-convolution call written in a framework's own API into the canonical case.

The call is parsed with :mod:`ast` (never evaluated): its arguments may be literals (ints, tuples,
lists, strings, booleans, ``None``), names and attributes (``x``, ``torch.float64``), or calls with
literal arguments (``torch.randn(16, 33, 3, 3)``, whose shape is read). Arguments are bound to the
API's documented signature the way Python binds them (positional or keyword, the API's defaults
filled in), then translated into a :class:`~harness.case.Case`.

APIs read (signatures as documented for torch 2.13, paddle 3.3 and mindspore 2.10; the positional
order of ``groups`` and ``dilation`` differs between paddle's ranks and that of ``output_padding``
between mindspore's):

- ``torch.nn.ConvTranspose{1,2,3}d`` (seeds 003/004) and ``torch.nn.functional.conv_transpose{1,2,3}d``;
- ``paddle.nn.Conv{1,2,3}DTranspose`` (seed 002 for 3D) and ``paddle.nn.functional.conv{1,2,3}d_transpose``;
- ``mindspore.nn.Conv{1,2,3}dTranspose`` (seed 001 for 2D).

Common aliases are accepted: ``nn.``, ``F.``, ``nn.functional.``, ``ms.nn.`` and the bare name; the
class names differ between frameworks, so the name alone decides the API.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import InvalidCase, PortError
from harness.model.case import Case

TORCH_DOCS = "https://docs.pytorch.org/docs/stable/generated/torch.nn.ConvTranspose{r}d.html"
TORCH_F_DOCS = "https://docs.pytorch.org/docs/stable/generated/torch.nn.functional.conv_transpose{r}d.html"
PADDLE_DOCS = "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Conv{r}DTranspose_en.html"
PADDLE_F_DOCS = (
    "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/functional/"
    "conv{r}d_transpose_en.html"
)
MS_DOCS = "https://www.mindspore.cn/docs/en/r2.10.0/api_python/nn/mindspore.nn.Conv{r}dTranspose.html"

CHANNELS_LAST_FORMATS = {"NLC", "NHWC", "NDHWC"}
CHANNELS_FIRST_FORMATS = {1: "NCL", 2: "NCHW", 3: "NCDHW"}
FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")


# --- values of arguments ----------------------------------------------------------------------


@dataclass(frozen=True)
class Symbol:
    """A name or attribute used as an argument (a tensor variable, ``torch.float64``, …)."""

    text: str

    @property
    def last(self) -> str:
        """The last dotted component (``float64`` of ``torch.float64``)."""
        return self.text.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class CallValue:
    """A call used as an argument, e.g. ``torch.randn(16, 33, 3, 3)``."""

    text: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def shape(self) -> tuple[int, ...] | None:
        """The tensor shape the call names: int arguments, one int sequence, ``size=``/``shape=``,
        or the shape of a nested call (``Tensor(np.ones((1, 3)))``); None if it names none."""
        for key in ("size", "shape"):
            if _int_sequence(self.kwargs.get(key)):
                return tuple(self.kwargs[key])
        if self.args and all(_is_int(a) for a in self.args):
            return tuple(self.args)
        if self.args and _int_sequence(self.args[0]):
            return tuple(self.args[0])
        if self.args and isinstance(self.args[0], CallValue):
            return self.args[0].shape()
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(_is_int(v) for v in value)


def dotted_name(node: ast.AST) -> str | None:
    """``a.b.c`` of a Name/Attribute chain, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def argument_value(node: ast.AST) -> Any:
    """A literal's value, a :class:`Symbol` or a :class:`CallValue`; anything else is an error."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    name = dotted_name(node)
    if name is not None:
        return Symbol(name)
    if isinstance(node, ast.Call):
        func = dotted_name(node.func)
        if func is not None and not any(isinstance(a, ast.Starred) for a in node.args):
            return CallValue(
                ast.unparse(node),
                tuple(argument_value(a) for a in node.args),
                {k.arg: argument_value(k.value) for k in node.keywords if k.arg},
            )
    raise PortError(
        f"cannot read the argument `{ast.unparse(node)}`: only literals, names and calls "
        "with literal arguments are read (the call is parsed, never evaluated)"
    )


# --- the call -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedCall:
    """The function name and the argument values of a call, plus a forward call if chained."""

    text: str
    function: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    forward_args: tuple[Any, ...] = ()
    forward_kwargs: Mapping[str, Any] = field(default_factory=dict)


def _arguments(call: ast.Call) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if any(isinstance(a, ast.Starred) for a in call.args):
        raise PortError("*args cannot be read: write the arguments out")
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise PortError("**kwargs cannot be read: write the keyword arguments out")
        kwargs[keyword.arg] = argument_value(keyword.value)
    return tuple(argument_value(a) for a in call.args), kwargs


def parse_call(text: str) -> ParsedCall:
    """Parse one call (optionally assigned, optionally followed by a forward call ``(x, …)``)."""
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError as exc:
        raise PortError(f"not Python syntax: {exc.msg} (column {exc.offset})") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr | ast.Assign):
        raise PortError('expected exactly one call, e.g. "torch.nn.ConvTranspose2d(16, 33, 3)"')
    node = tree.body[0].value
    if not isinstance(node, ast.Call):
        raise PortError(f"`{ast.unparse(node)}` is not a call")
    forward: ast.Call | None = None
    if isinstance(node.func, ast.Call):
        forward, node = node, node.func
    function = dotted_name(node.func)
    if function is None:
        raise PortError(f"cannot read the function name of `{ast.unparse(node)}`")
    args, kwargs = _arguments(node)
    fargs, fkwargs = _arguments(forward) if forward is not None else ((), {})
    return ParsedCall(text.strip(), function, args, kwargs, fargs, fkwargs)


# --- the APIs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """One documented API: its full name, signature, and the registered target that calls it."""

    family: str
    name: str
    rank: int
    params: tuple[str, ...]
    required: int
    defaults: Mapping[str, Any]
    target: str
    source: str
    prefixes: tuple[str, ...]

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Bind arguments as Python would (errors name the API), with the defaults filled in."""
        if len(args) > len(self.params):
            raise PortError(
                f"{self.name} takes at most {len(self.params)} positional arguments "
                f"({', '.join(self.params)}), {len(args)} given"
            )
        bound = dict(zip(self.params, args, strict=False))
        for key, value in kwargs.items():
            if key not in self.params:
                raise PortError(
                    f"{self.name} has no parameter {key!r} (its parameters: "
                    f"{', '.join(self.params)}; {self.source})"
                )
            if key in bound:
                raise PortError(f"{self.name} got multiple values for {key!r}")
            bound[key] = value
        missing = [p for p in self.params[: self.required] if p not in bound]
        if missing:
            raise PortError(f"{self.name} is missing required argument(s): {', '.join(missing)}")
        return {p: bound.get(p, self.defaults.get(p)) for p in self.params}


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


def _apis() -> dict[str, Api]:
    """Every readable API by its last name component (unique across frameworks)."""
    out: dict[str, Api] = {}
    for r in (1, 2, 3):
        out[f"ConvTranspose{r}d"] = Api(
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
            TORCH_DOCS.format(r=r) + " (seeds 003/004)",
            ("torch.nn", "nn", ""),
        )
        out[f"conv_transpose{r}d"] = Api(
            "torch.functional",
            f"torch.nn.functional.conv_transpose{r}d",
            r,
            TORCH_FUNCTIONAL,
            2,
            {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1},
            "torch.functional",
            TORCH_F_DOCS.format(r=r),
            ("torch.nn.functional", "nn.functional", "F", "functional", ""),
        )
        out[f"Conv{r}DTranspose"] = Api(
            "paddle.nn",
            f"paddle.nn.Conv{r}DTranspose",
            r,
            PADDLE_MODULE[r],
            3,
            {
                "stride": 1,
                "padding": 0,
                "output_padding": 0,
                "groups": 1,
                "dilation": 1,
                "data_format": CHANNELS_FIRST_FORMATS[r],
            },
            "paddle.nn",
            PADDLE_DOCS.format(r=r),
            ("paddle.nn", "nn", ""),
        )
        out[f"conv{r}d_transpose"] = Api(
            "paddle.functional",
            f"paddle.nn.functional.conv{r}d_transpose",
            r,
            PADDLE_FUNCTIONAL[r],
            2,
            {
                "stride": 1,
                "padding": 0,
                "output_padding": 0,
                "groups": 1,
                "dilation": 1,
                "data_format": CHANNELS_FIRST_FORMATS[r],
            },
            "paddle.functional",
            PADDLE_F_DOCS.format(r=r),
            ("paddle.nn.functional", "nn.functional", "F", "functional", ""),
        )
        out[f"Conv{r}dTranspose"] = Api(
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
            MS_DOCS.format(r=r) + (" (seed 001)" if r == 2 else ""),
            ("mindspore.nn", "ms.nn", "nn", ""),
        )
    return out


APIS = _apis()


def find_api(function: str) -> Api:
    """The API a dotted function name refers to, by its last component and an accepted prefix."""
    prefix, _, last = function.rpartition(".")
    api = APIS.get(last)
    if api is None:
        raise PortError(
            f"{function!r} is not a transposed convolution this tool reads; known: "
            + ", ".join(a.name for a in APIS.values())
        )
    if prefix not in api.prefixes:
        written = ", ".join(f"{p}.{last}" if p else last for p in api.prefixes)
        raise PortError(f"{function!r}: {last} is {api.name}; write it as one of {written}")
    return api


# --- translation ---------------------------------------------------------------------------------


@dataclass
class Shapes:
    """Shapes given on the command line (or read from the call)."""

    input_shape: tuple[int, ...] | None = None
    weight_shape: tuple[int, ...] | None = None
    output_size: tuple[int, ...] | None = None
    dtype: str | None = None
    seed: int = 0


@dataclass
class Translation:
    """A parsed call, the API it names, its bound arguments and the canonical case it computes."""

    call: ParsedCall
    api: Api
    arguments: dict[str, Any]
    case: Case
    source_target: str
    notes: list[str] = field(default_factory=list)


def per_dim(value: Any, rank: int, what: str, api: Api) -> tuple[int, ...]:
    """An int broadcast to every dimension, or a sequence of ``rank`` ints."""
    if _is_int(value):
        return (value,) * rank
    if _int_sequence(value) and len(value) == rank:
        return tuple(value)
    raise PortError(f"{api.name}: {what}={value!r} must be an int or {rank} ints")


def _input_shape(api: Api, value: Any, shapes: Shapes, notes: list[str]) -> tuple[int, ...]:
    shape = shapes.input_shape
    if shape is None and isinstance(value, CallValue):
        shape = value.shape()
    if shape is None:
        raise PortError("give the input shape: --input-shape N,C,… (the data is a name in the call)")
    if len(shape) == api.rank + 1:
        notes.append(f"unbatched input {list(shape)} read as a batch of one")
        shape = (1, *shape)
    if len(shape) != api.rank + 2:
        raise PortError(
            f"{api.name} takes {api.rank + 2}-D input (batch, channels and {api.rank} "
            f"spatial dimensions), got shape {list(shape)}"
        )
    return tuple(shape)


def _weight_shape(api: Api, value: Any, shapes: Shapes) -> tuple[int, ...]:
    shape = shapes.weight_shape
    if shape is None and isinstance(value, CallValue):
        shape = value.shape()
    if shape is None:
        raise PortError(
            f"{api.name} reads C_out and the kernel from the weight: give --weight-shape "
            "C_in,C_out/groups,k… (the weight is a name in the call)"
        )
    if len(shape) != api.rank + 2:
        raise PortError(
            f"{api.name}: the weight must be {api.rank + 2}-D (C_in, C_out/groups, "
            f"{api.rank} kernel sizes), got {list(shape)}"
        )
    return tuple(shape)


def _split_layout(shape: tuple[int, ...], channels_last: bool) -> tuple[int, int, tuple[int, ...]]:
    """(batch, channels, spatial) of an input shape in its data format."""
    if channels_last:
        return shape[0], shape[-1], tuple(shape[1:-1])
    return shape[0], shape[1], tuple(shape[2:])


def _dtype(value: Any, api: Api, shapes: Shapes, default: str = "float32") -> str:
    if value is None:
        return shapes.dtype or default
    name = value.last if isinstance(value, Symbol) else str(value)
    if name not in FLOAT_DTYPES:
        raise PortError(f"{api.name}: dtype {value!r} is not one of {', '.join(FLOAT_DTYPES)}")
    if shapes.dtype is not None and shapes.dtype != name:
        raise PortError(f"--dtype {shapes.dtype} contradicts the call's dtype {name}")
    return name


def _extension(
    api: Api,
    size: Sequence[int] | None,
    smallest: tuple[int, ...],
    stride: tuple[int, ...],
    upper_inclusive: bool = False,
) -> tuple[int, ...] | None:
    """output_padding equivalent of an output size (None without one), within the API's range."""
    if size is None:
        return None
    size = tuple(size)
    if len(size) == api.rank + 2:
        size = size[2:]
    if len(size) != api.rank or not all(_is_int(v) for v in size):
        raise PortError(f"{api.name}: output_size {list(size)} must hold {api.rank} spatial sizes")
    extra = tuple(o - m for o, m in zip(size, smallest, strict=True))
    for dim, (e, s) in enumerate(zip(extra, stride, strict=True)):
        if e < 0 or e > s or (e == s and not upper_inclusive):
            raise PortError(
                f"{api.name}: output_size {size[dim]} along dim {dim} is outside "
                f"[{smallest[dim]}, {smallest[dim] + s}) (smallest size {smallest[dim]}, "
                f"stride {s}): the API refuses it"
            )
    return extra


def _make_case(api: Api, **fields: Any) -> Case:
    try:
        return Case.make(rank=api.rank, **fields)
    except InvalidCase as exc:
        raise PortError(f"not a valid transposed convolution ({exc.rule}): {exc}") from None


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
    n, c, size = _split_layout(_input_shape(api, forward_input, shapes, notes), False)
    _channels_match(api, c, a["in_channels"])
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
        op = _extension(api, requested, smallest, s) or op
        target = "torch.nn.output_size"
        if any(per_dim(a["output_padding"], api.rank, "output_padding", api)):
            notes.append("forward(output_size=…) replaces the module's output_padding")
    if a["device"] is not None:
        notes.append(f"device={a['device']!r} is not part of the canonical case (see --device)")
    case = _make_case(
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
        dtype=_dtype(a["dtype"], api, shapes),
        seed=shapes.seed,
    )
    return Translation(call, api, a, case, target, notes)


def _channels_match(api: Api, given: int, declared: Any) -> None:
    if _is_int(declared) and given != declared:
        raise PortError(
            f"{api.name}: the input has {given} channels, the call declares "
            f"in_channels={declared} (the API raises)"
        )


def _bias_present(value: Any, api: Api, out_channels: int) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, CallValue):
        shape = value.shape()
        if shape is not None and tuple(shape) != (out_channels,):
            raise PortError(f"{api.name}: bias shape {list(shape)} is not ({out_channels},)")
    return True


def _torch_functional(call: ParsedCall, api: Api, a: dict[str, Any], shapes: Shapes) -> Translation:
    notes: list[str] = []
    if isinstance(a["padding"], str):
        raise PortError(
            f"{api.name} takes no string padding ({a['padding']!r}) for transposed convolution: only ints"
        )
    n, c, size = _split_layout(_input_shape(api, a["input"], shapes, notes), False)
    w = _weight_shape(api, a["weight"], shapes)
    if c != w[0]:
        raise PortError(
            f"{api.name}: the input has {c} channels, the weight {list(w)} expects "
            f"{w[0]} (weight is (C_in, C_out/groups, *k))"
        )
    groups = a["groups"]
    if not _is_int(groups) or groups < 1:
        raise PortError(f"{api.name}: groups={groups!r} must be a positive int")
    out = w[1] * groups
    p = per_dim(a["padding"], api.rank, "padding", api)
    case = _make_case(
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
        bias=_bias_present(a["bias"], api, out),
        dtype=_dtype(None, api, shapes),
        seed=shapes.seed,
    )
    return Translation(call, api, a, case, "torch.functional", notes)


def paddle_padding(value: Any, api: Api, channels_last: bool) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """(mode, begin, end) of each of Paddle's padding forms (mode ``explicit``, ``same``, ``valid``)."""
    r = api.rank
    zero = (0,) * r
    if isinstance(value, str):
        mode = value.upper()
        if mode not in ("SAME", "VALID"):
            raise PortError(f"{api.name}: padding={value!r} must be 'SAME' or 'VALID' as a string")
        return mode.lower(), zero, zero
    if _is_int(value):
        return "explicit", (value,) * r, (value,) * r
    if _int_sequence(value) and len(value) == r:
        return "explicit", tuple(value), tuple(value)
    if _int_sequence(value) and len(value) == 2 * r:
        return "explicit", tuple(value[0::2]), tuple(value[1::2])
    if (
        isinstance(value, list | tuple)
        and len(value) == r + 2
        and all(_int_sequence(v) and len(v) == 2 for v in value)
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
    n, c, size = _split_layout(_input_shape(api, data, shapes, notes), channels_last)
    mode, pb, pe = paddle_padding(a["padding"], api, channels_last)
    s = per_dim(a["stride"], api.rank, "stride", api)
    d = per_dim(a["dilation"], api.rank, "dilation", api)
    op = per_dim(a["output_padding"], api.rank, "output_padding", api)
    if functional:
        w = _weight_shape(api, a["weight"], shapes)
        if c != w[0]:
            raise PortError(f"{api.name}: the input has {c} channels, the weight {list(w)} expects {w[0]}")
        groups, in_channels, out_channels, k = a["groups"], w[0], w[1] * a["groups"], w[2:]
        bias = _bias_present(a["bias"], api, out_channels)
        requested = a["output_size"]
        dtype = _dtype(None, api, shapes)
    else:
        _channels_match(api, c, a["in_channels"])
        groups, in_channels, out_channels = a["groups"], a["in_channels"], a["out_channels"]
        k = per_dim(a["kernel_size"], api.rank, "kernel_size", api)
        bias = a["bias_attr"] is not False
        requested = call.forward_kwargs.get("output_size")
        if len(call.forward_args) > 1:
            requested = call.forward_args[1]
        dtype = _dtype(None, api, shapes)
        if a["weight_attr"] is not None or a["bias_attr"] not in (None, False):
            notes.append("weight_attr/bias_attr initialise the parameters; the port loads the weights")
    if requested is None:
        requested = shapes.output_size
    elif shapes.output_size is not None:
        raise PortError("output_size is given twice (in the call and as --output-size)")
    if _is_int(requested):
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
        op = _extension(api, requested, smallest, s) or op
    if mode != "explicit" and any(op):
        raise PortError(f"{api.name}: output_padding with padding={a['padding']!r} has no canonical form")
    case = _make_case(
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


def mindspore_padding(value: Any, api: Api) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(begin, end) of MindSpore's padding: one int, or (top, bottom, left, right) / 6 for 3-D."""
    r = api.rank
    if _is_int(value):
        return (value,) * r, (value,) * r
    if r > 1 and _int_sequence(value) and len(value) == 2 * r:
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
    n, c, size = _split_layout(_input_shape(api, data, shapes, notes), False)
    _channels_match(api, c, a["in_channels"])
    if not isinstance(a["has_bias"], bool):
        raise PortError(f"{api.name}: has_bias={a['has_bias']!r} must be True or False")
    case = _make_case(
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
        dtype=_dtype(a["dtype"], api, shapes),
        padding_mode="explicit" if mode == "pad" else mode,
        seed=shapes.seed,
    )
    return Translation(call, api, a, case, "mindspore.nn", notes)


TRANSLATORS = {
    "torch.nn": _torch_module,
    "torch.functional": _torch_functional,
    "paddle.nn": _paddle,
    "paddle.functional": _paddle,
    "mindspore.nn": _mindspore,
}


def translate(text: str, shapes: Shapes | None = None) -> Translation:
    """Parse ``text`` and translate it into the canonical case (raises :class:`PortError`)."""
    call = parse_call(text)
    api = find_api(call.function)
    arguments = api.bind(call.args, call.kwargs)
    shapes = shapes or Shapes()
    if call.forward_kwargs and set(call.forward_kwargs) - {"output_size"}:
        raise PortError(f"the forward call takes x and output_size only, got {sorted(call.forward_kwargs)}")
    return TRANSLATORS[api.family](call, api, arguments, shapes)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """``"20,16,50,100"`` (or with x, spaces, brackets) → ``(20, 16, 50, 100)``."""
    if text is None:
        return None
    parts = [p for p in re.split(r"[\s,x×()\[\]]+", text) if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise PortError(f"cannot read the shape {text!r}: write integers separated by commas") from None
