"""Verdicts on a target that offers named padding modes: doc_mismatch, value mismatch, unsupported.

The modes themselves (sizes, crop splits, resolution) are tested in ``tests/model/test_modes.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from targets_for_tests import CorrectTarget

from adapters.protocol import Capabilities
from harness.engine.verdict import judge
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.model.modes import DocumentedMode, resolve_mode, size_same, size_valid
from harness.model.outcomes import Outcome
from harness.oracle.reference import conv_transpose

SAME_UPPER = DocumentedMode("SAME_UPPER", "L·s", size_same, "extra_at_end", "test", "test")
VALID_END = DocumentedMode("VALID", "full", size_valid, "all_at_end", "test", "test")


# --- verdicts on a test target that offers modes ----------------------------------------------------


class ModeTarget(CorrectTarget):
    """Computes a mode case with crops of its own choosing; declares SAME as upper and VALID."""

    name = "test.modes"
    actual_split = "extra_at_end"  # what it really does
    actual_extra = 0  # elements it appends beyond the documented size

    def capabilities(self) -> Capabilities:
        """CorrectTarget's model plus two documented modes."""
        return dataclasses.replace(
            super().capabilities(), padding_modes={"same": SAME_UPPER, "valid": VALID_END}
        )

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The reference with the crops this target really uses."""
        real = DocumentedMode(
            "real", "", lambda n, k, s, d: n * s + self.actual_extra, self.actual_split, "", ""
        )
        explicit = resolve_mode(case, real) if case.padding_mode != "explicit" else case
        y = conv_transpose(
            arrays.x,
            arrays.weight,
            arrays.bias if case.bias else None,
            stride=explicit.stride,
            dilation=explicit.dilation,
            pads_begin=explicit.pads_begin,
            pads_end=explicit.pads_end,
            output_padding=explicit.output_padding,
            groups=explicit.groups,
        )
        return round_to_format(y, case.dtype)


def _case() -> Case:
    return Case.make(
        input_size=(3, 4),
        kernel_size=(3, 4),
        stride=(2, 1),
        in_channels=2,
        out_channels=3,
        padding_mode="same",
        dtype="float64",
        seed=3,
    )


def test_a_target_that_does_what_it_documents_passes() -> None:
    assert judge(_case(), ModeTarget()).outcome == Outcome.PASS


def test_a_different_output_size_is_doc_mismatch_with_both_sizes() -> None:
    target = ModeTarget()
    target.actual_extra = 1
    verdict = judge(_case(), target)
    assert verdict.outcome == Outcome.DOC_MISMATCH and verdict.detail == "output_size"
    assert verdict.stats["documented_size"] == [6, 4]
    assert verdict.stats["actual_size"] == [7, 5]
    assert "SAME_UPPER" in verdict.message and "L·s" in verdict.message


def test_a_different_crop_split_is_a_value_mismatch() -> None:
    target = ModeTarget()
    target.actual_split = "extra_at_begin"
    verdict = judge(_case(), target)
    assert verdict.outcome == Outcome.VALUE_MISMATCH


def test_a_mode_the_target_lacks_is_unsupported() -> None:
    verdict = judge(_case().replace(padding_mode="same_lower"), ModeTarget())
    assert verdict.outcome == Outcome.UNSUPPORTED and "same_lower" in verdict.message


# --- the second result: values judged at the size the target really produced ----------------------


class NoDilationModeTarget(ModeTarget):
    """A SAME that ignores dilation: the crops of dilation 1, and a size one past the documented."""

    name = "test.modes_no_dilation"
    actual_extra = 1

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """ModeTarget's result computed as if the dilation were 1."""
        return super().run(case.replace(dilation=(1,) * case.rank), arrays)


def test_a_departing_size_with_right_values_names_the_crops_that_explain_them() -> None:
    target = ModeTarget()
    target.actual_extra = 1
    verdict = judge(_case(), target)
    assert verdict.outcome == Outcome.DOC_MISMATCH
    values = verdict.stats["values"]
    assert values["outcome"] == "pass" and values["split"] == "extra_at_end"
    # full output 7x7, actual 7x5: nothing cropped in dim 0, 2 cropped in dim 1 split 1/1
    assert (values["pads_begin"], values["pads_end"], values["output_padding"]) == ([0, 1], [0, 1], [0, 0])
    assert "values: the values match crops" in verdict.message
    assert verdict.components() == [("output_size", "")]


def test_a_departing_size_hides_no_value_bug() -> None:
    case = _case().replace(dilation=(2, 1))
    verdict = judge(case, NoDilationModeTarget())
    assert verdict.outcome == Outcome.DOC_MISMATCH
    values = verdict.stats["values"]
    assert values["outcome"] == "value_mismatch" and values["detail"] == "beyond_bound"
    assert "no crop split explains the values" in verdict.message
    details = [detail for detail, _ in verdict.components()]
    assert details[0] == "output_size" and "values_beyond_bound" in details[1:]
    # the same target is right without dilation: the size departs, the values do not
    plain = judge(_case(), NoDilationModeTarget())
    assert plain.stats["values"]["outcome"] == "pass" and plain.components() == [("output_size", "")]
