"""New, known and fixed: which findings of a report CI must show, and which are accepted.

A finding is *known* when an entry of the known-findings file accepts it (:mod:`harness.engine.known`,
with its reason and link), *baseline* when the baseline holds its signature, else *new*. A failing
case is accepted when every finding that explains it is (same target, outcome and detail, the
finding's features among the case's; a history-dependent finding explains failures with its observed
detail), or when a pattern entry of the file matches the case itself. *Fixed* findings are the
baseline's that are gone while their target ran; *stale* entries of the file accepted nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.engine.known import KnownFindings, KnownRule
from harness.model.outcomes import FAILING
from harness.report.baseline import BaselineComparison

HISTORY_DEPENDENT = "history_dependent"  # harness.engine.findings.HISTORY_DEPENDENT, as records hold it


@dataclass(frozen=True)
class Accepted:
    """Why a finding or case is not new: an entry of the known-findings file, or the baseline."""

    rule: KnownRule | None

    @property
    def status(self) -> str:
        """``known`` or ``baseline``."""
        return "known" if self.rule is not None else "baseline"

    @property
    def note(self) -> str:
        """One line: ``known (file:line): reason — link`` or ``in the baseline``."""
        if self.rule is None:
            return "in the baseline"
        link = f" — {self.rule.entry.link}" if self.rule.entry.link else ""
        return f"known ({self.rule.where}): {self.rule.entry.reason}{link}"


_Kind = tuple[str, str, str]


def _kind(rec: Mapping[str, Any], *, as_finding: bool) -> _Kind:
    detail = str(rec.get("detail") or "")
    if as_finding and detail == HISTORY_DEPENDENT:
        detail = str(rec.get("observed_detail") or "")
    return (str(rec.get("target") or ""), str(rec.get("outcome") or ""), detail)


@dataclass
class Triage:
    """The findings of a report sorted into new and accepted, with the fixed and the stale."""

    known_file: str | None = None
    baseline: str | None = None
    accepted: dict[str, Accepted] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    stale: list[KnownRule] = field(default_factory=list)
    _known: KnownFindings | None = None
    _by_kind: dict[_Kind, list[tuple[str, frozenset[str] | None]]] = field(default_factory=dict)

    def status(self, signature: str) -> str:
        """``new``, ``known`` or ``baseline`` for a finding's signature."""
        accepted = self.accepted.get(signature)
        return "new" if accepted is None else accepted.status

    @property
    def known(self) -> list[str]:
        """Signatures accepted by the known-findings file or the baseline."""
        return list(self.accepted)

    def case_acceptance(self, rec: Mapping[str, Any]) -> Accepted | None:
        """Why a failing case record is not new, or None (it is, or shows a new finding)."""
        explaining = [
            sig
            for sig, needs in self._by_kind.get(_kind(rec, as_finding=False), [])
            if needs is None or needs <= frozenset(rec.get("features") or [])
        ]
        if explaining and all(sig in self.accepted for sig in explaining):
            return self.accepted[explaining[0]]
        if self._known is not None:
            rule = self._known.match_record({**rec, "signature": ""})  # patterns only: a case has none
            if rule is not None:
                return Accepted(rule)
        return None

    def has_new(self, cases: Iterable[Mapping[str, Any]]) -> bool:
        """True when a finding is new, or a failing case is accepted by nothing."""
        return bool(self.new) or any(
            rec.get("outcome") in FAILING and self.case_acceptance(rec) is None for rec in cases
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``summary.json``'s ``triage``)."""
        return {
            "known_file": self.known_file,
            "baseline": self.baseline,
            "new": self.new,
            "known": [
                {"signature": sig, "status": a.status, "note": a.note, **(a.rule.to_dict() if a.rule else {})}
                for sig, a in self.accepted.items()
            ],
            "fixed": self.fixed,
            "stale": [rule.to_dict() for rule in self.stale],
        }


def triage(
    findings: Iterable[tuple[str, Mapping[str, Any]]],
    comparison: BaselineComparison | None,
    known: KnownFindings | None,
) -> Triage:
    """Sort ``findings`` (signature, minimal record) into new and accepted."""
    out = Triage(
        known_file=None if known is None else known.path,
        baseline=None if comparison is None else comparison.baseline,
        fixed=[] if comparison is None else list(comparison.fixed),
        _known=known,
    )
    in_baseline = set() if comparison is None else set(comparison.unchanged)
    matched: list[KnownRule] = []
    by_kind: dict[_Kind, list[tuple[str, frozenset[str] | None]]] = defaultdict(list)
    for signature, rec in findings:
        history = rec.get("detail") == HISTORY_DEPENDENT
        by_kind[_kind(rec, as_finding=True)].append(
            (signature, None if history else frozenset(rec.get("features") or []))
        )
        rule = None if known is None else known.match_record({**rec, "signature": signature})
        if rule is not None:
            matched.append(rule)
            out.accepted[signature] = Accepted(rule)
        elif signature in in_baseline:
            out.accepted[signature] = Accepted(None)
        else:
            out.new.append(signature)
    out._by_kind = dict(by_kind)
    if known is not None:
        out.stale = known.stale(matched)
    return out


def triage_lines(result: Triage) -> list[str]:
    """What a command prints about the triage: accepted findings, fixed ones, stale entries."""
    lines: list[str] = []
    if result.known_file is None and result.baseline is None:
        return lines
    lines.append(
        f"{len(result.new)} new, {len(result.accepted)} known, {len(result.fixed)} fixed finding(s)"
        + (f"; {len(result.stale)} stale known-findings entr{'y' if len(result.stale) == 1 else 'ies'}")
        * (result.known_file is not None)
    )
    for signature, accepted in result.accepted.items():
        lines.append(f"  known  {signature}: {accepted.note}")
    for signature in result.fixed:
        lines.append(f"  fixed  {signature}")
    for rule in result.stale:
        lines.append(f"  stale  {rule.where}: {rule.entry.describe()} (matched no finding of this run)")
    return lines
