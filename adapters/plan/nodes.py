"""The nodes a call plan is made of: expressions, statements, imports and the :class:`Plan`, with
small builders (:func:`sym`, :func:`call`, :func:`method`, :func:`data`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

DATA = "data"

# --- expressions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """A variable of the plan, an imported module or a helper function."""

    id: str


@dataclass(frozen=True)
class Attr:
    """``obj.name``."""

    obj: Any
    name: str


@dataclass(frozen=True)
class Item:
    """``obj[key]``."""

    obj: Any
    key: Any


@dataclass(frozen=True)
class Call:
    """``func(*args, **kwargs)``.

    ``defaults`` are the API's documented defaults of its keywords: the one-line form leaves out a
    keyword whose value equals its default (a tuple of equal ints counts as that int); the run and
    the snippet pass every keyword as given.
    """

    func: Any
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()


Expr: TypeAlias = Any  # Name | Attr | Item | Call | a plain value, possibly nested


def sym(dotted: str) -> Name | Attr:
    """``a.b.c`` as a chain of attributes on the name ``a``."""
    head, *rest = dotted.split(".")
    node: Name | Attr = Name(head)
    for part in rest:
        node = Attr(node, part)
    return node


def compact(values: Sequence[int]) -> int | Sequence[int]:
    """One int where every dimension has the same value, as the APIs' users write it (every API
    this is used for takes an int for all dimensions alike), else ``values`` unchanged."""
    return values[0] if len(values) > 0 and len(set(values)) == 1 else values


def call(
    func: str | Expr,
    *args: Expr,
    defaults: Mapping[str, Any] | None = None,
    **kwargs: Expr,
) -> Call:
    """A :class:`Call`; a string ``func`` is a dotted name (:func:`sym`)."""
    target = sym(func) if isinstance(func, str) else func
    return Call(target, tuple(args), tuple(kwargs.items()), tuple((defaults or {}).items()))


def method(obj: Expr, name: str, *args: Expr, **kwargs: Expr) -> Call:
    """``obj.name(*args, **kwargs)``."""
    return Call(Attr(obj, name), tuple(args), tuple(kwargs.items()))


def data(key: str) -> Item:
    """``data[key]``: one of the case's arrays."""
    return Item(Name(DATA), key)


# --- statements ----------------------------------------------------------------------------------


#: :attr:`Assign.cache` values: keep the value while every statement before it, and every array
#: those statements read, is the same (inference sessions, built engines) ...
CACHE_CONFIGURATION = "configuration"
#: ... or compute it once and keep it (a timing cache shared by every build).
CACHE_ONCE = "once"


@dataclass(frozen=True)
class Assign:
    """``target = value`` (``target`` a name, or a tuple of names to unpack).

    ``cache`` (:data:`CACHE_CONFIGURATION` or :data:`CACHE_ONCE`) lets the runner reuse the value
    instead of evaluating it again; the snippet evaluates it as written.
    """

    target: str | tuple[str, ...]
    value: Expr
    cache: str = ""


@dataclass(frozen=True)
class Do:
    """An expression evaluated for its effect."""

    value: Expr


@dataclass(frozen=True)
class SetAttr:
    """``obj.name = value``."""

    obj: Expr
    name: str
    value: Expr


@dataclass(frozen=True)
class With:
    """``with context: body``."""

    context: Expr
    body: tuple[Any, ...]


@dataclass(frozen=True)
class Try:
    """``try: body finally: cleanup``."""

    body: tuple[Any, ...]
    cleanup: tuple[Any, ...]


Stmt: TypeAlias = Assign | Do | SetAttr | With | Try


@dataclass(frozen=True)
class Import:
    """``import module`` or ``import module as alias``; ``names`` gives ``from module import …``."""

    module: str
    alias: str | None = None
    names: tuple[str, ...] = ()

    @property
    def bound(self) -> tuple[str, ...]:
        """The names the import binds."""
        if self.names:
            return self.names
        return (self.alias or self.module.split(".")[0],)

    def text(self) -> str:
        """Its source line."""
        if self.names:
            return f"from {self.module} import {', '.join(self.names)}"
        return f"import {self.module}" + (f" as {self.alias}" if self.alias else "")


@dataclass(frozen=True)
class Plan:
    """The framework calls of one case.

    ``setup`` runs once per process (device selection, warm-ups); ``body`` per case; ``output``
    names the framework's result and ``to_numpy`` turns it into a float64 NumPy array in NC* order.
    ``summary`` is what the one-line form shows (expressions or statements of the plan, joined by
    ``; ``), ``note`` a comment after it. ``helpers`` are plain functions the plan calls by name:
    the runner binds them, the snippet includes their source.
    """

    imports: tuple[Import, ...]
    body: tuple[Stmt, ...]
    output: str
    to_numpy: Expr
    summary: tuple[Any, ...]
    setup: tuple[Stmt, ...] = ()
    note: str = ""
    helpers: tuple[Callable[..., Any], ...] = ()
