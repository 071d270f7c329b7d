"""A plan as Python source: each expression and statement, the one-line summary, and the whole
standalone snippet."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

import numpy as np

from adapters.plan.nodes import (
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


def target_text(target: str | tuple[str, ...]) -> str:
    if isinstance(target, str):
        return target
    return "(" + ", ".join(target) + ("," if len(target) == 1 else "") + ")"


def statement_lines(stmt: Stmt, indent: str = "", *, short: bool = False) -> list[str]:
    """Source lines of one statement."""
    if isinstance(stmt, Assign):
        return [f"{indent}{target_text(stmt.target)} = {render(stmt.value, short=short)}"]
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
