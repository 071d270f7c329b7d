"""How a command ends when something goes wrong: the exit status (:mod:`harness.cli.exitcodes`) and
the one line printed.

- :class:`~harness.errors.UsageError` (bad input: a spec, a target, a folder, an option): its
  message, exit 2.
- Any other exception is the harness's own failure: one line with its type and message and the
  path of a log file that holds the full traceback (the run folder's ``harness-error.log`` when
  the run had one, else a file in the temporary folder), exit 3. A full disk (``ENOSPC``) says so,
  and what was kept.

Nothing prints a traceback on the terminal.
"""

from __future__ import annotations

import argparse
import errno
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from harness.cli.exitcodes import ExitCode
from harness.errors import RunAborted, UsageError
from harness.terminal import printable

LOG_NAME = "harness-error.log"


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``func(args)``, with any exception turned into its line and exit status (see above)."""
    try:
        return int(func(args))
    except UsageError as exc:  # bad input: the message says where and which rule
        print(f"error: {printable(exc, newlines=True)}", file=sys.stderr)
        return ExitCode.USAGE
    except Exception as exc:
        print(internal_error(exc), file=sys.stderr)
        return ExitCode.INTERNAL


def _disk_full(exc: BaseException | None) -> OSError | None:
    """The ``ENOSPC`` error among ``exc`` and the exceptions it was raised from or during."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def write_log(exc: BaseException, folder: Path | None) -> Path | None:
    """Write the full traceback of ``exc`` into ``folder`` (else the temporary folder); its path,
    or None when no file could be written (a full disk)."""
    text = "".join(traceback.format_exception(exc))
    if folder is not None:
        try:
            path = folder / LOG_NAME
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            pass
    try:
        with tempfile.NamedTemporaryFile(
            "w", prefix="convt-harness-error-", suffix=".log", delete=False, encoding="utf-8"
        ) as fh:
            fh.write(text)
        return Path(fh.name)
    except OSError:
        return None


def internal_error(exc: Exception) -> str:
    """The one line for an exception that is not bad input (its traceback goes to the log)."""
    aborted = exc if isinstance(exc, RunAborted) else None
    cause = exc.__cause__ if aborted is not None and exc.__cause__ is not None else exc
    log = write_log(exc, aborted.out_dir if aborted else None)
    kept = f"; {aborted}" if aborted else ""
    where = f" (full traceback: {log})" if log else ""
    full = _disk_full(exc)
    if full is not None:
        place = f" while writing {full.filename}" if full.filename else ""
        if aborted is None:
            kept = "; files written before it are kept as they were (each is whole or absent)"
        return printable(f"error: the disk is full (no space left on device){place}{kept}{where}")
    return printable(f"error: internal error, {type(cause).__name__}: {cause}{kept}{where}")
