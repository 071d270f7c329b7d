"""Exploration finds every distinct bug of a target, each shrunk to its own minimal case."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings
from targets_for_tests import CorrectTarget, ThreeBugTarget, write_spec

from adapters.protocol import Target
from harness.engine.explore import Exploration, explore
from harness.engine.findings import Finding
from harness.engine.verdict import Verdict, judge
from harness.model.case import Case
from harness.spec.loader import load_spec
from harness.spec.strategies import cases

SETTINGS = settings(max_examples=150, derandomize=True, database=None, deadline=None)

Record = tuple[Case, Verdict, Finding | None]


def _explore(target: Target, spec_path: Path, *, in_spec: bool = True) -> tuple[Exploration, list[Record]]:
    records: list[Record] = []
    spec = load_spec(spec_path)
    result = explore(
        target=target,
        strategy=cases(spec),
        pinned=spec.pinned_cases(),
        settings=SETTINGS,
        record=lambda case, verdict, finding: records.append((case, verdict, finding)),
        outside=spec.outside if in_spec else None,
    )
    return result, records


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small 1D spec with groups, dilation and bias on/off."""
    return write_spec(tmp_path_factory.mktemp("spec"))


@pytest.fixture(scope="module")
def three_bugs(spec_path: Path) -> tuple[Exploration, list[Record]]:
    """One deterministic exploration of ThreeBugTarget over the spec."""
    return _explore(ThreeBugTarget(), spec_path)


def _by_kind(result: Exploration) -> dict[tuple[str, str], Finding]:
    return {(f.outcome, f.detail): f for f in result.findings}


def test_spec_allows_every_bug(spec_path: Path) -> None:
    spec = load_spec(spec_path)
    assert spec.channels.groups.max >= 2 and spec.dilation.max >= 2
    assert set(spec.bias) == {True, False} and set(spec.dtypes) == {"float64"}


def test_three_bugs_give_exactly_three_findings(three_bugs: tuple[Exploration, list[Record]]) -> None:
    result, _ = three_bugs
    kinds = [(f.outcome, f.detail) for f in result.findings]
    assert sorted(kinds) == sorted(
        [("value_mismatch", "beyond_bound"), ("shape_mismatch", "shape"), ("error", "RuntimeError")]
    ), [f.signature for f in result.findings]
    assert all(f.target == ThreeBugTarget.name for f in result.findings)
    assert len({f.signature for f in result.findings}) == 3


def test_groups_bug_is_shrunk_to_two_groups(three_bugs: tuple[Exploration, list[Record]]) -> None:
    case = _by_kind(three_bugs[0])[("value_mismatch", "beyond_bound")].minimal
    assert case.groups == 2
    assert case.in_channels == 2 and case.out_channels == 2  # one channel per group
    assert set(case.dilation) == {1}
    assert case.bias  # without bias the error bug would show instead
    assert case.batch == 1 and case.input_size == (1,) and case.kernel_size == (1,)


def test_dilation_bug_is_shrunk_to_dilation_two(three_bugs: tuple[Exploration, list[Record]]) -> None:
    finding = _by_kind(three_bugs[0])[("shape_mismatch", "shape")]
    case = finding.minimal
    assert 2 in case.dilation and max(case.dilation) == 2
    assert case.groups == 1 and case.in_channels == 1 and case.out_channels == 1
    assert case.bias
    assert "dilation>1" in finding.features and "groups>1" not in finding.features


def test_error_bug_is_shrunk_to_no_bias(three_bugs: tuple[Exploration, list[Record]]) -> None:
    finding = _by_kind(three_bugs[0])[("error", "RuntimeError")]
    case = finding.minimal
    assert not case.bias
    assert case.groups == 1 and set(case.dilation) == {1}
    assert case.in_channels == 1 and case.out_channels == 1 and case.batch == 1
    assert "bias" not in finding.features and "groups>1" not in finding.features


def test_minimal_cases_still_fail_as_recorded(three_bugs: tuple[Exploration, list[Record]]) -> None:
    target = ThreeBugTarget()
    for finding in three_bugs[0].findings:
        verdict = judge(finding.minimal, target)
        assert (verdict.outcome, verdict.detail) == (finding.outcome, finding.detail)


def test_recorder_sees_each_minimal_case_once(three_bugs: tuple[Exploration, list[Record]]) -> None:
    result, records = three_bugs
    minimal = [(case, verdict, finding) for case, verdict, finding in records if finding is not None]
    assert len(minimal) == len(result.findings) == 3
    assert [f for _, _, f in minimal] == result.findings
    for case, verdict, finding in minimal:
        assert case == finding.minimal
        assert (verdict.outcome, verdict.detail) == (finding.outcome, finding.detail)
    plain = [r for r in records if r[2] is None]
    assert len(plain) == result.cases_run
    assert result.cases_run >= SETTINGS.max_examples // 2
    # Every failing plain record is explained by a finding that was known by then.
    for case, verdict, _ in plain:
        if verdict.failing:
            assert any(f.explains(ThreeBugTarget.name, case, verdict) for f in result.findings), case.short()


def test_exploration_is_deterministic(spec_path: Path, three_bugs: tuple[Exploration, list[Record]]) -> None:
    again, _ = _explore(ThreeBugTarget(), spec_path)
    assert [f.signature for f in again.findings] == [f.signature for f in three_bugs[0].findings]
    assert [f.minimal for f in again.findings] == [f.minimal for f in three_bugs[0].findings]


def test_correct_target_gives_no_findings(spec_path: Path) -> None:
    result, records = _explore(CorrectTarget(), spec_path)
    assert result.findings == []
    assert all(finding is None for _, _, finding in records)
    assert len(records) == result.cases_run > 0
    assert {verdict.outcome for _, verdict, _ in records} == {"pass"}


def test_minimal_cases_stay_inside_the_spec(
    spec_path: Path, three_bugs: tuple[Exploration, list[Record]]
) -> None:
    """The spec is float64-only: shrinking must not move a finding to float32 (or out of any range)."""
    spec = load_spec(spec_path)
    result, _ = three_bugs
    assert all(spec.outside(f.minimal) == frozenset() for f in result.findings), [
        (f.signature, sorted(spec.outside(f.minimal))) for f in result.findings
    ]
    # Without the spec's check the same shrinker leaves the space: the check above is what holds it.
    unconstrained, _ = _explore(ThreeBugTarget(), spec_path, in_spec=False)
    assert any(spec.outside(f.minimal) for f in unconstrained.findings)


def test_a_replayed_example_is_not_a_flaky_duplicate(
    spec_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hypothesis runs a choice sequence again when its cache of results has let it go (10 000 in
    # a nightly, where it ended a run with FlakyReplay): the replay of a judged case must not be
    # rejected as a duplicate of itself. A cache of 4 makes replays frequent.
    from hypothesis.internal.conjecture import engine

    monkeypatch.setattr(engine, "CACHE_SIZE", 4)
    spec = load_spec(spec_path)
    judged: list[Case] = []
    result = explore(
        target=CorrectTarget(),
        strategy=cases(spec),
        pinned=[],
        settings=settings(max_examples=300, database=None, deadline=None, derandomize=False),
        record=lambda case, verdict, finding: judged.append(case),
        seed=3,
        steer=True,
    )
    assert len(judged) == len(set(judged)) == result.cases_run > 0
