"""The main job: every spec against every requested target, streamed to ``results.jsonl``.

:func:`run` starts a run and :func:`resume` continues a killed one; both go through the same loop
over the targets, and :func:`run_target_spec` explores one (target, spec).
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis

from adapters.protocol import Handle, Target, handle
from adapters.registry import known_names, resolve
from harness.engine.coverage import MapTally, plan_unit
from harness.engine.explore import FreshCheck, explore
from harness.engine.findings import Finding
from harness.engine.folder import fresh_folder, locked, refuse_taken
from harness.engine.fresh import fresh_check, replay_worker_history
from harness.engine.history import (
    UnitHistory,
    finding_from_record,
    history_from_records,
    rebuild_finding_folders,
    unit_seed,
)
from harness.engine.pairing import inapplicable_specs
from harness.engine.profiles import register_profiles
from harness.engine.progress import Progress
from harness.engine.records import damaged_summary
from harness.engine.results import ResultsWriter, new_run_id, run_metadata
from harness.engine.resumable import read_run_folder
from harness.engine.shard import Shard, runs_target, runs_unit, shard_record, shard_run_id
from harness.engine.space import TargetSpace, judge_outside, outside_budget, outside_cases
from harness.engine.startup import ready_targets
from harness.engine.store import FINDINGS_STORE, load_replay, remember, replay_entries
from harness.engine.tally import GenerationCount, RunReport
from harness.engine.unit_records import UnitRecorder
from harness.engine.verdict import Verdict, judge
from harness.errors import RunAborted, RunInterrupted, UnusablePath, UsageError
from harness.files import remove_stale_folders, writable_folder, write_text_atomic
from harness.model.case import Case
from harness.oracle.memory import configure_main_memory
from harness.spec.loader import load_spec
from harness.spec.schema import Spec
from harness.workers.client import stop_fresh_workers
from harness.workers.worker import configure, shutdown_all


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
    fresh: FreshCheck | None = None,
    steer: bool = False,
    found_before: list[Finding] | None = None,
) -> list[Finding]:
    """Explore one (spec, target), streaming records and writing a folder per finding.

    A finding's folder is written (whole, or not at all) before its record: a recorded finding
    always has its folder, whenever the run is cut.

    ``replay`` (past findings' minimal cases) runs first; without it they are read from ``store``.
    With ``history`` (a resumed run), cases already recorded are answered from their records and
    not written again, and findings already recorded are known and not shrunk again. ``fresh``
    (targets in workers; :func:`fresh_check`) checks each new failure in a fresh worker; ``steer``
    turns on Hypothesis's steering by error ratio (the nightly profile's). ``found_before``: the
    target's findings from the specs explored before this one; a failure one of them explains (the
    same mechanism, its features among the case's, as the report attributes failures) is recorded
    and not shrunk again, so that a mechanism is one finding across ranks.

    The coverage map's cases (:mod:`harness.engine.coverage`) are judged after the pinned ones and
    before any drawn case; which cells the cases judged inside the target's space filled goes to
    ``report.coverage_map``. Cases are drawn from the spec's space as the target declares it can
    express it (:mod:`harness.engine.space`), then a small sample outside it checks that the framework refuses
    those; what was drawn, how many were duplicates and the sample's size go to ``report.generation``.
    """
    target = handle(target)
    label = f"{target.name} × {spec.name}"
    seen = history or UnitHistory()

    def judge_fn(case: Case, tgt: Target | Handle) -> Verdict:
        # each meeting of a recorded case is answered by its own record, in order (Hypothesis may
        # meet a case twice, and a history-dependent target may have answered it differently)
        recorded = seen.recorded(case)
        return recorded if recorded is not None else judge(case, tgt)

    recorder = UnitRecorder(
        target=target,
        spec=spec.name,
        run_id=run_id,
        writer=writer,
        report=report,
        progress=progress,
        history=seen,
        label=label,
    )

    def record(case: Case, verdict: Verdict, finding: Finding | None) -> None:
        tally.observe(case, verdict.outcome, verdict.message)
        recorder(case, verdict, finding)

    if replay is None:
        replay = load_replay(store, spec.name, target.name, report.notes) if store else []
    plan = plan_unit(spec, target.api, settings, seed)
    space, strategy, budget = plan.space, plan.strategy, plan.settings
    tally = MapTally(plan.map)
    earlier = spec.pinned_cases() + replay
    pinned = earlier + plan.map.cases  # the map before any random case
    progress.start(label, len(pinned) + budget.max_examples)

    def judge_drawn(case: Case, tgt: Target | Handle) -> Verdict:
        verdict = judge_fn(case, tgt)
        return verdict if isinstance(space, TargetSpace) else judge_outside(case, tgt, verdict)

    result = drawn = explore(
        target=target,
        strategy=strategy,
        pinned=pinned,
        settings=budget,
        record=record,
        known=[*(found_before or []), *seen.findings],
        judge_fn=judge_drawn,
        seed=seed,
        outside=spec.outside,
        fresh=fresh,
        steer=steer,
    )
    report.coverage_map[(target.name, spec.name)] = tally.results()  # before the outside sample
    sample: list[Case] = []
    if isinstance(space, TargetSpace):
        sample = outside_cases(space, target.api, result.judged, outside_budget(space, settings.max_examples))
        # fresh=None: a fresh worker's ordinary judging would only refuse the case again
        result = explore(
            target=target,
            strategy=None,
            pinned=sample,
            settings=budget,
            record=record,
            known=result.findings,
            judge_fn=lambda case, tgt: judge_outside(case, tgt, judge_fn(case, tgt)),
            outside=spec.outside,
        )
    in_space = isinstance(space, TargetSpace)
    report.generation[(target.name, spec.name)] = GenerationCount(
        drawn=drawn.drawn if in_space else 0,
        duplicates=drawn.duplicates if in_space else 0,
        outside=len(sample) if in_space else drawn.drawn - drawn.duplicates,
        mapped=len(set(plan.map.cases) - set(earlier)),
    )
    progress.finish(label)
    gone = {id(f) for f in result.retired}  # replaced by simpler ones (the report drops them too)
    report.findings[:] = [(f, folder) for f, folder in report.findings if id(f) not in gone]
    new = [f for f in result.findings[len(found_before or []) + len(seen.findings) :] if id(f) not in gone]
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
    replay_findings: bool = False,
    shard: Shard | None = None,
) -> RunReport:
    """Run every spec against every target, or ``shard``'s units of them (:mod:`harness.engine.shard`);
    returns the report (results are already on disk).

    With ``replay_findings``, the past findings of ``store`` are replayed first (frozen into
    ``run.json``); without, the run depends only on its specs, targets, profile and seed. New
    findings are added to ``store`` either way.

    Each target runs in its framework's worker process unless ``isolate`` is false;
    ``memory_limit_mb`` limits each worker, ``main_memory_mb`` this process
    (:mod:`harness.oracle.memory`). ``run.json``
    is written first (with everything :func:`resume` needs) and completed at the end. The folder
    is locked for the whole run (:mod:`harness.engine.folder`): ``FolderLocked`` when another run
    holds it, ``FolderTaken`` when it already holds a run; without ``out_dir``, a fresh folder
    ``reports/<run-id>`` (with ``-2``, ``-3``… when that one is taken).
    """
    # Bad input fails here, before anything is written (SpecError, UnknownTarget).
    specs = [load_spec(p) for p in spec_paths]
    # every registered target: the ones that cannot run here are recorded as unavailable, with why
    names = target_names if target_names is not None else known_names()
    for name in names:
        resolve(name)
    # a shard that would judge nothing is BadShard here, before anything is written
    run_id = new_run_id() if shard is None else shard_run_id(new_run_id(), shard, names, specs)
    out = writable_folder(out_dir, "--out") if out_dir else fresh_folder(Path("reports"), run_id)
    replay = replay_entries(store if replay_findings else None, specs, names)
    meta: dict[str, Any] = {
        "run_id": run_id,
        "status": "running",
        "profile": profile,
        "device": device,
        "specs": [str(p) for p in spec_paths],
        "target_names": names,
        "targets_named": target_names is not None,
        "isolate": isolate,
        "case_timeout": case_timeout,
        "memory_limit_mb": memory_limit_mb,
        "main_memory_mb": main_memory_mb,
        "seed": seed if seed is not None else random.SystemRandom().randrange(2**32),
        **replay,
        "targets": {},
        **run_metadata(),
    }
    if shard is not None:
        meta["shard"] = shard_record(shard, meta, specs)
    with locked(out):
        refuse_taken(out)
        _write_meta(out, meta)
        return _execute(out, meta, specs, progress=progress, store=store, records=[])


def resume(run_dir: Path, *, progress: bool = True, store: Path | None = FINDINGS_STORE) -> RunReport:
    """Continue a run whose process was killed, without repeating or losing any result.

    A folder that is not a run, or whose ``run.json`` is damaged, is
    :class:`~harness.errors.UnusablePath`. The folder is locked while it runs (``FolderLocked`` when
    another run holds it). Damaged lines of ``results.jsonl`` are named on stderr and skipped: the
    cases they held are judged again. A recorded finding whose folder is missing or incomplete gets
    it rebuilt from its record.
    """
    if not run_dir.is_dir():
        raise UnusablePath(f"--resume {run_dir}: no such folder")
    writable_folder(run_dir, "--resume")
    with locked(run_dir):
        return _continue(run_dir, progress=progress, store=store)


def _continue(run_dir: Path, *, progress: bool, store: Path | None) -> RunReport:
    meta, results = read_run_folder(run_dir)
    records = results.records
    if results.damaged:
        print(
            f"{run_dir / 'results.jsonl'}: {damaged_summary(results.damaged)}; their cases are judged again",
            file=sys.stderr,
        )
    remove_stale_folders(run_dir / "findings")  # a killed run's half-written finding folders
    meta["resumed"] = [*meta.get("resumed", []), datetime.now(UTC).isoformat()]
    meta["status"] = "running"
    _write_meta(run_dir, meta)
    specs = [load_spec(Path(p)) for p in meta["specs"]]
    return _execute(run_dir, meta, specs, progress=progress, store=store, records=records)


def _execute(
    out: Path,
    meta: dict[str, Any],
    specs: list[Spec],
    *,
    progress: bool,
    store: Path | None,
    records: list[dict[str, Any]],
) -> RunReport:
    register_profiles()
    settings = hypothesis.settings(hypothesis.settings.get_profile(meta["profile"]), database=None)
    report = RunReport(out_dir=out, notes=list(meta.get("replay_skipped", [])))
    for rec in records:
        if rec.get("minimal"):
            features = frozenset(rec.get("features") or [])
            report.findings.append(
                (finding_from_record(rec, features), out / rec.get("finding_dir", "findings"))
            )
        else:
            report.tally(rec["target"], rec["spec"], rec["outcome"], rec.get("message") or "")
    device = meta["device"]
    configure(
        case_timeout=meta.get("case_timeout"),
        memory_limit_mb=meta.get("memory_limit_mb"),
        log_dir=out / "workers",
    )
    configure_main_memory(meta.get("main_memory_mb"))
    writer = ResultsWriter(out)
    shown = Progress(progress)
    failure: Exception | None = None
    try:
        targets: dict[str, Handle] = {}
        wanted = [name for name in meta["target_names"] if runs_target(meta, name)]  # not another shard's
        for name, target in ready_targets(wanted, device, isolate=meta.get("isolate", True)).items():
            if isinstance(target, str):
                report.unavailable[name] = target
                meta["targets"][name] = {"available": False, "reason": target}
                _write_meta(out, meta)
                continue
            targets[name] = target
        if records:
            replay_worker_history(records, {t.name: t for t in targets.values()})
        frameworks = [t.api.framework for t in targets.values()]
        for index, (name, target) in enumerate(targets.items()):
            inapplicable = inapplicable_specs(target.api, [s for s in specs if runs_unit(meta, name, s.name)])
            report.not_applicable.update({(name, spec): why for spec, why in inapplicable.items()})
            meta["targets"][name] = {
                "available": True,
                "environment": target.runner.environment(),
                "capabilities": target.api.capabilities().to_dict(),
                "not_applicable": inapplicable,
            }
            _write_meta(out, meta)
            rebuild_finding_folders(out, records, target, writer.path)
            fresh = fresh_check(target)
            found: list[Finding] = []  # the target's findings so far, over its specs
            for spec in specs:
                if not runs_unit(meta, name, spec.name) or spec.name in inapplicable:
                    continue
                replay = [Case.from_dict(c) for c in meta.get("replay", {}).get(f"{name}|{spec.name}", [])]
                history = history_from_records(records, target.name, spec.name)
                before = list(found)
                found += history.findings
                found += run_target_spec(
                    target=target,
                    spec=spec,
                    settings=settings,
                    writer=writer,
                    report=report,
                    run_id=meta["run_id"],
                    progress=shown,
                    store=store,
                    replay=replay,
                    history=history,
                    seed=unit_seed(meta["seed"], name, spec.name),
                    fresh=fresh,
                    steer=meta["profile"] == "nightly",
                    found_before=before,
                )
                meta["generation"] = report.generation_dict()
                meta["coverage_map"] = report.coverage_map_dict()
            if target.api.framework not in frameworks[index + 1 :]:
                stop_fresh_workers(target.api.framework)
        meta["status"] = "complete"
    except KeyboardInterrupt:
        meta["status"] = "interrupted"
    except UsageError:  # e.g. a resumed run's target that is no longer installed: bad input
        raise
    except Exception as exc:  # a full disk, a bug: the run stops, what it recorded stays resumable
        failure = exc
    finally:
        shown.done()
        writer.close()
        try:
            shutdown_all()
        except KeyboardInterrupt:  # while winding down: the workers were killed instead of waited for
            if meta["status"] != "complete":
                meta["status"] = "interrupted"
        meta["finished"] = datetime.now(UTC).isoformat()
        try:
            _write_meta(out, meta)
        except OSError as exc:  # a disk that filled up: run.json on disk still says "running"
            failure = failure or exc
    if failure is not None:
        raise RunAborted(out, writer.lines) from failure
    if meta["status"] == "interrupted":
        raise RunInterrupted(out, writer.lines)
    return report
