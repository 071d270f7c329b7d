"""The exit statuses of every command, in one place (README, "Exit status of every command").

``run`` and ``report`` pick theirs from what a run judged with :func:`verdict_status`; every command
that fails ends through :mod:`harness.cli.failure` with :attr:`ExitCode.USAGE` or
:attr:`ExitCode.INTERNAL`. ``run`` stopped by a signal exits 128 + the signal's number, as a shell
reports it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What the exit status of a command says."""

    #: Nothing new: no finding, or only findings accepted by a known-findings file or a baseline.
    OK = 0
    #: New findings (for ``repro``: the reproduction now differs; for ``port``: a call not verified).
    NEW_FINDINGS = 1
    #: Bad input: a spec, a known-findings file, a target, an option, a file or folder.
    USAGE = 2
    #: The harness itself failed (the traceback is in a log file).
    INTERNAL = 3
    #: Nothing was judged: every requested target unavailable, or every (spec, target) judged no case.
    NOTHING_JUDGED = 4


def verdict_status(*, new_findings: bool, nothing_judged: bool) -> ExitCode:
    """The status of a run or report: new findings first (they are what CI must show), then a run
    that judged nothing, else :attr:`ExitCode.OK`."""
    if new_findings:
        return ExitCode.NEW_FINDINGS
    return ExitCode.NOTHING_JUDGED if nothing_judged else ExitCode.OK
