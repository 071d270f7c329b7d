"""Exploration of one (spec, target): pinned cases first, then Hypothesis, every distinct finding.

Hypothesis alone stops at a test's first failure. Here the test body never fails: it records every
verdict, and when a failure is not explained by a finding already known it shrinks that failure at
once (:func:`harness.engine.findings.shrink`, keeping it unexplained by the others) and adds the minimal
case as a new finding, so exploration goes on with that signature known until the example budget
is spent. Shrinking steps are not recorded; the minimal case is, once, with ``minimal: true``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from adapters.protocol import Handle, Target, handle
from harness.engine.findings import Finding, shrink
from harness.engine.verdict import Verdict, judge
from harness.model.case import Case
from harness.model.features import signature_features
from harness.model.outcomes import Outcome

# record(case, verdict, finding): finding is set on the one record of a finding's minimal case.
Recorder = Callable[[Case, Verdict, "Finding | None"], None]
# judge_fn(case, target): the verdict (judge() itself, or one answered from a resumed run's records).
Judge = Callable[[Case, Target | Handle], Verdict]
# outside(case): the spec keys a case lies outside of (harness.spec.Spec.outside).
Outside = Callable[[Case], frozenset[str]]

#: Shrinking a timeout costs the whole time limit per step: stop after this many timeouts.
MAX_SHRINK_TIMEOUTS = 6


@dataclass
class Exploration:
    """What one exploration produced."""

    findings: list[Finding] = field(default_factory=list)
    cases_run: int = 0


def _unexplained(findings: Iterable[Finding], target: Target | Handle, case: Case, verdict: Verdict) -> bool:
    return verdict.failing and not any(f.explains(target.name, case, verdict) for f in findings)


def _new_finding(
    target: Target | Handle,
    case: Case,
    verdict: Verdict,
    known: list[Finding],
    judge_fn: Judge = judge,
    outside: Outside | None = None,
) -> tuple[Finding, Verdict]:
    kind = (verdict.outcome, verdict.detail)
    last: dict[Case, Verdict] = {}
    timeouts = 0

    current_features = [signature_features(case)]
    allowed_outside = outside(case) if outside else frozenset()

    def still_fails(candidate: Case) -> bool:
        nonlocal timeouts
        if handle(target).api.supports(candidate) is not None or timeouts >= MAX_SHRINK_TIMEOUTS:
            return False
        features = signature_features(candidate)
        # A simpler case may not gain a feature (an asymmetric crop, output past the full output):
        # a finding's features must be ones the failing case had, or it would not explain it.
        if not features <= current_features[0]:
            return False
        # Nor leave the spec's space (e.g. float32 in a float64-only spec).
        if outside and not outside(candidate) <= allowed_outside:
            return False
        v = judge_fn(candidate, target)
        timeouts += v.outcome == Outcome.TIMEOUT
        last[candidate] = v
        if (v.outcome, v.detail) == kind and _unexplained(known, target, candidate, v):
            current_features[0] = features
            return True
        return False

    minimal = shrink(case, still_fails)
    minimal_verdict = last.get(minimal, verdict)
    finding = Finding(target.name, verdict.outcome, verdict.detail, signature_features(minimal), minimal)
    return finding, minimal_verdict


def explore(
    *,
    target: Target | Handle,
    strategy: st.SearchStrategy[Case],
    pinned: Iterable[Case],
    settings: hypothesis.settings,
    record: Recorder,
    known: list[Finding] | None = None,
    judge_fn: Judge = judge,
    seed: int | None = None,
    outside: Outside | None = None,
) -> Exploration:
    """Run pinned cases, then Hypothesis-generated ones, recording every verdict and finding.

    ``known`` findings are not shrunk again; ``seed`` fixes Hypothesis's choices (for profiles
    that are not derandomized), so that a resumed run meets the same cases; ``outside`` keeps
    shrunk cases inside the spec's space.
    """
    result = Exploration(findings=list(known or []))

    def handle(case: Case) -> Verdict:
        verdict = judge_fn(case, target)
        result.cases_run += 1
        record(case, verdict, None)
        if _unexplained(result.findings, target, case, verdict):
            finding, minimal_verdict = _new_finding(target, case, verdict, result.findings, judge_fn, outside)
            result.findings.append(finding)
            record(finding.minimal, minimal_verdict, finding)
        return verdict

    for case in pinned:
        handle(case)

    @settings
    @given(strategy)
    def body(case: Case) -> None:
        verdict = handle(case)
        hypothesis.event(f"outcome={verdict.outcome}")
        ratio = verdict.stats.get("error_ratio")
        if ratio is not None and ratio == ratio and ratio != float("inf"):
            hypothesis.target(float(ratio), label="error/bound")

    if seed is not None and not settings.derandomize:  # a derandomized profile is already fixed
        body = hypothesis.seed(seed)(body)
    body()
    return result
