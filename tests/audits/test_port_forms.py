"""``port`` beyond the direct call: other forms of the same case where a target diverges, the weight
layout and the defaults each call names, idiomatic calls, one reference per port and workers that
start together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from frameworks import needs

from adapters.mindspore.nn import MindSporeNN
from adapters.onnxruntime.targets import OnnxRuntime
from adapters.paddle.nn import PaddleNN
from adapters.reading import Shapes
from adapters.torch.functional import TorchFunctional
from adapters.torch.nn import TorchNN
from harness.audits.common import LoadedTarget, load_targets
from harness.audits.port import port
from harness.audits.port_forms import MAX_FORMS, crop_splits, forms
from harness.audits.port_text import differing_defaults, failed, text_report
from harness.audits.port_verify import output_key, start_workers
from harness.model.case import Case
from harness.workers.worker import SETTINGS, configure, shutdown_all

ZEROED = "tests.port_targets:ZeroedOutputPadding"
RAISES = "tests.port_targets:RaisesOnOutputPadding"
GROUPS = "tests.port_targets:WrongWithGroups"
#: The up-sampling layer of issue 18: ConvTranspose2d(C, C, 3, stride=2, padding=1, output_padding=1).
UPSAMPLE = "torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1)"


@pytest.fixture
def worker_logs(tmp_path: Path) -> Any:
    """Worker logs of the test's own; every worker stopped afterwards."""
    saved = SETTINGS.log_dir
    configure(log_dir=tmp_path / "logs")
    try:
        yield
    finally:
        shutdown_all()
        SETTINGS.log_dir = saved


def _case(**kw: Any) -> Case:
    base: dict[str, Any] = {"input_size": (5, 4), "in_channels": 2, "out_channels": 2, "stride": 2}
    return Case.make(**{**base, **kw})


def _by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["target"]: t for t in result["targets"]}


# --- the forms, without running anything -----------------------------------------------------------


def test_crop_splits_keep_the_output_and_come_fewest_output_padding_first() -> None:
    case = _case(pads_begin=1, pads_end=1, output_padding=1, dilation=(1, 3))
    splits = crop_splits(case)
    assert splits and case not in splits
    assert all(output_key(s) == output_key(case) for s in splits)
    assert splits[0].output_padding == (0, 0) and splits[0].pads_end == (0, 0)
    totals = [sum(s.output_padding) for s in splits]
    assert totals == sorted(totals)
    assert all(
        op < max(s, d)
        for c in splits
        for op, s, d in zip(c.output_padding, c.stride, c.dilation, strict=True)
    )


def test_every_form_is_the_same_case_and_the_list_is_bounded_and_repeatable() -> None:
    case = _case(pads_begin=1, pads_end=1, output_padding=1)
    pure = MindSporeNN()
    loaded = LoadedTarget("mindspore.nn", None, "not run in this test", pure)
    direct = pure.equivalent_call(case)

    def listed() -> list[Any]:
        return list(forms(loaded, case, direct, lambda name: load_targets([name])[0]))

    first = listed()
    assert [f.call for f in first] == [f.call for f in listed()]
    assert len({f.call for f in first}) == len(first) and direct not in {f.call for f in first}
    kinds = [f.kind for f in first]
    assert kinds[0] == "crops" and "slice" in kinds
    for form in first:
        if form.transform is None:
            assert output_key(form.run_case) == output_key(case), form
        else:  # the uncropped case, sliced back to the case's output
            assert form.run_case.pads_begin == (0, 0) and "y[:, :, 1:11, 1:9]" in form.call
    assert first[0].call.count("output_padding") == 0 and "padding=(1, 0, 1, 0)" in first[0].call


# --- a diverging target gets the form that works ---------------------------------------------------


def test_zeroed_output_padding_gets_the_form_without_it(worker_logs: Any) -> None:
    call = "torch.nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1)"
    result = port(call, Shapes(input_shape=(1, 2, 5, 4)), [ZEROED, "tests.targets_for_tests:CorrectTarget"])
    zeroed, correct = result["targets"]
    assert zeroed["verified"] is False and zeroed["outcome"] == "value_mismatch"
    found = zeroed["alternative"]["found"]
    assert found["verified"] is True and found["kind"] == "crops"
    assert found["call"] == "ref(begin=[1, 1], end=[0, 0], output_padding=[0, 0])"
    assert found["output_shape"] == zeroed["expected_shape"]
    assert "value_mismatch" in zeroed["alternative"]["works_around"]
    assert correct["verified"] is True and "alternative" not in correct
    assert not failed(result)  # a working call exists for every target
    text = text_report(result)
    assert "works instead: ref(begin=[1, 1], end=[0, 0], output_padding=[0, 0])" in text
    assert result["references_computed"] == 1  # source, both targets and every form tried


def test_a_target_that_raises_is_shown_as_having_no_working_call(worker_logs: Any) -> None:
    result = port(UPSAMPLE, Shapes(input_shape=(1, 4, 5, 5)), [RAISES])
    (entry,) = result["targets"]
    assert entry["outcome"] == "error"
    found = entry["alternative"]["found"]
    assert found is not None and found["verified"] and found["call"].endswith("output_padding=[0, 0])")
    text = text_report(result)
    assert f"no working call in {RAISES}: {RAISES} raises on the direct call: " in text
    assert "output_padding is not implemented in this kernel (finding), closest alternative: " in text
    assert "FAILED" not in text and not failed(result)


def test_no_form_is_offered_when_none_computes_the_case(worker_logs: Any) -> None:
    call = "torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=2)"
    result = port(call, Shapes(input_shape=(1, 4, 5, 5)), [GROUPS])
    (entry,) = result["targets"]
    alternative = entry["alternative"]
    assert alternative["found"] is None and 1 <= len(alternative["tried"]) <= MAX_FORMS
    assert all(
        not t["verified"] and t["expected_shape"] == entry["expected_shape"] for t in alternative["tried"]
    )
    assert failed(result)
    assert f"no other form verifies ({len(alternative['tried'])} tried)" in text_report(result)


@needs("torch", "mindspore")
def test_mindspore_nn_output_padding_gets_asymmetric_padding(worker_logs: Any) -> None:
    # The finding of issue 18: mindspore.nn with output_padding leaves the appended positions zero.
    result = port(UPSAMPLE, Shapes(input_shape=(1, 4, 5, 5)), ["mindspore.nn"])
    (entry,) = result["targets"]
    assert entry["verified"] is False and entry["outcome"] == "value_mismatch"
    found = entry["alternative"]["found"]
    assert found["verified"] is True and found["target"] == "mindspore.nn"
    assert "padding=(1, 0, 1, 0)" in found["call"] and "output_padding" not in found["call"]
    assert found["stats"]["error_ratio"] <= 1.0
    assert not failed(result)


# --- weight layout, defaults, idiomatic calls ------------------------------------------------------


def test_defaults_that_differ_are_named_and_equal_ones_are_not() -> None:
    to_mindspore = differing_defaults(TorchNN(), MindSporeNN())
    assert [line.split(":")[0] for line in to_mindspore] == ["bias", "padding"]
    assert "has_bias=False" in to_mindspore[0] and "pad_mode='same'" in to_mindspore[1]
    assert differing_defaults(TorchNN(), PaddleNN()) == []
    assert [line.split(":")[0] for line in differing_defaults(TorchNN(), TorchFunctional())] == ["bias"]
    assert [line.split(":")[0] for line in differing_defaults(TorchNN(), OnnxRuntime())] == ["bias"]


def test_weight_layout_is_canonical_except_mindspore_1d() -> None:
    two_d, one_d = _case(), Case.make(input_size=5, stride=2)
    for target in (TorchNN(), PaddleNN(), OnnxRuntime(), MindSporeNN()):
        assert target.weight_layout(two_d)[0] == "(C_in, C_out/groups, k…)"
    assert MindSporeNN().weight_layout(one_d)[0] == "(C_in, C_out/groups, 1, k)"
    assert TorchNN().weight_layout(one_d)[0] == "(C_in, C_out/groups, k…)"


def test_calls_are_written_with_scalars_where_every_dimension_agrees() -> None:
    equal = Case.make(
        input_size=(5, 5), in_channels=4, out_channels=4, stride=2, pads_begin=1, pads_end=1, output_padding=1
    )
    assert TorchNN().equivalent_call(equal) == UPSAMPLE
    assert "conv_transpose2d(x, weight, bias, stride=2, padding=1, output_padding=1)" in (
        TorchFunctional().equivalent_call(equal)
    )
    assert PaddleNN().equivalent_call(equal) == (
        "paddle.nn.Conv2DTranspose(4, 4, 3, stride=2, padding=1, output_padding=1)"
    )
    assert "kernel_size=3, stride=2," in MindSporeNN().equivalent_call(equal)
    uneven = equal.replace(stride=(2, 1), output_padding=(1, 0))
    assert "stride=(2, 1)" in TorchNN().equivalent_call(uneven)


# --- speed: structure, not time --------------------------------------------------------------------


@needs("onnxruntime")
def test_every_worker_is_sent_its_load_before_any_waits(worker_logs: Any) -> None:
    loaded = load_targets(["tests.targets_for_tests:CorrectTarget", "onnxruntime"])
    start_workers(loaded)
    for entry in loaded:
        assert entry.target is not None
        worker = entry.target.runner.worker  # type: ignore[attr-defined]
        assert worker.alive and len(worker.preloading) == 1  # sent, its reply not yet read
    for entry in loaded:
        assert entry.target is not None
        entry.target.runner.prepare()
        assert not entry.target.runner.worker.preloading  # type: ignore[attr-defined]
