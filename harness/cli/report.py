"""``python -m harness report DIR [DIR …]``: the report of one or more run folders, and its exit status.

The report (:mod:`harness.report.write`) is written into the first folder; ``--baseline`` compares
its findings with an earlier run or report (:mod:`harness.report.baseline`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.failure import run_command
from harness.errors import UsageError
from harness.files import writable_folder
from harness.report.model import load_report
from harness.report.write import save_report
from harness.terminal import printable


def cmd_report(args: argparse.Namespace) -> int:
    """``python -m harness report DIR [DIR …] [--baseline DIR]``: write the report, print where.

    Exit status: 2 when a folder or the baseline cannot be read, or the first folder cannot be
    written into; 1 when the report has findings (``--fail-on any``, the default without a
    baseline) or new findings (``--fail-on new``, the default with one); else 0.
    """
    dirs = [Path(d) for d in args.runs]
    baseline = Path(args.baseline) if args.baseline else None
    try:
        report = load_report(dirs, baseline)
        writable_folder(dirs[0], "the report's folder")
    except UsageError as exc:  # a folder or baseline that cannot be read, or written into
        print(f"report: {printable(exc, newlines=True)}")
        return 2
    html = save_report(report, dirs[0])
    for split in report.splits:
        print(f"{'warning: ' if split.missing else ''}{printable(split.note())}")
    print(f"report:  {html}")
    print(f"summary: {html.parent / 'summary.json'}")
    print(f"junit:   {html.parent / 'junit.xml'}")
    fail_on = args.fail_on or ("new" if baseline is not None else "any")
    if fail_on == "never":
        return 0
    if fail_on == "new" and report.comparison is not None:
        return 1 if report.comparison.new else 0
    return 1 if report.failed else 0


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
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="earlier run folder, report folder or summary.json to compare findings with",
    )
    parser.add_argument(
        "--fail-on",
        choices=["any", "new", "never"],
        help="exit 1 on any finding, on new findings only, or never (default: new with --baseline, else any)",
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
