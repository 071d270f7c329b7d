"""What ``run`` and ``report`` conclude from a report: the options that accept findings
(``--known``, ``--baseline``), the lines they print about them, and the exit status.

- 1 when a finding is new: accepted neither by the known-findings file nor by the baseline;
- 4 when nothing was judged: every requested target unavailable, or every (spec, target) pair
  judged no case; for ``run``, also when a target named with ``--targets`` is unavailable, unless
  ``--allow-unavailable`` (which also lets a run whose every target is unavailable exit 0);
- else 0 (:class:`~harness.cli.exitcodes.ExitCode`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.exitcodes import ExitCode, verdict_status
from harness.engine.known import KnownFindings, load_known
from harness.engine.tally import RunReport
from harness.model.outcomes import Outcome
from harness.report.baseline import baseline_signatures
from harness.report.model import Report
from harness.report.triage import triage_lines
from harness.terminal import printable


def add_known_options(parser: argparse.ArgumentParser, *, baseline: bool) -> None:
    """Add ``--known FILE`` (and ``--baseline DIR`` where ``baseline``) to a command's parser."""
    parser.add_argument(
        "--known",
        metavar="FILE",
        help="known-findings YAML: findings it accepts (each with a reason) do not fail the command",
    )
    if baseline:
        parser.add_argument(
            "--baseline",
            metavar="DIR",
            help="earlier run folder, report folder or summary.json: findings it holds are not new",
        )


def read_acceptance(args: argparse.Namespace) -> tuple[KnownFindings | None, Path | None]:
    """The known findings and the baseline the options name, both checked now, before anything
    runs: a bad file is a usage error (exit 2) with its ``file:line: key rule``."""
    known = load_known(args.known) if getattr(args, "known", None) else None
    baseline = Path(args.baseline) if getattr(args, "baseline", None) else None
    if baseline is not None:
        baseline_signatures(baseline)
    return known, baseline


def print_triage(report: Report) -> None:
    """Print the new / known / fixed counts, the accepted findings and the stale entries."""
    for line in triage_lines(report.triage):
        print(printable(line))


def judged_nothing(report: Report) -> bool:
    """True when the report's runs judged no case (each was unsupported, or none ran) and it holds
    no audit results."""
    return (
        not report.findings
        and not report.audits
        and all(rec.get("outcome") == Outcome.UNSUPPORTED for rec in report.cases)
    )


def report_status(report: Report, fail_on: str) -> ExitCode:
    """The exit status of ``report`` under ``--fail-on any|new|never``."""
    if fail_on == "never":
        return ExitCode.OK
    new = report.triage.has_new(report.cases) if fail_on == "new" else report.failed
    return verdict_status(new_findings=new, nothing_judged=judged_nothing(report))


def run_status(
    run: RunReport, report: Report, *, requested: list[str], named: bool, allow_unavailable: bool
) -> ExitCode:
    """The exit status of ``run``: ``requested`` are the targets it was to run, ``named`` whether
    the user named them (``--targets``) rather than taking every registered one."""
    new = report.triage.has_new(report.cases)
    every_unavailable = bool(requested) and all(name in run.unavailable for name in requested)
    judged = bool(run.findings) or any(run.pairs.judged.values())
    if every_unavailable:
        nothing = not allow_unavailable
    else:
        nothing = not judged or (named and bool(run.unavailable) and not allow_unavailable)
    return verdict_status(new_findings=new, nothing_judged=nothing)
