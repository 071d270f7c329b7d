"""One finding per mechanism: bugs that share outcome, detail and features but do different things
to the output are distinct findings, each shrunk to a case that shows its own mechanism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings
from targets_for_tests import ReferenceTarget

from harness.engine.explore import Exploration, explore
from harness.engine.findings import Finding
from harness.engine.verdict import Verdict, judge
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.spec.loader import load_spec
from harness.spec.strategies import cases

SETTINGS = settings(max_examples=120, derandomize=True, database=None, deadline=None)

SPEC = """\
name: appended_small
description: small 1D space with output padding in most cases
rank: 1
max_elements: 256
batch: {min: 1, max: 2}
channels:
  groups: {min: 1, max: 1}
  in_per_group: {min: 1, max: 2}
  out_per_group: {min: 1, max: 2}
input_size: {min: 1, max: 5}
kernel_size: {min: 1, max: 3}
stride: {min: 2, max: 3}
dilation: {min: 1, max: 1}
crops: {max: 1, probability: 0.3, asymmetric_probability: 0.5}
output_padding: {max: 1, probability: 0.9}
bias: [true]
dtypes: [float64]
layouts: [channels_first]
distributions: [normal]
"""


class AppendedTarget(ReferenceTarget):
    """The positions output padding appends are left unwritten: 0 with one input channel, the
    stale value 7.5 with more (as a kernel that reuses a buffer would leave them)."""

    name = "test.appended"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The reference with the appended positions overwritten."""
        y = self.compute(case, arrays.x, arrays.weight, arrays.bias)
        (n,), (k,), (s,), (d,) = case.input_size, case.kernel_size, case.stride, case.dilation
        first_appended = (n - 1) * s + d * (k - 1) + 1 - case.pads_begin[0]  # in output coordinates
        if case.output_padding[0] and first_appended < y.shape[-1]:
            # only the appended positions: with an end crop the output's last ones are inside
            y[..., max(0, first_appended) :] = 0.0 if case.in_channels == 1 else 7.5
        return y


Record = tuple[Case, Verdict, Finding | None]


@pytest.fixture(scope="module")
def explored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Exploration, list[Record]]:
    path = tmp_path_factory.mktemp("spec") / "appended_small.yaml"
    path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(path)
    records: list[Record] = []
    result = explore(
        target=AppendedTarget(),
        strategy=cases(spec),
        pinned=spec.pinned_cases(),
        settings=SETTINGS,
        record=lambda case, verdict, finding: records.append((case, verdict, finding)),
        outside=spec.outside,
    )
    return result, records


def test_zeros_and_stale_values_are_two_findings(explored: tuple[Exploration, list[Record]]) -> None:
    findings = {f.mechanism: f for f in explored[0].findings}
    assert set(findings) == {"zero_for_finite@appended", "finite_for_finite@appended"}, [
        f.signature for f in explored[0].findings
    ]
    assert all((f.outcome, f.detail) == ("value_mismatch", "beyond_bound") for f in findings.values())
    assert findings["zero_for_finite@appended"].minimal.in_channels == 1
    assert findings["finite_for_finite@appended"].minimal.in_channels == 2
    assert "in_per_group>1" in findings["finite_for_finite@appended"].features


def test_each_minimal_case_shows_its_own_mechanism(explored: tuple[Exploration, list[Record]]) -> None:
    target = AppendedTarget()
    for finding in explored[0].findings:
        verdict = judge(finding.minimal, target)
        assert (finding.detail, finding.mechanism) in verdict.components()
        assert finding.signature.endswith("|" + finding.mechanism)
    sentences = {m["sentence"] for _, v, f in explored[1] if f is not None for m in v.stats["mechanisms"]}
    assert "positions appended by output_padding hold 0 instead of bias + products" in sentences


def test_every_failure_is_explained_by_its_mechanism(explored: tuple[Exploration, list[Record]]) -> None:
    result, records = explored
    for case, verdict, finding in records:
        if finding is None and verdict.failing:
            assert any(f.explains(AppendedTarget.name, case, verdict) for f in result.findings)
