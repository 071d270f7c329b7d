"""The port: calls are read without being evaluated, bound like Python binds them, translated into
the canonical case; every emitted call reads back as the same case; emitted calls are verified in the
targets' workers, and a target that computes something else is not verified.

Expected sizes come from the documented formulas (the PyTorch ConvTranspose2d page, docs/sources.md),
written out here, not from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from frameworks import needs
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import reading
from adapters.call_text import parse_call
from adapters.mindspore.nn import MindSporeNN
from adapters.paddle.functional import PaddleFunctional
from adapters.paddle.nn import PaddleNN
from adapters.protocol import Target
from adapters.reading import Api, Shapes, Translation
from adapters.registry import readable_apis
from adapters.torch.functional import TorchFunctional
from adapters.torch.nn import TorchNN, TorchNNOutputSize
from harness.audits.port import port
from harness.cli.port import add_port_parser
from harness.errors import PortError
from harness.model.case import Case
from harness.spec.loader import load_default_float_specs
from harness.spec.strategies import cases
from harness.workers.worker import SETTINGS, configure, shutdown_all


def translate(text: str, shapes: Shapes | None = None) -> Translation:
    """The call read with every API the registered targets declare (as ``port`` reads it)."""
    return reading.translate(text, readable_apis(), shapes)


def find_api(function: str) -> Api:
    """The API a function name names, among every registered target's."""
    return reading.find_api(function, readable_apis())


#: Fields an emitted call must reproduce (crops are compared as begin crop and output size: the
#: canonical case of an output is not unique in (pads_end, output_padding)).
GEOMETRY = (
    "rank",
    "batch",
    "in_channels",
    "out_channels",
    "groups",
    "input_size",
    "kernel_size",
    "stride",
    "dilation",
    "bias",
    "padding_mode",
)


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


def torch_size(n: int, k: int, s: int, p: int, d: int = 1, op: int = 0) -> int:
    """The ConvTranspose2d page:
    H_out = (H_in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


# --- parsing -------------------------------------------------------------------------------------


def test_the_call_is_parsed_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    for text in (
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        f"torch.nn.ConvTranspose2d(__import__('pathlib').Path({str(marker)!r}).touch(), 2, 3)",
        "torch.nn.ConvTranspose2d(*args)",
        "torch.nn.ConvTranspose2d(**kw)",
        "1 +",
        "x = 3",
    ):
        with pytest.raises(PortError):
            translate(text, Shapes(input_shape=(1, 1, 4, 4)))
    assert not marker.exists()


@pytest.mark.parametrize("function", ["torch.nn.ConvTranspose2d", "nn.ConvTranspose2d", "ConvTranspose2d"])
def test_torch_aliases_name_the_same_api(function: str) -> None:
    assert find_api(function).name == "torch.nn.ConvTranspose2d"


@pytest.mark.parametrize(
    ("function", "name"),
    [
        ("F.conv_transpose3d", "torch.nn.functional.conv_transpose3d"),
        ("paddle.nn.Conv1DTranspose", "paddle.nn.Conv1DTranspose"),
        ("F.conv2d_transpose", "paddle.nn.functional.conv2d_transpose"),
        ("ms.nn.Conv3dTranspose", "mindspore.nn.Conv3dTranspose"),
        ("mindspore.nn.Conv1dTranspose", "mindspore.nn.Conv1dTranspose"),
    ],
)
def test_each_framework_is_recognised_by_its_name(function: str, name: str) -> None:
    assert find_api(function).name == name


def test_unknown_and_misprefixed_functions_are_refused() -> None:
    with pytest.raises(PortError, match="not a transposed convolution"):
        find_api("tf.nn.conv2d")
    with pytest.raises(PortError, match=r"torch\.nn\.ConvTranspose2d"):
        find_api("paddle.nn.ConvTranspose2d")


def test_forward_call_and_assignment_are_read() -> None:
    parsed = parse_call("m = nn.ConvTranspose2d(16, 16, 3, stride=2)(h, output_size=[12, 12])")
    assert parsed.function == "nn.ConvTranspose2d" and parsed.args == (16, 16, 3)
    assert dict(parsed.forward_kwargs) == {"output_size": [12, 12]}


# --- translation ---------------------------------------------------------------------------------


def test_seed_003_example() -> None:
    tr = translate(
        "torch.nn.ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2))",
        Shapes(input_shape=(20, 16, 50, 100)),
    )
    assert tr.source_target == "torch.nn"
    assert tr.case.output_shape == (20, 33, torch_size(50, 3, 2, 4), torch_size(100, 5, 1, 2))


def test_positional_and_keyword_arguments_bind_alike() -> None:
    shapes = Shapes(input_shape=(1, 4, 7))
    positional = translate("nn.ConvTranspose1d(4, 6, 3, 2, 1, 1, 2, False, 2)", shapes).case
    keywords = translate(
        "torch.nn.ConvTranspose1d(in_channels=4, out_channels=6, kernel_size=(3,), "
        "stride=2, padding=1, output_padding=1, groups=2, bias=False, dilation=(2,))",
        shapes,
    ).case
    assert positional == keywords
    assert (positional.groups, positional.dilation, positional.bias) == (2, (2,), False)
    assert positional.output_size == (torch_size(7, 3, 2, 1, d=2, op=1),)


def test_paddle_positional_order_differs_between_ranks() -> None:
    one = translate("paddle.nn.Conv1DTranspose(2, 4, 3, 1, 0, 0, 2, 3)", Shapes(input_shape=(1, 2, 5))).case
    two = translate(
        "paddle.nn.Conv2DTranspose(2, 4, 3, 1, 0, 0, 3, 2)", Shapes(input_shape=(1, 2, 5, 5))
    ).case
    assert (one.groups, one.dilation) == (2, (3,))
    assert (two.groups, two.dilation) == (2, (3, 3))


@pytest.mark.parametrize("padding", ["[1, 2, 0, 3]", "[[0, 0], [0, 0], [1, 2], [0, 3]]"])
def test_paddle_pair_forms_give_begin_and_end(padding: str) -> None:
    case = translate(
        f"paddle.nn.Conv2DTranspose(2, 3, 3, padding={padding})", Shapes(input_shape=(1, 2, 5, 5))
    ).case
    assert (case.pads_begin, case.pads_end) == ((1, 0), (2, 3))


def test_paddle_channels_last_reads_the_shape_in_its_order() -> None:
    nhwc = translate(
        "paddle.nn.Conv2DTranspose(2, 3, 3, padding=[[0, 0], [1, 2], [0, 3], [0, 0]], data_format='NHWC')",
        Shapes(input_shape=(1, 5, 6, 2)),
    ).case
    assert nhwc.layout == "channels_last" and nhwc.input_size == (5, 6) and nhwc.in_channels == 2
    assert (nhwc.pads_begin, nhwc.pads_end) == ((1, 0), (2, 3))


def test_mindspore_defaults_differ_from_torch() -> None:
    tr = translate("ms.nn.Conv2dTranspose(3, 64, 4)", Shapes(input_shape=(1, 3, 16, 50)))
    assert tr.case.padding_mode == "same" and tr.case.bias is False
    assert any("default 'same'" in note for note in tr.notes)
    padded = translate(
        "mindspore.nn.Conv2dTranspose(3, 64, 4, pad_mode='pad', padding=(1, 2, 0, 3))",
        Shapes(input_shape=(1, 3, 16, 50)),
    ).case
    assert (padded.pads_begin, padded.pads_end) == ((1, 0), (2, 3))  # (top, bottom, left, right)


def test_functional_reads_channels_and_kernel_from_the_weight() -> None:
    case = translate(
        "F.conv_transpose2d(torch.randn(2, 4, 5, 6), torch.randn(4, 3, 2, 5), groups=2, padding=1)", Shapes()
    ).case
    assert (case.batch, case.in_channels, case.out_channels, case.kernel_size) == (2, 4, 6, (2, 5))
    assert case.bias is False
    with pytest.raises(PortError, match="--weight-shape"):
        translate("F.conv_transpose2d(x, w)", Shapes(input_shape=(1, 4, 5, 5)))


def test_output_size_becomes_output_padding_within_the_range() -> None:
    shapes = Shapes(input_shape=(1, 16, 6, 6))
    smallest = torch_size(6, 3, 2, 1)
    tr = translate(
        f"nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)(h, output_size=[{smallest + 1}, "
        f"{smallest + 1}])",
        shapes,
    )
    assert tr.source_target == "torch.nn.output_size" and tr.case.output_padding == (1, 1)
    with pytest.raises(PortError, match="outside"):
        translate(
            "nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)",
            Shapes(input_shape=(1, 16, 6, 6), output_size=(smallest + 2, smallest)),
        )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("torch.nn.ConvTranspose2d(16, 33, 3, padding_mode='reflect')", "zeros"),
        ("torch.nn.ConvTranspose2d(8, 33, 3)", "channels"),
        ("torch.nn.ConvTranspose2d(16, 33, 3, foo=1)", "no parameter 'foo'"),
        ("torch.nn.ConvTranspose2d(16, 33, 3, stride=(1, 2, 3))", "2 ints"),
        ("ms.nn.Conv2dTranspose(16, 33, 3, pad_mode='SAME')", "lower case"),
        ("ms.nn.Conv2dTranspose(16, 33, 3, padding=1)", "pad_mode='pad'"),
        ("paddle.nn.Conv2DTranspose(16, 33, 3, padding='FULL')", "'SAME' or 'VALID'"),
        ("torch.nn.ConvTranspose2d(16, 32, 3, groups=3)", "divisible"),
    ],
)
def test_calls_the_api_refuses_are_reported(text: str, match: str) -> None:
    with pytest.raises(PortError, match=match):
        translate(text, Shapes(input_shape=(1, 16, 5, 5)))


# --- emission reads back as the same case ----------------------------------------------------------

EMITTERS: list[Target] = [
    TorchNN(),
    TorchNNOutputSize(),
    TorchFunctional(),
    PaddleNN(),
    PaddleFunctional(),
    MindSporeNN(),
]


def _input_shape(case: Case, target: Target) -> tuple[int, ...]:
    """The shape of x as the call takes it (Paddle reads its data_format; torch is always NC*)."""
    if case.layout == "channels_last" and target.framework == "paddle":
        return (case.batch, *case.input_size, case.in_channels)
    return case.input_shape


def _drawn_cases() -> st.SearchStrategy[Case]:
    return st.one_of(*(cases(spec) for spec in load_default_float_specs()))


@settings(max_examples=150, deadline=None)
@given(case=_drawn_cases(), which=st.integers(0, len(EMITTERS) - 1))
def test_every_emitted_call_reads_back_as_the_same_case(case: Case, which: int) -> None:
    target = EMITTERS[which]
    case = case.replace(dtype="float32")
    if target.supports(case) is not None:
        return
    call = target.equivalent_call(case)  # type: ignore[attr-defined]
    shapes = Shapes(input_shape=_input_shape(case, target), weight_shape=case.weight_shape)
    back = translate(call, shapes).case
    for name in GEOMETRY:
        assert getattr(back, name) == getattr(case, name), (name, call)
    if case.padding_mode == "explicit":
        assert back.pads_begin == case.pads_begin and back.output_size == case.output_size, call
    if target.framework == "paddle":  # torch's layout is a memory format, not part of the call
        assert back.layout == case.layout, call


# --- verification in the workers -------------------------------------------------------------------


@needs("torch", "paddle", "mindspore", "onnxruntime")
def test_port_verifies_in_every_framework(worker_logs: Any) -> None:
    names = ["torch.functional", "paddle.nn", "mindspore.nn", "onnxruntime", "tensorrt"]
    result = port(
        "torch.nn.ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2))",
        Shapes(input_shape=(2, 16, 10, 12)),
        names,
    )
    expected = [2, 33, torch_size(10, 3, 2, 4), torch_size(12, 5, 1, 2)]
    assert result["source"]["verified"] is True
    assert [t["target"] for t in result["targets"]] == names
    by_name = {t["target"]: t for t in result["targets"]}
    for name in names[:-1]:
        assert by_name[name]["verified"] is True, by_name[name]
        assert by_name[name]["output_shape"] == expected
        assert by_name[name]["stats"]["error_ratio"] <= 1.0
    trt = by_name["tensorrt"]
    assert trt["verified"] is False and trt["not_run"] and "add_deconvolution_nd" in trt["call"]
    assert list(trt["attributes"]["pre_padding"]) == list(trt["attributes"]["post_padding"]) == [4, 2]


@needs("mindspore", "paddle", "onnxruntime")
def test_a_named_mode_is_pinned_to_what_the_source_does(worker_logs: Any) -> None:
    result = port(
        "nn.Conv3dTranspose(2, 3, 3, stride=2)",
        Shapes(input_shape=(1, 2, 3, 4, 2)),
        ["onnxruntime", "paddle.nn"],
    )
    assert result["source_mode"] == "same" and result["basis"] == "run"
    source = result["source"]
    pinned = Case.from_dict(result["case"])
    assert source["output_shape"] == list(pinned.output_shape)
    departs = source["documented_output_size"] != source["output_shape"][2:]
    assert departs == any("departs from its documentation" in n for n in result["notes"])
    assert all(t["verified"] for t in result["targets"]), result["targets"]


def test_a_wrong_target_is_not_verified(worker_logs: Any) -> None:
    result = port(
        "torch.nn.ConvTranspose1d(4, 4, 3, groups=2, dilation=2)",
        Shapes(input_shape=(1, 4, 6)),
        ["tests.targets_for_tests:CorrectTarget", "tests.targets_for_tests:ThreeBugTarget"],
    )
    correct, buggy = result["targets"]
    assert correct["verified"] is True
    assert buggy["verified"] is False and buggy["outcome"] in ("value_mismatch", "shape_mismatch")


def test_cli_json_has_one_entry_per_target(
    worker_logs: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_port_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "port",
            "F.conv_transpose1d(x, w, None, 2)",
            "--input-shape",
            "1,2,5",
            "--weight-shape",
            "2,3,4",
            "--to",
            "torch.nn,onnxruntime,mindspore.ops",
            "--json",
            "--out",
            str(tmp_path),
        ]
    )
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [t["target"] for t in printed["targets"]] == ["torch.nn", "onnxruntime", "mindspore.ops"]
    assert printed["targets"][2]["call"] is None and "1-D" in printed["targets"][2]["reason"]
    saved = json.loads((tmp_path / "port.json").read_text())
    assert saved["ports"][0]["call"] == printed["call"]
    bad = parser.parse_args(["port", "F.conv_transpose1d(x, w)", "--input-shape", "1,2,5"])
    assert bad.func(bad) == 2
