"""Verifying the calls of one port: every worker started at once, one reference per port.

A port asks many targets, and alternative forms of a call, for the same output: every form of
the pinned case has the same begin crop and output size, and so the same inputs and the same
exact result (:mod:`harness.model.case`). :class:`Verifier` computes that reference once, while the
first target runs, and judges every output against it under the target's own declared tolerance,
as :func:`harness.engine.verdict.judge` does (shape first, then values).

:meth:`Verifier.start_workers` sends every target's load to its framework's worker before
anything runs, so the frameworks import side by side instead of one after another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from adapters.protocol import Handle
from harness.audits.common import LoadedTarget
from harness.engine.verdict import output_problem
from harness.errors import RemoteError, RunFailure
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.oracle.compare import compare
from harness.oracle.memory import memory_problem
from harness.oracle.tolerance import ReferenceResult

STAT_KEYS = ("max_abs_error", "max_rel_error", "max_ulp_error", "error_ratio", "mismatched", "compared")

#: What a form does to the target's output before it is compared (a slice, for the slice form).
Transform = Callable[[np.ndarray], np.ndarray]


def output_key(case: Case) -> tuple[Any, ...]:
    """What decides a case's inputs and exact output: everything but the layout and how the crops
    are split between the end crop and the output padding."""
    return (
        case.rank,
        case.batch,
        case.in_channels,
        case.out_channels,
        case.groups,
        case.input_size,
        case.kernel_size,
        case.stride,
        case.dilation,
        case.pads_begin,
        case.output_size,
        case.bias,
        case.dtype,
        case.distribution,
        case.seed,
    )


def start_workers(targets: Iterable[LoadedTarget]) -> None:
    """Send each runnable target's load to its worker without waiting (the frameworks import in
    parallel; the first run of each reads its reply)."""
    for loaded in targets:
        runner = None if loaded.target is None else loaded.target.runner
        preload = getattr(runner, "preload", None)
        if callable(preload):
            preload()


class Verifier:
    """Runs forms of one explicit case and judges them against its one reference."""

    def __init__(self, case: Case, arrays: CaseArrays | None = None) -> None:
        self.case = case
        # a model's own weights, or the case's generated arrays
        self.arrays: CaseArrays = make_arrays(case) if arrays is None else arrays
        self._reference: ReferenceResult | None = None
        self.references_computed = 0
        self.problem = memory_problem(case)

    def reference(self) -> ReferenceResult:
        """The exact result of the case, computed on first use."""
        if self._reference is None:
            self._reference = ReferenceResult.for_case(self.case, self.arrays)
            self.references_computed += 1
        return self._reference

    def verify(
        self, loaded: LoadedTarget, run_case: Case, transform: Transform | None = None
    ) -> dict[str, Any]:
        """Run ``run_case`` (a form of the case: same output) on the target and judge the output,
        after ``transform``, against the case's reference."""
        if loaded.target is None:
            return {"verified": False, "not_run": loaded.reason, "output_shape": None}
        if self.problem is not None:
            return {"verified": False, "not_run": self.problem, "output_shape": None}
        same_output = run_case.padding_mode != "explicit" or output_key(run_case) == output_key(self.case)
        if transform is None and not same_output:
            raise ValueError(f"{run_case.short()} is not a form of {self.case.short()}")
        return self._judge(loaded.target, loaded.name, run_case, transform)

    def _judge(
        self, target: Handle, name: str, run_case: Case, transform: Transform | None
    ) -> dict[str, Any]:
        expected = list(self.case.output_shape)
        began = time.perf_counter()
        runner = target.runner
        try:
            runner.start_run(run_case, self.arrays)
            reference = self.reference()  # while the worker runs the case
            actual = runner.finish_run()
        except Exception as exc:  # the framework's error, a crash or a timeout is the result
            return _failure(exc, expected, time.perf_counter() - began)
        seconds = round(runner.last_seconds, 4)
        problem = output_problem(actual)
        if problem is not None:
            return _result(Outcome.ERROR, f"{name}: {problem}", expected, None, {}, seconds)
        if transform is not None:
            actual = transform(np.asarray(actual))
        shape = list(actual.shape)
        if shape != expected:
            message = f"output shape {shape} != expected {expected}"
            return _result(Outcome.SHAPE_MISMATCH, message, expected, shape, {}, seconds)
        api = target.api
        result = compare(actual, reference, api.output_dtype(run_case), api.accumulation(run_case.dtype))
        outcome = Outcome.PASS if result.passed else Outcome.VALUE_MISMATCH
        stats = {k: v for k, v in result.to_dict().items() if k in STAT_KEYS}
        return _result(outcome, result.message, expected, shape, stats, seconds)


def _result(
    outcome: str,
    message: str,
    expected: list[int],
    shape: list[int] | None,
    stats: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    return {
        "verified": outcome == Outcome.PASS,
        "outcome": outcome,
        "message": message,
        "expected_shape": expected,
        "output_shape": shape,
        "stats": stats,
        "seconds": seconds,
    }


def _failure(exc: Exception, expected: list[int], seconds: float) -> dict[str, Any]:
    """No output: a crash or timeout of the worker, or what the framework raised."""
    if isinstance(exc, RunFailure):
        return _result(exc.outcome, str(exc), expected, None, {}, round(seconds, 4))
    text = exc.text if isinstance(exc, RemoteError) else f"{type(exc).__name__}: {exc}"
    return _result(Outcome.ERROR, text, expected, None, {}, round(seconds, 4))
