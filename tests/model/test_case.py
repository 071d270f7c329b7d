"""The canonical case model: validation rules, derived geometry and serialisation.

Every rule ``harness.model.case.validate`` names is triggered here and checked for both its ``rule`` and
its message; valid edge cases (crops larger than the full output, made up for by output padding) are
accepted; ``to_dict``/``from_dict`` round-trips; the output size matches the canonical formula and
PyTorch's documented one for symmetric padding.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from harness.errors import InvalidCase
from harness.model.case import DISTRIBUTIONS, LAYOUTS, PER_DIM_FIELDS, Case, element_counts
from harness.model.dtypes import DATA_DTYPES

BASE: dict[str, Any] = {
    "rank": 2,
    "batch": 1,
    "in_channels": 4,
    "out_channels": 6,
    "groups": 2,
    "input_size": (3, 4),
    "kernel_size": (3, 2),
    "stride": (2, 1),
    "dilation": (1, 2),
    "pads_begin": (1, 0),
    "pads_end": (0, 1),
    "output_padding": (1, 0),
}


def build(**changes: Any) -> Case:
    """A ``Case`` built directly (not via ``make``) from ``BASE`` with some fields changed."""
    return Case(**{**BASE, **changes})


def test_base_case_is_valid_and_geometry_follows_fact_sheet() -> None:
    case = build()
    # K = d(k−1)+1, F = (L−1)s + K, O = F − cb − ce + op.
    assert case.dilated_kernel == (3, 3)
    assert case.full_size == (2 * 2 + 3, 3 * 1 + 3)
    assert case.output_size == (7 - 1 - 0 + 1, 6 - 0 - 1 + 0)
    assert case.output_shape == (1, 6, 7, 5)
    assert case.input_shape == (1, 4, 3, 4)
    assert case.weight_shape == (4, 3, 3, 2)
    assert not case.symmetric_crops
    assert element_counts(case) == {"input": 12 * 4, "weight": 4 * 3 * 6, "output": 6 * 35}


@pytest.mark.parametrize(
    ("changes", "rule", "message"),
    [
        ({"rank": 0}, "rank>=1", "rank=0 must be ≥ 1"),
        ({"rank": 4}, "rank<=3", "rank=4 must be 1, 2 or 3"),
        ({"rank": 2.0}, "integer", "rank must be an integer (got 2.0)"),
        ({"rank": True}, "integer", "rank must be an integer (got True)"),
        ({"batch": 0}, "batch>=1", "batch=0 must be ≥ 1"),
        ({"in_channels": 0}, "in_channels>=1", "in_channels=0 must be ≥ 1"),
        ({"out_channels": -3}, "out_channels>=1", "out_channels=-3 must be ≥ 1"),
        ({"groups": 0}, "groups>=1", "groups=0 must be ≥ 1"),
        ({"batch": "2"}, "integer", "batch must be an integer (got '2')"),
        ({"input_size": 3}, "per_dim_sequence", "input_size must be a sequence of integers (got 3)"),
        ({"kernel_size": (3,)}, "per_dim_length", "kernel_size has 1 entries but rank is 2: [3]"),
        ({"output_padding": (0, 0, 0)}, "per_dim_length", "output_padding has 3 entries but rank is 2"),
        ({"input_size": (3, 0)}, "input_size[1]>=1", "input_size[1]=0 must be ≥ 1"),
        ({"kernel_size": (0, 2)}, "kernel_size[0]>=1", "kernel_size[0]=0 must be ≥ 1"),
        ({"stride": (1, 0)}, "stride[1]>=1", "stride[1]=0 must be ≥ 1"),
        ({"dilation": (0, 1)}, "dilation[0]>=1", "dilation[0]=0 must be ≥ 1"),
        ({"stride": (1.5, 1)}, "integer", "stride[0] must be an integer (got 1.5)"),
        ({"pads_begin": (-1, 0)}, "pads_begin[0]>=0", "pads_begin[0]=-1 must be ≥ 0"),
        ({"pads_end": (0, -2)}, "pads_end[1]>=0", "pads_end[1]=-2 must be ≥ 0"),
        ({"output_padding": (0, -1)}, "output_padding[1]>=0", "output_padding[1]=-1 must be ≥ 0"),
        (
            {"in_channels": 6, "groups": 4, "out_channels": 8},
            "groups_divide_in_channels",
            "C_in=6 is not divisible by groups=4",
        ),
        (
            {"in_channels": 8, "groups": 4, "out_channels": 6},
            "groups_divide_out_channels",
            "C_out=6 is not divisible by groups=4",
        ),
        # dim 1: F = 3·1 + 2·1 + 1 = 6, crops 4 + 2, op 0 → 0
        (
            {"pads_begin": (0, 4), "pads_end": (0, 2), "output_padding": (0, 0)},
            "output_size>=1",
            "output size along spatial dim 1 would be 0 (full 6 − crops 4+2 + output_padding 0)",
        ),
        # dim 0: F = 7, crops 5 + 5, op 1 → −2
        (
            {"pads_begin": (5, 0), "pads_end": (5, 0), "output_padding": (1, 0)},
            "output_size>=1",
            "output size along spatial dim 0 would be -2",
        ),
        ({"bias": 1}, "bias_bool", "bias must be true or false (got 1)"),
        ({"bias": "yes"}, "bias_bool", "bias must be true or false (got 'yes')"),
        ({"dtype": "int8"}, "dtype", "dtype 'int8' is not one of float64, float32, float16, bfloat16"),
        ({"dtype": "tf32"}, "dtype", "dtype 'tf32' is not one of"),  # a format, not a data dtype
        ({"layout": "NHWC"}, "layout", "layout 'NHWC' is not one of channels_first, channels_last"),
        (
            {"distribution": "gauss"},
            "distribution",
            "distribution 'gauss' is not one of normal, uniform, small_int, large, special",
        ),
        ({"seed": -1}, "seed>=0", "seed=-1 must be ≥ 0"),
        ({"seed": 0.5}, "integer", "seed must be an integer (got 0.5)"),
    ],
)
def test_each_rule_rejects_with_its_name_and_message(
    changes: dict[str, Any], rule: str, message: str
) -> None:
    with pytest.raises(InvalidCase, match=re.escape(message)) as info:
        build(**changes)
    assert info.value.rule == rule
    assert isinstance(info.value, ValueError)


def test_first_broken_rule_is_reported() -> None:
    # Both the channel rule and the output-size rule are broken: the channel rule comes first.
    with pytest.raises(InvalidCase) as info:
        build(in_channels=3, pads_begin=(9, 9))
    assert info.value.rule == "groups_divide_in_channels"


def test_replace_validates_again() -> None:
    case = build()
    with pytest.raises(InvalidCase) as info:
        case.replace(groups=3)
    assert info.value.rule == "groups_divide_in_channels"
    assert case.replace(seed=7).seed == 7


@pytest.mark.parametrize(
    ("kwargs", "output_size"),
    [
        # Crop larger than the full output (F = 1), made up for by output padding: O = 1 − 3 + 3.
        ({"input_size": 1, "kernel_size": 1, "pads_begin": 3, "output_padding": 3}, (1,)),
        # Crops eat the whole full output and more; output padding leaves exactly one element.
        (
            {
                "input_size": 2,
                "kernel_size": 2,
                "stride": 2,
                "pads_begin": 2,
                "pads_end": 3,
                "output_padding": 2,
            },
            (1,),
        ),
        # Output padding far beyond stride and dilation is canonical (a framework may refuse it).
        ({"input_size": (2, 2), "kernel_size": 1, "output_padding": (7, 0)}, (9, 2)),
        # Smallest output, no output padding.
        ({"input_size": (1, 1, 1), "kernel_size": (2, 1, 3), "pads_begin": (1, 0, 2)}, (1, 1, 1)),
        # Huge dilation and stride.
        ({"input_size": 3, "kernel_size": 2, "stride": 5, "dilation": 9}, (20,)),
    ],
)
def test_valid_edge_cases_accepted(kwargs: dict[str, Any], output_size: tuple[int, ...]) -> None:
    case = Case.make(**kwargs)
    assert case.output_size == output_size


def test_numpy_integers_are_accepted_and_normalised() -> None:
    case = build(input_size=(np.int64(3), np.int32(4)), stride=[np.int16(2), 1])
    assert case.input_size == (3, 4) and case.stride == (2, 1)
    assert all(type(v) is int for v in (*case.input_size, *case.stride))
    json.dumps(case.to_dict())  # JSON-ready


def test_make_broadcasts_ints_and_infers_rank() -> None:
    case = Case.make(input_size=(5, 6, 7), kernel_size=2, stride=3, pads_end=1)
    assert case.rank == 3
    assert case.kernel_size == (2, 2, 2) and case.stride == (3, 3, 3) and case.pads_end == (1, 1, 1)
    assert case.pads_begin == (0, 0, 0) and case.dilation == (1, 1, 1)
    assert Case.make(input_size=5).rank == 1


def test_case_is_frozen_and_hashable() -> None:
    case = build()
    with pytest.raises(AttributeError):
        case.groups = 1  # type: ignore[misc]
    assert hash(case) == hash(build())


# --- serialisation --------------------------------------------------------------------------


@st.composite
def valid_cases(draw: st.DrawFn) -> Case:
    """Any valid case, all fields drawn."""
    rank = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 4))
    per_dim: dict[str, list[int]] = {name: [] for name in PER_DIM_FIELDS}
    for _ in range(rank):
        size, k = draw(st.integers(1, 64)), draw(st.integers(1, 7))
        s, d = draw(st.integers(1, 5)), draw(st.integers(1, 4))
        full = (size - 1) * s + d * (k - 1) + 1
        op = draw(st.integers(0, 6))
        cb = draw(st.integers(0, full + op - 1))
        ce = draw(st.integers(0, full + op - 1 - cb))
        for name, v in zip(PER_DIM_FIELDS, (size, k, s, d, cb, ce, op), strict=True):
            per_dim[name].append(v)
    fields: dict[str, Any] = dict(
        rank=rank,
        batch=draw(st.integers(1, 8)),
        in_channels=groups * draw(st.integers(1, 8)),
        out_channels=groups * draw(st.integers(1, 8)),
        groups=groups,
        **{name: tuple(v) for name, v in per_dim.items()},
        bias=draw(st.booleans()),
        dtype=draw(st.sampled_from(DATA_DTYPES)),
        layout=draw(st.sampled_from(LAYOUTS)),
        distribution=draw(st.sampled_from(DISTRIBUTIONS)),
        seed=draw(st.integers(0, 2**63)),
    )
    try:
        return Case(**fields)
    except InvalidCase:  # a tensor over its cap (8 × 32 channels × 3-D sizes): not a valid case
        reject()


@settings(max_examples=200, deadline=None)
@given(case=valid_cases())
def test_to_dict_from_dict_round_trip(case: Case) -> None:
    data = case.to_dict()
    assert all(isinstance(data[name], list) for name in PER_DIM_FIELDS)
    assert Case.from_dict(data) == case
    # Through JSON too, the results-record form.
    again = Case.from_dict(json.loads(json.dumps(data)))
    assert again == case and again.to_dict() == data


def test_from_dict_rejects_unknown_keys() -> None:
    data = build().to_dict()
    data["padding"] = [1, 1]
    data["alpha"] = 2
    with pytest.raises(InvalidCase, match=re.escape("unknown case field(s): alpha, padding")) as info:
        Case.from_dict(data)
    assert info.value.rule == "known_fields"


def test_from_dict_reports_missing_per_dim_fields() -> None:
    data = build().to_dict()
    del data["stride"], data["pads_end"]
    with pytest.raises(InvalidCase, match=re.escape("missing case field(s): pads_end, stride")) as info:
        Case.from_dict(data)
    assert info.value.rule == "required_fields"


@pytest.mark.parametrize("name", ["rank", "batch", "in_channels", "out_channels", "groups"])
def test_from_dict_reports_missing_scalar_fields(name: str) -> None:
    data = build().to_dict()
    del data[name]
    with pytest.raises(InvalidCase, match=re.escape(f"missing case field(s): {name}")) as info:
        Case.from_dict(data)
    assert info.value.rule == "required_fields"


def test_from_dict_fills_defaults() -> None:
    data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in BASE.items()}
    case = Case.from_dict(data)
    assert (case.bias, case.dtype, case.layout, case.distribution, case.seed) == (
        True,
        "float32",
        "channels_first",
        "normal",
        0,
    )


def test_from_dict_validates() -> None:
    data = build().to_dict()
    data["groups"] = 3
    with pytest.raises(InvalidCase) as info:
        Case.from_dict(data)
    assert info.value.rule == "groups_divide_in_channels"


# --- output size formulas -------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    size=st.lists(st.integers(1, 40), min_size=1, max_size=3),
    data=st.data(),
)
def test_output_shape_matches_torch_symmetric_formula(size: list[int], data: st.DataObject) -> None:
    rank = len(size)
    ints = st.lists(st.integers(1, 6), min_size=rank, max_size=rank)
    k, s, d = data.draw(ints), data.draw(ints), data.draw(ints)
    op = data.draw(st.lists(st.integers(0, 5), min_size=rank, max_size=rank))
    # PyTorch (ConvTranspose2d page, docs/sources.md): (L−1)s − 2p + d(k−1) + op + 1, valid while positive.
    p = [
        data.draw(st.integers(0, ((n - 1) * ss + dd * (kk - 1) + oo) // 2))
        for n, kk, ss, dd, oo in zip(size, k, s, d, op, strict=True)
    ]
    case = Case.make(
        input_size=size,
        kernel_size=k,
        stride=s,
        dilation=d,
        pads_begin=p,
        pads_end=p,
        output_padding=op,
        batch=2,
        in_channels=3,
        out_channels=5,
    )
    torch_formula = tuple(
        (n - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
        for n, kk, ss, dd, pp, oo in zip(size, k, s, d, p, op, strict=True)
    )
    assert case.output_size == torch_formula
    assert case.output_shape == (2, 5, *torch_formula)
    assert case.symmetric_crops
    # Fact sheet: O = F − cb − ce + op with F = (L−1)s + K, K = d(k−1)+1.
    assert case.output_size == tuple(f - 2 * pp + oo for f, pp, oo in zip(case.full_size, p, op, strict=True))
