"""The spec models: documented defaults, cross-field rules, pinned cases and Spec.outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.model.case import Case, output_shape
from harness.model.dtypes import DATA_DTYPES
from harness.spec.loader import load_spec, parse_spec
from tests.spec.spec_texts import VALID, replace_line, spec_error, write_yaml


def test_omitted_optional_keys_take_documented_defaults(tmp_path: Path) -> None:
    text = "\n".join(line for line in VALID.splitlines() if not line.startswith(("bias", "dtypes")))
    spec = load_spec(write_yaml(tmp_path, text))
    assert set(spec.dtypes) == set(DATA_DTYPES)
    assert spec.bias == {True: 1, False: 1}


def test_max_below_min_names_file_line_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_yaml(tmp_path, replace_line(VALID, 14, "  max: 0"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as info:
        load_spec("specs/x.yaml")
    err = info.value
    assert str(err) == "specs/x.yaml:14: stride.max must be ≥ stride.min (got 0 < 1)"
    assert (err.path, err.line, err.key) == ("specs/x.yaml", 14, "stride.max")
    assert isinstance(err, ValueError)


def test_max_below_min_in_flow_mapping_and_nested_key(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 8, "  in_per_group: {min: 3, max: 2}"), tmp_path)
    assert str(err).endswith(":8: channels.in_per_group.max must be ≥ channels.in_per_group.min (got 2 < 3)")
    assert err.key == "channels.in_per_group.max"


def test_choice_weights_duplicates_and_empty(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 19, "dtypes: {float32: 0, float64: 1}"), tmp_path)
    assert str(err).endswith(":19: dtypes.float32 must be ≥ 1 (got 0)")
    err = spec_error(replace_line(VALID, 19, "dtypes: [float32, float32]"), tmp_path)
    assert "dtypes[1] lists 'float32' twice" in str(err)
    err = spec_error(replace_line(VALID, 19, "dtypes: []"), tmp_path)
    assert str(err).endswith(":19: dtypes must list at least one choice")


def test_budget_must_fit_the_smallest_case(tmp_path: Path) -> None:
    text = replace_line(replace_line(VALID, 4, "max_elements: 8"), 10, "input_size: {min: 3, max: 4}")
    err = spec_error(text, tmp_path)
    assert (err.line, err.key) == (4, "max_elements")
    assert "smallest case" in str(err)


# --- pinned cases ------------------------------------------------------------------------------

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
    spec = load_spec(write_yaml(tmp_path, VALID + PINNED))
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
    pinned = replace_line(PINNED, line, new)
    err = spec_error(VALID + pinned, tmp_path)
    assert err.key == key
    # The offending key's line; a rule about the whole case points at the item's first line.
    assert err.line == 21 + (line if key != "pinned[0]" else 2)
    assert needle in str(err)


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
