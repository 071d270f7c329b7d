"""The engine's side of what a framework's worker has run: a second, fresh worker that re-judges a
failure without the main worker's history (:func:`fresh_check`), and, for a resumed run, the cases
its workers had run before the run was cut, run again so that they start where they stood
(:func:`replay_worker_history`)."""

from __future__ import annotations

from typing import Any

from adapters.protocol import Handle
from harness.engine.explore import FreshCheck
from harness.engine.verdict import Verdict, judge
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.workers.client import FreshRunner, WorkerRunner
from harness.workers.zygote import THREADS_STARTED


def fresh_check(target: Handle) -> FreshCheck | None:
    """Fresh-worker judging for a target whose runner is its framework's worker (None in-process);
    its first fresh process starts loading the target at once."""
    runner = target.runner
    if not isinstance(runner, WorkerRunner):
        return None
    # a framework whose load started threads in the main worker would start them in a zygote too,
    # which would then refuse to fork: its fresh processes take turns from the start
    threads = runner.environment().get(THREADS_STARTED, 0)
    second = FreshRunner(target.api, fork=not threads)
    second.warm()  # the main worker is loaded: the fresh one imports while the first cases run
    where = Handle(target.api, second)

    def judge_fresh(case: Case) -> Verdict:
        second.restart()
        return judge(case, where)

    return FreshCheck(judge_fresh, lambda case: judge(case, where), runner.history)


def replay_worker_history(records: list[dict[str, Any]], targets: dict[str, Handle]) -> int:
    """Rebuild what the workers had run before a run was cut: every recorded case that reached its
    worker is run again there, in record order (its result dropped), each target loaded where its
    first record stands, and a worker that crashed or timed out ended there. Returns the cases run."""
    loaded: set[str] = set()
    replayed = 0
    for rec in records:
        target = targets.get(str(rec.get("target")))
        if target is None or rec.get("minimal") or not isinstance(target.runner, WorkerRunner):
            continue
        runner = target.runner
        if rec["target"] not in loaded:
            loaded.add(rec["target"])
            runner.environment()
        if not rec.get("ran"):
            continue
        if rec.get("outcome") in (Outcome.CRASH, Outcome.TIMEOUT):
            runner.worker.stop(kill=True)
            continue
        runner.replay(Case.from_dict(rec["case"]))
        replayed += 1
    return replayed
