"""Key paths into a spec: their dotted rendering, their lines in the file, and the rule error.

A key path is a tuple of mapping keys and sequence indices, ``("pinned", 2, "stride")``, shown as
``pinned[2].stride``. The loader records the line of every key path it reads; the schema and the
error messages look paths up there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Loc = tuple[str | int, ...]


class RuleError(ValueError):
    """A cross-field rule broken inside a model validator (pydantic reports it as ``value_error``).

    It never leaves validation: :mod:`harness.spec.messages` turns it into a
    :class:`harness.errors.SpecError` line. ``rel`` is the offending key relative to the model that
    raised it. In ``template``, ``{here}`` stands for that model's dotted path and ``{key}`` for
    the offending key's dotted path.
    """

    def __init__(self, template: str, rel: Loc = ()) -> None:
        super().__init__(template)
        self.template = template
        self.rel = rel


def dotted(loc: Loc) -> str:
    """Render a key path: ``("pinned", 2, "stride")`` → ``pinned[2].stride``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def normalized_part(part: object) -> str:
    """One key path part as the line index stores it: a string, names and booleans lower-cased.

    Pydantic reports a boolean choice key as ``True`` where the file spells ``true``.
    """
    return str(part).lower() if isinstance(part, bool | str) else str(part)


def normalized(loc: Sequence[object]) -> tuple[str, ...]:
    """A key path as the line index stores it (see :func:`normalized_part`)."""
    return tuple(normalized_part(part) for part in loc)


def lookup_line(lines: Mapping[tuple[str, ...], int], loc: Sequence[str | int]) -> int | None:
    """The line of the longest prefix of ``loc`` found in ``lines`` (keys as :func:`normalized`)."""
    parts = normalized(loc)
    for end in range(len(parts), -1, -1):
        if parts[:end] in lines:
            return lines[parts[:end]]
    return None
