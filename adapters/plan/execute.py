"""A plan executed in this process: imports resolved once, setup run once, values cached, each
expression evaluated in a namespace that starts with the case's arrays as ``data``."""

from __future__ import annotations

import hashlib
import importlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from adapters.plan.nodes import (
    CACHE_ONCE,
    DATA,
    Assign,
    Attr,
    Call,
    Do,
    Expr,
    Import,
    Item,
    Name,
    Plan,
    SetAttr,
    Stmt,
    Try,
    With,
)
from adapters.plan.render import statement_lines, target_text


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
                label = target_text(stmt.target)
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
