"""``port-model``: every transposed convolution of a model, read from an ONNX file or a PyTorch
module, ported to each target and verified with the model's own weights.

The models are built here (:mod:`model_zoo`). Expected output sizes come from the documented
formula ``(L−1)·s − 2·p + k + output_padding`` (the PyTorch ConvTranspose pages, the ONNX
ConvTranspose page), written out here; the weights' digests are computed here with ``hashlib``
from the arrays written into the files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from frameworks import needs

from harness.cli.main import main
from tests.audits import model_zoo as zoo

#: Targets that run on this machine's CPU (each of the three frameworks' module APIs and ONNX's).
RUNNABLE = "torch.nn,torch.functional,paddle.nn,mindspore.nn,onnxruntime,onnxruntime.output_shape"
FRAMEWORKS = ("torch", "paddle", "mindspore", "onnxruntime", "onnx")


def sha(array: np.ndarray) -> str:
    """The digest port-model records, computed independently."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def expected_size(spec: zoo.Spec) -> list[int]:
    """The documented output shape of a layer."""
    r = spec.rank
    size = [
        (L - 1) * spec.stride - 2 * spec.padding + spec.kernel + spec.output_padding
        for L in spec.input_shape[2:]
    ]
    assert len(size) == r
    return [spec.input_shape[0], spec.out_channels, *size]


def run(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], str]:
    """``python -m harness port-model …`` with --json; (exit status, result, stdout+stderr)."""
    out = tmp_path / f"result{len(list(tmp_path.glob('result*')))}.json"
    code = main(["port-model", *args, "--json", str(out), "--case-timeout", "60"])
    captured = capsys.readouterr()
    result = json.loads(out.read_text()) if out.exists() else {}
    return code, result, captured.out + captured.err


def table(result: dict[str, Any]) -> list[list[tuple[str, bool, bool]]]:
    """Per layer, per target: (target, has a call, verified directly or by another form)."""
    rows = []
    for layer in result["layers"]:
        row = []
        for t in layer["targets"]:
            found = (t.get("alternative") or {}).get("found")
            row.append((t["target"], t.get("call") is not None, bool(t.get("verified") or found)))
        rows.append(row)
    return rows


@needs(*FRAMEWORKS)
def test_onnx_and_torch_models_verify_every_expressible_pair_with_their_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arrays = zoo.weights()
    model = zoo.onnx_file(tmp_path / "zoo.onnx", arrays)
    code, onnx_result, text = run([str(model), "--to", RUNNABLE], tmp_path, capsys)
    assert code == 0, text
    assert [layer["layer"] for layer in onnx_result["layers"]] == [s.name for s in zoo.LAYERS]
    for spec, layer in zip(zoo.LAYERS, onnx_result["layers"], strict=True):
        w, b = arrays[spec.name]
        assert layer["problem"] is None
        assert layer["weight_sha256"] == sha(w)
        assert layer["bias_sha256"] == (None if b is None else sha(b))
        assert layer["source"]["verified"] is True
        for t in layer["targets"]:
            if t["call"] is not None and not t.get("not_run"):
                assert t["verified"], (spec.name, t["target"], t.get("message"))
                assert t["output_shape"] == expected_size(spec)
    assert "mindspore.ops" not in text  # only the targets asked for
    state = zoo.state_dict_file(tmp_path / "zoo.pt", arrays)
    code, torch_result, text = run(
        ["tests.audits.model_zoo:zoo", "--state-dict", str(state), "--to", RUNNABLE, *zoo.shape_args(False)],
        tmp_path,
        capsys,
    )
    assert code == 0, text
    assert table(torch_result) == table(onnx_result)
    for a, b in zip(onnx_result["layers"], torch_result["layers"], strict=True):
        assert (a["weight_sha256"], a["bias_sha256"]) == (b["weight_sha256"], b["bias_sha256"])
        assert a["case"] == b["case"]
    assert "L6" in text and "depthwise" in text


@needs("onnx")
def test_the_weights_verified_are_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A target that computes with other weights (the seed's) fails; the faithful one passes."""
    model = zoo.onnx_file(tmp_path / "zoo.onnx", zoo.weights())
    targets = "tests.targets_for_tests:CorrectTarget,tests.audits.model_zoo:GeneratedWeights"
    code, result, text = run([str(model), "--to", targets, "--no-verify"], tmp_path, capsys)
    assert code == 0
    code, result, text = run([str(model), "--to", targets], tmp_path, capsys)
    assert code == 1, text
    for layer in result["layers"]:
        correct, generated = layer["targets"]
        assert correct["verified"] is True
        assert generated["verified"] is False and generated["outcome"] == "value_mismatch"


@needs("onnx", "torch")
def test_planted_weight_in_the_state_dict_is_the_one_ported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arrays = zoo.weights()
    planted = dict(arrays, unet_up=(np.full_like(arrays["unet_up"][0], 0.5), arrays["unet_up"][1]))
    state = zoo.state_dict_file(tmp_path / "planted.pt", planted)
    args = ["tests.audits.model_zoo:zoo", "--state-dict", str(state), *zoo.shape_args(False)]
    code, result, text = run([*args, "--to", "tests.targets_for_tests:CorrectTarget"], tmp_path, capsys)
    assert code == 0, text
    digests = {layer["layer"]: layer["weight_sha256"] for layer in result["layers"]}
    assert digests["unet_up"] == sha(planted["unet_up"][0]) != sha(arrays["unet_up"][0])
    assert digests["dcgan"] == sha(arrays["dcgan"][0])


@needs("onnx", "onnxruntime", "mindspore")
def test_a_divergent_layer_gets_the_form_that_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = (zoo.SUPER_RES,)
    model = zoo.onnx_file(tmp_path / "sr.onnx", zoo.weights(specs=specs), specs)
    code, result, text = run([str(model), "--to", "mindspore.nn,onnxruntime"], tmp_path, capsys)
    assert code == 0, text  # a divergence with a working alternative is reported, not failed
    (layer,) = result["layers"]
    ms, ort = layer["targets"]
    assert ms["verified"] is False and ms["outcome"] == "value_mismatch"
    found = ms["alternative"]["found"]
    assert found["verified"] and "output_padding" not in found["call"]
    assert ort["verified"] is True
    assert "alt" in text and "works around" in text


@needs("onnx")
def test_shapes_come_through_the_graph_and_a_symbolic_batch_is_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = zoo.generator_onnx(tmp_path / "gen.onnx")
    code, result, text = run([str(model), "--to", "tests.targets_for_tests:CorrectTarget"], tmp_path, capsys)
    assert code == 0, text
    first, second = result["layers"]
    assert first["case"]["input_size"] == [1, 1] and first["case"]["batch"] == 1
    assert any("symbolic" in n for n in first["notes"])
    assert second["case"]["input_size"] == [4, 4]  # 1 + 4 − 1: the first layer's output, inferred
    assert second["targets"][0]["output_shape"] == [1, 2, 8, 8]
    code, result, text = run(
        [str(model), "--input-shape", "z=3x8x1x1", "--to", "tests.targets_for_tests:CorrectTarget"],
        tmp_path,
        capsys,
    )
    assert code == 0 and result["layers"][1]["targets"][0]["output_shape"] == [3, 2, 8, 8]


@needs("onnx")
def test_unreadable_models_are_usage_errors_naming_the_file_and_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnx
    from onnx import TensorProto, helper

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    code, _, text = run([str(bad)], tmp_path, capsys)
    assert code == 2 and "bad.onnx" in text
    unknown = tmp_path / "unknown.onnx"
    graph = helper.make_graph(
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up1")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[helper.make_tensor("w", TensorProto.FLOAT, [4, 2, 2, 2], [0.5] * 32)],
    )
    onnx.save(helper.make_model(graph), str(unknown))
    code, _, text = run([str(unknown)], tmp_path, capsys)
    assert code == 2 and "'up1'" in text and "--input-shape x=" in text
    code, _, text = run([str(unknown), "--input-shape", "nope=1x4x3x3"], tmp_path, capsys)
    assert code == 2 and "'nope'" in text
    args = [str(unknown), "--input-shape", "x=1x4x3x3", "--to", "tests.targets_for_tests:CorrectTarget"]
    code, result, text = run(args, tmp_path, capsys)
    assert code == 0 and result["layers"][0]["targets"][0]["output_shape"] == [1, 2, 4, 4]


@needs("onnx")
def test_weights_computed_in_the_graph_are_said_per_layer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="dynamic")],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 3]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 2, 2, 2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    path = tmp_path / "dynamic.onnx"
    onnx.save(helper.make_model(graph), str(path))
    code, result, text = run([str(path), "--to", "tests.targets_for_tests:CorrectTarget"], tmp_path, capsys)
    assert code == 0
    (layer,) = result["layers"]
    assert "'w' is not an initializer" in layer["problem"] and layer["targets"] == []
    assert "not ported" in text


@needs("onnx")
def test_output_shape_and_auto_pad_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """output_shape 9 from L=4, k3 s2: total = 2·3 + 3 − 9 = 0, no crop; SAME_UPPER: L·s."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.arange(4 * 2 * 3 * 3, dtype=np.float32).reshape(4, 2, 3, 3) / 10
    nodes = [
        helper.make_node(
            "ConvTranspose", ["x", "w"], ["y1"], name="sized", strides=[2, 2], output_shape=[9, 9]
        ),
        helper.make_node(
            "ConvTranspose", ["x", "w"], ["y2"], name="same", strides=[2, 2], auto_pad="SAME_UPPER"
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 4])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y1", "y2")],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    path = tmp_path / "modes.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    code, result, text = run([str(path), "--to", "tests.targets_for_tests:CorrectTarget"], tmp_path, capsys)
    assert code == 0, text
    sized, same = result["layers"]
    assert sized["source_target"] == "onnxruntime.output_shape"
    assert sized["case"]["pads_begin"] == [0, 0] and sized["case"]["pads_end"] == [0, 0]
    assert sized["targets"][0]["expected_shape"] == [1, 2, 9, 9]
    if same.get("problem") is None:  # pinned by running ONNX Runtime, where it is installed
        assert same["basis"] in ("run", "documented")
        assert same["targets"][0]["expected_shape"][2:] in ([8, 8], [9, 9])


def test_report_section_escapes_what_the_model_names(tmp_path: Path) -> None:
    from harness.audits.port_model import save_port_model
    from harness.report.write import write_report

    entry = {
        "target": "test.correct",
        "call": "ref(<b>)",
        "verified": True,
        "stats": {"error_ratio": 0.25},
        "weight_layout": ["(C_in, C_out/groups, k…)", "as held"],
    }
    layer = {
        "layer": "<script>alert(1)</script>",
        "source_call": "ConvTranspose()",
        "source_target": "onnxruntime",
        "notes": [],
        "weight_sha256": "00",
        "bias_sha256": None,
        "problem": None,
        "case_short": "2d",
        "source": {"verified": True},
        "targets": [entry],
    }
    result = {"model": "m.onnx", "kind": "onnx", "targets": ["test.correct"], "layers": [layer], "seconds": 1}
    save_port_model(result, tmp_path)
    page = write_report([tmp_path]).read_text(encoding="utf-8")
    assert 'id="port-model"' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "verified 0.25" in page and "ref(&lt;b&gt;)" in page
