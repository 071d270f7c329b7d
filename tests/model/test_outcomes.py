"""The outcome vocabulary (``harness.model.outcomes``): plain string values, the JUnit element of
each outcome, which outcomes are findings, and the orders tables and the report use."""

from __future__ import annotations

import json

import pytest

from harness.model.outcomes import FAILING, FINDING_ORDER, OUTCOMES, Outcome, junit_outcomes

#: What every outcome means for JUnit, the findings and the report's badge (README, "Outcomes").
EXPECTED: dict[Outcome, tuple[str | None, bool, str]] = {
    Outcome.PASS: (None, False, "pass"),
    Outcome.SHAPE_MISMATCH: ("failure", True, "fail"),
    Outcome.VALUE_MISMATCH: ("failure", True, "fail"),
    Outcome.DOC_MISMATCH: ("failure", True, "fail"),
    Outcome.ERROR: ("error", True, "fail"),
    Outcome.CRASH: ("error", True, "fail"),
    Outcome.TIMEOUT: ("error", True, "fail"),
    Outcome.UNSUPPORTED: ("skipped", False, "unsup"),
    Outcome.RAN_UNSUPPORTED: ("failure", True, "fail"),
}


def test_every_outcome_is_covered_by_the_expectations() -> None:
    assert set(EXPECTED) == set(Outcome)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_junit_element_finding_and_badge_of_each_outcome(outcome: Outcome) -> None:
    junit, failing, badge = EXPECTED[outcome]
    assert outcome.junit == junit
    assert outcome.failing is failing
    assert (outcome in FAILING) is failing
    assert outcome.badge == badge


def test_outcomes_are_their_plain_string_values() -> None:
    assert Outcome.PASS == "pass" and Outcome.DOC_MISMATCH == "doc_mismatch"
    assert Outcome("value_mismatch") is Outcome.VALUE_MISMATCH
    assert json.dumps({"outcome": Outcome.TIMEOUT}) == '{"outcome": "timeout"}'
    assert f"{Outcome.CRASH}" == "crash"
    with pytest.raises(ValueError):
        Outcome("mismatch")


def test_junit_outcomes_groups_outcomes_by_element() -> None:
    failure = {Outcome.SHAPE_MISMATCH, Outcome.VALUE_MISMATCH, Outcome.DOC_MISMATCH, Outcome.RAN_UNSUPPORTED}
    assert junit_outcomes("failure") == failure
    assert junit_outcomes("error") == {Outcome.ERROR, Outcome.CRASH, Outcome.TIMEOUT}
    assert junit_outcomes("skipped") == {Outcome.UNSUPPORTED}
    assert junit_outcomes("passed") == frozenset()
    # Every outcome but a pass carries exactly one of the three elements.
    kinds = [junit_outcomes(kind) for kind in ("failure", "error", "skipped")]
    assert set().union(*kinds) == set(Outcome) - {Outcome.PASS}
    assert sum(len(k) for k in kinds) == len(Outcome) - 1


def test_failing_is_every_outcome_but_pass_and_unsupported() -> None:
    assert FAILING == set(Outcome) - {Outcome.PASS, Outcome.UNSUPPORTED}
    assert isinstance(FAILING, frozenset)


def test_finding_order_lists_each_finding_outcome_once() -> None:
    assert len(FINDING_ORDER) == len(set(FINDING_ORDER))
    assert set(FINDING_ORDER) == FAILING
    assert FINDING_ORDER[:2] == (Outcome.SHAPE_MISMATCH, Outcome.VALUE_MISMATCH)


def test_outcomes_holds_every_outcome_in_declaration_order() -> None:
    assert OUTCOMES == tuple(Outcome)
    assert OUTCOMES[0] is Outcome.PASS and OUTCOMES[-1] is Outcome.UNSUPPORTED


def test_labels_are_distinct_and_name_the_finding() -> None:
    labels = {outcome: outcome.label for outcome in Outcome}
    assert len(set(labels.values())) == len(labels)
    assert labels[Outcome.VALUE_MISMATCH] == "value"
    assert labels[Outcome.SHAPE_MISMATCH] == "shape"
    assert labels[Outcome.DOC_MISMATCH] == "departure from documentation"
