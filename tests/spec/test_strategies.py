"""Case strategies: validity by construction, budget, shrinking and the events they emit."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import harness.spec.strategies as strategies
from harness.model.case import Case, element_counts
from harness.model.features import coverage_features
from harness.spec.loader import load_default_float_specs, parse_spec
from harness.spec.schema import Spec
from harness.spec.strategies import cases

SPECS = {spec.name: spec for spec in load_default_float_specs()}
# find() keeps the last value its condition accepted; the explain phase would replace the shrunk one.
FIND = settings(database=None, phases=[Phase.generate, Phase.shrink])


def _check_case(spec: Spec, case: Case) -> None:
    rebuilt = Case.from_dict(case.to_dict())  # constructing validates it again
    assert rebuilt == case
    assert case.rank == spec.rank
    assert max(element_counts(case).values()) <= spec.max_elements
    assert case.in_channels % case.groups == 0 and case.out_channels % case.groups == 0
    assert all(o >= 1 for o in case.output_size)
    ch = spec.channels
    assert ch.groups.min <= case.groups <= ch.groups.max
    assert ch.in_per_group.min <= case.in_channels // case.groups <= ch.in_per_group.max
    assert ch.out_per_group.min <= case.out_channels // case.groups <= ch.out_per_group.max
    assert spec.batch.min <= case.batch <= spec.batch.max
    for name, rng in (
        ("input_size", spec.input_size),
        ("kernel_size", spec.kernel_size),
        ("stride", spec.stride),
        ("dilation", spec.dilation),
    ):
        assert all(rng.min <= v <= rng.max for v in getattr(case, name)), name
    for s, d, op, cb, ce in zip(
        case.stride, case.dilation, case.output_padding, case.pads_begin, case.pads_end, strict=True
    ):
        assert op <= max(s, d) + 1  # output_padding.max: auto
        assert cb <= spec.crops.max and ce <= spec.crops.max  # type: ignore[operator]
    assert case.dtype in spec.dtypes and case.layout in spec.layouts
    assert case.distribution in spec.distributions and case.bias in spec.bias
    assert 0 <= case.seed <= 2**32 - 1
    assert spec.outside(case) == frozenset()  # the spec's own check agrees with the asserts above


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_drawn_cases_are_valid_and_within_budget(name: str, data: st.DataObject) -> None:
    spec = SPECS[name]
    _check_case(spec, data.draw(cases(spec)))


TIGHT = parse_spec(
    "name: tight\nrank: 3\nmax_elements: 40\nbatch: {min: 1, max: 4}\n"
    "channels: {groups: {min: 1, max: 4}, in_per_group: {min: 1, max: 4}, "
    "out_per_group: {min: 1, max: 4}}\ninput_size: {min: 1, max: 9}\nkernel_size: {min: 1, max: 5}\n"
    "stride: {min: 1, max: 5}\ndilation: {min: 1, max: 5}\n"
    "crops: {max: 9, asymmetric_probability: 0.5}\noutput_padding: {max: auto}\n"
)


@settings(max_examples=150, deadline=None, database=None)
@given(case=cases(TIGHT))
def test_tight_budget_still_valid(case: Case) -> None:
    _check_case(TIGHT, case)


# --- shrinking and events -------------------------------------------------------------------------


def test_shrinks_to_the_simplest_case() -> None:
    spec = SPECS["conv_transpose2d"]
    simplest = find(cases(spec), lambda c: True, settings=FIND)
    assert simplest == Case.make(
        rank=2, input_size=1, kernel_size=1, bias=True, dtype="float32", layout="channels_first"
    )


def test_shrinks_toward_small_cases_under_a_condition() -> None:
    spec = SPECS["conv_transpose3d"]
    found = find(
        cases(spec),
        lambda c: c.groups > 1 and c.pads_begin != c.pads_end and max(c.stride) > 1,
        settings=settings(FIND, max_examples=2000),
    )
    # Shrinking goes as far as local minima allow: the channel, batch and value choices reach
    # their simplest, and the geometry stays small.
    assert found.groups == 2 and found.in_channels == 2 and found.out_channels == 2
    assert found.batch == 1 and found.dtype == "float32" and found.layout == "channels_first"
    assert math.prod(found.input_size) <= 2 and max(found.kernel_size) <= 2


def test_events_name_the_covered_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[str] = []
    monkeypatch.setattr(strategies, "event", recorded.append)
    find(cases(SPECS["conv_transpose1d"]), lambda c: True, settings=FIND)
    keys = {e.split(":")[0] for e in recorded}
    assert keys == {
        "rank",
        "dtype",
        "layout",
        "distribution",
        "bias",
        "groups",
        "stride",
        "dilation",
        "crops",
        "output_padding",
        "padding_mode",
        "size",
    }


def test_case_features_of_a_pinned_case() -> None:
    case = SPECS["conv_transpose1d"].pinned_cases()[1]
    features = coverage_features(case)
    assert features["crops"] == "asymmetric"
    assert features["output_padding"] == "past full output"
    assert features["stride"] == ">1" and features["groups"] == "1"
