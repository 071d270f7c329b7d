"""``python -m harness report DIR [DIR …]``: the report of one or more run folders, and its exit status.

The report (:mod:`harness.report.write`) is written into the first folder; ``--baseline`` compares
its findings with an earlier run or report (:mod:`harness.report.baseline`), and ``--known``
accepts the findings of a known-findings file (:mod:`harness.engine.known`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.exitcodes import ExitCode
from harness.cli.failure import run_command
from harness.cli.verdict import add_known_options, print_triage, read_acceptance, report_status
from harness.errors import UsageError
from harness.files import writable_folder
from harness.report.model import load_report
from harness.report.write import save_report
from harness.terminal import printable


def cmd_report(args: argparse.Namespace) -> int:
    """``python -m harness report DIR [DIR …] [--baseline DIR] [--known FILE]``: write the report,
    print where.

    Exit status: 2 when a folder, the baseline or the known-findings file cannot be read, or the
    first folder cannot be written into; 1 when the report has findings (``--fail-on any``, the
    default without a baseline or known findings) or new findings (``--fail-on new``, the default
    with either); 4 when its runs judged no case; else 0 (:mod:`harness.cli.verdict`).
    """
    dirs = [Path(d) for d in args.runs]
    try:
        known, baseline = read_acceptance(args)
        report = load_report(dirs, baseline, known)
        writable_folder(dirs[0], "the report's folder")
    except UsageError as exc:  # a folder, baseline or known file that cannot be read, or written into
        print(f"report: {printable(exc, newlines=True)}")
        return ExitCode.USAGE
    html = save_report(report, dirs[0])
    for split in report.splits:
        print(f"{'warning: ' if split.missing else ''}{printable(split.note())}")
    print_triage(report)
    print(f"report:  {html}")
    print(f"summary: {html.parent / 'summary.json'}")
    print(f"junit:   {html.parent / 'junit.xml'}")
    accepting = baseline is not None or known is not None
    return report_status(report, args.fail_on or ("new" if accepting else "any"))


def add_report_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to ``python -m harness``'s subparsers."""
    parser = subparsers.add_parser(
        "report", help="HTML report, summary.json and JUnit XML from one or more run folders"
    )
    parser.add_argument(
        "runs", nargs="+", metavar="DIR", help="run folder(s) to merge; the report is written into the first"
    )
    add_known_options(parser, baseline=True)
    parser.add_argument(
        "--fail-on",
        choices=["any", "new", "never"],
        help="exit 1 on any finding, on new findings only, or never "
        "(default: new with --baseline or --known, else any)",
    )
    parser.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.cli.report DIR …`` (the same as ``python -m harness report``)."""
    parser = argparse.ArgumentParser(prog="python -m harness.cli.report")
    sub = parser.add_subparsers(dest="command")
    add_report_parser(sub)
    args = parser.parse_args(["report", *(sys.argv[1:] if argv is None else argv)])
    return run_command(args.func, args)


if __name__ == "__main__":
    raise SystemExit(main())
