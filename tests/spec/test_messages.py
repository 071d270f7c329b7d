"""The wording of spec errors: ``file:line: key rule`` for unknown keys, names, types and ranges."""

from __future__ import annotations

from pathlib import Path

from tests.spec.spec_texts import VALID, replace_line, spec_error


def test_unknown_top_level_key(tmp_path: Path) -> None:
    err = spec_error(VALID + "strides: {min: 1, max: 2}\n", tmp_path)
    assert err.line == 22
    assert err.key == "strides"
    assert "strides is not a known key" in str(err)
    assert "stride" in str(err).split("allowed:")[1]


def test_unknown_nested_key(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 13, "  minimum: 1"), tmp_path)
    # Both the unknown key and the missing "min" are reported, each on its own line.
    assert ":13: stride.minimum is not a known key (allowed: min, max)" in str(err)
    assert "stride.min is required but missing" in str(err)
    assert len(err.problems) == 2


def test_bad_dtype_name_in_mapping_and_list(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 19, "dtypes: {float32: 1, float8: 1}"), tmp_path)
    assert err.line == 19
    assert err.key == "dtypes.float8"
    assert "dtypes.float8 is not a known dtype" in str(err)
    listed = replace_line(VALID, 19, "dtypes:\n  - float32\n  - float8")
    err = spec_error(listed, tmp_path)
    assert err.line == 21
    assert "dtypes.float8 is not a known dtype" in str(err)


def test_bad_layout_and_distribution_names(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 20, "layouts: [NHWC]"), tmp_path)
    assert (err.line, err.key) == (20, "layouts.NHWC")
    err = spec_error(replace_line(VALID, 21, "distributions: [normal, gaussian]"), tmp_path)
    assert "distributions.gaussian is not a known distribution" in str(err)


def test_missing_required_key(tmp_path: Path) -> None:
    text = "\n".join(line for line in VALID.splitlines() if not line.startswith("rank"))
    err = spec_error(text, tmp_path)
    assert err.key == "rank"
    assert err.line == 1
    assert str(err).endswith(":1: rank is required but missing")


def test_type_and_range_errors(tmp_path: Path) -> None:
    err = spec_error(replace_line(VALID, 3, "rank: 4"), tmp_path)
    assert str(err).endswith(":3: rank must be ≤ 3 (got 4)")
    err = spec_error(replace_line(VALID, 13, "  min: 0"), tmp_path)
    assert str(err).endswith(":13: stride.min must be ≥ 1 (got 0)")
    err = spec_error(replace_line(VALID, 15, "dilation: two"), tmp_path)
    assert "dilation must be an integer or a mapping with min and max (got 'two')" in str(err)
    err = spec_error(replace_line(VALID, 16, "crops: {max: -1}"), tmp_path)
    assert "crops.max must be an integer ≥ 0 or 'auto' (got -1)" in str(err)
    err = spec_error(replace_line(VALID, 17, "output_padding: {probability: 1.5}"), tmp_path)
    assert str(err).endswith(":17: output_padding.probability must be ≤ 1.0 (got 1.5)")
    err = spec_error(replace_line(VALID, 18, "bias: [yes_please]"), tmp_path)
    assert err.key is not None and err.key.startswith("bias")
    err = spec_error(replace_line(VALID, 5, "batch: {min: 1, max: 2.5}"), tmp_path)
    assert "batch.max must be an integer (got 2.5)" in str(err)


def test_every_problem_is_reported(tmp_path: Path) -> None:
    text = replace_line(replace_line(VALID, 3, "rank: 0"), 19, "dtypes: [float8]")
    err = spec_error(text, tmp_path)
    assert [p[0] for p in err.problems] == [3, 19]
    assert len(str(err).splitlines()) == 2
