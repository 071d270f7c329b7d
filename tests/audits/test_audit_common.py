"""What the audits share: inferring which explicit crops a target's output corresponds to, and the
crop candidates tried (which never build a list as long as the full output)."""

from __future__ import annotations

import itertools
import random
import tracemalloc

from targets_for_tests import CorrectTarget

from harness.audits.common import MAX_CROP_CANDIDATES, crop_candidates, explain_output, infer_explicit
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.oracle.reference import reference_for_case


def test_inference_names_the_crop_an_output_has() -> None:
    target = CorrectTarget()
    case = Case.make(input_size=(5, 4), kernel_size=(4, 3), stride=(2, 1), in_channels=2, out_channels=2)
    arrays = make_arrays(case)
    for begin, end in (((0, 0), (2, 2)), ((2, 1), (0, 1)), ((1, 0), (1, 2))):
        truth = case.replace(pads_begin=begin, pads_end=end)
        actual = reference_for_case(truth, arrays.x, arrays.weight, arrays.bias)
        found = infer_explicit(case, actual, arrays, target)
        assert found is not None
        assert (found.pads_begin, found.output_size) == (truth.pads_begin, truth.output_size)
        spoiled = actual.copy()
        spoiled[0, 0, 0, 0] += 1.0
        assert infer_explicit(case, spoiled, arrays, target) is None


def test_an_output_that_ignores_dilation_is_named_as_such() -> None:
    case = Case.make(input_size=(4,), kernel_size=3, stride=2, dilation=2, in_channels=2, out_channels=2)
    arrays = make_arrays(case)
    plain = case.replace(dilation=(1,), pads_begin=(1,), pads_end=(0,))
    actual = reference_for_case(plain, arrays.x, arrays.weight, arrays.bias)
    found, note, instead = explain_output(case, actual, arrays, CorrectTarget())
    assert found is None and instead is not None and "dilation" in note
    assert (instead.dilation, instead.pads_begin, instead.output_size) == ((1,), (1,), plain.output_size)


def test_crop_candidates_cover_the_whole_crop() -> None:
    case = Case.make(input_size=(3, 2), kernel_size=(5, 3), stride=(1, 2))
    size = (4, 3)
    candidates = crop_candidates(case, size)
    for b0 in range(case.full_size[0] - size[0] + 1):
        for b1 in range(case.full_size[1] - size[1] + 1):
            assert (b0, b1) in candidates


def _every_candidate_sorted(case: Case, size: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The definition: every begin crop 0..top per dimension, nearest the centre first, combined."""
    per_dim = []
    for full, out, kernel in zip(case.full_size, size, case.dilated_kernel, strict=True):
        centre = max(full - out, 0) / 2
        per_dim.append(
            sorted(range(max(full - out, kernel - 1, 0) + 1), key=lambda v, c=centre: (abs(v - c), v))
        )
    return list(itertools.islice(itertools.product(*per_dim), MAX_CROP_CANDIDATES))


def test_crop_candidates_follow_their_definition() -> None:
    rng = random.Random(3)
    for _ in range(300):
        rank = rng.randint(1, 3)
        case = Case.make(
            rank=rank,
            input_size=tuple(rng.randint(1, (200, 60, 20)[rank - 1]) for _ in range(rank)),
            kernel_size=tuple(rng.randint(1, 9) for _ in range(rank)),
            stride=tuple(rng.randint(1, 5) for _ in range(rank)),
            dilation=tuple(rng.randint(1, 4) for _ in range(rank)),
        )
        size = tuple(rng.randint(1, f + 10) for f in case.full_size)
        assert crop_candidates(case, size) == _every_candidate_sorted(case, size)


def test_crop_candidates_of_a_huge_full_size_build_no_list_of_it() -> None:
    case = Case.make(input_size=2, kernel_size=1, stride=2**22)  # F = 2**22 + 1
    tracemalloc.start()
    try:
        candidates = crop_candidates(case, (3,))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    assert candidates[:3] == [(2**21 - 1,), (2**21 - 2,), (2**21,)]  # from the centre (F − O)/2
    assert len(candidates) == MAX_CROP_CANDIDATES
