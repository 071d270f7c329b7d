"""Exploration of one (spec, target): pinned cases first, then Hypothesis, every distinct finding.

Hypothesis alone stops at a test's first failure. Here the test body never fails: it records every
verdict, and when a failure is not explained by a finding already known it shrinks that failure at
once (:func:`harness.engine.findings.shrink`, keeping it unexplained by the others) and adds the minimal
case as a new finding, so exploration goes on with that signature known until the example budget
is spent. Shrinking steps are not recorded; the minimal case is, once, with ``minimal: true``.

With a :class:`FreshCheck` (targets in worker processes), a new failure is shrunk in a second worker,
away from the exploring one's history (which stays exactly the recorded cases, so a resumed run
can rebuild it), and its minimal case is judged again in a worker that has run nothing else before
it is recorded. If the minimal case does not fail the same way there, the failing case itself is
judged afresh: if that reproduces it is the finding's case; if not, the failure depends on what the
worker ran before it and becomes a history-dependent finding, kept unshrunk with the case sequence
that produced it. A later failure of a history-dependent kind already found is judged afresh first,
and not shrunk again if it does not reproduce.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from adapters.protocol import Handle, Target, handle
from harness.engine.findings import (
    HISTORY_DEPENDENT,
    Finding,
    finding_key,
    retired,
    shrink,
    unexplained_components,
)
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


@dataclass(frozen=True)
class FreshCheck:
    """Judging cases where the exploration's history cannot reach them.

    ``judge_fresh`` judges a case in a new worker process; ``judge_after`` in the process the last
    ``judge_fresh`` started (shrinking continues there); ``history`` is the exploring worker's
    case sequence so far.
    """

    judge_fresh: Callable[[Case], Verdict]
    judge_after: Callable[[Case], Verdict]
    history: Callable[[], list[dict[str, Any]]]


@dataclass
class Exploration:
    """What one exploration produced.

    ``drawn`` counts the cases Hypothesis generated, ``duplicates`` those of them already judged in
    this exploration (not judged again); ``judged`` lists the distinct cases judged, in order.
    """

    findings: list[Finding] = field(default_factory=list)
    cases_run: int = 0
    drawn: int = 0
    duplicates: int = 0
    judged: list[Case] = field(default_factory=list)

    @property
    def retired(self) -> list[Finding]:
        """The findings a simpler one of the same mechanism found later replaces
        (:func:`harness.engine.findings.retired`)."""
        gone = retired([finding_key(f) for f in self.findings])
        return [f for i, f in enumerate(self.findings) if i in gone]

    @property
    def active(self) -> list[Finding]:
        """The findings that are not retired, in the order found."""
        gone = retired([finding_key(f) for f in self.findings])
        return [f for i, f in enumerate(self.findings) if i not in gone]


def _unexplained(findings: Iterable[Finding], target: Target | Handle, case: Case, verdict: Verdict) -> bool:
    """A failure with a mechanism no reproducible finding explains (history-dependent findings are
    asked only about failures a fresh worker did not reproduce)."""
    return bool(unexplained_components(findings, target.name, case, verdict))


def _same_kind(a: Verdict, b: Verdict) -> bool:
    return (a.outcome, a.detail) == (b.outcome, b.detail)


def _shows(verdict: Verdict, outcome: str, component: tuple[str, str]) -> bool:
    """Whether ``verdict`` fails with ``outcome`` and shows the mechanism ``component``."""
    return verdict.outcome == outcome and component in verdict.components()


def _new_finding(
    target: Target | Handle,
    case: Case,
    verdict: Verdict,
    known: list[Finding],
    judge_fn: Judge = judge,
    outside: Outside | None = None,
) -> tuple[Finding, Verdict]:
    """The finding of the first mechanism of a failure that ``known`` does not explain, shrunk while
    it keeps that mechanism unexplained, and the verdict on its minimal case."""
    name = handle(target).name
    component = unexplained_components(known, name, case, verdict)[0]
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
        if v.outcome == verdict.outcome and component in unexplained_components(known, name, candidate, v):
            current_features[0] = features
            return True
        return False

    minimal = shrink(case, still_fails)
    minimal_verdict = last.get(minimal, verdict)
    finding = _finding(name, verdict.outcome, component, minimal)
    return finding, _shown(minimal_verdict, finding)


def _finding(target: str, outcome: str, component: tuple[str, str], case: Case) -> Finding:
    detail, key = component
    return Finding(target, outcome, detail, signature_features(case), case, mechanism=key)


def _shown(verdict: Verdict, finding: Finding) -> Verdict:
    """The verdict a finding's minimal record shows: with the finding's detail (a case that shows
    several mechanisms is recorded as the one it was shrunk for)."""
    return dataclasses.replace(verdict, detail=finding.detail)


def _checked_finding(
    target: Target | Handle,
    case: Case,
    verdict: Verdict,
    known: list[Finding],
    fresh: FreshCheck,
    outside: Outside | None,
) -> tuple[Finding, Verdict] | None:
    """The finding of a new failure, shrunk where the exploring worker's history cannot reach and
    judged afresh (see the module docstring); None when it is a history-dependent failure of a kind
    already found."""
    name = handle(target).name
    seen_kind = any(f.history_dependent and f.explains(name, case, verdict) for f in known)
    if seen_kind and not _same_kind(fresh.judge_fresh(case), verdict):
        return None  # one more failure of a history-dependent kind already found

    def judge_after(candidate: Case, _: Target | Handle) -> Verdict:
        return fresh.judge_after(candidate)

    finding, _ = _new_finding(target, case, verdict, known, judge_after, outside)
    component = (finding.detail, finding.mechanism)
    confirmed = fresh.judge_fresh(finding.minimal)
    if _shows(confirmed, verdict.outcome, component):
        return finding, _shown(confirmed, finding)
    if finding.minimal != case:
        again = fresh.judge_fresh(case)
        if _shows(again, verdict.outcome, component):
            # the shrunk case fails only after the shrinking's own cases: keep the one that reproduces
            kept = _finding(name, verdict.outcome, component, case)
            return kept, _shown(again, kept)
        confirmed = again
    if seen_kind or any(f.history_dependent and f.explains(name, case, verdict) for f in known):
        return None
    finding = Finding(
        name,
        verdict.outcome,
        HISTORY_DEPENDENT,
        signature_features(case),
        case,
        observed_detail=verdict.detail,
        history=tuple(fresh.history()),
    )
    note = (
        f"not reproduced in a fresh worker (there: {confirmed.outcome}"
        f"{' ' + confirmed.detail if confirmed.detail else ''}): the failure depends on the cases the "
        f"worker ran before it ({len(finding.history) - 1}, in history.jsonl)"
    )
    shown = dataclasses.replace(verdict, detail=HISTORY_DEPENDENT, message=f"{verdict.message}\n{note}")
    return finding, shown


def _choice_sequence() -> str | None:
    """The choices Hypothesis drew the current example from, as text (``repr`` tells -0.0 and nan
    apart); None where this Hypothesis does not show them."""
    try:
        from hypothesis.control import current_build_context

        return repr(tuple(current_build_context().data.choices))
    except (ImportError, AttributeError, TypeError):
        return None


class _RunFailed(BaseException):
    """Carries an exception out of a Hypothesis test body at once: Hypothesis shrinks and replays
    a body that raised an ``Exception``, but lets a ``BaseException`` end the search."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def explore(
    *,
    target: Target | Handle,
    strategy: st.SearchStrategy[Case] | None,
    pinned: Iterable[Case],
    settings: hypothesis.settings,
    record: Recorder,
    known: list[Finding] | None = None,
    judge_fn: Judge = judge,
    seed: int | None = None,
    outside: Outside | None = None,
    fresh: FreshCheck | None = None,
    steer: bool = False,
) -> Exploration:
    """Run pinned cases, then Hypothesis-generated ones (none when ``strategy`` is None), recording
    every verdict and finding; a case already judged here is counted and not judged again.

    ``known`` findings are not shrunk again; ``seed`` fixes Hypothesis's choices (for profiles
    that are not derandomized), so that a resumed run meets the same cases; ``outside`` keeps
    shrunk cases inside the spec's space; ``fresh`` checks each new failure in a fresh worker;
    ``steer`` lets Hypothesis climb toward larger error ratios (``hypothesis.target``: nightly
    only, since under ``derandomize`` the climb collapses onto near-copies of one case).
    """
    result = Exploration(findings=list(known or []))
    seen: set[Case] = set()

    def handle(case: Case) -> Verdict | None:
        if case in seen:
            result.duplicates += 1
            return None
        seen.add(case)
        result.judged.append(case)
        verdict = judge_fn(case, target)
        result.cases_run += 1
        record(case, verdict, None)
        # one finding per mechanism the failure shows that no finding explains yet
        for _ in verdict.components():
            if not _unexplained(result.findings, target, case, verdict):
                break
            if fresh is None:
                finding, minimal_verdict = _new_finding(
                    target, case, verdict, result.findings, judge_fn, outside
                )
            else:
                found = _checked_finding(target, case, verdict, result.findings, fresh, outside)
                if found is None:
                    break  # a history-dependent failure of a kind already found
                finding, minimal_verdict = found
            result.findings.append(finding)
            record(finding.minimal, minimal_verdict, finding)
            if finding.history_dependent:
                break
        return verdict

    for case in pinned:
        handle(case)
    if strategy is None:
        return result

    unfiltered = (*settings.suppress_health_check, hypothesis.HealthCheck.filter_too_much)

    # what each choice sequence gave: Hypothesis runs one again when its cache has let the result
    # go, and must meet the same outcome (a judged case, not a duplicate of itself)
    replies: dict[str, bool] = {}

    @hypothesis.settings(settings, suppress_health_check=unfiltered)
    @given(strategy)
    def body(case: Case) -> None:
        choices = _choice_sequence()
        if choices is not None and choices in replies:
            if not replies[choices]:
                hypothesis.reject()
            return
        result.drawn += 1
        try:
            verdict = handle(case)
        except Exception as error:
            # Not a failing example: the run itself failed (a full disk, an interrupt). Hypothesis
            # would replay the case to shrink it, meet it as a duplicate and report a flaky test.
            raise _RunFailed(error) from error
        if choices is not None:
            replies[choices] = verdict is not None
        if verdict is None:
            # rejected, so that it does not count toward max_examples: the budget is spent on
            # distinct cases (different choice sequences often give the same case)
            hypothesis.event("duplicate")
            hypothesis.reject()
        hypothesis.event(f"outcome={verdict.outcome}")
        ratio = verdict.stats.get("error_ratio")
        if steer and ratio is not None and ratio == ratio and ratio != float("inf"):
            hypothesis.target(float(ratio), label="error/bound")

    if seed is not None and not settings.derandomize:  # a derandomized profile is already fixed
        body = hypothesis.seed(seed)(body)
    try:
        body()
    except _RunFailed as failed:
        raise failed.error from None
    except Unsatisfiable:
        pass  # every case drawn had been judged already (a tiny space, or only pinned cases in it)
    return result
