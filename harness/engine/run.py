"""The main job: every spec against every requested target, streamed to ``results.jsonl``.

:func:`run` starts a run and :func:`resume` continues a killed one; both go through the same loop
over the targets, and :func:`run_target_spec` explores one (target, spec).
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis

from adapters.protocol import Handle, Target, handle
from adapters.registry import known_names, resolve
from harness.engine.artefacts import write_finding
from harness.engine.explore import explore
from harness.engine.findings import Finding
from harness.engine.history import UnitHistory, case_key, history_from_records, unit_seed
from harness.engine.profiles import register_profiles
from harness.engine.progress import Progress
from harness.engine.results import ResultsWriter, make_record, new_run_id, read_results, run_metadata
from harness.engine.store import FINDINGS_STORE, load_replay, remember, replay_snapshot
from harness.engine.tally import RunReport
from harness.engine.verdict import Verdict, judge
from harness.errors import RunInterrupted
from harness.files import write_text_atomic
from harness.model.case import Case
from harness.oracle.memory import configure_main_memory
from harness.spec.loader import load_spec
from harness.spec.schema import Spec
from harness.spec.strategies import cases
from harness.workers.client import isolated
from harness.workers.worker import configure, shutdown_all


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)[:120]


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
        replay = load_replay(store, spec.name, target.name, report.notes) if store else []
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
            remember(store, spec.name, finding)
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
    main_memory_mb: int | None = None,
    seed: int | None = None,
) -> RunReport:
    """Run every spec against every target; returns the report (results are already on disk).

    Each target runs in its framework's worker process unless ``isolate`` is false;
    ``memory_limit_mb`` limits each worker, ``main_memory_mb`` this process
    (:mod:`harness.oracle.memory`). ``run.json``
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
    skipped: list[str] = []
    if store and store.exists():
        replay = replay_snapshot(store, specs=specs, targets=names, skipped=skipped)
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
        "main_memory_mb": main_memory_mb,
        "seed": seed if seed is not None else random.SystemRandom().randrange(2**32),
        "replay": replay,
        "replay_skipped": skipped,
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


def _execute(
    out: Path, meta: dict[str, Any], *, progress: bool, store: Path | None, records: list[dict[str, Any]]
) -> RunReport:
    register_profiles()
    settings = hypothesis.settings(hypothesis.settings.get_profile(meta["profile"]), database=None)
    report = RunReport(out_dir=out, notes=list(meta.get("replay_skipped", [])))
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
    configure_main_memory(meta.get("main_memory_mb"))
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
