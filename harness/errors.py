"""Every exception the harness and its adapters raise, under one root.

:class:`HarnessError` is the root. :class:`UsageError` marks a problem with what the user gave (a
spec, a target name, a call to port, a folder to report on): the command line prints its message
and exits 2, without a traceback. Most other classes are raised and caught inside the harness and
become results (``error``, ``crash``, ``timeout``, ``unsupported``) rather than ending a run;
:class:`RunAborted` and :class:`RunInterrupted` end one and say what it kept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


class HarnessError(Exception):
    """The root of every exception defined by the harness and its adapters."""


class UsageError(HarnessError):
    """Bad input from the user; the command line prints the message and exits 2."""


class InvalidCase(HarnessError, ValueError):
    """A case that breaks a rule of the canonical model; ``rule`` names the rule, ``field`` the case
    field it concerns where it concerns one."""

    def __init__(self, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field


def _format_problem(path: str, line: int | None, message: str) -> str:
    return f"{path}:{line}: {message}" if line is not None else f"{path}: {message}"


class SpecError(UsageError, ValueError):
    """A spec that cannot be loaded or would make a run vacuous.

    ``str(err)`` is one ``file:line: key rule`` line per problem. ``path`` is the file as given,
    ``line`` (1-based, or None) and ``key`` (dotted, or None) locate the first problem;
    ``problems`` holds every ``(line, key, message)``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        line: int | None,
        key: str | None,
        message: str,
        problems: Sequence[tuple[int | None, str | None, str]] | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.key = key
        self.problems = list(problems) if problems is not None else [(line, key, message)]
        super().__init__("\n".join(_format_problem(self.path, ln, msg) for ln, _, msg in self.problems))


class KnownFindingsError(SpecError):
    """A known-findings file (``--known``) that cannot be read or breaks its schema; worded as a
    :class:`SpecError`, one ``file:line: key rule`` line per problem."""


class UnknownTarget(UsageError, ValueError):
    """A target name that is neither registered nor a loadable ``module:Class`` Target subclass."""


class PortError(UsageError, ValueError):
    """A call given to ``port`` cannot be read or translated; the message says why."""


class NoRuns(UsageError, ValueError):
    """``report`` was given no run folder."""


class UnusablePath(UsageError):
    """A file or folder the user named that cannot be used: missing, damaged, or not writable (an
    ``--out`` that is a file, a ``--resume`` folder without a readable ``run.json``, a results file
    or baseline that does not parse); the message names it and says what is wrong."""


class UnknownProfile(UsageError, ValueError):
    """A Hypothesis profile name (``$CONVT_HYPOTHESIS_PROFILE``) that is not one of the profiles."""


class FolderLocked(UsageError):
    """A run or resume was pointed at a folder that another live run or resume is writing into."""


class FolderTaken(UsageError):
    """A new run was pointed at a folder that already holds a run (only ``--resume`` continues it)."""


class BadShard(UsageError, ValueError):
    """A ``--shard K/N`` that is not two whole numbers with 1 ≤ K ≤ N, or that asks for more shards
    than the run has (target, spec) units; or report folders that hold the same shard twice."""


class TargetUnavailable(HarnessError, RuntimeError):
    """The target cannot run here (framework not installed, no such device); says why."""


class NotExpressible(HarnessError):
    """The API has no way to pass these raw parameters (e.g. asymmetric crops to a symmetric API)."""


class RunFailure(HarnessError):
    """An isolated target's worker could not return a result.

    ``outcome`` is ``crash`` or ``timeout``; ``detail`` the signal, exit code or limit.
    """

    def __init__(self, outcome: str, detail: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.detail = detail


class RemoteError(HarnessError):
    """An exception raised by the framework inside a worker, carried back by type name and text."""

    def __init__(self, type_name: str, text: str) -> None:
        super().__init__(text)
        self.type_name = type_name
        self.text = text

    @property
    def message(self) -> str:
        """The exception's own message, without the ``module.Type: `` that ``text`` starts with."""
        head, sep, rest = self.text.partition(": ")
        return rest if sep and head.rsplit(".", 1)[-1] == self.type_name else self.text


class NotForkable(HarnessError):
    """A worker that cannot fork a fresh child: not on Linux, or its framework has started threads
    of its own (a child would inherit the locks they hold, and could deadlock)."""


class RunAborted(HarnessError):
    """A run stopped by an unexpected error (a full disk, a bug in the harness); the cause is the
    exception's ``__cause__``. What it recorded is on disk: ``recorded`` results in ``out_dir``,
    all of them when ``complete`` (only the report was left to write)."""

    def __init__(self, out_dir: Path, recorded: int, complete: bool = False) -> None:
        if complete:
            kept = (
                f"the run is complete, its {recorded} result(s) are in {out_dir / 'results.jsonl'}; "
                f"write the report with: python -m harness report {out_dir}"
            )
        else:
            kept = (
                f"{recorded} result(s) kept in {out_dir / 'results.jsonl'}; "
                f"continue the run with: python -m harness run --resume {out_dir}"
            )
        super().__init__(kept)
        self.out_dir = out_dir
        self.recorded = recorded
        self.complete = complete


class RunInterrupted(HarnessError):
    """The run was stopped with Ctrl-C or SIGTERM; what it recorded is on disk and it can resume."""

    def __init__(self, out_dir: Path, recorded: int) -> None:
        super().__init__(f"interrupted after {recorded} result(s), kept in {out_dir / 'results.jsonl'}")
        self.out_dir = out_dir
        self.recorded = recorded
