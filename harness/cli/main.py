"""Command line: ``python -m harness run | doctor | repro | report | port | audit-docs | audit-modes |
audit-invalid | audit``."""

from __future__ import annotations

import argparse

from harness.cli.audit import add_audit_parser
from harness.cli.doctor import add_doctor_parser
from harness.cli.failure import run_command
from harness.cli.port import add_port_parser
from harness.cli.port_model import add_port_model_parser
from harness.cli.report import add_report_parser
from harness.cli.repro import add_repro_parser
from harness.cli.run import add_run_parser
from harness.process import tune_allocator


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m harness``."""
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_run_parser(sub)
    add_doctor_parser(sub)
    add_repro_parser(sub)
    add_report_parser(sub)
    add_port_parser(sub)
    add_port_model_parser(sub)
    add_audit_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: the exit status is one of :class:`harness.cli.exitcodes.ExitCode` (0 nothing new,
    1 new findings, 2 bad input, 3 the harness failed, 4 nothing judged)."""

    args = build_parser().parse_args(argv)
    tune_allocator()
    return run_command(args.func, args)
