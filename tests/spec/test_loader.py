"""The spec loader: safe YAML with line numbers, and the repository's default specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.model.case import Case, element_counts, output_shape
from harness.model.dtypes import DATA_DTYPES
from harness.spec.loader import (
    SPECS_DIR_ENV,
    default_spec_paths,
    load_default_float_specs,
    load_default_specs,
    load_spec,
    parse_spec,
)
from harness.spec.schema import Spec
from tests.spec.spec_texts import VALID, replace_line, spec_error, write_yaml

REPO = Path(__file__).resolve().parents[2]


def test_valid_spec_loads_with_defaults_and_path(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, VALID)
    spec = load_spec(path)
    assert spec.name == "tiny"
    assert spec.path == path
    assert spec.rank == 2
    assert spec.channels.out_per_group.min == spec.channels.out_per_group.max == 1  # bare int
    assert spec.output_padding.max == "auto"
    assert spec.dtypes == {"float32": 2, "float64": 1}
    assert spec.bias == {True: 1, False: 1}
    assert spec.layouts == {"channels_first": 1, "channels_last": 1}
    assert spec.pinned_cases() == []
    assert spec.line_of("stride", "max") == 14


def test_malformed_yaml_reports_its_line(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 6, "channels: [unclosed"), tmp_path)
    assert err.line is not None and 6 <= err.line <= 8
    assert "malformed YAML" in str(err)
    err = spec_error(replace_line(VALID, 3, "rank: 2\n  bogus: indent"), tmp_path)
    assert err.line == 4
    assert str(err).startswith(f"{tmp_path / 'specs' / 'x.yaml'}:4: malformed YAML")


def test_only_safe_yaml_is_accepted(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 2, "description: !!python/object/apply:os.getcwd []"), tmp_path)
    assert err.line == 2
    assert "malformed YAML" in str(err)


def test_duplicate_key(tmp_path: Path) -> None:
    err = spec_error(VALID + "rank: 3\n", tmp_path)
    assert (err.line, err.key) == (22, "rank")
    assert "rank appears twice" in str(err)


def test_spec_must_be_a_nonempty_mapping(tmp_path: Path) -> None:
    assert "empty spec" in str(spec_error("", tmp_path))
    assert "must be a mapping" in str(spec_error("- a\n- b\n", tmp_path))
    with pytest.raises(SpecError, match="cannot read spec"):
        load_spec(tmp_path / "nope.yaml")


def test_parse_spec_without_a_file() -> None:
    spec = parse_spec(VALID)
    assert spec.path is None
    with pytest.raises(SpecError, match=r"^<spec>:3: rank"):
        parse_spec(replace_line(VALID, 3, "rank: 9"))


# --- the repository's default specs ------------------------------------------------------------


def test_default_spec_paths_are_the_repo_specs_sorted_int8_included() -> None:
    paths = default_spec_paths()
    assert [p.relative_to(REPO / "specs").as_posix() for p in paths] == [
        "conv_transpose1d.yaml",
        "conv_transpose2d.yaml",
        "conv_transpose3d.yaml",
        "int8/conv_transpose_int8_1d.yaml",
        "int8/conv_transpose_int8_2d.yaml",
        "int8/conv_transpose_int8_3d.yaml",
        "int8/conv_transpose_int8_symmetric_2d.yaml",
    ]
    assert [s.name for s in load_default_float_specs()] == [p.stem for p in paths[:3]]


def test_specs_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_yaml(tmp_path, VALID, "b.yaml")
    write_yaml(tmp_path, VALID.replace("name: tiny", "name: other"), "a.yaml")
    (tmp_path / "specs" / "notes.txt").write_text("not a spec")
    (tmp_path / "specs" / "deeper").mkdir()
    (tmp_path / "specs" / "deeper" / "0.yaml").write_text(VALID.replace("name: tiny", "name: deep"))
    monkeypatch.setenv(SPECS_DIR_ENV, str(tmp_path / "specs"))
    # the folder's own specs first, then its sub-folders'
    assert [p.name for p in default_spec_paths()] == ["a.yaml", "b.yaml", "0.yaml"]
    assert [s.name for s in load_default_specs()] == ["other", "tiny", "deep"]
    monkeypatch.setenv(SPECS_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(SpecError, match="does not exist"):
        default_spec_paths()


@pytest.fixture(scope="module")
def default_specs() -> dict[str, Spec]:
    return {spec.name: spec for spec in load_default_float_specs()}


def test_default_specs_load(default_specs: dict[str, Spec]) -> None:
    assert {name: s.rank for name, s in default_specs.items()} == {
        "conv_transpose1d": 1,
        "conv_transpose2d": 2,
        "conv_transpose3d": 3,
    }
    for spec in default_specs.values():
        assert set(spec.dtypes) == set(DATA_DTYPES)
        assert set(spec.layouts) == {"channels_first", "channels_last"}
        assert set(spec.distributions) == {"normal", "uniform", "small_int", "large", "special"}
        assert spec.bias.keys() == {True, False}
        assert spec.channels.groups.max > 1
        assert spec.dilation.max > 1
        assert spec.stride.max >= 3
        assert spec.crops.asymmetric_probability > 0
        assert spec.output_padding.max == "auto"
        assert spec.max_elements <= 4096
        assert spec.pinned, f"{spec.name} has no pinned cases"


def _shapes(spec: Spec) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (pin.source, output_shape(case))
        for pin, case in zip(spec.pinned, spec.pinned_cases(), strict=True)
        if case.padding_mode == "explicit"
    ]


def _explicit(spec: Spec) -> list[Case]:
    return [c for c in spec.pinned_cases() if c.padding_mode == "explicit"]


def test_every_default_spec_pins_each_named_mode(default_specs: dict[str, Spec]) -> None:
    for spec in default_specs.values():
        named = [c for c in spec.pinned_cases() if c.padding_mode != "explicit"]
        assert {c.padding_mode for c in named} == {"same", "same_lower", "valid"}, spec.name
        # one SAME case whose stride exceeds the kernel: the frameworks' documented sizes differ
        assert any(c.padding_mode == "same" and c.stride[0] > c.dilated_kernel[0] for c in named)
        assert all(c.dtype == "float32" for c in named)


def test_2d_pinned_cases_are_the_seed_examples(default_specs: dict[str, Spec]) -> None:
    spec = default_specs["conv_transpose2d"]
    assert _shapes(spec) == [
        (
            "https://docs.nvidia.com/deeplearning/tensorrt/latest/_static/operators/Deconvolution.html",
            (1, 1, 5, 5),
        ),  # TensorRT deconvolution example
        (
            "https://www.mindspore.cn/docs/en/r2.10.0/api_python/nn/mindspore.nn.Conv2dTranspose.html",
            (1, 64, 19, 53),
        ),  # MindSpore Conv2dTranspose
        (
            "https://docs.pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html",
            (1, 33, 25, 25),
        ),  # ConvTranspose2d(16, 33, 3, stride=2)
        (
            "https://docs.pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html",
            (20, 33, 93, 100),
        ),  # (3, 5) kernel, padding (4, 2)
        (
            "https://docs.pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html",
            (1, 16, 12, 12),
        ),  # output_size 12x12: output_padding 1
    ]
    trt, mindspore, _, big, upsample = _explicit(spec)
    assert not trt.bias and trt.input_shape == (1, 1, 3, 3) and trt.weight_shape == (1, 1, 3, 3)
    assert not mindspore.bias and mindspore.input_shape == (1, 3, 16, 50)
    assert big.input_shape == (20, 16, 50, 100) and big.pads_begin == big.pads_end == (4, 2)
    assert upsample.output_padding == (1, 1) and upsample.input_shape == (1, 16, 6, 6)
    # Pinned cases are exempt from the budget: the seed examples exceed it.
    assert max(element_counts(big).values()) > spec.max_elements
    assert max(element_counts(mindspore).values()) > spec.max_elements
    assert all(pin.note for pin in spec.pinned)


def test_1d_and_3d_pinned_cases(default_specs: dict[str, Spec]) -> None:
    one = _explicit(default_specs["conv_transpose1d"])
    assert [output_shape(c) for c in one] == [(2, 6, 16), (1, 3, 14)]
    assert one[0].groups == 2 and one[0].dilation == (2,)
    assert one[1].pads_begin != one[1].pads_end and one[1].output_padding[0] > one[1].pads_end[0]
    three = _explicit(default_specs["conv_transpose3d"])
    assert [output_shape(c) for c in three] == [(1, 2, 8, 8, 8), (1, 6, 6, 6, 8)]
    assert three[1].groups == 2 and three[1].pads_begin != three[1].pads_end
