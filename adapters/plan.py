"""A target's call plan: the framework calls a case makes, written down as data.

One plan drives everything a target shows of a call, so none of it can drift from what ran:

- the run: the worker executes the plan's statements (:class:`Executor`);
- the snippet: the same statements rendered as a standalone script (:func:`snippet`);
- the one-line equivalent call: the plan's summary, with arguments at their documented default
  left out (:func:`one_line`);
- the raw probe of the audits: a plan built from raw, possibly invalid, parameters and executed on
  random data.

A plan is built from a handful of node types. Expressions: :class:`Name` (a variable or an
imported module), :class:`Attr`, :class:`Call`, :class:`Item` and plain values (ints, floats,
strings, booleans, None, and tuples, lists and dicts of expressions). Statements:
:class:`Assign`, :class:`Do`, :class:`SetAttr`, :class:`With` and :class:`Try` (try/finally).
The variable ``data`` holds the case's arrays (``x``, ``weight``, ``bias``): the runner binds it
to the arrays, the snippet to ``np.load(<npz>)``. Nothing here imports a framework.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import textwrap
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

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


# --- rendering -----------------------------------------------------------------------------------


def _is_default(value: Any, default: Any) -> bool:
    if isinstance(value, list | tuple) and not isinstance(default, list | tuple) and value:
        return all(_is_default(v, default) for v in value)
    return type(value) is type(default) and value == default


def render(node: Expr, *, short: bool = False) -> str:
    """Python source of an expression; ``short`` leaves out keywords at their documented default."""
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Attr):
        return f"{render(node.obj, short=short)}.{node.name}"
    if isinstance(node, Item):
        return f"{render(node.obj, short=short)}[{render(node.key, short=short)}]"
    if isinstance(node, Call):
        defaults = dict(node.defaults) if short else {}
        parts = [render(a, short=short) for a in node.args]
        parts += [
            f"{k}={render(v, short=short)}"
            for k, v in node.kwargs
            if not (k in defaults and _is_default(v, defaults[k]))
        ]
        return f"{render(node.func, short=short)}({', '.join(parts)})"
    if isinstance(node, tuple):
        inner = ", ".join(render(v, short=short) for v in node)
        return f"({inner},)" if len(node) == 1 else f"({inner})"
    if isinstance(node, list):
        return "[" + ", ".join(render(v, short=short) for v in node) + "]"
    if isinstance(node, dict):
        return "{" + ", ".join(f"{render(k)}: {render(v, short=short)}" for k, v in node.items()) + "}"
    if isinstance(node, np.integer):
        return str(int(node))
    return repr(node)


def _target_text(target: str | tuple[str, ...]) -> str:
    if isinstance(target, str):
        return target
    return "(" + ", ".join(target) + ("," if len(target) == 1 else "") + ")"


def statement_lines(stmt: Stmt, indent: str = "", *, short: bool = False) -> list[str]:
    """Source lines of one statement."""
    if isinstance(stmt, Assign):
        return [f"{indent}{_target_text(stmt.target)} = {render(stmt.value, short=short)}"]
    if isinstance(stmt, Do):
        return [f"{indent}{render(stmt.value, short=short)}"]
    if isinstance(stmt, SetAttr):
        return [f"{indent}{render(stmt.obj, short=short)}.{stmt.name} = {render(stmt.value, short=short)}"]
    if isinstance(stmt, With):
        lines = [f"{indent}with {render(stmt.context)}:"]
        for inner in stmt.body:
            lines += statement_lines(inner, indent + "    ", short=short)
        return lines
    lines = [f"{indent}try:"]
    for inner in stmt.body:
        lines += statement_lines(inner, indent + "    ", short=short)
    lines.append(f"{indent}finally:")
    for inner in stmt.cleanup:
        lines += statement_lines(inner, indent + "    ", short=short)
    return lines


def one_line(plan: Plan) -> str:
    """The plan's summary on one line (defaults left out), with its note."""
    parts: list[str] = []
    for item in plan.summary:
        if isinstance(item, Assign | Do | SetAttr | With | Try):
            parts += [line.strip() for line in statement_lines(item, short=True)]
        else:
            parts.append(render(item, short=True))
    text = "; ".join(parts)
    return f"{text}  # {plan.note}" if plan.note else text


def snippet(plan: Plan, npz_name: str = "case.npz", header: str = "") -> str:
    """A standalone script: imports, helpers, setup, ``data = np.load(npz_name)``, the body, and
    the output printed as a NumPy array in NC* order."""
    imports = list(plan.imports)
    if not any(i.module == "numpy" and i.alias == "np" and not i.names for i in imports):
        imports.insert(0, Import("numpy", "np"))
    lines = [header.rstrip("\n")] if header else []
    lines += [i.text() for i in imports]
    for helper in plan.helpers:
        lines += ["", "", *textwrap.dedent(inspect.getsource(helper)).rstrip("\n").split("\n")]
    lines.append("")
    for stmt in plan.setup:
        lines += statement_lines(stmt)
    lines.append(f"{DATA} = np.load({npz_name!r})")
    for stmt in plan.body:
        lines += statement_lines(stmt)
    lines += [
        f"y_ncx = {render(plan.to_numpy)}",
        "print(y_ncx.shape)",
        "print(y_ncx)",
    ]
    return "\n".join(lines) + "\n"


# --- execution -----------------------------------------------------------------------------------


class LazyArrays(Mapping[str, np.ndarray]):
    """The arrays a plan reads as ``data[...]``, each made on first use (a probe of a layer never
    makes the weight it would not be given)."""

    def __init__(self, makers: Mapping[str, Callable[[], np.ndarray]]) -> None:
        self._makers = dict(makers)
        self._made: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._made:
            self._made[key] = self._makers[key]()
        return self._made[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)


def _data_keys(node: Any) -> Iterator[str]:
    """The ``data[...]`` keys an expression or statement reads."""
    if isinstance(node, Item) and isinstance(node.obj, Name) and node.obj.id == DATA:
        yield str(node.key)
    elif isinstance(node, Name):
        return
    elif isinstance(node, Attr):
        yield from _data_keys(node.obj)
    elif isinstance(node, Item):
        yield from _data_keys(node.obj)
        yield from _data_keys(node.key)
    elif isinstance(node, Call):
        yield from _data_keys(node.func)
        for a in node.args:
            yield from _data_keys(a)
        for _, v in node.kwargs:
            yield from _data_keys(v)
    elif isinstance(node, list | tuple):
        for v in node:
            yield from _data_keys(v)
    elif isinstance(node, dict):
        for v in node.values():
            yield from _data_keys(v)
    elif isinstance(node, Assign | Do):
        yield from _data_keys(node.value)
    elif isinstance(node, SetAttr):
        yield from _data_keys(node.obj)
        yield from _data_keys(node.value)
    elif isinstance(node, With):
        yield from _data_keys(node.context)
        for s in node.body:
            yield from _data_keys(s)
    elif isinstance(node, Try):
        for s in (*node.body, *node.cleanup):
            yield from _data_keys(s)


class Executor:
    """Runs plans in this process: imports once, setup once per distinct setup, cached values
    reused (at most ``cache_size`` of them)."""

    def __init__(self, cache_size: int = 256) -> None:
        self._modules: dict[str, Any] = {}
        self._setups: set[tuple[str, ...]] = set()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self.cache_size = cache_size
        #: Per cached variable: how often its value was reused, and computed.
        self.cache_hits: Counter[str] = Counter()
        self.cache_misses: Counter[str] = Counter()
        #: Per cached variable of the last :meth:`execute`: whether its value was reused.
        self.last_hits: dict[str, bool] = {}

    def _import(self, imp: Import) -> dict[str, Any]:
        if imp.module not in self._modules:
            self._modules[imp.module] = importlib.import_module(imp.module)
        module = self._modules[imp.module]
        if imp.names:
            return {n: getattr(module, n) for n in imp.names}
        if imp.alias:
            return {imp.alias: module}
        top = imp.module.split(".")[0]
        if top not in self._modules:
            self._modules[top] = importlib.import_module(top)
        return {top: self._modules[top]}

    def namespace(self, plan: Plan, arrays: Mapping[str, Any]) -> dict[str, Any]:
        """The names a plan starts with: its imports, its helpers and ``data``."""
        ns: dict[str, Any] = {}
        for imp in plan.imports:
            ns.update(self._import(imp))
        for helper in plan.helpers:
            ns[helper.__name__] = helper
        ns[DATA] = arrays
        return ns

    def execute(self, plan: Plan, arrays: Mapping[str, Any]) -> dict[str, Any]:
        """Run the plan's setup (once) and body on ``arrays``; the namespace afterwards."""
        ns = self.namespace(plan, arrays)
        key = tuple(line for s in plan.setup for line in statement_lines(s))
        if key and key not in self._setups:
            for stmt in plan.setup:
                self._run(stmt, ns, [], arrays)
            self._setups.add(key)
        self.last_hits = {}
        done: list[Stmt] = []
        for stmt in plan.body:
            self._run(stmt, ns, done, arrays)
            done.append(stmt)
        return ns

    def output(self, plan: Plan, arrays: Mapping[str, Any]) -> np.ndarray:
        """Execute the plan and return its output as a NumPy array (:attr:`Plan.to_numpy`)."""
        ns = self.execute(plan, arrays)
        return np.asarray(evaluate(plan.to_numpy, ns))

    def _cache_key(self, stmt: Assign, done: Sequence[Stmt], arrays: Mapping[str, Any]) -> str:
        digest = hashlib.sha256()
        scope: tuple[Stmt, ...] = (stmt,) if stmt.cache == CACHE_ONCE else (*done, stmt)
        for s in scope:
            for line in statement_lines(s):
                digest.update(line.encode())
                digest.update(b"\n")
        for key in sorted({k for s in scope for k in _data_keys(s)}):
            array = np.ascontiguousarray(arrays[key])
            digest.update(f"{key}:{array.dtype}:{array.shape}".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()

    def _run(self, stmt: Stmt, ns: dict[str, Any], done: Sequence[Stmt], arrays: Mapping[str, Any]) -> None:
        if isinstance(stmt, Assign):
            if stmt.cache:
                label = _target_text(stmt.target)
                key = self._cache_key(stmt, done, arrays)
                self.last_hits[label] = key in self._cache
                if key in self._cache:
                    self.cache_hits[label] += 1
                    self._cache.move_to_end(key)
                    value = self._cache[key]
                else:
                    self.cache_misses[label] += 1
                    value = evaluate(stmt.value, ns)
                    self._cache[key] = value
                    if len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
            else:
                value = evaluate(stmt.value, ns)
            if isinstance(stmt.target, str):
                ns[stmt.target] = value
            else:
                for name, item in zip(stmt.target, value, strict=True):
                    ns[name] = item
        elif isinstance(stmt, Do):
            evaluate(stmt.value, ns)
        elif isinstance(stmt, SetAttr):
            setattr(evaluate(stmt.obj, ns), stmt.name, evaluate(stmt.value, ns))
        elif isinstance(stmt, With):
            with evaluate(stmt.context, ns):
                for inner in stmt.body:
                    self._run(inner, ns, done, arrays)
        else:
            try:
                for inner in stmt.body:
                    self._run(inner, ns, done, arrays)
            finally:
                for inner in stmt.cleanup:
                    self._run(inner, ns, done, arrays)


def evaluate(node: Expr, ns: Mapping[str, Any]) -> Any:
    """The value of an expression in a namespace."""
    if isinstance(node, Name):
        return ns[node.id]
    if isinstance(node, Attr):
        return getattr(evaluate(node.obj, ns), node.name)
    if isinstance(node, Item):
        return evaluate(node.obj, ns)[evaluate(node.key, ns)]
    if isinstance(node, Call):
        func = evaluate(node.func, ns)
        return func(*(evaluate(a, ns) for a in node.args), **{k: evaluate(v, ns) for k, v in node.kwargs})
    if isinstance(node, tuple):
        return tuple(evaluate(v, ns) for v in node)
    if isinstance(node, list):
        return [evaluate(v, ns) for v in node]
    if isinstance(node, dict):
        return {evaluate(k, ns): evaluate(v, ns) for k, v in node.items()}
    return node
