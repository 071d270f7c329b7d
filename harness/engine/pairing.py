"""Which of a run's specs apply to a target: a spec none of whose dtypes the target takes (a float
spec on an int8-only target, an int8 spec on a float target), or an int8 spec none of whose
quantized input dtypes an int8 target takes, is *not applicable* to it.

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


def quantized_inputs(spec: Spec) -> frozenset[str]:
    """Every quantized input dtype a spec's int8 cases can have (drawn or pinned)."""
    drawn = frozenset(spec.quantization.input.dtypes) if spec.quantization is not None else frozenset()
    return drawn | {case.quantization.input.dtype for case in spec.pinned_cases() if case.quantization}


def not_applicable(api: TargetApi, spec: Spec) -> str | None:
    """None when ``api`` takes one of ``spec``'s dtypes (:func:`spec_dtypes`) and, for an int8
    spec, one of its quantized input dtypes; else why the pair is not applicable."""
    caps = api.capabilities()
    drawn = spec_dtypes(spec)
    if not caps.dtypes & drawn:
        return (
            f"{api.name} takes {', '.join(sorted(caps.dtypes))} on {api.device}; "
            f"the spec's cases are {', '.join(sorted(drawn))}"
        )
    inputs = quantized_inputs(spec)
    if caps.quantized_inputs is not None and inputs and not caps.quantized_inputs & inputs:
        return (
            f"{api.name} takes a {', '.join(sorted(caps.quantized_inputs))} quantized input; "
            f"the spec's int8 cases have {', '.join(sorted(inputs))} inputs"
        )
    return None


def inapplicable_specs(api: TargetApi, specs: Iterable[Spec]) -> dict[str, str]:
    """The specs (by name, in order) that are not applicable to ``api``, each with its reason."""
    out: dict[str, str] = {}
    for spec in specs:
        reason = not_applicable(api, spec)
        if reason is not None:
            out[spec.name] = reason
    return out
