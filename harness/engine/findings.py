"""Finding signatures and the domain shrinker that reduces a failing case to a minimal one.

A finding's *kind* is (target, outcome, detail) — detail being the mismatch class or the exception
type. Its *features* are the parameter features of its minimal case that differ from the simplest
value (rank 1, float32, no groups, …): what the shrinker could not remove. A later failing case is
*explained* by a known finding when the kinds agree and the finding's features are a subset of the
case's; an unexplained failure is a new finding and is shrunk under the constraint that it stays
unexplained, so three independent bugs give three minimal cases, not one.

A failure that a fresh worker does not reproduce is *history dependent* (detail
:data:`HISTORY_DEPENDENT`): it depends on what the worker ran before it. Such a finding keeps the
failing case unshrunk, with the case sequence that produced it, and stands for every later
history-dependent failure of the same target, outcome and observed detail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from harness.engine.verdict import Verdict
from harness.errors import InvalidCase
from harness.model.case import Case
from harness.model.features import signature_features

#: The detail of a finding that a fresh worker does not reproduce.
HISTORY_DEPENDENT = "history_dependent"


@dataclass(frozen=True)
class Finding:
    """A distinct divergence: its kind, the features it needs, and its minimal case.

    A history-dependent finding has ``detail`` :data:`HISTORY_DEPENDENT`, the detail the failure
    showed in ``observed_detail``, and in ``history`` the cases its worker had run, the failing case
    last.
    """

    target: str
    outcome: str
    detail: str
    features: frozenset[str]
    minimal: Case
    observed_detail: str = ""
    #: A value mismatch's mechanism key (``pattern@region``, :mod:`harness.oracle.mechanism`);
    #: ``""`` for other outcomes and findings recorded before mechanisms were told apart.
    mechanism: str = ""
    history: tuple[dict[str, Any], ...] = dataclass_field(default=(), compare=False, repr=False)

    @property
    def kind(self) -> tuple[str, str, str]:
        """(target, outcome, detail)."""
        return (self.target, self.outcome, self.detail)

    @property
    def history_dependent(self) -> bool:
        """True when a fresh worker did not reproduce the failure."""
        return self.detail == HISTORY_DEPENDENT

    @property
    def signature(self) -> str:
        """Stable text id: ``target|outcome|detail|feature,feature``, with ``|mechanism`` after it
        for a value mismatch (a history-dependent finding: ``target|outcome|history_dependent|observed
        detail``, whatever case showed it)."""
        if self.history_dependent:
            return "|".join([self.target, self.outcome, self.detail, self.observed_detail])
        parts = [self.target, self.outcome, self.detail, ",".join(sorted(self.features))]
        return "|".join(parts + ([self.mechanism] if self.mechanism else []))

    def explains_component(self, target: str, case: Case, outcome: str, component: tuple[str, str]) -> bool:
        """Whether one mechanism (detail, key) of a failure of ``case`` on ``target`` is this finding."""
        detail, key = component
        return (
            (target, outcome, detail) == self.kind
            and self.mechanism == key
            and self.features <= signature_features(case)
        )

    def explains(self, target: str, case: Case, verdict: Verdict) -> bool:
        """Whether a failing (case, verdict) on ``target`` is this finding showing again: one of its
        mechanisms is this finding's (a history-dependent finding is only asked about failures a
        fresh worker did not reproduce, and matches on the verdict's detail alone)."""
        if self.history_dependent:
            return (target, verdict.outcome, verdict.detail) == (
                self.target,
                self.outcome,
                self.observed_detail,
            )
        return any(self.explains_component(target, case, verdict.outcome, c) for c in verdict.components())


def unexplained_components(
    findings: Iterable[Finding], target: str, case: Case, verdict: Verdict
) -> list[tuple[str, str]]:
    """The mechanisms (detail, key) of a failure that no reproducible finding explains, in the
    verdict's order; empty for a verdict that does not fail."""
    if not verdict.failing:
        return []
    known = [f for f in findings if not f.history_dependent]
    return [
        c
        for c in verdict.components()
        if not any(f.explains_component(target, case, verdict.outcome, c) for f in known)
    ]


#: What :func:`retired` compares: the kind and mechanism of a finding (with anything else that must
#: agree, such as its spec) and the features of its minimal case.
FindingKey = tuple[tuple[str, ...], frozenset[str]]


def retired(keys: Sequence[FindingKey]) -> set[int]:
    """The indices of the findings that a simpler one of the same mechanism replaces: another
    with the same kind and mechanism whose features are a strict subset (it explains every failure
    the retired one does, with fewer features). History-dependent findings are never retired."""
    out: set[int] = set()
    for i, (kind, features) in enumerate(keys):
        if HISTORY_DEPENDENT in kind:
            continue
        if any(j != i and other == kind and fewer < features for j, (other, fewer) in enumerate(keys)):
            out.add(i)
    return out


def finding_key(finding: Finding) -> FindingKey:
    """:data:`FindingKey` of a finding: (target, outcome, detail, mechanism) and its features."""
    return ((finding.target, finding.outcome, finding.detail, finding.mechanism), finding.features)


def _replace(case: Case, **changes: object) -> Case | None:
    try:
        return case.replace(**changes)
    except InvalidCase:
        return None


def _smaller_ints(v: int, floor: int) -> list[int]:
    out = [floor, v // 2, v - 1]
    return sorted({x for x in out if floor <= x < v})


def _set(values: tuple[int, ...], dim: int, value: int) -> tuple[int, ...]:
    return (*values[:dim], value, *values[dim + 1 :])


def coupled_candidates(case: Case) -> Iterator[Case]:
    """Simpler variants that move coupled parameters together, where lowering one alone makes a
    case the target refuses or that loses the failure: both crops of a dimension at once (a
    symmetric crop on a symmetric-padding target), a crop with the output padding (the output size
    kept), the stride with the output padding (that must stay below it), and a stride/dilation pair.
    """
    pb, pe, op = case.pads_begin, case.pads_end, case.output_padding
    stride, dilation = case.stride, case.dilation
    raw: list[Case | None] = []
    if any(pb) and any(pe):
        raw.append(_replace(case, pads_begin=(0,) * case.rank, pads_end=(0,) * case.rank))
    both = [dim for dim in range(case.rank) if pb[dim] and pe[dim]]
    if len(both) > 1:
        raw.append(
            _replace(
                case,
                pads_begin=tuple(v - 1 if v and pe[i] else v for i, v in enumerate(pb)),
                pads_end=tuple(v - 1 if v and pb[i] else v for i, v in enumerate(pe)),
            )
        )
    for dim in both:
        for step in sorted({min(pb[dim], pe[dim]), 1}, reverse=True):
            raw.append(
                _replace(
                    case, pads_begin=_set(pb, dim, pb[dim] - step), pads_end=_set(pe, dim, pe[dim] - step)
                )
            )
    for dim in (d for d in range(case.rank) if op[d]):
        for name, crop in (("pads_end", pe), ("pads_begin", pb)):
            for step in sorted({min(crop[dim], op[dim]), 1} if crop[dim] else set(), reverse=True):
                raw.append(
                    _replace(
                        case,
                        **{name: _set(crop, dim, crop[dim] - step)},
                        output_padding=_set(op, dim, op[dim] - step),
                    )
                )
    for dim in (d for d in range(case.rank) if stride[d] > 1):
        for lower in _smaller_ints(stride[dim], 1):
            clipped = _set(op, dim, min(op[dim], lower - 1))
            if clipped != op:
                raw.append(_replace(case, stride=_set(stride, dim, lower), output_padding=clipped))
            if dilation[dim] > 1:
                pair = (
                    _set(stride, dim, lower),
                    _set(dilation, dim, max(1, dilation[dim] - (stride[dim] - lower))),
                )
                raw.append(_replace(case, stride=pair[0], dilation=pair[1], output_padding=clipped))
    if any(v > 1 for v in stride) and any(v > 1 for v in dilation):
        raw.append(
            _replace(
                case, stride=(1,) * case.rank, dilation=(1,) * case.rank, output_padding=(0,) * case.rank
            )
        )
    yield from (c for c in raw if c is not None and c != case)


def candidates(case: Case) -> Iterator[Case]:
    """Simpler variants of ``case``, most aggressive first; invalid ones are skipped: one parameter
    at a time, then coupled parameters together (:func:`coupled_candidates`).

    The rank is kept: a finding stays in the spec (1D/2D/3D) that found it.
    """

    def per_dim(field: str, floor: int) -> Iterator[Case | None]:
        values = getattr(case, field)
        if any(v > floor for v in values):
            yield _replace(case, **{field: (floor,) * case.rank})
        for dim, v in enumerate(values):
            for smaller in _smaller_ints(v, floor):
                yield _replace(case, **{field: (*values[:dim], smaller, *values[dim + 1 :])})

    raw: list[Case | None] = []
    if case.groups > 1:
        raw.append(
            _replace(
                case,
                groups=1,
                in_channels=case.in_channels // case.groups,
                out_channels=case.out_channels // case.groups,
            )
        )
    for b in _smaller_ints(case.batch, 1):
        raw.append(_replace(case, batch=b))
    g = case.groups
    for c in _smaller_ints(case.in_channels // g, 1):
        raw.append(_replace(case, in_channels=c * g))
    for c in _smaller_ints(case.out_channels // g, 1):
        raw.append(_replace(case, out_channels=c * g))
    if case.bias:
        raw.append(_replace(case, bias=False))
    if case.layout != "channels_first":
        raw.append(_replace(case, layout="channels_first"))
    if case.dtype != "float32":
        raw.append(_replace(case, dtype="float32"))
    for dist in ("small_int", "normal"):
        if case.distribution != dist and case.distribution not in ("small_int",):
            raw.append(_replace(case, distribution=dist))
    yield from (c for c in raw if c is not None)
    for field, floor in (
        ("input_size", 1),
        ("kernel_size", 1),
        ("stride", 1),
        ("dilation", 1),
        ("pads_begin", 0),
        ("pads_end", 0),
        ("output_padding", 0),
    ):
        yield from (c for c in per_dim(field, floor) if c is not None)
    yield from coupled_candidates(case)
    if case.seed != 0:
        yield from (c for c in (_replace(case, seed=0),) if c is not None)


def shrink(case: Case, still_fails: Callable[[Case], bool], max_evaluations: int = 400) -> Case:
    """Greedily simplify ``case`` while ``still_fails`` holds; returns the simplest found."""
    current = case
    evaluations = 0
    improved = True
    while improved and evaluations < max_evaluations:
        improved = False
        for candidate in candidates(current):
            evaluations += 1
            if still_fails(candidate):
                current = candidate
                improved = True
                break
            if evaluations >= max_evaluations:
                break
    return current
