"""The main job: every spec against every requested target, streamed to ``results.jsonl``."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis

from adapters.protocol import Target
from adapters.registry import installed_targets, resolve
from harness.case import Case
from harness.explore import explore
from harness.findings import Finding
from harness.profiles import register_profiles
from harness.repro import write_finding
from harness.results import ResultsWriter, make_record, new_run_id, run_metadata
from harness.spec import Spec, load_spec
from harness.strategies import cases
from harness.verdict import FAILING, OUTCOMES, Verdict

FINDINGS_STORE = Path(os.environ.get("CONVT_FINDINGS_DB", ".hypothesis/convt-findings.jsonl"))


@dataclass
class RunReport:
    """What a run produced, for the summary and the exit status."""

    out_dir: Path
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    findings: list[tuple[Finding, Path]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when any target has a mismatch or an error."""
        return any(outcome in FAILING for (_, outcome) in self.counts) or bool(self.findings)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)[:120]


def load_replay(store: Path, spec: str, target: str) -> list[Case]:
    """Minimal cases of past findings for (spec, target): replayed before anything else."""
    if not store.exists():
        return []
    out = []
    for line in store.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
            if item["spec"] == spec and item["target"] == target:
                out.append(Case.from_dict(item["case"]))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _remember(store: Path, spec: str, finding: Finding) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)
    item = {"spec": spec, "target": finding.target, "signature": finding.signature,
            "case": finding.minimal.to_dict()}
    known = store.read_text(encoding="utf-8") if store.exists() else ""
    line = json.dumps(item, sort_keys=True)
    if line not in known.splitlines():
        with store.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class Progress:
    """A one-line progress display on stderr (a line every few seconds when not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, label: str, done: int, findings: int) -> None:
        """Show progress for the current (target, spec)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            sys.stderr.write(f"\r{label}: {done} cases, {findings} findings   ")
            sys.stderr.flush()
        elif now - self.last > 5:
            sys.stderr.write(f"{label}: {done} cases, {findings} findings\n")
            self.last = now

    def done(self) -> None:
        """End the progress line."""
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def run_target_spec(
    *,
    target: Target,
    spec: Spec,
    settings: hypothesis.settings,
    writer: ResultsWriter,
    report: RunReport,
    run_id: str,
    progress: Progress,
    store: Path | None = FINDINGS_STORE,
) -> list[Finding]:
    """Explore one (spec, target), streaming records and writing a folder per finding."""
    label = f"{target.name} × {spec.name}"
    done = 0

    def record(case: Case, verdict: Verdict, finding: Finding | None) -> None:
        nonlocal done
        rec = make_record(case=case, target=target, verdict=verdict, spec=spec.name, run_id=run_id,
                          minimal=finding is not None,
                          signature=None if finding is None else finding.signature)
        line = writer.write(rec)
        if finding is not None:
            folder = writer.out_dir / "findings" / _slug(f"{line:05d}-{target.name}-{verdict.outcome}")
            write_finding(folder, case=case, target=target, record=rec,
                          command=f"python -m harness repro {writer.path} {line}")
            report.findings.append((finding, folder))
        else:
            report.counts[(target.name, verdict.outcome)] += 1
            done += 1
        progress.update(label, done, len(report.findings))

    pinned = spec.pinned_cases() + (load_replay(store, spec.name, target.name) if store else [])
    result = explore(target=target, strategy=cases(spec), pinned=pinned, settings=settings, record=record)
    if store:
        for finding in result.findings:
            _remember(store, spec.name, finding)
    return result.findings


def run(
    *,
    spec_paths: list[Path],
    target_names: list[str] | None,
    profile: str,
    device: str,
    out_dir: Path | None,
    progress: bool = True,
    store: Path | None = FINDINGS_STORE,
) -> RunReport:
    """Run every spec against every target; returns the report (results are already on disk)."""
    register_profiles()
    settings = hypothesis.settings.get_profile(profile)
    run_id = new_run_id()
    out = out_dir or Path("reports") / run_id
    report = RunReport(out_dir=out)
    specs = [load_spec(p) for p in spec_paths]
    names = target_names if target_names is not None else installed_targets()
    writer = ResultsWriter(out)
    meta: dict[str, Any] = {"run_id": run_id, "profile": profile, "device": device,
                            "specs": [str(p) for p in spec_paths], "targets": {}, **run_metadata()}
    shown = Progress(progress)
    try:
        for name in names:
            cls = resolve(name)
            reason = cls.unavailable_reason()
            if reason is not None:
                report.unavailable[name] = reason
                meta["targets"][name] = {"available": False, "reason": reason}
                continue
            target = cls(device)
            supported_device = target.capabilities().devices
            if device.split(":")[0] not in supported_device:
                reason = f"{name} does not run on device {device!r}"
                report.unavailable[name] = reason
                meta["targets"][name] = {"available": False, "reason": reason}
                continue
            meta["targets"][name] = {"available": True, "environment": target.environment(),
                                     "capabilities": target.capabilities().to_dict()}
            for spec in specs:
                run_target_spec(target=target, spec=spec, settings=settings, writer=writer,
                                report=report, run_id=run_id, progress=shown, store=store)
    finally:
        shown.done()
        writer.close()
        (out / "run.json").write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
    return report


def summary_text(report: RunReport) -> str:
    """The end-of-run table: per target, counts per outcome; then findings and where results are."""
    targets = sorted({t for (t, _) in report.counts})
    header = f"{'target':24s}" + "".join(f"{o:>16s}" for o in OUTCOMES)
    lines = [header, "-" * len(header)]
    for t in targets:
        lines.append(f"{t:24s}" + "".join(f"{report.counts[(t, o)]:16d}" for o in OUTCOMES))
    for name, reason in report.unavailable.items():
        lines.append(f"{name:24s} unavailable: {reason}")
    if report.findings:
        lines.append("")
        lines.append(f"{len(report.findings)} finding(s), each shrunk to a minimal case:")
        for finding, folder in report.findings:
            lines.append(f"  {finding.signature}")
            lines.append(f"    {finding.minimal.short()}")
            lines.append(f"    {folder}")
    lines.append("")
    lines.append(f"results: {report.out_dir / 'results.jsonl'}")
    return "\n".join(lines)
