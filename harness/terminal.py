"""Text the harness prints to a terminal, made safe to print.

Target names, reasons and messages come from places the harness does not control: a
``module:Class`` target's ``name``, a framework's exception text, a results file or ``run.json``.
Printed raw, an ANSI escape among them could recolour, clear or rewrite the user's terminal, or
hide a line. :func:`printable` writes every character that is not printable as its Python escape.
"""

from __future__ import annotations


def printable(text: object, *, newlines: bool = False) -> str:
    """``str(text)`` with each non-printable character (escape sequences, other control
    characters, and line breaks unless ``newlines``) written as its Python escape, e.g. ``\\x1b``."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() or (newlines and ch == "\n") else repr(ch)[1:-1] for ch in value)
