"""A spec none of whose dtypes a target takes is not applicable to it: the run explores nothing of
the pair and writes no record, and run.json, the summary, summary.json and the report list it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from targets_for_tests import write_spec

from adapters.registry import resolve
from harness.engine.pairing import not_applicable, spec_dtypes
from harness.engine.run import run
from harness.engine.tally import summary_text
from harness.report.html import render_html
from harness.report.model import load_report
from harness.report.summary import summary
from harness.spec.loader import load_spec

REPO = Path(__file__).resolve().parents[2]
INT8_1D = REPO / "specs" / "int8" / "conv_transpose_int8_1d.yaml"
FLOAT_2D = REPO / "specs" / "conv_transpose2d.yaml"
SYMMETRIC_2D = REPO / "specs" / "int8" / "conv_transpose_int8_symmetric_2d.yaml"
CORRECT = "tests.targets_for_tests:CorrectTarget"
QUANTIZED = [f"torch.quantized.{e}" for e in ("fbgemm", "x86", "qnnpack", "onednn")]


@pytest.mark.parametrize("name", QUANTIZED)
def test_a_float_spec_is_not_applicable_to_an_int8_only_target(name: str) -> None:
    api = resolve(name)("cpu")
    reason = not_applicable(api, load_spec(FLOAT_2D))
    assert reason is not None and f"{name} takes int8" in reason
    assert not_applicable(api, load_spec(INT8_1D)) is None


@pytest.mark.parametrize("name", ["torch.nn", "torch.functional", "onnxruntime"])
def test_an_int8_spec_is_not_applicable_to_a_float_target(name: str) -> None:
    api = resolve(name)("cpu")
    reason = not_applicable(api, load_spec(INT8_1D))
    assert reason is not None and reason.endswith("the spec's cases are int8")
    assert not_applicable(api, load_spec(FLOAT_2D)) is None


@pytest.mark.parametrize("name", QUANTIZED)
def test_an_int8_spec_of_int8_inputs_is_not_applicable_to_a_uint8_input_target(name: str) -> None:
    """TensorRT's symmetric spec (int8 inputs) on torch's quantized module (quint8 inputs): a ci run
    drew its 100 cases per engine, every one refused for the input dtype."""
    reason = not_applicable(resolve(name)("cpu"), load_spec(SYMMETRIC_2D))
    assert reason == (f"{name} takes a uint8 quantized input; the spec's int8 cases have int8 inputs")
    assert not_applicable(resolve("onnxruntime.qdq")("cpu"), load_spec(SYMMETRIC_2D)) is None


def test_one_shared_dtype_makes_a_pair_applicable(tmp_path: Path) -> None:
    # the test target takes float32 and float64; this spec draws float16 and float64
    text = write_spec(tmp_path).read_text(encoding="utf-8").replace("[float64]", "[float16, float64]")
    path = tmp_path / "mixed.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_spec(path)
    assert spec_dtypes(spec) == {"float16", "float64"}
    assert not_applicable(resolve(CORRECT)("cpu"), spec) is None


def test_a_run_skips_an_inapplicable_pair_and_lists_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = run(
        spec_paths=[write_spec(tmp_path), INT8_1D],
        target_names=[CORRECT],
        profile="dev",
        device="cpu",
        out_dir=out,
        progress=False,
        store=None,
        isolate=False,
        seed=3,
    )
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records and {r["spec"] for r in records} == {"three_bugs_small"}
    reason = "test.correct takes float32, float64 on cpu; the spec's cases are int8"
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["targets"][CORRECT]["not_applicable"] == {"conv_transpose_int8_1d": reason}
    assert report.not_applicable == {(CORRECT, "conv_transpose_int8_1d"): reason}
    assert not report.vacuous()  # not "judged no case": the pair was never explored
    text = summary_text(report)
    assert f"{CORRECT} × conv_transpose_int8_1d: {reason}" in text
    full = load_report([out])
    # the report names a target as its records do
    assert summary(full)["targets"]["test.correct"]["not_applicable"] == {"conv_transpose_int8_1d": reason}
    assert full.coverage()["test.correct"]["not_applicable"] == ["conv_transpose_int8_1d"]
    assert "not applicable: conv_transpose_int8_1d" in render_html(full)
