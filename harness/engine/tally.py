"""What a run counted (:class:`RunReport`) and its end-of-run table (:func:`summary_text`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness.engine.findings import Finding
from harness.engine.results import PairCoverage
from harness.model.outcomes import FAILING, OUTCOMES
from harness.terminal import printable


@dataclass
class RunReport:
    """What a run produced, for the summary and the exit status."""

    out_dir: Path
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    findings: list[tuple[Finding, Path]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    pairs: PairCoverage = field(default_factory=PairCoverage)
    #: What the run left out and why (past findings it could not replay), shown above the table.
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when any target has a mismatch or an error."""
        return any(outcome in FAILING for (_, outcome) in self.counts) or bool(self.findings)

    def tally(self, target: str, spec: str, outcome: str, message: str) -> None:
        """Count one (non-minimal) result of a (target, spec)."""
        self.counts[(target, outcome)] += 1
        self.pairs.add(target, spec, outcome, message)

    def vacuous(self) -> list[tuple[str, str, int, str]]:
        """The (target, spec) pairs that judged no case (see :class:`PairCoverage`)."""
        return self.pairs.judged_nothing()


def summary_text(report: RunReport) -> str:
    """The end-of-run table: per target, counts per outcome; then findings and where results are."""
    targets = sorted({t for (t, _) in report.counts})
    header = f"{'target':24s}" + "".join(f"{o:>16s}" for o in OUTCOMES)
    lines = [f"note: {note}" for note in report.notes]
    lines += [header, "-" * len(header)]
    for t in targets:
        lines.append(f"{printable(t):24s}" + "".join(f"{report.counts[(t, o)]:16d}" for o in OUTCOMES))
    for name, reason in report.unavailable.items():
        lines.append(f"{printable(name):24s} unavailable: {printable(reason)}")
    vacuous = report.vacuous()
    if vacuous:
        lines.append("")
        lines.append("judged no case (each case was one the API cannot express: these pairs tested nothing):")
        for target, spec, n, reason in vacuous:
            lines.append(
                f"  {printable(target)} × {printable(spec)}: {n} case(s) unsupported, "
                f"mostly: {printable(reason)}"
            )
    if report.findings:
        lines.append("")
        lines.append(f"{len(report.findings)} finding(s), each shrunk to a minimal case:")
        for finding, folder in report.findings:
            lines.append(f"  {printable(finding.signature)}")
            lines.append(f"    {finding.minimal.short()}")
            lines.append(f"    {printable(folder)}")
    lines.append("")
    lines.append(f"results: {printable(report.out_dir / 'results.jsonl')}")
    return "\n".join(lines)
