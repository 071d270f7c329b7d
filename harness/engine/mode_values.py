"""The second result of a named-mode case whose size departs from its documentation: its values,
judged against the explicit cases that have the size the target really produced.

A ``doc_mismatch`` says the size is not the documented one; it says nothing of the values, and a
mode with a value bug (one that ignores dilation, say) would hide behind it. So the output is
judged again against each crop split that gives its size (:func:`harness.model.modes.explaining_cases`,
the documented split first): the first that passes explains the values; if none does, the
mismatch under the documented split is the second result, with its mechanisms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.protocol import TargetApi
from harness.errors import InvalidCase
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.limits import check_reference
from harness.model.modes import DocumentedMode, explaining_cases
from harness.oracle.compare import compare
from harness.oracle.mechanism import mechanisms
from harness.oracle.memory import memory_problem
from harness.oracle.tolerance import ReferenceResult


def _crops(explicit: Case) -> dict[str, list[int]]:
    return {
        "pads_begin": list(explicit.pads_begin),
        "pads_end": list(explicit.pads_end),
        "output_padding": list(explicit.output_padding),
    }


def _crop_text(split: str, explicit: Case) -> str:
    return (
        f"crops {list(explicit.pads_begin)}/{list(explicit.pads_end)} "
        f"output_padding {list(explicit.output_padding)} ({split})"
    )


def values_at_actual_size(
    case: Case, api: TargetApi, arrays: CaseArrays, actual: np.ndarray, documented: DocumentedMode
) -> dict[str, Any]:
    """The second result: ``outcome`` ``pass`` (with the ``split`` and crops that explain the
    values), ``value_mismatch`` (``detail``, ``mechanisms`` and crops of the documented split, or
    of the first that could be judged) or ``not_judged``; always a ``message``."""
    model = api.accumulation(case.dtype)
    output_dtype = api.output_dtype(case)
    sizes = tuple(int(n) for n in actual.shape[2:])
    first: dict[str, Any] | None = None
    for split, explicit in explaining_cases(case, sizes, documented.for_rank(case.rank).split):
        try:
            check_reference(explicit)
        except InvalidCase:
            continue
        if memory_problem(explicit) is not None:
            continue
        ref = ReferenceResult.for_case(explicit, arrays)
        result = compare(actual, ref, output_dtype, model)
        if result.passed:
            return {
                "outcome": "pass",
                "split": split,
                **_crops(explicit),
                "message": f"the values match {_crop_text(split, explicit)}",
            }
        if first is None:
            found = mechanisms(explicit, actual, ref, output_dtype, model)
            first = {
                "outcome": "value_mismatch",
                "detail": result.detail,
                "split": split,
                **_crops(explicit),
                "mechanisms": [m.to_dict() for m in found],
                "message": (
                    f"no crop split explains the values; under {_crop_text(split, explicit)}: "
                    f"{result.message}"
                    + "".join(f"\n{m.sentence} ({m.positions} positions; {m.key})" for m in found)
                ),
            }
    if first is not None:
        return first
    return {
        "outcome": "not_judged",
        "message": f"no explicit case the harness can judge has the output size {list(sizes)}",
    }
