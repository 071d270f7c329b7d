"""The verdict on the values of an int8 case: the exact reference of :mod:`harness.oracle.quantized`
against the output, under the target's declared :class:`~harness.oracle.quant_compare.QuantModel`."""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.protocol import TargetApi
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.oracle.quant_compare import QuantReference, compare_quantized, expected_output


def quantized_values(
    case: Case, api: TargetApi, arrays: CaseArrays, actual: np.ndarray
) -> tuple[str, str, str, dict[str, Any], str, dict[str, np.ndarray] | None]:
    """``(outcome, detail, message, stats, model text, pictures)`` for an int8 case whose output has
    the expected shape."""
    model = api.capabilities().quantized
    if model is None:
        raise ValueError(f"{api.name} declares no quantized model but accepted an int8 case")
    ref = QuantReference.for_case(case, arrays)
    result = compare_quantized(actual, case, ref, model)
    if result.passed:
        return Outcome.PASS, "", "", result.to_dict(), model.describe(), None
    detail = "int32_overflow" if result.int32_overflow else "beyond_rounding_model"
    pictures = {
        "actual": np.asarray(actual, dtype=np.float64),
        "reference": np.asarray(expected_output(case, ref), dtype=np.float64),
        "bound": np.zeros(actual.shape, dtype=np.float64),
    }
    return Outcome.VALUE_MISMATCH, detail, result.message, result.to_dict(), model.describe(), pictures
