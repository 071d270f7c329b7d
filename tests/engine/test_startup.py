"""A run starts the workers of its frameworks at the same time (:mod:`harness.engine.startup`):
the frameworks import side by side, and the run waits for the slowest import, not their sum."""

from __future__ import annotations

import json
from pathlib import Path

from targets_for_tests import SlowLoadTarget, write_spec

from harness.engine.run import run
from harness.engine.startup import ready_targets
from harness.workers.worker import shutdown_all

SLOW_A = "tests.targets_for_tests:SlowLoadTarget"
SLOW_B = "tests.targets_for_tests:OtherSlowLoadTarget"
UNAVAILABLE = "tests.targets_for_tests:UnavailableTarget"


def _spans(meta: dict[str, object], names: list[str]) -> list[tuple[float, float]]:
    targets = meta["targets"]
    assert isinstance(targets, dict)
    return [(targets[n]["environment"]["load_start"], targets[n]["environment"]["load_end"]) for n in names]


def test_a_run_loads_the_targets_of_two_frameworks_at_the_same_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = run(
        spec_paths=[write_spec(tmp_path)],
        target_names=[SLOW_A, SLOW_B],
        profile="ci",
        device="cpu",
        out_dir=out,
        progress=False,
        store=None,
        case_timeout=60,
    )
    assert not report.unavailable and not report.failed
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (a_start, a_end), (b_start, b_end) = _spans(meta, [SLOW_A, SLOW_B])
    assert a_end - a_start >= SlowLoadTarget.LOAD_SECONDS
    # one after the other, the second load would start only after the first ended
    assert b_start < a_end and a_start < b_end


def test_ready_targets_keeps_the_order_given_and_says_why_a_target_cannot_run() -> None:
    try:
        ready = ready_targets([SLOW_B, UNAVAILABLE, SLOW_A], "cpu", isolate=True)
        assert list(ready) == [SLOW_B, UNAVAILABLE, SLOW_A]
        assert ready[UNAVAILABLE] == "test.unavailable needs an accelerator this machine lacks"
        for name in (SLOW_A, SLOW_B):
            target = ready[name]
            assert not isinstance(target, str)
            assert target.runner.environment()["load_start"] > 0  # prepared in its worker
        assert ready_targets([SLOW_A], "cuda", isolate=True) == {
            SLOW_A: f"{SLOW_A} does not run on device 'cuda'"
        }
    finally:
        shutdown_all()
