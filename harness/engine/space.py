"""Generation valid by construction for one target, and the sample that checks its declarations.

:func:`target_space` intersects a spec's space with what a target declares it can express
(:class:`~adapters.protocol.Capabilities`: ranks, dtypes, layouts, groups, dilation, named modes,
crop form and output-padding rule), so that nearly every drawn case is judged instead of refused.

The declarations are still measured: :func:`outside_cases` turns a few of the judged cases into
cases that break exactly one declared rule each, and :func:`judge_outside` judges them. Where the
target's raw probe can pass the parameters, the framework itself is asked: a framework that runs
a case its target declares unsupported is ``ran_unsupported``, a finding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.probing import RawParams
from adapters.protocol import CROPS_DERIVED, CROPS_SYMMETRIC, Capabilities, Handle, Target, TargetApi, handle
from harness.engine.verdict import Verdict
from harness.errors import InvalidCase, NotExpressible, RemoteError
from harness.model.case import Case
from harness.model.dtypes import DATA_DTYPES
from harness.model.outcomes import (
    OUTSIDE_INEXPRESSIBLE,
    OUTSIDE_REFUSED,
    OUTSIDE_UNPROBED,
    Outcome,
)
from harness.spec.schema import Range, Spec
from harness.spec.strategies import ApiRule

#: The share of a (spec, target)'s example budget spent on the outside sample, and the fewest
#: cases per declared rule.
OUTSIDE_SHARE = 0.05
OUTSIDE_PER_RULE = 2


@dataclass(frozen=True)
class TargetSpace:
    """A spec's space as one target can express it: the restricted spec, the padding rule the
    strategy keeps to, and the declared rules that cut the spec's space (the outside sample's)."""

    spec: Spec
    rule: ApiRule
    rules: tuple[str, ...]
    #: The spec as written (what the outside sample draws its breaks from).
    full: Spec


def op_rule(caps: Capabilities, rank: int) -> str:
    """The output-padding rule at ``rank``: a plain rule, or per rank as ``"2d:lt_stride 3d:any"``."""
    text = caps.output_padding_limit
    if ":" not in text:
        return text
    for part in text.split():
        key, _, rule = part.partition(":")
        if key == f"{rank}d":
            return rule
    return "any"


def _weights(choices: Mapping[Any, int], allowed: Callable[[str], bool]) -> dict[str, int]:
    return {str(k): w for k, w in choices.items() if allowed(str(k))}


def target_space(spec: Spec, api: TargetApi) -> TargetSpace | str:
    """``spec`` restricted to what ``api`` declares, or why nothing of it is left."""
    caps = api.capabilities()
    if spec.rank not in caps.ranks:
        return f"{api.name} declares no {spec.rank}-D transposed convolution"
    dtypes = _weights(spec.dtypes, lambda d: d in caps.dtypes)
    last_ok = spec.rank in caps.channels_last_ranks
    layouts = _weights(spec.layouts, lambda lay: lay in caps.layouts and (lay != "channels_last" or last_ok))
    modes = _weights(spec.padding_modes, lambda m: m == "explicit" or m in caps.padding_modes)
    update: dict[str, object] = {"dtypes": dtypes, "layouts": layouts, "padding_modes": modes}
    if not caps.groups:
        update["channels"] = spec.channels.model_copy(
            update={"groups": Range(min=1, max=1)} if spec.channels.groups.min == 1 else {}
        )
    if not caps.dilation and spec.dilation.min == 1:
        update["dilation"] = Range(min=1, max=1)
    missing = [key for key in ("dtypes", "layouts", "padding_modes") if not update[key]]
    if (
        missing
        or (not caps.groups and spec.channels.groups.min > 1)
        or (not caps.dilation and spec.dilation.min > 1)
    ):
        return f"{api.name} declares nothing of the spec's {', '.join(missing) or 'groups/dilation'}"
    unit = caps.unit_dilation_dims.get(spec.rank, frozenset()) if spec.dilation.max > 1 else frozenset()
    if unit and spec.dilation.min > 1:
        return f"{api.name} requires dilation 1 along dims {sorted(unit)}; the spec's least is above"
    derived = caps.crops == CROPS_DERIVED
    # A derived-crop API reaches an output past the full one by less than a stride, with no crops.
    rule = ApiRule(
        caps.crops == CROPS_SYMMETRIC,
        "lt_stride" if derived else op_rule(caps, spec.rank),
        frozenset(unit),
        derived,
    )
    cut = [key for key in ("dtypes", "layouts", "padding_modes") if update[key] != dict(getattr(spec, key))]
    cut += [key for key in ("groups", "dilation") if not getattr(caps, key)]
    cut += ["output_padding"] if rule.op_rule != "any" else []
    cut += ["crops"] if rule.symmetric else ["derived_crops"] if derived else []
    cut += ["unit_dilation"] if unit else []
    return TargetSpace(spec.model_copy(update=update), rule, tuple(cut), spec)


# --- the outside sample ------------------------------------------------------------------------

Breaker = Callable[[Case, Spec, Capabilities, ApiRule], "Case | None"]


def _dtype(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    other = [d for d in spec.dtypes if d not in caps.dtypes and d in DATA_DTYPES and d != case.dtype]
    return dataclasses.replace(case, dtype=other[case.seed % len(other)]) if other else None


def _layout(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    other = [lay for lay in spec.layouts if lay != case.layout]
    return dataclasses.replace(case, layout=other[0]) if other else None


def _mode(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    other = [m for m in spec.padding_modes if m != "explicit" and m not in caps.padding_modes]
    if not other:
        return None
    zero = (0,) * case.rank
    return dataclasses.replace(
        case, padding_mode=other[0], pads_begin=zero, pads_end=zero, output_padding=zero
    )


def _groups(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    if case.groups != 1 or spec.channels.groups.max < 2:
        return None
    return dataclasses.replace(
        case, groups=2, in_channels=2 * case.in_channels, out_channels=2 * case.out_channels
    )


def _dilation(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    if spec.dilation.max < 2:
        return None
    return dataclasses.replace(case, dilation=(2, *case.dilation[1:]))


def _unit_dilation(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    """Dilation 2 along the first dimension the API requires dilation 1 in."""
    dim = min(rule.unit_dilation_dims)
    return dataclasses.replace(
        case, dilation=tuple(2 if i == dim else d for i, d in enumerate(case.dilation))
    )


def _output_padding(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    """The first dimension's output padding at the rule's bound (what the API receives, for a
    symmetric API ``cb − ce + op``)."""
    if case.padding_mode != "explicit":
        return None
    lim = rule.op_limit(case.stride[0], case.dilation[0])
    if lim is None:
        return None
    op = lim - (case.pads_begin[0] - case.pads_end[0] if rule.symmetric else 0)
    if op < 0:
        return None
    return dataclasses.replace(case, output_padding=(op, *case.output_padding[1:]))


def _crops(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    """For a symmetric API: an end crop one past what output padding can make up for."""
    if case.padding_mode != "explicit":
        return None
    end = case.pads_begin[0] + case.output_padding[0] + 1
    return dataclasses.replace(case, pads_end=(end, *case.pads_end[1:]))


def _derived_crops(case: Case, spec: Spec, caps: Capabilities, rule: ApiRule) -> Case | None:
    """For a derived-crop API: the first dimension's begin crop one past the split it derives
    (the total kept, so the output size stays)."""
    if case.padding_mode != "explicit" or case.pads_end[0] == 0:
        return None
    begin, end = case.pads_begin[0] + 1, case.pads_end[0] - 1
    return dataclasses.replace(
        case, pads_begin=(begin, *case.pads_begin[1:]), pads_end=(end, *case.pads_end[1:])
    )


BREAKERS: dict[str, Breaker] = {
    "dtypes": _dtype,
    "layouts": _layout,
    "padding_modes": _mode,
    "groups": _groups,
    "dilation": _dilation,
    "output_padding": _output_padding,
    "crops": _crops,
    "derived_crops": _derived_crops,
    "unit_dilation": _unit_dilation,
}


def outside_budget(space: TargetSpace, max_examples: int) -> int:
    """Cases per declared rule of the outside sample."""
    share = round(OUTSIDE_SHARE * max_examples / max(1, len(space.rules)))
    return max(OUTSIDE_PER_RULE, share)


def outside_cases(space: TargetSpace, api: TargetApi, judged: Iterable[Case], per_rule: int) -> list[Case]:
    """Up to ``per_rule`` cases per declared rule, each a judged case broken along that rule only
    (a break that the canonical model itself refuses, or that the target still accepts, is skipped)."""
    caps = api.capabilities()
    pool = [c for c in judged if c.quantization is None]
    out: list[Case] = []
    for key in space.rules:
        made = 0
        for case in pool:
            if made == per_rule:
                break
            try:
                broken = BREAKERS[key](case, space.full, caps, space.rule)
            except InvalidCase:
                continue
            if broken is not None and broken not in out and api.supports(broken) is not None:
                out.append(broken)
                made += 1
    return out


def raw_params(case: Case) -> RawParams:
    """The case's parameters as the raw probe takes them (its default weight shape)."""
    params = RawParams(
        rank=case.rank,
        batch=case.batch,
        input_channels=case.in_channels,
        in_channels=case.in_channels,
        out_channels=case.out_channels,
        groups=case.groups,
        input_size=case.input_size,
        kernel_size=case.kernel_size,
        stride=case.stride,
        dilation=case.dilation,
        pads_begin=case.pads_begin,
        pads_end=case.pads_end,
        output_padding=case.output_padding,
        bias=case.bias,
        weight_shape=(),
        output_size=case.output_size,
    )
    return dataclasses.replace(params, weight_shape=params.default_weight_shape())


def judge_outside(case: Case, target: Target | Handle, verdict: Verdict) -> Verdict:
    """``verdict`` (the case's ordinary one) with what checked its refusal; ``ran_unsupported``
    when the framework, asked with the raw parameters, ran a case its target declares unsupported."""
    if verdict.outcome != Outcome.UNSUPPORTED or verdict.detail:
        return verdict
    probeable = (
        case.padding_mode == "explicit" and case.dtype == "float32" and case.layout == "channels_first"
    )
    if not probeable:
        return dataclasses.replace(verdict, detail=OUTSIDE_UNPROBED)
    params = dataclasses.asdict(raw_params(case))
    try:
        shape = handle(target).runner.probe(params)
    except NotExpressible as exc:
        return dataclasses.replace(verdict, detail=OUTSIDE_INEXPRESSIBLE, message=f"{verdict.message}\n{exc}")
    except RemoteError as exc:
        detail = OUTSIDE_INEXPRESSIBLE if exc.type_name == "NotExpressible" else OUTSIDE_REFUSED
        return dataclasses.replace(verdict, detail=detail, message=f"{verdict.message}\nprobe: {exc.text}")
    except Exception as exc:  # the framework refused (in process), or crashed in its worker
        note = f"probe: {type(exc).__name__}: {exc}"
        return dataclasses.replace(verdict, detail=OUTSIDE_REFUSED, message=f"{verdict.message}\n{note}")
    canonical = [case.batch, case.out_channels, *case.output_size]
    return Verdict(
        Outcome.RAN_UNSUPPORTED,
        f"{handle(target).name} declares this case unsupported ({verdict.message}), but the framework "
        f"ran its parameters: output shape {shape} (canonical {canonical})",
        expected_shape=verdict.expected_shape,
        actual_shape=list(shape),
        detail="ran",
    )
