"""The text of a call, read with :mod:`ast` and never evaluated: its function's dotted name and its
arguments, which may be literals (ints, tuples, lists, strings, booleans, ``None``), names and
attributes (``x``, ``torch.float64``), or calls with literal arguments (``torch.randn(16, 33, 3,
3)``, whose shape is read). Anything else, ``*args``, ``**kwargs`` and a repeated keyword are
refused with :class:`~harness.errors.PortError`. :mod:`adapters.reading` binds what this reads to
an API's signature.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import PortError

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
            if int_sequence(self.kwargs.get(key)):
                return tuple(self.kwargs[key])
        if self.args and all(is_int(a) for a in self.args):
            return tuple(self.args)
        if self.args and int_sequence(self.args[0]):
            return tuple(self.args[0])
        if self.args and isinstance(self.args[0], CallValue):
            return self.args[0].shape()
        return None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(is_int(v) for v in value)


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
            _refuse_repeated_keywords(node)
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


def _refuse_repeated_keywords(call: ast.Call) -> None:
    """``f(stride=1, stride=2)`` parses (``ast`` keeps both) but Python refuses to compile it."""
    names = [k.arg for k in call.keywords if k.arg is not None]
    repeated = [n for i, n in enumerate(names) if n in names[:i]]
    if repeated:
        raise PortError(f"keyword argument repeated: {repeated[0]} in `{ast.unparse(call)}` (a SyntaxError)")


def _arguments(call: ast.Call) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if any(isinstance(a, ast.Starred) for a in call.args):
        raise PortError("*args cannot be read: write the arguments out")
    _refuse_repeated_keywords(call)
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
