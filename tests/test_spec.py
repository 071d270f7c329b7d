"""The YAML spec loader: schema, file:line error messages, default specs and pinned cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.model.case import Case, element_counts, output_shape
from harness.model.dtypes import DATA_DTYPES
from harness.spec.loader import (
    SPECS_DIR_ENV,
    default_spec_paths,
    load_default_specs,
    load_spec,
    parse_spec,
)
from harness.spec.schema import Spec

REPO = Path(__file__).resolve().parent.parent

# A small valid spec; line numbers below refer to this text (line 1 = "name: tiny").
VALID = """\
name: tiny
description: a small valid spec
rank: 2
max_elements: 512
batch: {min: 1, max: 2}
channels:
  groups: {min: 1, max: 2}
  in_per_group: {min: 1, max: 2}
  out_per_group: 1
input_size: {min: 1, max: 4}
kernel_size: {min: 1, max: 3}
stride:
  min: 1
  max: 3
dilation: {min: 1, max: 2}
crops: {max: 2, probability: 0.5, asymmetric_probability: 0.5}
output_padding: {max: auto, probability: 0.5}
bias: [true, false]
dtypes: {float32: 2, float64: 1}
layouts: [channels_first, channels_last]
distributions: [normal, small_int]
"""


def _write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / "specs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _replace_line(text: str, line: int, new: str) -> str:
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def _error(text: str, tmp_path: Path) -> SpecError:
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value


def test_valid_spec_loads_with_defaults_and_path(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
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


def test_omitted_optional_keys_take_documented_defaults(tmp_path: Path) -> None:
    text = "\n".join(line for line in VALID.splitlines() if not line.startswith(("bias", "dtypes")))
    spec = load_spec(_write(tmp_path, text))
    assert set(spec.dtypes) == set(DATA_DTYPES)
    assert spec.bias == {True: 1, False: 1}


def test_max_below_min_names_file_line_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, _replace_line(VALID, 14, "  max: 0"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as info:
        load_spec("specs/x.yaml")
    err = info.value
    assert str(err) == "specs/x.yaml:14: stride.max must be ≥ stride.min (got 0 < 1)"
    assert (err.path, err.line, err.key) == ("specs/x.yaml", 14, "stride.max")
    assert isinstance(err, ValueError)


def test_max_below_min_in_flow_mapping_and_nested_key(tmp_path: Path) -> None:
    err = _error(_replace_line(VALID, 8, "  in_per_group: {min: 3, max: 2}"), tmp_path)
    assert str(err).endswith(":8: channels.in_per_group.max must be ≥ channels.in_per_group.min (got 2 < 3)")
    assert err.key == "channels.in_per_group.max"


def test_unknown_top_level_key(tmp_path: Path) -> None:
    err = _error(VALID + "strides: {min: 1, max: 2}\n", tmp_path)
    assert err.line == 22
    assert err.key == "strides"
    assert "strides is not a known key" in str(err)
    assert "stride" in str(err).split("allowed:")[1]


def test_unknown_nested_key(tmp_path: Path) -> None:
    err = _error(_replace_line(VALID, 13, "  minimum: 1"), tmp_path)
    # Both the unknown key and the missing "min" are reported, each on its own line.
    assert ":13: stride.minimum is not a known key (allowed: min, max)" in str(err)
    assert "stride.min is required but missing" in str(err)
    assert len(err.problems) == 2


def test_bad_dtype_name_in_mapping_and_list(tmp_path: Path) -> None:
    err = _error(_replace_line(VALID, 19, "dtypes: {float32: 1, float8: 1}"), tmp_path)
    assert err.line == 19
    assert err.key == "dtypes.float8"
    assert "dtypes.float8 is not a known dtype" in str(err)
    listed = _replace_line(VALID, 19, "dtypes:\n  - float32\n  - float8")
    err = _error(listed, tmp_path)
    assert err.line == 21
    assert "dtypes.float8 is not a known dtype" in str(err)


def test_bad_layout_and_distribution_names(tmp_path: Path) -> None:
    err = _error(_replace_line(VALID, 20, "layouts: [NHWC]"), tmp_path)
    assert (err.line, err.key) == (20, "layouts.NHWC")
    err = _error(_replace_line(VALID, 21, "distributions: [normal, gaussian]"), tmp_path)
    assert "distributions.gaussian is not a known distribution" in str(err)


def test_choice_weights_duplicates_and_empty(tmp_path: Path) -> None:
    err = _error(_replace_line(VALID, 19, "dtypes: {float32: 0, float64: 1}"), tmp_path)
    assert str(err).endswith(":19: dtypes.float32 must be ≥ 1 (got 0)")
    err = _error(_replace_line(VALID, 19, "dtypes: [float32, float32]"), tmp_path)
    assert "dtypes[1] lists 'float32' twice" in str(err)
    err = _error(_replace_line(VALID, 19, "dtypes: []"), tmp_path)
    assert str(err).endswith(":19: dtypes must list at least one choice")


def test_malformed_yaml_reports_its_line(tmp_path: Path) -> None:
    err = _error(_replace_line(VALID, 6, "channels: [unclosed"), tmp_path)
    assert err.line is not None and 6 <= err.line <= 8
    assert "malformed YAML" in str(err)
    err = _error(_replace_line(VALID, 3, "rank: 2\n  bogus: indent"), tmp_path)
    assert err.line == 4
    assert str(err).startswith(f"{tmp_path / 'specs' / 'x.yaml'}:4: malformed YAML")


def test_only_safe_yaml_is_accepted(tmp_path: Path) -> None:
    err = _error(_replace_line(VALID, 2, "description: !!python/object/apply:os.getcwd []"), tmp_path)
    assert err.line == 2
    assert "malformed YAML" in str(err)


def test_missing_required_key(tmp_path: Path) -> None:
    text = "\n".join(line for line in VALID.splitlines() if not line.startswith("rank"))
    err = _error(text, tmp_path)
    assert err.key == "rank"
    assert err.line == 1
    assert str(err).endswith(":1: rank is required but missing")


def test_duplicate_key(tmp_path: Path) -> None:
    err = _error(VALID + "rank: 3\n", tmp_path)
    assert (err.line, err.key) == (22, "rank")
    assert "rank appears twice" in str(err)


def test_type_and_range_errors(tmp_path: Path) -> None:
    err = _error(_replace_line(VALID, 3, "rank: 4"), tmp_path)
    assert str(err).endswith(":3: rank must be ≤ 3 (got 4)")
    err = _error(_replace_line(VALID, 13, "  min: 0"), tmp_path)
    assert str(err).endswith(":13: stride.min must be ≥ 1 (got 0)")
    err = _error(_replace_line(VALID, 15, "dilation: two"), tmp_path)
    assert "dilation must be an integer or a mapping with min and max (got 'two')" in str(err)
    err = _error(_replace_line(VALID, 16, "crops: {max: -1}"), tmp_path)
    assert "crops.max must be an integer ≥ 0 or 'auto' (got -1)" in str(err)
    err = _error(_replace_line(VALID, 17, "output_padding: {probability: 1.5}"), tmp_path)
    assert str(err).endswith(":17: output_padding.probability must be ≤ 1.0 (got 1.5)")
    err = _error(_replace_line(VALID, 18, "bias: [yes_please]"), tmp_path)
    assert err.key is not None and err.key.startswith("bias")
    err = _error(_replace_line(VALID, 5, "batch: {min: 1, max: 2.5}"), tmp_path)
    assert "batch.max must be an integer (got 2.5)" in str(err)


def test_every_problem_is_reported(tmp_path: Path) -> None:
    text = _replace_line(_replace_line(VALID, 3, "rank: 0"), 19, "dtypes: [float8]")
    err = _error(text, tmp_path)
    assert [p[0] for p in err.problems] == [3, 19]
    assert len(str(err).splitlines()) == 2


def test_budget_must_fit_the_smallest_case(tmp_path: Path) -> None:
    text = _replace_line(_replace_line(VALID, 4, "max_elements: 8"), 10, "input_size: {min: 3, max: 4}")
    err = _error(text, tmp_path)
    assert (err.line, err.key) == (4, "max_elements")
    assert "smallest case" in str(err)


def test_spec_must_be_a_nonempty_mapping(tmp_path: Path) -> None:
    assert "empty spec" in str(_error("", tmp_path))
    assert "must be a mapping" in str(_error("- a\n- b\n", tmp_path))
    with pytest.raises(SpecError, match="cannot read spec"):
        load_spec(tmp_path / "nope.yaml")


def test_parse_spec_without_a_file() -> None:
    spec = parse_spec(VALID)
    assert spec.path is None
    with pytest.raises(SpecError, match=r"^<spec>:3: rank"):
        parse_spec(_replace_line(VALID, 3, "rank: 9"))


PINNED = """\
pinned:
  - source: test
    in_channels: 4
    out_channels: 6
    groups: 2
    input_size: [3, 4]
    kernel_size: 3
    stride: [2, 1]
    pads_begin: [1, 0]
    pads_end: [0, 2]
    output_padding: [1, 0]
    bias: false
    dtype: float16
    output_shape: [1, 6, 7, 4]
"""


def test_pinned_cases_broadcast_and_are_validated(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, VALID + PINNED))
    (case,) = spec.pinned_cases()
    assert case == Case.make(
        rank=2,
        in_channels=4,
        out_channels=6,
        groups=2,
        input_size=(3, 4),
        kernel_size=3,
        stride=(2, 1),
        pads_begin=(1, 0),
        pads_end=(0, 2),
        output_padding=(1, 0),
        bias=False,
        dtype="float16",
    )
    assert output_shape(case) == (1, 6, 7, 4)


@pytest.mark.parametrize(
    ("line", "new", "key", "needle"),
    [
        (5, "    groups: 4", "pinned[0].groups", "not divisible by groups=4"),
        (6, "    input_size: [3, 4, 5]", "pinned[0].input_size", "has 3 entries but the spec's rank is 2"),
        (14, "    output_shape: [1, 6, 7, 5]", "pinned[0].output_shape", "does not match"),
        (2, "  - source: ''", "pinned[0].source", "must not be empty"),
        (13, "    dtype: float8", "pinned[0].dtype", "must be one of"),
        (10, "    pads_end: [9, 2]", "pinned[0]", "output size along spatial dim 0"),
        (13, "    colour: red", "pinned[0].colour", "is not a known key"),
    ],
)
def test_pinned_errors(tmp_path: Path, line: int, new: str, key: str, needle: str) -> None:
    pinned = _replace_line(PINNED, line, new)
    err = _error(VALID + pinned, tmp_path)
    assert err.key == key
    # The offending key's line; a rule about the whole case points at the item's first line.
    assert err.line == 21 + (line if key != "pinned[0]" else 2)
    assert needle in str(err)


# --- the repository's default specs ------------------------------------------------------------


def test_default_spec_paths_are_the_repo_specs_sorted() -> None:
    paths = default_spec_paths()
    assert [p.name for p in paths] == [
        "conv_transpose1d.yaml",
        "conv_transpose2d.yaml",
        "conv_transpose3d.yaml",
    ]
    assert all(p.parent == REPO / "specs" for p in paths)


def test_specs_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, VALID, "b.yaml")
    _write(tmp_path, VALID.replace("name: tiny", "name: other"), "a.yaml")
    (tmp_path / "specs" / "notes.txt").write_text("not a spec")
    monkeypatch.setenv(SPECS_DIR_ENV, str(tmp_path / "specs"))
    assert [p.name for p in default_spec_paths()] == ["a.yaml", "b.yaml"]
    assert [s.name for s in load_default_specs()] == ["other", "tiny"]
    monkeypatch.setenv(SPECS_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(SpecError, match="does not exist"):
        default_spec_paths()


@pytest.fixture(scope="module")
def default_specs() -> dict[str, Spec]:
    return {spec.name: spec for spec in load_default_specs()}


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
        ("seeds/000_daa57d9ee2376704.txt", (1, 1, 5, 5)),  # TensorRT deconvolution example
        ("seeds/001_72a899d02d2b3d39.txt", (1, 64, 19, 53)),  # MindSpore Conv2dTranspose
        ("seeds/003_f90ce2d32773065c.txt", (1, 33, 25, 25)),  # ConvTranspose2d(16, 33, 3, stride=2)
        ("seeds/003_f90ce2d32773065c.txt", (20, 33, 93, 100)),  # (3, 5) kernel, padding (4, 2)
        ("seeds/003_f90ce2d32773065c.txt", (1, 16, 12, 12)),  # output_size 12x12: output_padding 1
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


# --- Spec.outside: which keys of the space a case lies outside of ------------------------------

OUTSIDE_SPEC = (
    "name: narrow\nrank: 2\nmax_elements: 400\nbatch: {min: 1, max: 2}\n"
    "channels: {groups: {min: 1, max: 2}, in_per_group: {min: 2, max: 3}, out_per_group: {min: 1, max: 2}}\n"
    "input_size: {min: 2, max: 4}\nkernel_size: {min: 1, max: 3}\nstride: {min: 1, max: 2}\n"
    "crops: {max: 1}\noutput_padding: {max: 1}\nbias: [true]\ndtypes: [float64]\n"
    "layouts: [channels_first]\ndistributions: [normal]\n"
)


def _inside_case(**changes: object) -> Case:
    fields: dict[str, object] = dict(
        input_size=(3, 3), kernel_size=(2, 2), stride=(2, 1), in_channels=2, out_channels=2, dtype="float64"
    )
    fields.update(changes)
    return Case.make(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "keys"),
    [
        ({}, set()),
        ({"batch": 3}, {"batch"}),
        ({"groups": 2, "in_channels": 2, "out_channels": 2}, {"channels.in_per_group"}),
        ({"in_channels": 4}, {"channels.in_per_group"}),
        ({"out_channels": 3}, {"channels.out_per_group"}),
        ({"input_size": (1, 3)}, {"input_size"}),
        ({"kernel_size": (4, 1)}, {"kernel_size"}),
        ({"stride": (3, 1)}, {"stride"}),
        ({"dilation": (1, 2)}, {"dilation"}),
        ({"pads_begin": (2, 0), "pads_end": (2, 0)}, {"crops.max"}),
        ({"pads_begin": (1, 0)}, {"crops.asymmetric_probability"}),
        ({"output_padding": (0, 2)}, {"output_padding.max"}),
        ({"bias": False}, {"bias"}),
        ({"dtype": "float32"}, {"dtypes"}),
        ({"layout": "channels_last"}, {"layouts"}),
        ({"distribution": "small_int"}, {"distributions"}),
        ({"padding_mode": "same"}, {"padding_modes"}),
        ({"batch": 2, "in_channels": 3, "out_channels": 2, "input_size": (4, 4)}, set()),
        (
            {
                "batch": 2,
                "groups": 2,
                "in_channels": 6,
                "out_channels": 4,
                "input_size": (4, 4),
                "kernel_size": (3, 3),
                "stride": (2, 2),
            },
            {"max_elements"},
        ),  # 648 output elements
    ],
)
def test_outside_names_each_key_a_case_leaves(changes: dict[str, object], keys: set[str]) -> None:
    spec = parse_spec(OUTSIDE_SPEC)
    assert spec.outside(_inside_case(**changes)) == keys


@pytest.mark.parametrize(
    ("changes", "keys"),
    [
        ({"pads_begin": (1, 1), "pads_end": (1, 1)}, set()),  # d·(k − 1) = 1 in both dims
        ({"pads_begin": (2, 0), "pads_end": (2, 0)}, {"crops.max"}),
        ({"output_padding": (2, 1)}, set()),  # max(s, d) + 1 = 3 and 2
        ({"output_padding": (0, 3)}, {"output_padding.max"}),
    ],
)
def test_outside_applies_auto_limits_per_dimension(changes: dict[str, object], keys: set[str]) -> None:
    spec = parse_spec(
        OUTSIDE_SPEC.replace("crops: {max: 1}", "crops: {max: auto}").replace(
            "output_padding: {max: 1}", "output_padding: {max: auto}"
        )
    )
    assert spec.outside(_inside_case(**changes)) == keys
