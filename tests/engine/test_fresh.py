"""The fresh-check zygote (:func:`harness.engine.fresh.fresh_check`) is started, and its target
loaded, when the check is made: the first failure judged afresh waits for no framework import, and
each one is judged in a process forked from it."""

from __future__ import annotations

from targets_for_tests import CorrectTarget

from adapters.protocol import Handle
from harness.engine.fresh import fresh_check
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.workers.client import ZYGOTE, forked_worker, isolated
from harness.workers.worker import shutdown_all, worker_for


def test_the_fresh_worker_is_loading_before_the_first_fresh_judgement() -> None:
    try:
        target = isolated(CorrectTarget())
        check = fresh_check(target)
        assert check is not None
        zygote = worker_for(f"{CorrectTarget.framework}{ZYGOTE}")
        assert zygote.alive and (zygote.preloading or zygote.loaded)  # its load already sent
        for _ in range(2):
            verdict = check.judge_fresh(Case.make(input_size=5, kernel_size=3, stride=2))
            assert verdict.outcome == Outcome.PASS
        assert zygote.starts == 1  # the process started beforehand, not a new one
        forked = forked_worker(CorrectTarget.framework)
        assert forked is not None and forked.forks == 2  # one child per judgement
    finally:
        shutdown_all()


def test_no_fresh_worker_for_a_target_in_process() -> None:
    target = CorrectTarget()
    assert fresh_check(Handle(target, target)) is None
