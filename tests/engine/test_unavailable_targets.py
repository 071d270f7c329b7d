"""A target whose ``prepare()`` raises TargetUnavailable where it is loaded (onnxruntime on ``cuda``
without a CUDA provider) is unavailable for the run, with its reason, like a missing framework:
no error results and no finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from targets_for_tests import write_spec

from harness.engine.run import run
from harness.engine.tally import summary_text

UNAVAILABLE = "tests.targets_for_tests:UnavailableTarget"
REASON = "test.unavailable needs an accelerator this machine lacks"


@pytest.mark.parametrize("isolate", [True, False], ids=["in its worker", "in process"])
def test_a_target_that_refuses_to_load_is_unavailable_not_a_finding(tmp_path: Path, isolate: bool) -> None:
    out = tmp_path / "out"
    report = run(
        spec_paths=[write_spec(tmp_path)],
        target_names=[UNAVAILABLE],
        profile="ci",
        device="cpu",
        out_dir=out,
        progress=False,
        store=None,
        isolate=isolate,
        case_timeout=60,
    )
    assert report.unavailable == {UNAVAILABLE: REASON}
    assert not report.failed and not report.findings and not report.counts
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["targets"][UNAVAILABLE] == {"available": False, "reason": REASON}
    assert (out / "results.jsonl").read_text(encoding="utf-8") == ""
    assert f"unavailable: {REASON}" in summary_text(report)
