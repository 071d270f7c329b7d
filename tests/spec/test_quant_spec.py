"""The int8 specs: the quantization block, its file:line errors, and the cases drawn from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from harness.errors import SpecError
from harness.model.case import Case
from harness.spec.loader import load_spec, parse_spec
from harness.spec.strategies import cases

INT8_SPECS = sorted((Path(__file__).resolve().parents[2] / "specs" / "int8").glob("*.yaml"))

BASE = """\
name: q
rank: 1
max_elements: 256
batch: 1
channels: {groups: 1, in_per_group: {min: 1, max: 2}, out_per_group: {min: 1, max: 3}}
input_size: {min: 1, max: 4}
kernel_size: {min: 1, max: 3}
dtypes: [int8]
distributions: [uniform, normal]
quantization:
  input: {dtypes: [uint8], scale: {min: 0.01, max: 0.1}, zero_point: {min: 0, max: 255}}
  weight:
    {dtypes: [int8], scale: {min: 0.01, max: 0.1}, zero_point: {min: -3, max: 3}, per_channel: [true, false]}
  output: {dtypes: [int8, uint8], scale: {min: 0.1, max: 1.0}, zero_point: {min: 0, max: 100}}
  requantized: [true, false]
  bias: [none, int32, float]
  rounding: [half_even, half_away]
"""


def spec_error(text: str, tmp_path: Path) -> SpecError:
    path = tmp_path / "q.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value


@pytest.mark.parametrize("path", INT8_SPECS, ids=lambda p: p.stem)
def test_int8_specs_draw_valid_int8_cases(path: Path) -> None:
    spec = load_spec(path)
    drawn: list[Case] = []

    @settings(max_examples=60, database=None, derandomize=True)
    @given(cases(spec))
    def collect(case: Case) -> None:
        drawn.append(case)

    collect()
    assert len(drawn) == 60
    for case in drawn:
        assert case.dtype == "int8" and case.quantization is not None
        assert Case.from_dict(case.to_dict()) == case
        assert spec.outside(case) == frozenset()


def test_every_choice_of_a_full_space_is_drawn() -> None:
    spec = parse_spec(BASE)
    drawn: list[Case] = []

    @settings(max_examples=200, database=None, derandomize=True)
    @given(cases(spec))
    def collect(case: Case) -> None:
        drawn.append(case)

    collect()
    quants = [c.quantization for c in drawn if c.quantization is not None]
    assert len(quants) == len(drawn)
    assert {q.bias for q in quants} == {"none", "int32", "float"}
    assert {q.rounding for q in quants} == {"half_even", "half_away"}
    assert {q.requantized for q in quants} == {True, False}
    assert {q.weight.per_channel for q in quants if len(q.weight.scales) > 1} == {True}
    assert any(q.output is not None and q.output.dtype == "int8" for q in quants)
    for q in quants:
        assert 0.01 * (1 - 2**-23) <= q.input.scale <= 0.1 * (1 + 2**-23)  # rounded to float32
        assert all(-3 <= z <= 3 for z in q.weight.zero_points)
    assert {c.distribution for c in drawn} <= {"uniform", "normal"}


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("dtypes: [int8]", "dtypes: [float32]", 10, "quantization is given but dtypes does not list int8"),
        ("zero_point: {min: 0, max: 100}", "zero_point: {min: 0, max: 200}", 14, "leaves int8's range"),
        (
            "scale: {min: 0.01, max: 0.1}, zero_point: {min: 0, max: 255}",
            "scale: {min: 0.0, max: 0.1}, zero_point: {min: 0, max: 255}",
            11,
            "greater than 0",
        ),
        ("distributions: [uniform, normal]", "distributions: [special]", 9, "must list one of"),
        ("  rounding: [half_even, half_away]", "  rounding: [half_up]", 17, "rounding"),
    ],
)
def test_bad_quantization_is_reported_at_its_line(
    old: str, new: str, line: int, words: str, tmp_path: Path
) -> None:
    assert old in BASE
    err = spec_error(BASE.replace(old, new, 1), tmp_path)
    assert err.line == line, str(err)
    assert words in str(err)


def test_int8_without_quantization_is_reported_at_dtypes(tmp_path: Path) -> None:
    text = BASE[: BASE.index("quantization:")]
    err = spec_error(text, tmp_path)
    assert err.line == 8 and "needs a quantization block" in str(err)
