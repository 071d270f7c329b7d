"""Reading a transposed-convolution call written in a framework's own API into the canonical case.

The call is parsed with :mod:`ast`, never evaluated (:mod:`adapters.call_text`). Arguments are bound to the
API's documented signature the way Python binds them (positional or keyword, the API's defaults
filled in), then translated into a :class:`~harness.model.case.Case` by the API's translator.

Each framework's folder declares the APIs it reads and their translators (``adapters/<framework>/
reading.py``, reached through :meth:`adapters.protocol.TargetApi.call_apis`); this module holds
what they share. Common aliases are accepted (``nn.``, ``F.``, ``ms.nn.`` and the bare name, as each
API lists them); the class names differ between frameworks, so the name alone decides the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.call_text import CallValue, ParsedCall, Symbol, int_sequence, is_int, parse_call
from harness.errors import InvalidCase, PortError
from harness.model.case import Case
from harness.model.dtypes import DATA_DTYPES
from harness.model.limits import LIMIT_RULES, check_reference

CHANNELS_LAST_FORMATS = {"NLC", "NHWC", "NDHWC"}
CHANNELS_FIRST_FORMATS = {1: "NCL", 2: "NCHW", 3: "NCDHW"}


# --- the APIs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """One documented API: its full name, signature, the registered target that calls it, and the
    function that reads its arguments (each framework's ``reading`` module defines its own)."""

    family: str
    name: str
    rank: int
    params: tuple[str, ...]
    required: int
    defaults: Mapping[str, Any]
    target: str
    source: str
    prefixes: tuple[str, ...]
    #: reads the bound arguments into the canonical case
    translator: Callable[[ParsedCall, Api, dict[str, Any], Shapes], Translation]

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
    if is_int(value):
        return (value,) * rank
    if int_sequence(value) and len(value) == rank:
        return tuple(value)
    raise PortError(f"{api.name}: {what}={value!r} must be an int or {rank} ints")


def input_shape(api: Api, value: Any, shapes: Shapes, notes: list[str]) -> tuple[int, ...]:
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


def weight_shape(api: Api, value: Any, shapes: Shapes) -> tuple[int, ...]:
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


def split_layout(shape: tuple[int, ...], channels_last: bool) -> tuple[int, int, tuple[int, ...]]:
    """(batch, channels, spatial) of an input shape in its data format."""
    if channels_last:
        return shape[0], shape[-1], tuple(shape[1:-1])
    return shape[0], shape[1], tuple(shape[2:])


def read_dtype(value: Any, api: Api, shapes: Shapes, default: str = "float32") -> str:
    if value is None:
        return shapes.dtype or default
    name = value.last if isinstance(value, Symbol) else str(value)
    if name not in DATA_DTYPES:
        raise PortError(f"{api.name}: dtype {value!r} is not one of {', '.join(DATA_DTYPES)}")
    if shapes.dtype is not None and shapes.dtype != name:
        raise PortError(f"--dtype {shapes.dtype} contradicts the call's dtype {name}")
    return name


def extension(
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
    if len(size) != api.rank or not all(is_int(v) for v in size):
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


def make_case(api: Api, **fields: Any) -> Case:
    """The canonical case of a call; a case the model refuses, or one over a cap of
    :mod:`harness.model.limits`, is a :class:`PortError` naming the rule."""
    try:
        case = Case.make(rank=api.rank, **fields)
        check_reference(case)
    except InvalidCase as exc:
        if exc.rule in LIMIT_RULES:
            raise PortError(f"the call's case is too large for the harness: {exc}") from None
        raise PortError(f"not a valid transposed convolution ({exc.rule}): {exc}") from None
    return case


def channels_match(api: Api, given: int, declared: Any) -> None:
    if is_int(declared) and given != declared:
        raise PortError(
            f"{api.name}: the input has {given} channels, the call declares "
            f"in_channels={declared} (the API raises)"
        )


def bias_present(value: Any, api: Api, out_channels: int) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, CallValue):
        shape = value.shape()
        if shape is not None and tuple(shape) != (out_channels,):
            raise PortError(f"{api.name}: bias shape {list(shape)} is not ({out_channels},)")
    return True


def find_api(function: str, apis: Iterable[Api]) -> Api:
    """The API a dotted function name refers to: its last component names the API, the prefix picks
    among APIs of several frameworks that share that last component."""
    every = list(apis)
    prefix, _, last = function.rpartition(".")
    named = [api for api in every if api.name.rsplit(".", 1)[-1] == last]
    if not named:
        raise PortError(
            f"{function!r} is not a transposed convolution this tool reads; known: "
            + ", ".join(a.name for a in every)
        )
    matching = [api for api in named if prefix in api.prefixes]
    if len(matching) == 1:
        return matching[0]
    written = ", ".join(f"{p}.{last}" if p else last for api in named for p in api.prefixes if p)
    if matching:
        raise PortError(
            f"{function!r} names {' and '.join(a.name for a in matching)}: write one of {written}"
        )
    if len(named) == 1:
        written = ", ".join(f"{p}.{last}" if p else last for p in named[0].prefixes)
        raise PortError(f"{function!r}: {last} is {named[0].name}; write it as one of {written}")
    raise PortError(
        f"{function!r}: {last} is one of {', '.join(a.name for a in named)}; write one of {written}"
    )


def translate(text: str, apis: Iterable[Api], shapes: Shapes | None = None) -> Translation:
    """Parse ``text`` and translate it into the canonical case with the first of ``apis`` it names
    (raises :class:`PortError`)."""
    call = parse_call(text)
    api = find_api(call.function, apis)
    arguments = api.bind(call.args, call.kwargs)
    shapes = shapes or Shapes()
    if call.forward_kwargs and set(call.forward_kwargs) - {"output_size"}:
        raise PortError(f"the forward call takes x and output_size only, got {sorted(call.forward_kwargs)}")
    return api.translator(call, api, arguments, shapes)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """``"20,16,50,100"`` (or with x, spaces, brackets) → ``(20, 16, 50, 100)``."""
    if text is None:
        return None
    parts = [p for p in re.split(r"[\s,x×()\[\]]+", text) if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise PortError(f"cannot read the shape {text!r}: write integers separated by commas") from None
