"""The main process's memory limit, and the caps at the verdict: a case that would not fit is
recorded as ``unsupported`` (detail ``memory_limit`` or ``harness_limit``) before anything is
allocated for it, and its target never runs it; the estimate bounds what judging allocates."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from targets_for_tests import CorrectTarget

from harness.cli.main import main
from harness.engine.run import run
from harness.engine.verdict import HARNESS_LIMIT, MEMORY_LIMIT, judge
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.oracle import reference
from harness.oracle.memory import MAIN_MEMORY, judging_bytes, memory_problem
from harness.process import resident_mb

SPEC = """\
name: tiny
rank: 1
max_elements: 64
batch: 1
channels: {groups: 1, in_per_group: 1, out_per_group: 1}
input_size: {min: 1, max: 4}
kernel_size: {min: 1, max: 2}
dtypes: [float64]
layouts: [channels_first]
"""


class Counting(CorrectTarget):
    """The reference, counting the cases it was asked to run."""

    name = "test.counting"

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        self.runs = 0

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Count, then compute faithfully."""
        self.runs += 1
        return super().run(case, arrays)


class Zeros(CorrectTarget):
    """Zeros of the right shape: a value mismatch, so judging also keeps the pictures' arrays."""

    name = "test.zeros"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Zeros in float32."""
        return np.zeros(case.output_shape, dtype=np.float32)


@pytest.fixture
def keep_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restore the main process's limit after the test (runs and tests set it)."""
    monkeypatch.setattr(MAIN_MEMORY, "limit_mb", MAIN_MEMORY.limit_mb)


def test_a_case_past_the_main_memory_limit_is_unsupported_and_not_run(keep_limit: None) -> None:
    MAIN_MEMORY.limit_mb = int(resident_mb()) + 64
    target = Counting()
    small = judge(Case.make(input_size=4, dtype="float64"), target)
    assert small.outcome == Outcome.PASS
    big = Case.make(rank=2, batch=4, in_channels=8, out_channels=8, input_size=128, dtype="float64")
    assert judging_bytes(big) > 64 * 2**20
    verdict = judge(big, target)
    assert (verdict.outcome, verdict.detail) == (Outcome.UNSUPPORTED, MEMORY_LIMIT)
    assert f"over its limit of {MAIN_MEMORY.limit_mb} MiB (--memory-mb)" in verdict.message
    assert verdict.expected_shape == list(big.output_shape)
    assert target.runs == 1
    MAIN_MEMORY.limit_mb = 1 << 40
    assert memory_problem(big) is None


def test_the_current_size_is_read_only_when_the_peak_would_not_fit(
    keep_limit: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.oracle.memory as memory

    reads: list[float] = []
    held = {"mb": 0.0}

    def current() -> float:
        reads.append(held["mb"])
        return held["mb"]

    monkeypatch.setattr(memory, "resident_mb", current)
    case = Case.make(input_size=4, dtype="float64")
    need = judging_bytes(case) / 2**20
    peak = memory.peak_resident_mb()
    assert peak >= resident_mb() - 1  # the peak is never below the current size (MiB rounding aside)
    MAIN_MEMORY.limit_mb = int(peak + need) + 1
    assert memory_problem(case) is None and reads == []  # settled by the peak
    MAIN_MEMORY.limit_mb = int(peak + need) - 1
    assert memory_problem(case) is None and len(reads) == 1  # the current size (0 here) fits
    held["mb"] = float(MAIN_MEMORY.limit_mb)
    problem = memory_problem(case)
    assert problem is not None and f"over its limit of {MAIN_MEMORY.limit_mb} MiB" in problem


def test_a_case_over_a_reference_cap_is_unsupported_without_running_or_allocating() -> None:
    target = Counting()
    case = Case.make(input_size=2**14, kernel_size=2**14)  # about 18 GiB of scratch
    tracemalloc.start()
    start = time.perf_counter()
    try:
        verdict = judge(case, target)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 2**20
    assert (verdict.outcome, verdict.detail) == (Outcome.UNSUPPORTED, HARNESS_LIMIT)
    assert verdict.message.startswith("the harness does not judge this case: the reference would need")
    assert verdict.message.endswith("(rule max_reference_scratch)")
    assert target.runs == 0


@pytest.mark.parametrize("distribution", ["normal", "special"])
@pytest.mark.parametrize(
    "shape",
    [
        {"rank": 2, "batch": 4, "in_channels": 8, "out_channels": 8, "input_size": 48, "stride": 2},
        {"rank": 2, "in_channels": 64, "out_channels": 2, "input_size": 48},
        {"rank": 1, "batch": 2, "in_channels": 2, "out_channels": 32, "input_size": 2048, "stride": 3},
    ],
)
def test_the_estimate_bounds_what_judging_allocates(distribution: str, shape: dict[str, int]) -> None:
    case = Case.make(distribution=distribution, kernel_size=3, **shape)
    reference.release_scratch()
    tracemalloc.start()
    try:
        verdict = judge(case, Zeros())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        reference.release_scratch()
    assert verdict.outcome == Outcome.VALUE_MISMATCH  # the pictures' arrays are held as well
    assert peak <= judging_bytes(case)


def test_a_run_under_a_tiny_memory_limit_records_every_case_unsupported(
    tmp_path: Path, keep_limit: None
) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    report = run(
        spec_paths=[spec],
        target_names=["tests.targets_for_tests:CorrectTarget"],
        profile="dev",
        device="cpu",
        out_dir=tmp_path / "out",
        progress=False,
        store=None,
        isolate=False,
        main_memory_mb=1,
    )
    meta = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert meta["main_memory_mb"] == 1
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert records and {(r["outcome"], r["detail"]) for r in records} == {(Outcome.UNSUPPORTED, MEMORY_LIMIT)}
    assert not report.failed
    assert [(t, s) for t, s, _, _ in report.vacuous()] == [("test.correct", "tiny")]


def test_resume_takes_no_memory_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--resume", str(tmp_path), "--memory-mb", "100"]) == 2
    assert "got --memory-mb" in capsys.readouterr().err
