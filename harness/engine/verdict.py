"""The verdict on one (case, target): support, shape, then values under the tolerance model."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adapters.protocol import Handle, Target, TargetApi, TargetRunner, handle
from harness.engine.mode_values import values_at_actual_size
from harness.engine.quant_verdict import quantized_values
from harness.errors import InvalidCase, RemoteError, RunFailure
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.model.limits import check_reference
from harness.model.modes import DocumentedMode, resolve_mode
from harness.model.outcomes import FAILING, Outcome
from harness.oracle.compare import compare
from harness.oracle.mechanism import mechanisms
from harness.oracle.memory import memory_problem
from harness.oracle.tolerance import ReferenceResult, error_bound


@dataclass
class Verdict:
    """Outcome of one (case, target) with what explains it."""

    outcome: str
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    expected_shape: list[int] = field(default_factory=list)
    actual_shape: list[int] | None = None
    accumulation: str = ""
    detail: str = ""
    seconds: float = 0.0
    #: On a value mismatch: ``actual``, ``reference`` (rounded to the output dtype) and ``bound``,
    #: float64 arrays of the output shape, kept for the finding's pictures (never serialised).
    arrays: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: What the target reported about the run (:meth:`adapters.protocol.Target.run_info`).
    run_info: dict[str, Any] = field(default_factory=dict)
    #: Whether the case reached the target's runner (a worker's history holds exactly these cases).
    ran: bool = False

    def __post_init__(self) -> None:
        # Exception text may carry lone surrogates (bytes decoded with surrogateescape, e.g. a
        # framework's log); they cannot be written as UTF-8, so they are kept as backslash escapes.
        self.message = self.message.encode("utf-8", "backslashreplace").decode("utf-8")

    @property
    def failing(self) -> bool:
        """True for shape_mismatch, value_mismatch and error."""
        return self.outcome in FAILING

    def components(self) -> list[tuple[str, str]]:
        """(detail, mechanism key) of each mechanism a failure shows: a value mismatch's from its
        statistics (:mod:`harness.oracle.mechanism`); a doc_mismatch's its detail, then those of its
        second result's values (detail ``values_…``, :mod:`harness.engine.mode_values`); any other
        failure's its one detail and ``""``."""
        if self.outcome == Outcome.DOC_MISMATCH:
            values = self.stats.get("values")
            found = values.get("mechanisms") if isinstance(values, dict) else None
            extra = _listed(found)
            return [(self.detail, "")] + [(f"{VALUES_PREFIX}{detail}", key) for detail, key in extra]
        listed = _listed(self.stats.get("mechanisms") if self.outcome == Outcome.VALUE_MISMATCH else None)
        return listed or [(self.detail, "")]


#: How a doc_mismatch's second result names a value mechanism's detail (``values_beyond_bound``).
VALUES_PREFIX = "values_"


def _listed(found: object) -> list[tuple[str, str]]:
    """(detail, key) of each mechanism listed in a verdict's statistics."""
    if not isinstance(found, list):
        return []
    return [(str(m.get("detail", "")), str(m.get("key", ""))) for m in found if isinstance(m, dict)]


def _failed(exc: Exception, expected_shape: list[int], seconds: float) -> Verdict:
    """The verdict when the target produced no output: crash, timeout or error."""
    if isinstance(exc, RunFailure):
        return Verdict(
            exc.outcome, str(exc), expected_shape=expected_shape, detail=exc.detail, seconds=seconds
        )
    if isinstance(exc, RemoteError):
        return Verdict(
            Outcome.ERROR, exc.text, expected_shape=expected_shape, detail=exc.type_name, seconds=seconds
        )
    # the framework refused or failed a case it declares supported
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return Verdict(
        Outcome.ERROR, text, expected_shape=expected_shape, detail=type(exc).__name__, seconds=seconds
    )


def output_problem(actual: object) -> str | None:
    """Why ``actual`` is not an output the harness can judge (None when it is one).

    A target's ``run`` returns a NumPy array of real numbers (any float, integer, or extension float
    dtype such as ml_dtypes' bfloat16 that casts to float64 within its kind): anything else is the
    adapter's error, recorded as such rather than converted, which could hide an imaginary part.
    """
    if not isinstance(actual, np.ndarray):
        return f"run() returned {type(actual).__name__}, not a numpy.ndarray"
    if actual.dtype.kind == "b" or not np.can_cast(actual.dtype, np.float64, casting="same_kind"):
        return f"run() returned an array of dtype {actual.dtype}, not of real numbers"
    return None


#: ``detail`` of an error raised by adapter or harness code around the framework call.
INTERNAL_ERROR = "internal"
#: ``detail`` of an ``unsupported`` case whose reference is over a cap of :mod:`harness.model.limits`.
HARNESS_LIMIT = "harness_limit"
#: ``detail`` of an ``unsupported`` case that would take the main process past its memory limit
#: (:mod:`harness.oracle.memory`).
MEMORY_LIMIT = "memory_limit"


def judge(case: Case, target: Target | Handle) -> Verdict:
    """Run ``case`` on ``target`` and judge it against the reference.

    A named-mode case is judged against the explicit case the target's documentation implies
    (:func:`harness.model.modes.resolve_mode`); an output size other than the documented one is
    ``doc_mismatch``. An exception from the code around the framework call (the adapter's
    capability model or conversions, or the harness itself) becomes an ``error`` result with detail
    ``internal`` and the traceback, so that one bad case never ends a run. A case whose reference
    is over a cap of :mod:`harness.model.limits`, or would not fit the main process's memory limit
    (:mod:`harness.oracle.memory`), is ``unsupported`` (detail ``harness_limit`` or ``memory_limit``)
    before anything is allocated: the target is not at fault, and nothing was judged.
    """
    try:
        return _judge(case, target)
    except Exception as exc:
        trace = "".join(traceback.format_exception(exc, limit=-6)).strip()
        return Verdict(
            Outcome.ERROR,
            f"{target.name}: judging the case raised outside the framework call\n{trace}",
            expected_shape=_expected_shape(case),
            detail=INTERNAL_ERROR,
        )


def _expected_shape(case: Case) -> list[int]:
    try:
        return list(case.output_shape)
    except Exception:
        return []


def _judge(case: Case, given: Target | Handle) -> Verdict:
    h = handle(given)
    api, runner = h.api, h.runner
    reason = api.supports(case)
    if reason is not None:
        return Verdict(Outcome.UNSUPPORTED, reason, expected_shape=list(case.output_shape))
    explicit = case
    documented = None
    if case.padding_mode != "explicit":
        documented = api.documented_mode(case.padding_mode, case.rank)
        try:
            explicit = resolve_mode(case, documented)
        except InvalidCase as exc:
            return Verdict(Outcome.UNSUPPORTED, str(exc), expected_shape=list(case.output_shape))
    expected_shape = list(explicit.output_shape)
    # Before anything is allocated: a case the main process cannot afford is a result, not its end.
    try:
        check_reference(explicit)
    except InvalidCase as exc:
        return Verdict(
            Outcome.UNSUPPORTED,
            f"the harness does not judge this case: {exc}",
            expected_shape=expected_shape,
            detail=HARNESS_LIMIT,
        )
    problem = memory_problem(explicit)
    if problem is not None:
        return Verdict(Outcome.UNSUPPORTED, problem, expected_shape=expected_shape, detail=MEMORY_LIMIT)
    arrays = make_arrays(case)
    start = time.perf_counter()
    try:
        runner.start_run(case, arrays)
    except Exception as exc:
        return _failed(exc, expected_shape, time.perf_counter() - start)
    verdict = _finish(case, api, runner, explicit, documented, arrays, expected_shape, start)
    verdict.ran = True
    return verdict


def _finish(
    case: Case,
    api: TargetApi,
    runner: TargetRunner,
    explicit: Case,
    documented: DocumentedMode | None,
    arrays: CaseArrays,
    expected_shape: list[int],
    start: float,
) -> Verdict:
    """The verdict once the case has started on the runner: output, shape, then values."""
    # Computed while an isolated target's worker runs the case (an int8 case's after it: it is exact).
    reference = None if case.quantization is not None else ReferenceResult.for_case(explicit, arrays)
    try:
        actual = runner.finish_run()
    except Exception as exc:
        return _failed(exc, expected_shape, time.perf_counter() - start)
    seconds = runner.last_seconds
    info = dict(runner.run_info())
    problem = output_problem(actual)
    if problem is not None:
        return Verdict(
            Outcome.ERROR,
            f"{api.name}: {problem}",
            expected_shape=expected_shape,
            detail="output_type",
            seconds=seconds,
            run_info=info,
        )
    actual_shape = list(actual.shape)
    if actual_shape != expected_shape:
        if documented is not None:
            second = None
            if reference is not None and actual_shape[:2] == expected_shape[:2]:
                second = values_at_actual_size(case, api, arrays, actual, documented)
            return Verdict(
                Outcome.DOC_MISMATCH,
                f"{api.name} {documented.api_value!r}: output shape {actual_shape}, documented "
                f"{expected_shape} ({documented.formula}; {documented.source})"
                + ("" if second is None else f"\nvalues: {second['message']}"),
                stats={
                    "documented_size": expected_shape[2:],
                    "actual_size": actual_shape[2:],
                    "documented_formula": documented.formula,
                    "source": documented.source,
                    **({} if second is None else {"values": second}),
                },
                expected_shape=expected_shape,
                actual_shape=actual_shape,
                detail="output_size",
                seconds=seconds,
                run_info=info,
            )
        return Verdict(
            Outcome.SHAPE_MISMATCH,
            f"output shape {actual_shape} != expected {expected_shape}",
            expected_shape=expected_shape,
            actual_shape=actual_shape,
            detail="shape",
            seconds=seconds,
            run_info=info,
        )
    if reference is None:
        outcome, detail, message, stats, model_text, pictures = quantized_values(
            explicit, api, arrays, actual
        )
        return Verdict(
            outcome,
            message,
            stats=stats,
            expected_shape=expected_shape,
            actual_shape=actual_shape,
            accumulation=model_text,
            detail=detail,
            seconds=seconds,
            arrays=pictures,
            run_info=info,
        )
    model = api.accumulation(case.dtype)
    output_dtype = api.output_dtype(case)
    result = compare(actual, reference, output_dtype, model)
    outcome = Outcome.PASS if result.passed else Outcome.VALUE_MISMATCH
    detail = result.detail
    pictures = None
    stats = result.to_dict()
    message = result.message
    if outcome == Outcome.VALUE_MISMATCH:
        found = mechanisms(explicit, actual, reference, output_dtype, model)
        stats["mechanisms"] = [m.to_dict() for m in found]
        message += "".join(f"\n{m.sentence} ({m.positions} positions; {m.key})" for m in found)
        pictures = {
            "actual": np.asarray(actual, dtype=np.float64),
            "reference": round_to_format(reference.exact, output_dtype),
            "bound": np.array(error_bound(reference, output_dtype, model), dtype=np.float64),
        }
    return Verdict(
        outcome,
        message,
        stats=stats,
        expected_shape=expected_shape,
        actual_shape=actual_shape,
        accumulation=model.describe(),
        detail=detail,
        seconds=seconds,
        arrays=pictures,
        run_info=info,
    )


def verdict_from_record(record: dict[str, Any]) -> Verdict:
    """The verdict a results record holds (used to resume a run without repeating it)."""
    return Verdict(
        record["outcome"],
        record.get("message", ""),
        stats=record.get("stats") or {},
        expected_shape=record.get("expected_shape") or [],
        actual_shape=record.get("actual_shape"),
        accumulation=record.get("accumulation", ""),
        detail=record.get("detail", ""),
        seconds=record.get("seconds", 0.0),
        run_info=record.get("run_info") or {},
        ran=bool(record.get("ran", False)),
    )
