"""What one (target, spec) exploration writes: a record per verdict, a folder per finding."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.protocol import Handle
from harness.engine.artefacts import write_finding
from harness.engine.findings import Finding
from harness.engine.history import UnitHistory
from harness.engine.progress import Progress
from harness.engine.results import ResultsWriter, make_record, repro_command
from harness.engine.tally import RunReport
from harness.engine.verdict import Verdict
from harness.model.case import Case


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)[:120]


@dataclass
class UnitRecorder:
    """Streams one (target, spec)'s verdicts to ``results.jsonl`` and its findings to folders.

    A finding's folder is written (whole, or not at all) before its record: a recorded finding
    always has its folder, whenever the run is cut. A case ``history`` already recorded (a
    resumed run) is counted, not written again.
    """

    target: Handle
    spec: str
    run_id: str
    writer: ResultsWriter
    report: RunReport
    progress: Progress
    history: UnitHistory
    label: str
    done: int = 0

    def __post_init__(self) -> None:
        self._found_before = len(self.report.findings)

    def __call__(self, case: Case, verdict: Verdict, finding: Finding | None) -> None:
        """Record one verdict; with ``finding``, the verdict of that finding's minimal case."""
        if finding is None and self.history.meet(case):
            self.done += 1  # recorded before the interruption (and counted from the file)
            self._show()
            return
        line = self.writer.lines + 1  # the line this record is about to get
        slug = _slug(f"{line:05d}-{self.target.name}-{verdict.outcome}")
        rec = make_record(
            case=case,
            target=self.target,
            verdict=verdict,
            spec=self.spec,
            run_id=self.run_id,
            minimal=finding is not None,
            signature=None if finding is None else finding.signature,
            finding_dir=None if finding is None else f"findings/{slug}",
        )
        if finding is not None and finding.history_dependent:
            rec.update(observed_detail=finding.observed_detail, history_cases=len(finding.history))
        if finding is not None and finding.mechanism:
            rec["mechanism"] = finding.mechanism
        if finding is None:
            self.writer.write(rec)
            self.report.tally(self.target.name, self.spec, verdict.outcome, verdict.message)
            self.done += 1
        else:
            folder = write_finding(
                self.writer.out_dir / rec["finding_dir"],
                case=case,
                target=self.target,
                record=rec,
                command=repro_command(self.writer.path, line),
                outputs=verdict.arrays,
                history=finding.history,
                message=verdict.message,
            )
            self.writer.write(rec)
            self.report.findings.append((finding, folder))
        self._show()

    def _show(self) -> None:
        self.progress.update(self.label, self.done, len(self.report.findings) - self._found_before)
