"""Exploration of one (spec, target): pinned cases first, then Hypothesis, every distinct finding.

Hypothesis alone stops at a test's first failure. Here the test body never fails: it records every
verdict, and when a failure is not explained by a finding already known it shrinks that failure at
once (:func:`harness.findings.shrink`, keeping it unexplained by the others) and adds the minimal
case as a new finding, so exploration goes on with that signature known until the example budget
is spent. Shrinking steps are not recorded; the minimal case is, once, with ``minimal: true``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from adapters.protocol import Target
from harness.case import Case
from harness.findings import Finding, case_features, shrink
from harness.verdict import Verdict, judge

# record(case, verdict, finding): finding is set on the one record of a finding's minimal case.
Recorder = Callable[[Case, Verdict, "Finding | None"], None]


@dataclass
class Exploration:
    """What one exploration produced."""

    findings: list[Finding] = field(default_factory=list)
    cases_run: int = 0


def _unexplained(findings: Iterable[Finding], target: Target, case: Case, verdict: Verdict) -> bool:
    return verdict.failing and not any(f.explains(target.name, case, verdict) for f in findings)


def _new_finding(
    target: Target, case: Case, verdict: Verdict, known: list[Finding]
) -> tuple[Finding, Verdict]:
    kind = (verdict.outcome, verdict.detail)
    last: dict[Case, Verdict] = {}

    def still_fails(candidate: Case) -> bool:
        if target.supports(candidate) is not None:
            return False
        v = judge(candidate, target)
        last[candidate] = v
        return (v.outcome, v.detail) == kind and _unexplained(known, target, candidate, v)

    minimal = shrink(case, still_fails)
    minimal_verdict = last.get(minimal, verdict)
    finding = Finding(target.name, verdict.outcome, verdict.detail, case_features(minimal), minimal)
    return finding, minimal_verdict


def explore(
    *,
    target: Target,
    strategy: st.SearchStrategy[Case],
    pinned: Iterable[Case],
    settings: hypothesis.settings,
    record: Recorder,
    known: list[Finding] | None = None,
) -> Exploration:
    """Run pinned cases, then Hypothesis-generated ones, recording every verdict and finding."""
    result = Exploration(findings=list(known or []))

    def handle(case: Case) -> Verdict:
        verdict = judge(case, target)
        result.cases_run += 1
        record(case, verdict, None)
        if _unexplained(result.findings, target, case, verdict):
            finding, minimal_verdict = _new_finding(target, case, verdict, result.findings)
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

    body()
    return result
