"""The main job: every spec against every requested target, streamed to ``results.jsonl``."""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis

from adapters.protocol import Handle, Target, handle
from adapters.registry import known_names, resolve
from harness.engine.artefacts import write_finding
from harness.engine.explore import explore
from harness.engine.findings import Finding
from harness.engine.profiles import register_profiles
from harness.engine.results import (
    PairCoverage,
    ResultsWriter,
    make_record,
    new_run_id,
    read_results,
    run_metadata,
)
from harness.engine.verdict import Verdict, judge, verdict_from_record
from harness.errors import RunInterrupted
from harness.files import write_text_atomic
from harness.model.case import Case
from harness.model.features import signature_features
from harness.model.outcomes import FAILING, OUTCOMES
from harness.spec.loader import load_spec
from harness.spec.schema import Spec
from harness.spec.strategies import cases
from harness.workers.client import isolated
from harness.workers.worker import configure, shutdown_all

FINDINGS_STORE = Path(os.environ.get("CONVT_FINDINGS_DB", ".hypothesis/convt-findings.jsonl"))


@dataclass
class RunReport:
    """What a run produced, for the summary and the exit status."""

    out_dir: Path
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    findings: list[tuple[Finding, Path]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    pairs: PairCoverage = field(default_factory=PairCoverage)

    @property
    def failed(self) -> bool:
        """True when any target has a mismatch or an error."""
        return any(outcome in FAILING for (_, outcome) in self.counts) or bool(self.findings)

    def tally(self, target: str, spec: str, outcome: str, message: str) -> None:
        """Count one (non-minimal) result of a (target, spec)."""
        self.counts[(target, outcome)] += 1
        self.pairs.add(target, spec, outcome, message)

    def vacuous(self) -> list[tuple[str, str, int, str]]:
        """The (target, spec) pairs that judged no case (see :class:`PairCoverage`)."""
        return self.pairs.judged_nothing()


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
    item = {
        "spec": spec,
        "target": finding.target,
        "signature": finding.signature,
        "case": finding.minimal.to_dict(),
    }
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


def case_key(case: Case | dict[str, Any]) -> str:
    """A stable text key of a case (its canonical fields)."""
    data = case.to_dict() if isinstance(case, Case) else case
    return json.dumps(data, sort_keys=True)


@dataclass
class UnitHistory:
    """What an interrupted run already recorded for one (target, spec): reused when resuming."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def history_from_records(records: list[dict[str, Any]], target: str, spec: str) -> UnitHistory:
    """The recorded verdicts and findings of one (target, spec) in a results file."""
    history = UnitHistory()
    for rec in records:
        if rec.get("target") != target or rec.get("spec") != spec:
            continue
        case = Case.from_dict(rec["case"])
        if rec.get("minimal"):
            history.findings.append(
                Finding(target, rec["outcome"], rec.get("detail", ""), signature_features(case), case)
            )
        else:
            history.verdicts[case_key(case)] = verdict_from_record(rec)
    return history


def unit_seed(run_seed: int, target: str, spec: str) -> int:
    """Hypothesis seed of one (target, spec): fixed by the run's seed, so a resume replays it."""
    return zlib.crc32(f"{run_seed}|{target}|{spec}".encode())


def run_target_spec(
    *,
    target: Target | Handle,
    spec: Spec,
    settings: hypothesis.settings,
    writer: ResultsWriter,
    report: RunReport,
    run_id: str,
    progress: Progress,
    store: Path | None = FINDINGS_STORE,
    replay: list[Case] | None = None,
    history: UnitHistory | None = None,
    seed: int | None = None,
) -> list[Finding]:
    """Explore one (spec, target), streaming records and writing a folder per finding.

    ``replay`` (past findings' minimal cases) runs first; without it they are read from ``store``.
    With ``history`` (a resumed run), cases already recorded are answered from their records and
    not written again, and findings already recorded are known and not shrunk again.
    """
    target = handle(target)
    label = f"{target.name} × {spec.name}"
    done = 0
    seen = history or UnitHistory()

    def judge_fn(case: Case, tgt: Target | Handle) -> Verdict:
        cached = seen.verdicts.get(case_key(case))
        return cached if cached is not None else judge(case, tgt)

    def record(case: Case, verdict: Verdict, finding: Finding | None) -> None:
        nonlocal done
        if finding is None and case_key(case) in seen.verdicts:
            done += 1  # recorded before the interruption (and counted from the file)
            progress.update(label, done, len(report.findings))
            return
        rec = make_record(
            case=case,
            target=target,
            verdict=verdict,
            spec=spec.name,
            run_id=run_id,
            minimal=finding is not None,
            signature=None if finding is None else finding.signature,
        )
        if finding is not None:
            slug = _slug(f"{writer.lines + 1:05d}-{target.name}-{verdict.outcome}")
            rec["finding_dir"] = f"findings/{slug}"
        line = writer.write(rec)
        if finding is not None:
            folder = writer.out_dir / rec["finding_dir"]
            write_finding(
                folder,
                case=case,
                target=target,
                record=rec,
                command=f"python -m harness repro {writer.path} {line}",
                outputs=verdict.arrays,
            )
            report.findings.append((finding, folder))
        else:
            report.tally(target.name, spec.name, verdict.outcome, verdict.message)
            done += 1
        progress.update(label, done, len(report.findings))

    if replay is None:
        replay = load_replay(store, spec.name, target.name) if store else []
    pinned = spec.pinned_cases() + replay
    result = explore(
        target=target,
        strategy=cases(spec),
        pinned=pinned,
        settings=settings,
        record=record,
        known=seen.findings,
        judge_fn=judge_fn,
        seed=seed,
        outside=spec.outside,
    )
    new = result.findings[len(seen.findings) :]
    if store:
        for finding in new:
            _remember(store, spec.name, finding)
    return new


def _write_meta(out: Path, meta: dict[str, Any]) -> None:
    """Write ``run.json`` atomically (a killed run never leaves it half-written)."""
    write_text_atomic(out / "run.json", json.dumps(meta, indent=2, default=str) + "\n")


def run(
    *,
    spec_paths: list[Path],
    target_names: list[str] | None,
    profile: str,
    device: str,
    out_dir: Path | None,
    progress: bool = True,
    store: Path | None = FINDINGS_STORE,
    isolate: bool = True,
    case_timeout: float | None = None,
    memory_limit_mb: int | None = None,
    seed: int | None = None,
) -> RunReport:
    """Run every spec against every target; returns the report (results are already on disk).

    Each target runs in its framework's worker process unless ``isolate`` is false. ``run.json``
    is written first (with everything :func:`resume` needs) and completed at the end.
    """
    # Bad input fails here, before anything is written (SpecError, UnknownTarget).
    specs = [load_spec(p) for p in spec_paths]
    # every registered target: the ones that cannot run here are recorded as unavailable, with why
    names = target_names if target_names is not None else known_names()
    for name in names:
        resolve(name)
    run_id = new_run_id()
    out = out_dir or Path("reports") / run_id
    out.mkdir(parents=True, exist_ok=True)
    replay: dict[str, list[dict[str, Any]]] = {}
    if store and store.exists():
        replay = _replay_snapshot(store, specs=specs, targets=names)
    meta: dict[str, Any] = {
        "run_id": run_id,
        "status": "running",
        "profile": profile,
        "device": device,
        "specs": [str(p) for p in spec_paths],
        "target_names": names,
        "isolate": isolate,
        "case_timeout": case_timeout,
        "memory_limit_mb": memory_limit_mb,
        "seed": seed if seed is not None else random.SystemRandom().randrange(2**32),
        "replay": replay,
        "targets": {},
        **run_metadata(),
    }
    _write_meta(out, meta)
    return _execute(out, meta, progress=progress, store=store, records=[])


def resume(run_dir: Path, *, progress: bool = True, store: Path | None = FINDINGS_STORE) -> RunReport:
    """Continue a run whose process was killed, without repeating or losing any result."""
    meta_path = run_dir / "run.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{run_dir}: no run.json, not a run folder")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    results = run_dir / "results.jsonl"
    records = read_results(results) if results.exists() else []
    meta["resumed"] = [*meta.get("resumed", []), datetime.now(UTC).isoformat()]
    meta["status"] = "running"
    _write_meta(run_dir, meta)
    return _execute(run_dir, meta, progress=progress, store=store, records=records)


def _replay_snapshot(
    store: Path, *, specs: list[Spec], targets: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Past findings to replay first, per ``target|spec``, frozen at the start of the run."""
    out: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        for name in targets:
            cases_ = load_replay(store, spec.name, name)
            if cases_:
                out[f"{name}|{spec.name}"] = [c.to_dict() for c in cases_]
    return out


def _execute(
    out: Path, meta: dict[str, Any], *, progress: bool, store: Path | None, records: list[dict[str, Any]]
) -> RunReport:
    register_profiles()
    settings = hypothesis.settings(hypothesis.settings.get_profile(meta["profile"]), database=None)
    report = RunReport(out_dir=out)
    for rec in records:
        if rec.get("minimal"):
            report.findings.append(
                (
                    Finding(
                        rec["target"],
                        rec["outcome"],
                        rec.get("detail", ""),
                        frozenset(rec.get("features", [])),
                        Case.from_dict(rec["case"]),
                    ),
                    out / rec.get("finding_dir", "findings"),
                )
            )
        else:
            report.tally(rec["target"], rec.get("spec", ""), rec["outcome"], rec.get("message", ""))
    specs = [load_spec(Path(p)) for p in meta["specs"]]
    device = meta["device"]
    configure(
        case_timeout=meta.get("case_timeout"),
        memory_limit_mb=meta.get("memory_limit_mb"),
        log_dir=out / "workers",
    )
    writer = ResultsWriter(out)
    shown = Progress(progress)
    try:
        for name in meta["target_names"]:
            cls = resolve(name)
            reason = cls.unavailable_reason()
            if reason is None:
                api = cls(device)
                if device.split(":")[0] not in api.capabilities().devices:
                    reason = f"{name} does not run on device {device!r}"
            if reason is not None:
                report.unavailable[name] = reason
                meta["targets"][name] = {"available": False, "reason": reason}
                _write_meta(out, meta)
                continue
            target = isolated(api) if meta.get("isolate", True) else handle(api)
            meta["targets"][name] = {
                "available": True,
                "environment": target.runner.environment(),
                "capabilities": target.api.capabilities().to_dict(),
            }
            _write_meta(out, meta)
            for spec in specs:
                replay = [Case.from_dict(c) for c in meta.get("replay", {}).get(f"{name}|{spec.name}", [])]
                run_target_spec(
                    target=target,
                    spec=spec,
                    settings=settings,
                    writer=writer,
                    report=report,
                    run_id=meta["run_id"],
                    progress=shown,
                    store=store,
                    replay=replay,
                    history=history_from_records(records, target.name, spec.name),
                    seed=unit_seed(meta["seed"], name, spec.name),
                )
        meta["status"] = "complete"
    except KeyboardInterrupt:
        meta["status"] = "interrupted"
    finally:
        shown.done()
        writer.close()
        try:
            shutdown_all()
        except KeyboardInterrupt:  # while winding down: the workers were killed instead of waited for
            if meta["status"] != "complete":
                meta["status"] = "interrupted"
        meta["finished"] = datetime.now(UTC).isoformat()
        _write_meta(out, meta)
    if meta["status"] == "interrupted":
        raise RunInterrupted(out, writer.lines)
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
    vacuous = report.vacuous()
    if vacuous:
        lines.append("")
        lines.append("judged no case (each case was one the API cannot express: these pairs tested nothing):")
        for target, spec, n, reason in vacuous:
            lines.append(f"  {target} × {spec}: {n} case(s) unsupported, mostly: {reason}")
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
