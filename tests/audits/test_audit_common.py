"""What the audits share: inferring which explicit crops a target's output corresponds to, and the
crop candidates tried."""

from __future__ import annotations

from targets_for_tests import CorrectTarget

from harness.audits.common import crop_candidates, explain_output, infer_explicit
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
