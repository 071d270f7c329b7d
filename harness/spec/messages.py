"""Pydantic validation errors worded as spec problems: ``key rule`` for each offending key path.

Each message names the dotted key path and the rule it breaks, in the spec's own terms::

    stride.max must be ≥ stride.min (got 0 < 1)
    crops.maximum is not a known key (allowed: max, probability, asymmetric_probability)
    dtypes.float8 is not a known dtype (known: 'float64', 'float32', 'float16' or 'bfloat16')

The loader adds the file and the line in front (``file:line: key rule``).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from harness.spec.keys import Loc, RuleError, dotted
from harness.spec.schema import Spec


def _model_at(loc: Loc, root: type[BaseModel]) -> type[BaseModel] | None:
    """The model class whose keys live at ``loc`` under ``root`` (for listing allowed keys)."""
    cls: type[BaseModel] = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = cls.model_fields.get(part)
        if field is None:
            return None
        found = _find_model(field.annotation)
        if found is None:
            return None
        cls = found
    return cls


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _find_model(arg)
            if found is not None:
                return found
    return None


_CHOICE_NOUNS = {
    "dtypes": "dtype",
    "layouts": "layout",
    "distributions": "distribution",
    "bias": "bias value",
}


def _describe(error: Mapping[str, Any], root: type[BaseModel]) -> tuple[Loc, str]:
    """Turn one pydantic error into (offending key path, ``key rule`` message)."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "value_error" and isinstance(ctx.get("error"), RuleError):
        rule: RuleError = ctx["error"]
        full = (*loc, *rule.rel)
        return full, rule.template.format(here=dotted(loc), key=dotted(full))
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        noun = _CHOICE_NOUNS.get(str(loc[0]), "choice") if loc else "choice"
        if kind == "bool_type":  # pydantic names no expected values for a boolean key
            return loc, f"{dotted(loc)} is not a known {noun} (known: true or false; got {given!r})"
        return loc, f"{dotted(loc)} is not a known {noun} (known: {ctx.get('expected', '?')})"
    if kind == "invalid_key":  # a null, boolean or numeric key, named here as the file spells it
        loc = (*loc[:-1], _yaml_spelling(given))
        model = _model_at(loc[:-1], root)
        allowed = f" (allowed: {', '.join(model.model_fields)})" if model else ""
        return loc, f"{dotted(loc)} is not a known key{allowed}"
    key = dotted(loc) or "(top level)"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1], root)
        allowed = f" (allowed: {', '.join(model.model_fields)})" if model else ""
        return loc, f"{key} is not a known key{allowed}"
    if kind == "missing":
        return loc, f"{key} is required but missing"
    if kind == "union":
        return loc, f"{key} must be {' or '.join(error['members'])} (got {given!r})"
    if kind == "model_type" and ctx.get("class_name") == "Range":
        return loc, f"{key} must be an integer or a mapping with min and max (got {given!r})"
    if kind in ("model_type", "dict_type"):
        return loc, f"{key} must be a mapping (got {given!r})"
    if kind == "greater_than_equal":
        return loc, f"{key} must be ≥ {ctx['ge']} (got {given!r})"
    if kind == "less_than_equal":
        return loc, f"{key} must be ≤ {ctx['le']} (got {given!r})"
    if kind == "literal_error":
        return loc, f"{key} must be one of {ctx.get('expected')} (got {given!r})"
    if kind in ("int_type", "int_from_float"):
        return loc, f"{key} must be an integer (got {given!r})"
    if kind == "float_type":
        return loc, f"{key} must be a number (got {given!r})"
    if kind == "bool_type":
        return loc, f"{key} must be true or false (got {given!r})"
    if kind == "string_type":
        return loc, f"{key} must be a string (got {given!r})"
    if kind == "list_type":
        return loc, f"{key} must be a list (got {given!r})"
    if kind == "string_pattern_mismatch":
        return loc, f"{key} must match {ctx.get('pattern')} (got {given!r})"
    if kind == "string_too_short":
        return loc, f"{key} must not be empty"
    return loc, f"{key}: {error['msg']}"


def _yaml_spelling(value: object) -> str:
    """A key as YAML spells it: ``null``, ``true``, ``false``, or the number."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


_UNION_TAG = re.compile(r"int|constrained-int|str|bool|float|(list|dict|literal)\[.*\]")


def _union_member(tag: str, error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    if tag.startswith("literal["):
        return str(ctx.get("expected", tag))
    if tag == "constrained-int" and "ge" in ctx:
        return f"an integer ≥ {ctx['ge']}"
    return {"int": "an integer", "constrained-int": "an integer", "list[int]": "a list of integers"}.get(
        tag, tag
    )


def _merge_union_errors(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Fold pydantic's one-error-per-union-member (``stride.int``, ``stride.list[int]``) into one."""
    out: list[Mapping[str, Any]] = []
    unions: dict[Loc, dict[str, Any]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        cut = next((i for i, p in enumerate(loc) if isinstance(p, str) and _UNION_TAG.fullmatch(p)), None)
        if cut is None:
            out.append(err)
            continue
        head = loc[:cut]
        merged = unions.get(head)
        if merged is None:
            merged = {"type": "union", "loc": head, "input": err.get("input"), "members": []}
            unions[head] = merged
            out.append(merged)
        member = _union_member(str(loc[cut]), err)
        if member not in merged["members"]:
            merged["members"].append(member)
    return out


def describe_errors(
    errors: Sequence[Mapping[str, Any]], root: type[BaseModel] = Spec
) -> list[tuple[Loc, str]]:
    """Word pydantic's errors (``ValidationError.errors()``) of ``root`` (a spec by default) as
    ``(offending key path, message)``.

    The errors pydantic gives for each member of a union (``stride.int``, ``stride.list[int]``)
    become one message listing what the key may be.
    """
    return [_describe(err, root) for err in _merge_union_errors(errors)]
