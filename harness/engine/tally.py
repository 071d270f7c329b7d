"""What a run counted (:class:`RunReport`) and its end-of-run table (:func:`summary_text`)."""

from __future__ import annotations

import io
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.engine.coverage import CellResult, counts
from harness.engine.findings import Finding
from harness.engine.results import PairCoverage
from harness.model.outcomes import FAILING, OUTCOMES
from harness.terminal import printable


@dataclass(frozen=True)
class GenerationCount:
    """What one (target, spec) generated: cases drawn inside the target's declared space, how many
    of them were duplicates (not judged again), the cases of the sample outside it, and the
    coverage map's cases judged before the drawn ones (those not already pinned)."""

    drawn: int
    duplicates: int
    outside: int
    mapped: int = 0

    @property
    def distinct(self) -> int:
        """The drawn cases that were judged (each once)."""
        return self.drawn - self.duplicates

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form (``run.json``'s ``generation``)."""
        return {
            "drawn": self.drawn,
            "distinct": self.distinct,
            "duplicates": self.duplicates,
            "outside": self.outside,
            "mapped": self.mapped,
        }


@dataclass
class RunReport:
    """What a run produced, for the summary and the exit status."""

    out_dir: Path
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    findings: list[tuple[Finding, Path]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    pairs: PairCoverage = field(default_factory=PairCoverage)
    #: The (target, spec) pairs not explored, each with why (:mod:`harness.engine.pairing`).
    not_applicable: dict[tuple[str, str], str] = field(default_factory=dict)
    #: What the run left out and why (past findings it could not replay), shown above the table.
    notes: list[str] = field(default_factory=list)
    #: Per (target, spec) explored by this process: what it generated.
    generation: dict[tuple[str, str], GenerationCount] = field(default_factory=dict)
    #: Per (target, spec) explored by this process: its coverage map's cells as the run left them.
    coverage_map: dict[tuple[str, str], list[CellResult]] = field(default_factory=dict)

    def coverage_map_dict(self) -> dict[str, dict[str, object]]:
        """``coverage_map`` keyed ``target|spec``, JSON-ready: the counts per status and the cells."""
        return {
            f"{t}|{s}": {"counts": counts(cells), "cells": [c.to_dict() for c in cells]}
            for (t, s), cells in self.coverage_map.items()
        }

    def generation_dict(self) -> dict[str, dict[str, int]]:
        """``generation`` keyed ``target|spec``, JSON-ready."""
        return {f"{t}|{s}": count.to_dict() for (t, s), count in self.generation.items()}

    def generated(self, target: str) -> GenerationCount:
        """``generation`` summed over the specs of ``target``."""
        counts = [c for (t, _), c in self.generation.items() if t == target]
        return GenerationCount(
            sum(c.drawn for c in counts),
            sum(c.duplicates for c in counts),
            sum(c.outside for c in counts),
            sum(c.mapped for c in counts),
        )

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


def counts_table(report: RunReport) -> Table:
    """Per target, its cases, their count per outcome (pass and unsupported always; a failing outcome
    only when some target had it) and its findings."""
    targets = sorted({t for (t, _) in report.counts})
    shown = [o for o in OUTCOMES if o not in FAILING or any(report.counts[(t, o)] for t in targets)]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("target", overflow="fold")
    # a header is never cut: an abbreviated outcome name could be another outcome's
    for header in ("cases", *map(str, shown), "findings"):
        table.add_column(header, justify="right", min_width=len(header))
    for t in targets:
        counts = [report.counts[(t, o)] for o in shown]
        total = sum(n for (name, _), n in report.counts.items() if name == t)
        found = sum(1 for finding, _ in report.findings if finding.target == t)
        cells = [str(n) if n else "·" for n in [*counts, found]]
        table.add_row(Text(printable(t)), str(total), *cells)
    return table


def summary_text(report: RunReport, width: int | None = None) -> str:
    """The end-of-run summary: the counts table (:func:`counts_table`), the unavailable targets, the
    pairs that judged nothing, the findings and where results are; ``width`` defaults to the
    terminal's (at most 120 columns)."""
    width = width or min(shutil.get_terminal_size((100, 24)).columns, 120)
    lines = [f"note: {note}" for note in report.notes]
    if report.counts:
        table = counts_table(report)
        # narrower than its headers, the table would be cut: it is printed wider instead
        probe = Console(file=io.StringIO(), width=1000)
        width = max(width, probe.measure(table).minimum)
        console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False, emoji=False)
        console.print(table)
        text = console.file.getvalue()  # type: ignore[attr-defined]
        lines += [line.rstrip() for line in text.strip("\n").splitlines()]
    for name in sorted({t for (t, _) in report.generation}):
        gen = report.generated(name)
        share = f" ({100 * gen.distinct / gen.drawn:.1f} %)" if gen.drawn else ""
        lines.append(
            f"{printable(name):24s} coverage map {gen.mapped}, drawn {gen.drawn}, distinct {gen.distinct}"
            f"{share}, outside-capabilities sample {gen.outside}"
        )
    for name in sorted({t for (t, _) in report.coverage_map}):
        got = counts(c for (t, _), cells in report.coverage_map.items() if t == name for c in cells)
        lines.append(
            f"{printable(name):24s} coverage map: {got['filled']} of {got['reachable']} reachable cells "
            f"filled, {got['refused']} refused, {got['unfilled']} unfilled ({got['unreachable']} unreachable)"
        )
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
    lines += _not_applicable_lines(report.not_applicable)
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


def _not_applicable_lines(pairs: dict[tuple[str, str], str]) -> list[str]:
    """The pairs not explored: a line per target and reason, naming the specs."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for (target, spec), reason in pairs.items():
        grouped.setdefault((target, reason), []).append(spec)
    if not grouped:
        return []
    lines = ["", "not applicable (the target takes none of the spec's dtypes: not explored, no records):"]
    for (target, reason), specs in grouped.items():
        lines.append(f"  {printable(target)} × {printable(', '.join(specs))}: {printable(reason)}")
    return lines
