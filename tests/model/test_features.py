"""The features of a case (``harness.model.features``) on hand-built cases: groups, crops, output
padding against the full output, named modes, size, and the signature tokens of each departure
from the simplest case."""

from __future__ import annotations

from typing import Any

import pytest

from harness.model.case import Case
from harness.model.features import COVERAGE_FEATURES, coverage_features, features, signature_features


def simplest(**changes: Any) -> Case:
    """The simplest case (rank 1, one channel, kernel 1, no bias, float32) with some changes."""
    base: dict[str, Any] = {"input_size": 3, "kernel_size": 1, "bias": False}
    return Case.make(**{**base, **changes})


def test_the_simplest_case_has_no_signature_tokens() -> None:
    case = simplest()
    assert signature_features(case) == frozenset()
    f = features(case)
    assert f["rank"] == "1" and f["dtype"] == "float32" and f["layout"] == "channels_first"
    assert f["groups"] == "1" and f["crops"] == "none" and f["output_padding"] == "none"
    assert f["past_full_output"] == "no" and f["bias"] == "no"
    assert f["padding_mode"] == "explicit" and f["padding"] == "none"
    for name in ("batch", "in_per_group", "out_per_group", "kernel", "stride", "dilation"):
        assert f[name] == "1", name


@pytest.mark.parametrize(
    ("changes", "tokens"),
    [
        ({"input_size": (3, 3)}, {"rank=2"}),
        ({"input_size": (3, 3, 3)}, {"rank=3"}),
        ({"dtype": "float16"}, {"dtype=float16"}),
        ({"dtype": "bfloat16"}, {"dtype=bfloat16"}),
        ({"layout": "channels_last"}, {"layout=channels_last"}),
        ({"distribution": "uniform"}, {"distribution=uniform"}),
        ({"distribution": "large"}, {"distribution=large"}),
        ({"distribution": "special"}, {"distribution=special"}),
        # Both plain finite distributions are the simplest (the shrinker moves to small_int).
        ({"distribution": "small_int"}, set()),
        # Depthwise with one output channel per group: only the grouping departs.
        ({"in_channels": 2, "out_channels": 2, "groups": 2}, {"groups>1"}),
        ({"batch": 2}, {"batch>1"}),
        ({"in_channels": 2}, {"in_per_group>1"}),
        ({"out_channels": 2}, {"out_per_group>1"}),
        ({"kernel_size": 2}, {"kernel>1"}),
        ({"stride": 2}, {"stride>1"}),
        ({"dilation": 2}, {"dilation>1"}),
        ({"pads_begin": 1, "pads_end": 1}, {"crop"}),
        ({"pads_begin": 1}, {"crop", "asymmetric_crop"}),
        ({"pads_end": 1}, {"crop", "asymmetric_crop"}),
        # Output padding within the full output needs an end crop at least as large.
        ({"pads_begin": 1, "pads_end": 1, "output_padding": 1}, {"crop", "output_padding"}),
        ({"output_padding": 1}, {"output_padding", "past_full_output"}),
        ({"bias": True}, {"bias"}),
        ({"padding_mode": "valid"}, {"padding_mode=valid"}),
        # stride 1, kernel 1: SAME's L·s is the full output, nothing lies past it.
        ({"padding_mode": "same"}, {"padding_mode=same"}),
        ({"padding_mode": "same_lower"}, {"padding_mode=same_lower"}),
    ],
)
def test_each_token_appears_exactly_when_its_feature_departs(
    changes: dict[str, Any], tokens: set[str]
) -> None:
    assert signature_features(simplest(**changes)) == tokens


def test_groups_tell_depthwise_from_grouped() -> None:
    depthwise = features(simplest(in_channels=4, out_channels=8, groups=4))
    assert depthwise["groups"] == "depthwise" and depthwise["in_per_group"] == "1"
    assert depthwise["out_per_group"] == ">1"
    grouped = features(simplest(in_channels=4, out_channels=4, groups=2))
    assert grouped["groups"] == "grouped" and grouped["in_per_group"] == ">1"
    assert features(simplest(in_channels=4, out_channels=4))["groups"] == "1"
    # Both kinds are the same departure for a signature.
    assert "groups>1" in signature_features(simplest(in_channels=4, out_channels=8, groups=4))
    assert "groups>1" in signature_features(simplest(in_channels=4, out_channels=4, groups=2))


@pytest.mark.parametrize(
    ("pads_begin", "pads_end", "crops"),
    [
        ((0, 0), (0, 0), "none"),
        ((1, 2), (1, 2), "symmetric"),
        ((1, 0), (1, 0), "symmetric"),
        ((1, 1), (1, 0), "asymmetric"),
        ((0, 0), (0, 1), "asymmetric"),
    ],
)
def test_crops_are_none_symmetric_or_asymmetric(
    pads_begin: tuple[int, int], pads_end: tuple[int, int], crops: str
) -> None:
    case = simplest(input_size=(5, 5), kernel_size=3, pads_begin=pads_begin, pads_end=pads_end)
    f = features(case)
    assert f["crops"] == crops
    assert f["padding"] == crops  # an explicit case's padding is its crops
    assert ("crop" in signature_features(case)) is (crops != "none")
    assert ("asymmetric_crop" in signature_features(case)) is (crops == "asymmetric")


def test_output_padding_within_the_full_output() -> None:
    # L=3, k=3, s=2: F = 7; crops 1/1 and op 1 give O = 6, the last position is F − 1.
    case = simplest(kernel_size=3, stride=2, pads_begin=1, pads_end=1, output_padding=1)
    assert case.full_size == (7,) and case.output_size == (6,)
    f = features(case)
    assert f["output_padding"] == "within full output" and f["past_full_output"] == "no"


def test_output_padding_past_the_full_output() -> None:
    # No end crop: op 1 gives O = 8, one position past F = 7 (it holds the bias alone).
    past = simplest(kernel_size=3, stride=2, output_padding=1)
    assert past.output_size == (8,)
    f = features(past)
    assert f["output_padding"] == "past full output" and f["past_full_output"] == "yes"


def test_a_begin_crop_shifts_output_padding_past_the_full_output() -> None:
    # Crops 1/0 and op 1: O = F = 7, yet the output covers positions 1..7 of the full output 0..6.
    case = simplest(kernel_size=3, stride=2, pads_begin=1, pads_end=0, output_padding=1)
    assert case.full_size == (7,) and case.output_size == (7,)
    f = features(case)
    assert f["output_padding"] == "past full output" and f["past_full_output"] == "yes"
    assert {"output_padding", "past_full_output"} <= signature_features(case)


def test_one_dimension_past_the_full_output_is_enough() -> None:
    case = simplest(input_size=(3, 3), kernel_size=3, stride=2, pads_end=(1, 0), output_padding=(1, 1))
    f = features(case)
    assert f["output_padding"] == "past full output" and f["past_full_output"] == "yes"


def test_a_same_mode_with_stride_past_the_dilated_kernel_reaches_past_the_full_output() -> None:
    # L=2, k=1, s=3: F = (L−1)·s + 1 = 4, SAME's size L·s = 6: two positions hold the bias alone.
    case = simplest(input_size=2, kernel_size=1, stride=3, padding_mode="same")
    assert case.full_size == (4,) and case.output_size == (6,)
    f = features(case)
    assert f["past_full_output"] == "yes"
    assert f["output_padding"] == "none"  # no explicit output padding: the mode's size did it
    assert f["padding"] == "mode same" and f["crops"] == "none"
    assert signature_features(case) == {"stride>1", "padding_mode=same", "past_full_output"}


def test_a_same_mode_within_the_full_output_is_not_past_it() -> None:
    # L=2, k=3, s=2: F = 5 exceeds SAME's L·s = 4 (the dilated kernel 3 is wider than the stride).
    case = simplest(input_size=2, kernel_size=3, stride=2, padding_mode="same")
    assert case.full_size == (5,) and case.output_size == (4,)
    assert features(case)["past_full_output"] == "no"
    # Dilation widens the kernel: k=2, d=3 gives K = 4 > s = 3.
    dilated = simplest(input_size=2, kernel_size=2, dilation=3, stride=3, padding_mode="same")
    assert dilated.full_size == (7,) and dilated.output_size == (6,)
    assert features(dilated)["past_full_output"] == "no"


@pytest.mark.parametrize(
    ("input_size", "size"),
    [(1, "tiny"), (2, "tiny"), (3, "normal"), ((1, 2), "tiny"), ((2, 2), "normal")],
)
def test_size_is_tiny_up_to_two_output_elements_per_channel(input_size: Any, size: str) -> None:
    # Batch and channels do not count: the size is per output channel.
    assert features(simplest(input_size=input_size, batch=3, out_channels=4))["size"] == size


def test_coverage_features_are_the_named_subset_of_features() -> None:
    case = simplest(input_size=(3, 3), groups=2, in_channels=4, out_channels=4, padding_mode="valid")
    cover = coverage_features(case)
    assert tuple(cover) == COVERAGE_FEATURES
    every = features(case)
    assert all(cover[name] == every[name] for name in COVERAGE_FEATURES)
    assert cover["padding_mode"] == "valid" and cover["groups"] == "grouped"
