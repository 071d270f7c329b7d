"""Findings grouped by mechanism: one group per (outcome, detail, features but rank) whatever the
target and rank, its failing cases counted once, groups ordered by severity; and the page shows one
element per group with its members inside."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from report_runs import parse_html

from benchmarks.report_scale import fake_run
from harness.report.groups import SEVERITY, FindingGroup, group_findings, mechanism, severity_key
from harness.report.load import Run
from harness.report.model import ReportedFinding, load_report
from harness.report.write import write_report

RUN = Run(Path("."), {}, [], [])


def finding(target: str, outcome: str, features: list[str], rank: int = 1, **extra: Any) -> ReportedFinding:
    """A reported finding of a record with these fields."""
    rec = {
        "target": target,
        "outcome": outcome,
        "detail": extra.pop("detail", "d"),
        "features": sorted(features),
        "case": {"rank": rank},
        "minimal": True,
        **extra,
    }
    rec["signature"] = "|".join([target, outcome, rec["detail"], ",".join(rec["features"])])
    return ReportedFinding(rec["signature"], rec, RUN)


def case(target: str, outcome: str, features: list[str], detail: str = "d") -> dict[str, Any]:
    """A failing case record."""
    return {"target": target, "outcome": outcome, "detail": detail, "features": features}


def test_one_group_across_targets_and_ranks() -> None:
    members = [
        finding("a", "value_mismatch", ["groups>1"]),
        finding("b", "value_mismatch", ["groups>1", "rank=2"], rank=2),
        finding("c", "value_mismatch", ["groups>1", "rank=3"], rank=3),
    ]
    others = [
        finding("a", "value_mismatch", ["groups>1", "stride>1"]),  # another feature
        finding("a", "value_mismatch", ["groups>1"], detail="nonfinite_pattern"),  # another detail
        finding("a", "shape_mismatch", ["groups>1"]),  # another outcome
    ]
    groups = group_findings([*members, *others], [])
    assert len(groups) == 4
    (big,) = [g for g in groups if len(g.members) > 1]
    assert big.members == members
    assert big.mechanism == ("value_mismatch", "d", ("groups>1",))
    assert big.targets == ["a", "b", "c"] and big.ranks == [1, 2, 3]


def test_history_dependent_findings_group_by_what_they_showed() -> None:
    crash = {"detail": "history_dependent", "observed_detail": "SIGSEGV"}
    a = finding("a", "crash", ["bias"], **dict(crash))
    b = finding("b", "crash", ["stride>1"], **dict(crash))
    c = finding("c", "crash", ["bias"], detail="history_dependent", observed_detail="SIGABRT")
    assert mechanism(a.record) == mechanism(b.record) != mechanism(c.record)
    assert sorted(len(g.members) for g in group_findings([a, b, c], [])) == [1, 2]


def test_a_failing_case_counts_once_per_group() -> None:
    one = finding("a", "value_mismatch", ["groups>1"])
    two = finding("a", "value_mismatch", ["groups>1", "rank=2"], rank=2)
    cases = [
        case("a", "value_mismatch", ["groups>1", "rank=2"]),  # explained by both members
        case("a", "value_mismatch", ["groups>1"]),
        case("a", "value_mismatch", ["stride>1"]),  # explained by neither
        case("b", "value_mismatch", ["groups>1"]),  # another target
        case("a", "pass", ["groups>1"]),
    ]
    (group,) = group_findings([one, two], cases)
    assert group.cases == 2


def test_groups_are_ordered_by_severity() -> None:
    def value(target: str, ratio: Any, nonfinite: int = 0) -> ReportedFinding:
        stats = {"error_ratio": ratio, "nonfinite_mismatches": nonfinite}
        return finding(target, "value_mismatch", [target], stats=stats)

    findings = [
        finding("doc", "doc_mismatch", []),
        finding("err", "error", []),
        value("small", 2.0),
        finding("crash", "crash", []),
        value("nan", 0.0, nonfinite=3),
        finding("shape", "shape_mismatch", []),
        value("large", 50.0),
        value("exact", "inf"),
    ]
    order = [g.members[0].target for g in group_findings(findings, [])]
    # a nan/inf mismatch and an exact comparison that failed are both infinitely past the bound
    assert set(order[:2]) == {"nan", "exact"}
    assert order[2:] == ["large", "small", "shape", "crash", "err", "doc"]
    assert SEVERITY[0] == "value_mismatch" and SEVERITY[-1] == "doc_mismatch"


def test_more_failing_cases_first_at_equal_outcome_and_ratio() -> None:
    few, many = FindingGroup(("error", "x", ()), cases=1), FindingGroup(("error", "y", ()), cases=9)
    assert sorted([few, many], key=severity_key) == [many, few]
    (exact,) = group_findings([finding("a", "value_mismatch", [], stats={"error_ratio": "inf"})], [])
    assert exact.worst_ratio is not None and math.isinf(exact.worst_ratio)


@pytest.fixture(scope="module")
def grouped_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six findings: two mechanisms, each on three targets and ranks (no arrays: no pictures)."""
    folder = fake_run(tmp_path_factory.mktemp("grouped") / "run", findings=6, targets=4, arrays=False)
    write_report([folder])
    return folder


def test_the_page_shows_a_group_per_mechanism_with_its_members(grouped_page: Path) -> None:
    parsed = parse_html(grouped_page / "report.html")
    groups = [a for t, a in parsed.tags if t == "details" and "group" in (a.get("class") or "").split()]
    members = [a for t, a in parsed.tags if t == "details" and "member" in (a.get("class") or "").split()]
    assert len(groups) == 2 and len(members) == 6
    report = load_report([grouped_page])
    assert {g["data-members"] for g in groups} == {"3"}
    assert sorted(int(g["data-cases"]) for g in groups) == sorted(
        g.cases for g in group_findings(report.findings, report.cases)
    )
    page = (grouped_page / "report.html").read_text(encoding="utf-8")
    assert page.count("3 findings</b> on 3 targets, ranks 1, 2, 3") == 2


def test_a_group_of_one_is_its_finding(tmp_path: Path) -> None:
    folder = fake_run(tmp_path / "run", findings=2, targets=2, per_group=1, arrays=False)
    write_report([folder])
    parsed = parse_html(folder / "report.html")
    details = [a for t, a in parsed.tags if t == "details"]
    assert [d.get("class") for d in details] == ["group finding", "group finding"]
    assert {d["id"] for d in details} == {"finding-0", "finding-1"}


def test_mechanisms_of_the_same_kind_are_separate_groups() -> None:
    zeros = finding("a", "value_mismatch", ["output_padding"], mechanism="zero_for_finite@appended")
    stale = finding("a", "value_mismatch", ["output_padding"], mechanism="finite_for_finite@appended")
    assert mechanism(zeros.record) != mechanism(stale.record)
    shows_stale = {
        **case("a", "value_mismatch", ["output_padding", "bias"]),
        "stats": {"mechanisms": [{"detail": "d", "key": "finite_for_finite@appended"}]},
    }
    groups = {g.mechanism[1]: g for g in group_findings([zeros, stale], [shows_stale])}
    assert groups["d finite_for_finite@appended"].cases == 1
    assert groups["d zero_for_finite@appended"].cases == 0
