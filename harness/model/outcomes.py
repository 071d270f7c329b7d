"""The outcomes of judging one (case, target): the one vocabulary that verdicts, results, the
summary, the JUnit file and the report templates all read.

An :class:`Outcome` is a ``str`` (``Outcome.PASS == "pass"``), so records, JSON and templates hold
the plain value.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What judging one case on one target gave (README, table "Outcomes")."""

    PASS = "pass"
    SHAPE_MISMATCH = "shape_mismatch"
    VALUE_MISMATCH = "value_mismatch"
    #: A named mode's output size departs from what the target's own documentation gives.
    DOC_MISMATCH = "doc_mismatch"
    ERROR = "error"
    #: The worker process died (signal, abort, exit, killed for memory) while running the case.
    CRASH = "crash"
    #: The case ran past its time limit; the worker was killed and restarted.
    TIMEOUT = "timeout"
    #: The framework ran a case of the outside-capabilities sample that its target declares it
    #: cannot express: the declaration (or the framework's validation) is wrong.
    RAN_UNSUPPORTED = "ran_unsupported"
    UNSUPPORTED = "unsupported"

    @property
    def failing(self) -> bool:
        """True for every outcome that is a finding (all but ``pass`` and ``unsupported``)."""
        return self not in (Outcome.PASS, Outcome.UNSUPPORTED)

    @property
    def junit(self) -> str | None:
        """The JUnit element a record of this outcome carries: ``failure`` for a mismatch,
        ``error`` for an error, crash or timeout, ``skipped`` when unsupported, None on a pass."""
        return _JUNIT[self]

    @property
    def label(self) -> str:
        """How the report names a finding of this outcome."""
        return _LABELS[self]

    @property
    def badge(self) -> str:
        """The report's CSS class for this outcome: ``pass``, ``fail`` or ``unsup``."""
        if self is Outcome.PASS:
            return "pass"
        return "unsup" if self is Outcome.UNSUPPORTED else "fail"


_JUNIT: dict[Outcome, str | None] = {
    Outcome.PASS: None,
    Outcome.SHAPE_MISMATCH: "failure",
    Outcome.VALUE_MISMATCH: "failure",
    Outcome.DOC_MISMATCH: "failure",
    Outcome.ERROR: "error",
    Outcome.CRASH: "error",
    Outcome.TIMEOUT: "error",
    Outcome.UNSUPPORTED: "skipped",
    Outcome.RAN_UNSUPPORTED: "failure",
}
_LABELS: dict[Outcome, str] = {
    Outcome.PASS: "pass",
    Outcome.SHAPE_MISMATCH: "shape",
    Outcome.VALUE_MISMATCH: "value",
    Outcome.DOC_MISMATCH: "departure from documentation",
    Outcome.ERROR: "error",
    Outcome.CRASH: "crash",
    Outcome.TIMEOUT: "timeout",
    Outcome.UNSUPPORTED: "unsupported",
    Outcome.RAN_UNSUPPORTED: "ran though declared unsupported",
}

#: Every outcome, in the order tables show them.
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
#: The outcomes that are findings.
FAILING: frozenset[Outcome] = frozenset(o for o in Outcome if o.failing)
#: Finding outcomes in the order the report shows them.
FINDING_ORDER: tuple[Outcome, ...] = (
    Outcome.SHAPE_MISMATCH,
    Outcome.VALUE_MISMATCH,
    Outcome.ERROR,
    Outcome.CRASH,
    Outcome.TIMEOUT,
    Outcome.DOC_MISMATCH,
    Outcome.RAN_UNSUPPORTED,
)

# ``detail`` of an ``unsupported`` case of the sample drawn outside a target's declared capabilities
# (:mod:`harness.engine.space`), by what checked the refusal:
#: the framework itself, called with the raw parameters, raised.
OUTSIDE_REFUSED = "outside_refused"
#: the target's raw probe has no way to pass these parameters either (the API cannot express them).
OUTSIDE_INEXPRESSIBLE = "outside_inexpressible"
#: nothing beyond the declaration: the raw probe runs float32 channels-first explicit cases only.
OUTSIDE_UNPROBED = "outside_unprobed"
#: Every detail of the outside sample.
OUTSIDE_DETAILS: frozenset[str] = frozenset({OUTSIDE_REFUSED, OUTSIDE_INEXPRESSIBLE, OUTSIDE_UNPROBED})


def junit_outcomes(kind: str) -> frozenset[Outcome]:
    """The outcomes whose JUnit element is ``kind`` (``failure``, ``error`` or ``skipped``)."""
    return frozenset(o for o in Outcome if o.junit == kind)
