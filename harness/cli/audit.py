"""The audit subcommands of ``python -m harness``.

- ``audit-docs``: documented output sizes and crop splits against behaviour (:mod:`harness.audits.docs`,
  ``doc_audit.json``; exit 1 when any departure is found);
- ``audit-modes``: which named modes agree across frameworks (:mod:`harness.audits.modes`,
  ``mode_equivalence.json``; a table, exit 0);
- ``audit-invalid``: invalid and boundary configurations sent to every target
  (:mod:`harness.audits.invalid`, ``invalid_inputs.json``; exit 1 on a verdict that is a problem
  in :data:`harness.audits.invalid_verdicts.VERDICTS`: an opaque message, a valid configuration
  refused, an acceptance, a wrong shape or values, a crash, a hang);
- ``audit``: the three into one folder (exit 1 when any of them would).

Every one writes into ``--out DIR`` (default ``reports/audit``); ``python -m harness report DIR``
shows the files as sections of the HTML report.
"""

from __future__ import annotations

import argparse
from typing import Any

from harness.audits.common import add_arguments
from harness.audits.docs import cmd_audit_docs
from harness.audits.invalid import cmd_audit_invalid
from harness.audits.modes import cmd_audit_modes

COMMANDS = {
    "audit-docs": (cmd_audit_docs, "check every target's documented output sizes and crop splits"),
    "audit-modes": (cmd_audit_modes, "which named padding modes (SAME/VALID) agree across frameworks"),
    "audit-invalid": (cmd_audit_invalid, "send invalid and boundary configurations to every target"),
}


def cmd_audit_all(args: argparse.Namespace) -> int:
    """Run the three audits into one folder; 1 when any of them reports a problem."""
    status = 0
    for command, _ in COMMANDS.values():
        status = max(status, command(args))
    return status


def add_audit_parser(subparsers: Any) -> None:
    """Add ``audit-docs``, ``audit-modes``, ``audit-invalid`` and ``audit`` to the subparsers."""
    for name, (command, text) in COMMANDS.items():
        parser = subparsers.add_parser(name, help=text)
        add_arguments(parser)
        parser.set_defaults(func=command)
    parser = subparsers.add_parser("audit", help="the three audits into one folder")
    add_arguments(parser)
    parser.set_defaults(func=cmd_audit_all)
