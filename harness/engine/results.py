"""Results records: one JSON object per (case, target), streamed to ``results.jsonl`` as written."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from adapters.protocol import Handle, Target, handle
from harness.engine.records import read_results_file
from harness.engine.verdict import Verdict
from harness.model.case import Case
from harness.model.features import signature_features
from harness.model.outcomes import Outcome
from harness.process import recorded_settings


def new_run_id() -> str:
    """A sortable run id from the current UTC time."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def repro_command(results_path: Path, line: int) -> str:
    """The one command that re-runs a recorded result."""
    return f"python -m harness repro {shlex.quote(str(results_path))} {line}"


#: Characters of a message a record keeps; a finding's folder keeps the whole text (``message.txt``).
MESSAGE_LIMIT = 4000


def short_message(message: str, finding_dir: str | None = None) -> str:
    """``message`` cut to :data:`MESSAGE_LIMIT` characters, saying how much is left out and where
    the full text is (``finding_dir``/message.txt) when there is a finding folder."""
    if len(message) <= MESSAGE_LIMIT:
        return message
    where = f"; full text in {finding_dir}/message.txt" if finding_dir else ""
    return f"{message[:MESSAGE_LIMIT]}… ({len(message) - MESSAGE_LIMIT} more characters{where})"


def make_record(
    *,
    case: Case,
    target: Target | Handle,
    verdict: Verdict,
    spec: str,
    run_id: str,
    minimal: bool = False,
    signature: str | None = None,
    finding_dir: str | None = None,
) -> dict[str, Any]:
    """The JSON-ready record of one (case, target) verdict (``repro`` is filled in on write).

    The message is cut to :data:`MESSAGE_LIMIT` characters (:func:`short_message`); a minimal
    record names its finding's folder, ``finding_dir``, relative to the run folder.
    """
    api, runner = handle(target).api, handle(target).runner
    env = runner.environment()
    record: dict[str, Any] = {
        "run_id": run_id,
        "spec": spec,
        "target": api.name,
        # module:Class, so repro can resolve targets that are not registered under their name
        "target_class": api.class_reference(),
        "framework": api.framework,
        "framework_version": api.framework_version(),
        "device": api.device,
        "environment": env,
        "outcome": verdict.outcome,
        "detail": verdict.detail,
        "message": short_message(verdict.message, finding_dir),
        "case": case.to_dict(),
        "features": sorted(signature_features(case)),
        "expected_shape": verdict.expected_shape,
        "actual_shape": verdict.actual_shape,
        "accumulation": verdict.accumulation,
        "stats": verdict.stats,
        "seconds": round(verdict.seconds, 6),
        "run_info": verdict.run_info,
        "ran": verdict.ran,
        "minimal": minimal,
        "signature": signature,
    }
    if finding_dir is not None:
        record["finding_dir"] = finding_dir
    return record


#: Seconds between fsyncs of ``results.jsonl``: every record is flushed as written (a killed run
#: loses none), but forcing it to the disk costs milliseconds, more than judging a small case.
SYNC_SECONDS = 1.0


class ResultsWriter:
    """Appends records to ``DIR/results.jsonl``, one line each, flushed as written; fsynced at least
    every :data:`SYNC_SECONDS`, after every finding's record and on :meth:`close` (a power cut
    costs at most the last second's records, which ``run --resume`` judges again)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / "results.jsonl"
        self._lines = _complete_lines(self.path)
        self._fh: IO[str] = self.path.open("a", encoding="utf-8")
        self.counts: Counter[tuple[str, str]] = Counter()
        self._synced = time.monotonic()

    @property
    def lines(self) -> int:
        """Records written so far (the next record's line is ``lines + 1``)."""
        return self._lines

    def write(self, record: dict[str, Any]) -> int:
        """Append a record; returns its 1-based line number (what ``repro`` takes)."""
        line = self._lines + 1
        record = dict(record, line=line, repro=repro_command(self.path, line))
        text = json.dumps(record, sort_keys=True, allow_nan=True, default=_plain)
        self._lines = line
        self._fh.write(text + "\n")
        self._fh.flush()
        if record.get("minimal") or time.monotonic() - self._synced >= SYNC_SECONDS:
            self._sync()
        if not record.get("minimal"):
            self.counts[(record["target"], record["outcome"])] += 1
        return self._lines

    def _sync(self) -> None:
        os.fsync(self._fh.fileno())
        self._synced = time.monotonic()

    def close(self) -> None:
        """Force what was written to the disk and close the file."""
        try:
            if not self._fh.closed:
                self._sync()  # every write was flushed: nothing is left in the buffer
        except OSError:  # the records are with the kernel; the run's end must not fail on this
            pass
        finally:
            self._fh.close()


class PairCoverage:
    """Per (target, spec): how many cases were judged, and why the others were ``unsupported``.

    A pair that judged no case tested nothing: the run summary, the pytest plugin and the report
    name it (:meth:`judged_nothing`).
    """

    def __init__(self) -> None:
        self.judged: Counter[tuple[str, str]] = Counter()
        self.unsupported: dict[tuple[str, str], Counter[str]] = {}

    def add(self, target: str, spec: str, outcome: str, message: str) -> None:
        """Count one (non-minimal) result."""
        if outcome == Outcome.UNSUPPORTED:
            self.unsupported.setdefault((target, spec), Counter())[message] += 1
        else:
            self.judged[(target, spec)] += 1

    def judged_nothing(self) -> list[tuple[str, str, int, str]]:
        """``(target, spec, cases, commonest reason)`` of each pair that judged no case, sorted."""
        out = []
        for (target, spec), reasons in sorted(self.unsupported.items()):
            if not self.judged[(target, spec)]:
                out.append((target, spec, sum(reasons.values()), reasons.most_common(1)[0][0]))
        return out


def _plain(value: object) -> object:
    """JSON stand-in for what a target may report that JSON cannot hold (its ``run_info``, say):
    NumPy scalars and arrays as numbers and lists, anything else as its ``repr``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


def _complete_lines(path: Path) -> int:
    """Count complete lines, cutting off a half-written last line left by a killed run."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as fh:
            fh.truncate(keep)
        data = data[:keep]
    return data.count(b"\n")


def read_results(path: Path) -> list[dict[str, Any]]:
    """The well-formed records of a results file; damaged lines (a killed run's truncated last one,
    say) are skipped (:func:`harness.engine.records.read_results_file` names them)."""
    return read_results_file(path).records


def run_metadata() -> dict[str, Any]:
    """Machine-level facts stored beside the results."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "argv": sys.argv,
        "openblas_thread_timeout": recorded_settings()["openblas_thread_timeout"],
        "allocator": recorded_settings()["allocator"],
        "started": datetime.now(UTC).isoformat(),
    }
