"""The verdict on one (case, target): support, shape, then values under the tolerance model."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from adapters.protocol import Target
from harness.arrays import make_arrays
from harness.case import Case
from harness.tolerance import ReferenceResult, compare

PASS = "pass"
SHAPE_MISMATCH = "shape_mismatch"
VALUE_MISMATCH = "value_mismatch"
ERROR = "error"
UNSUPPORTED = "unsupported"
OUTCOMES = (PASS, SHAPE_MISMATCH, VALUE_MISMATCH, ERROR, UNSUPPORTED)
FAILING = frozenset({SHAPE_MISMATCH, VALUE_MISMATCH, ERROR})


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

    @property
    def failing(self) -> bool:
        """True for shape_mismatch, value_mismatch and error."""
        return self.outcome in FAILING


def judge(case: Case, target: Target) -> Verdict:
    """Run ``case`` on ``target`` and judge it against the reference."""
    expected_shape = list(case.output_shape)
    reason = target.supports(case)
    if reason is not None:
        return Verdict(UNSUPPORTED, reason, expected_shape=expected_shape)
    arrays = make_arrays(case)
    start = time.perf_counter()
    try:
        actual = target.run(case, arrays)
    except Exception as exc:  # the framework refused or failed a case it declares supported
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return Verdict(ERROR, text, expected_shape=expected_shape, detail=type(exc).__name__,
                       seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    actual_shape = list(actual.shape)
    if actual_shape != expected_shape:
        return Verdict(SHAPE_MISMATCH, f"output shape {actual_shape} != expected {expected_shape}",
                       expected_shape=expected_shape, actual_shape=actual_shape, detail="shape",
                       seconds=seconds)
    model = target.accumulation(case.dtype)
    result = compare(actual, ReferenceResult.for_case(case, arrays), target.output_dtype(case), model)
    if result.passed:
        outcome, detail = PASS, ""
    else:
        outcome = VALUE_MISMATCH
        if result.intermediate_overflow:
            detail = "intermediate_overflow"
        elif result.nonfinite_mismatches:
            detail = "nonfinite_pattern"
        else:
            detail = "beyond_bound"
    return Verdict(outcome, result.message, stats=result.to_dict(), expected_shape=expected_shape,
                   actual_shape=actual_shape, accumulation=model.describe(), detail=detail,
                   seconds=seconds)
