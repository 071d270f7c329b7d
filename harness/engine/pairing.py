"""Which of a run's specs apply to a target: a spec none of whose dtypes the target takes (a float
spec on an int8-only target, an int8 spec on a float target) is *not applicable* to it.

Such a pair is not explored: every case it drew would be ``unsupported`` for the same reason, hundreds
of records saying only that the pair was never meant to meet. The run lists it instead, in
``run.json`` (``targets.<name>.not_applicable``: spec → reason), in its summary and in the report.
A pair sharing one dtype is explored as before; its other cases are ``unsupported`` each with
its reason, and a pair whose every case is so is "judged no case".
"""

from __future__ import annotations

from collections.abc import Iterable

from adapters.protocol import TargetApi
from harness.spec.schema import Spec


def spec_dtypes(spec: Spec) -> frozenset[str]:
    """Every dtype a spec's cases can have: those it draws and those of its pinned cases."""
    return frozenset(spec.dtypes) | {case.dtype for case in spec.pinned_cases()}


def not_applicable(api: TargetApi, spec: Spec) -> str | None:
    """None when ``api`` takes one of ``spec``'s dtypes (:func:`spec_dtypes`), else why the pair is
    not applicable."""
    takes = api.capabilities().dtypes
    drawn = spec_dtypes(spec)
    if takes & drawn:
        return None
    return (
        f"{api.name} takes {', '.join(sorted(takes))} on {api.device}; "
        f"the spec's cases are {', '.join(sorted(drawn))}"
    )


def inapplicable_specs(api: TargetApi, specs: Iterable[Spec]) -> dict[str, str]:
    """The specs (by name, in order) that are not applicable to ``api``, each with its reason."""
    out: dict[str, str] = {}
    for spec in specs:
        reason = not_applicable(api, spec)
        if reason is not None:
            out[spec.name] = reason
    return out
