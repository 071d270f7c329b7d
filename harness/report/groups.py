"""Findings grouped by mechanism: the same behaviour seen on several targets and ranks is one group.

A finding's mechanism is its signature without the target and the rank: outcome, detail (with the
value mechanism, ``pattern@region``, when the record has one), and the features of its minimal
case other than ``rank=…`` (a history-dependent finding: outcome and the
detail it showed). The groups are ordered by severity (:func:`severity_key`): outcome first (silent
wrong results before loud failures, documentation last), then the worst error ratio, then the
number of failing cases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.engine.findings import HISTORY_DEPENDENT
from harness.model.outcomes import FAILING, Outcome
from harness.report.model import ReportedFinding

#: Finding outcomes from the most to the least severe: wrong values and shapes pass silently, a
#: crash or a hang takes the caller down, an error refuses cleanly, a departure from the
#: documentation is a documentation bug.
SEVERITY: tuple[Outcome, ...] = (
    Outcome.VALUE_MISMATCH,
    Outcome.SHAPE_MISMATCH,
    Outcome.CRASH,
    Outcome.TIMEOUT,
    Outcome.ERROR,
    Outcome.DOC_MISMATCH,
)
Mechanism = tuple[str, str, tuple[str, ...]]


def _ratio(value: Any) -> float | None:
    """An ``error_ratio`` as recorded (a number, or ``"inf"``/``"nan"`` in strict JSON)."""
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(ratio) else ratio


def error_ratio(record: dict[str, Any]) -> float | None:
    """How far a value finding is past its bound: ``max |error| / bound``, infinite when an element
    is nan/inf where it must not be; None for other outcomes."""
    if record.get("outcome") != Outcome.VALUE_MISMATCH:
        return None
    stats = record.get("stats") or {}
    if isinstance(stats.get("nonfinite_mismatches"), int) and stats["nonfinite_mismatches"] > 0:
        return math.inf
    return _ratio(stats.get("error_ratio"))


def mechanism(record: dict[str, Any]) -> Mechanism:
    """(outcome, detail, features but rank) of a finding's record."""
    outcome, detail = str(record.get("outcome", "?")), str(record.get("detail") or "")
    if detail == HISTORY_DEPENDENT:
        return (outcome, detail, (str(record.get("observed_detail") or ""),))
    features = tuple(sorted(str(f) for f in record.get("features") or [] if not str(f).startswith("rank=")))
    # a value mismatch's mechanism (what the wrong positions hold, and where) tells groups apart too
    key = str(record.get("mechanism") or "")
    return (outcome, f"{detail} {key}" if key else detail, features)


def rank_of(record: dict[str, Any]) -> int | None:
    """The rank of a finding's minimal case, if recorded."""
    rank = (record.get("case") or {}).get("rank")
    return rank if isinstance(rank, int) and not isinstance(rank, bool) else None


@dataclass
class FindingGroup:
    """The findings of one mechanism, across targets and ranks."""

    mechanism: Mechanism
    members: list[ReportedFinding] = field(default_factory=list)
    #: Failing cases that any member explains (a case counts once, whichever members explain it).
    cases: int = 0

    @property
    def outcome(self) -> str:
        """The members' outcome."""
        return self.mechanism[0]

    @property
    def detail(self) -> str:
        """The members' detail."""
        return self.mechanism[1]

    @property
    def features(self) -> tuple[str, ...]:
        """The members' features but rank (for a history-dependent group: the detail it showed)."""
        return self.mechanism[2]

    @property
    def targets(self) -> list[str]:
        """The members' targets, sorted, each once."""
        return sorted({m.target for m in self.members})

    @property
    def ranks(self) -> list[int]:
        """The ranks of the members' minimal cases, sorted, each once."""
        return sorted({r for m in self.members if (r := rank_of(m.record)) is not None})

    @property
    def worst_ratio(self) -> float | None:
        """The largest :func:`error_ratio` of the members (None when no member has one)."""
        ratios = [r for m in self.members if (r := error_ratio(m.record)) is not None]
        return max(ratios) if ratios else None

    @property
    def severity(self) -> int:
        """The outcome's place in :data:`SEVERITY` (0 is the most severe)."""
        outcome = self.outcome
        return SEVERITY.index(Outcome(outcome)) if outcome in SEVERITY else len(SEVERITY)


def severity_key(group: FindingGroup) -> tuple[int, float, int, str]:
    """Sort key: outcome severity, then the worst error ratio and the failing cases, both descending."""
    ratio = group.worst_ratio
    return (group.severity, -(ratio if ratio is not None else -1.0), -group.cases, repr(group.mechanism))


def _explains(finding: ReportedFinding, rec: dict[str, Any], features: frozenset[str]) -> bool:
    """Whether a failing case record shows this finding (its kind, and every feature of its case)."""
    mine = finding.record
    if (rec.get("target"), rec.get("outcome")) != (mine.get("target"), mine.get("outcome")):
        return False
    key = mine.get("mechanism")
    if key:  # one of the mechanisms the case's statistics list (harness.oracle.mechanism)
        listed = (rec.get("stats") or {}).get("mechanisms")
        shown = [(m.get("detail"), m.get("key")) for m in listed or [] if isinstance(m, dict)]
        if (mine.get("detail"), key) not in shown:
            return False
    elif rec.get("detail") != mine.get("detail"):
        return False
    return frozenset(mine.get("features") or []) <= features


def group_findings(
    findings: Iterable[ReportedFinding], cases: Iterable[dict[str, Any]]
) -> list[FindingGroup]:
    """The findings in groups by :func:`mechanism`, with their failing cases, most severe first."""
    groups: dict[Mechanism, FindingGroup] = {}
    by_target: dict[Any, list[tuple[ReportedFinding, FindingGroup]]] = {}
    for finding in findings:
        group = groups.setdefault(mechanism(finding.record), FindingGroup(mechanism(finding.record)))
        group.members.append(finding)
        by_target.setdefault(finding.record.get("target"), []).append((finding, group))
    for rec in cases:
        if rec.get("outcome") not in FAILING:
            continue
        features = frozenset(rec.get("features") or [])
        hit = {id(g): g for f, g in by_target.get(rec.get("target"), []) if _explains(f, rec, features)}
        for group in hit.values():
            group.cases += 1
    return sorted(groups.values(), key=severity_key)
