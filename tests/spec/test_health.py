"""Spec health: coverage of the default specs, and the vacuous runs check_spec_health rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness.spec.health as health_module
from harness.errors import SpecError
from harness.spec.health import SpecHealth, check_spec_health, measure_spec
from harness.spec.loader import load_default_float_specs, parse_spec

SPECS = {spec.name: spec for spec in load_default_float_specs()}
N_HEALTH = 300


@pytest.fixture(scope="module")
def healths() -> dict[str, SpecHealth]:
    return {name: check_spec_health(spec, N_HEALTH) for name, spec in SPECS.items()}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_default_spec_coverage(healths: dict[str, SpecHealth], name: str) -> None:
    spec, health = SPECS[name], healths[name]
    assert health.produced == N_HEALTH
    fr = health.fractions
    assert set(fr["dtype"]) == set(spec.dtypes)
    assert set(fr["layout"]) == set(spec.layouts)
    assert set(fr["distribution"]) == set(spec.distributions)
    assert set(fr["bias"]) == {"yes", "no"}
    assert fr["rank"] == {str(spec.rank): 1.0}
    # Named-mode cases carry no explicit crops: judge the shares among explicit cases.
    explicit = fr["padding_mode"]["explicit"]
    assert set(fr["padding_mode"]) == set(spec.padding_modes)
    for mode in spec.padding_modes:
        # derandomized generation still varies with what the process has imported: keep slack
        assert fr["padding_mode"][mode] >= 0.02, (mode, fr["padding_mode"], health.produced)
    assert fr["crops"]["asymmetric"] >= 0.1 * explicit
    assert fr["crops"]["symmetric"] >= 0.1 * explicit
    assert fr["crops"]["none"] >= 0.1
    # Measured over 3000 random draws: 15 % of explicit cases in 1d, 28-30 % in 2d/3d. With 300
    # derandomized draws a 10 % floor sat within 2σ of the 1d rate and failed for some import orders.
    assert fr["output_padding"]["past full output"] >= 0.05 * explicit
    assert fr["output_padding"]["within full output"] > 0
    for feature in ("stride", "dilation"):
        assert fr[feature][">1"] >= 0.2, feature
        assert fr[feature]["1"] > 0, feature
    assert fr["groups"].get("grouped", 0) + fr["groups"].get("depthwise", 0) >= 0.2
    assert fr["groups"]["grouped"] > 0 and fr["groups"]["1"] > 0
    for dtype, share in health.dtype_fractions.items():
        assert share >= 0.05, dtype


@pytest.mark.parametrize("name", sorted(SPECS))
def test_default_spec_health(healths: dict[str, SpecHealth], name: str) -> None:
    health = healths[name]
    assert health.problems() == []
    assert health.rejection_rate <= health_module.MAX_REJECTION_RATE
    assert health.tiny_fraction <= 0.25
    assert name in health.summary()


def test_measure_spec_is_deterministic() -> None:
    spec = SPECS["conv_transpose2d"]
    assert measure_spec(spec, 40) == measure_spec(spec, 40)


DEGENERATE_BASE = (
    "name: degenerate\nrank: 2\nmax_elements: 64\nbatch: 1\n"
    "channels: {groups: 1, in_per_group: 1, out_per_group: 1}\n"
)


def test_health_flags_a_spec_of_one_element_outputs(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(DEGENERATE_BASE + "input_size: 1\nkernel_size: 1\nstride: {min: 1, max: 3}\n")
    spec = parse_spec(path.read_text(), path)
    health = measure_spec(spec, 100)
    assert health.tiny_fraction == 1.0
    with pytest.raises(SpecError) as info:
        check_spec_health(spec, 100)
    assert str(info.value).startswith(f"{path}: spec health: 100% of 100 cases are tiny")
    assert info.value.path == str(path)


def test_health_flags_a_dtype_that_never_appears(tmp_path: Path) -> None:
    path = tmp_path / "skewed.yaml"
    text = DEGENERATE_BASE + "input_size: {min: 2, max: 6}\nkernel_size: {min: 1, max: 3}\n"
    text += "dtypes: {float32: 1000, float16: 1}\n"
    path.write_text(text)
    spec = parse_spec(text, path)
    with pytest.raises(SpecError) as info:
        check_spec_health(spec, 200)
    err = info.value
    assert (err.line, err.key) == (8, "dtypes")
    assert f"{path}:8: spec health: only float32 appeared in 200 cases although 2 dtypes" in str(err)


def test_health_flags_rejections_and_empty_runs() -> None:
    rejected = SpecHealth("s", "specs/s.yaml", 100, attempts=100, produced=70, declared_dtypes=("float32",))
    assert rejected.rejection_rate == pytest.approx(0.3)
    ((key, message),) = rejected.problems()
    assert key is None and "30% of 100 draw attempts were rejected" in message
    empty = SpecHealth("s", "specs/s.yaml", 100, attempts=5, produced=0, declared_dtypes=("float32",))
    assert "no case could be drawn" in empty.problems()[0][1]
