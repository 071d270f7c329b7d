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

from adapters.plan.execute import Executor, LazyArrays, evaluate
from adapters.plan.nodes import (
    CACHE_CONFIGURATION,
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
    call,
    compact,
    data,
    method,
    sym,
)
from adapters.plan.render import one_line, render, snippet, statement_lines

__all__ = [
    "CACHE_CONFIGURATION",
    "CACHE_ONCE",
    "DATA",
    "Assign",
    "Attr",
    "Call",
    "Do",
    "Executor",
    "Expr",
    "Import",
    "Item",
    "LazyArrays",
    "Name",
    "Plan",
    "SetAttr",
    "Stmt",
    "Try",
    "With",
    "call",
    "compact",
    "data",
    "evaluate",
    "method",
    "one_line",
    "render",
    "snippet",
    "statement_lines",
    "sym",
]
