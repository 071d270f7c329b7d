"""The shrinker moves coupled parameters together, and a finding is retired once a simpler one of
the same mechanism appears."""

from __future__ import annotations

import dataclasses

import numpy as np
from targets_for_tests import ReferenceTarget

from adapters.protocol import CROPS_SYMMETRIC, Capabilities
from harness.engine.explore import _new_finding
from harness.engine.findings import Finding, candidates, finding_key, retired
from harness.engine.verdict import judge
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.features import signature_features


class SymmetricNoBiasTarget(ReferenceTarget):
    """A symmetric-padding API (one padding per dimension) that drops the bias when stride > 1."""

    name = "test.symmetric_no_bias"

    def capabilities(self) -> Capabilities:
        """ReferenceTarget's model with symmetric crops and output padding below the stride."""
        return dataclasses.replace(
            super().capabilities(), crops=CROPS_SYMMETRIC, output_padding_limit="lt_stride"
        )

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The reference, without the bias when any stride is above 1."""
        keep = arrays.bias if max(case.stride) == 1 else None
        return self.compute(case, arrays.x, arrays.weight, keep)


def _shrunk(case: Case) -> Finding:
    target = SymmetricNoBiasTarget()
    verdict = judge(case, target)
    assert verdict.failing
    finding, _ = _new_finding(target, case, verdict, [])
    return finding


def test_a_symmetric_crop_the_bug_does_not_need_is_shrunk_away() -> None:
    case = Case.make(input_size=(4,), kernel_size=3, stride=2, pads_begin=1, pads_end=1, bias=True)
    finding = _shrunk(case)
    assert finding.minimal.pads_begin == (0,) and finding.minimal.pads_end == (0,)
    assert "crop" not in finding.features
    assert {"bias", "stride>1"} <= finding.features


def test_output_padding_below_the_stride_is_lowered_with_the_stride() -> None:
    case = Case.make(input_size=(3,), kernel_size=2, stride=3, output_padding=2, bias=True)
    finding = _shrunk(case)
    assert finding.minimal.stride == (2,)  # the bug needs a stride above 1
    assert "output_padding" not in finding.features


def test_coupled_candidates_keep_a_symmetric_crop_symmetric() -> None:
    case = Case.make(input_size=(4, 4), kernel_size=3, stride=2, pads_begin=1, pads_end=1)
    symmetric = [
        c for c in candidates(case) if c.pads_begin == c.pads_end and c.pads_begin != case.pads_begin
    ]
    assert Case.make(input_size=(4, 4), kernel_size=3, stride=2) in symmetric
    assert case.replace(pads_begin=(0, 1), pads_end=(0, 1)) in symmetric


def test_a_simpler_finding_of_the_same_mechanism_retires_the_other() -> None:
    plain = Case.make(input_size=(2,), stride=2, bias=True)
    cropped = plain.replace(pads_begin=(1,), pads_end=(1,), input_size=(3,))
    old = Finding(
        "t", "value_mismatch", "beyond_bound", signature_features(cropped), cropped, mechanism="m@inside"
    )
    new = Finding(
        "t", "value_mismatch", "beyond_bound", signature_features(plain), plain, mechanism="m@inside"
    )
    other = dataclasses.replace(new, mechanism="zero_for_finite@appended")
    assert retired([finding_key(f) for f in (old, new)]) == {0}
    assert retired([finding_key(f) for f in (old, other)]) == set()  # another mechanism
    assert retired([finding_key(f) for f in (new, new)]) == set()  # equal features: neither is simpler
