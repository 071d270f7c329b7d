"""The transposed convolutions of a model, as ``port-model`` reads them (an ONNX file:
:mod:`harness.audits.model_onnx`; a PyTorch module: :mod:`harness.audits.model_torch`).

Each layer is one canonical case with the model's own weight and bias. Its input ``x`` is drawn
from the case's seed (:func:`harness.model.arrays.make_arrays`) in the layer's real shape; the
weight and bias are the model's arrays, unchanged, so every verification judges the model's weights.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format

#: NumPy dtype of a model's weight → the canonical dtype it is ported in.
WEIGHT_DTYPES = {"float32": "float32", "float16": "float16", "float64": "float64"}


@dataclass
class ModelLayer:
    """One transposed convolution of a model: where it is, how the model spells it, its case and
    its arrays, or why it cannot be ported (``problem``)."""

    name: str
    #: the registered target whose API the model's layer is (``onnxruntime``, ``torch.nn``, …)
    source_target: str
    #: the source API's name, as notes and errors say it
    api_name: str
    #: the layer as the model holds it (the node's attributes, or the module's constructor call)
    source_call: str
    case: Case | None = None
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    def arrays(self) -> CaseArrays:
        """The generated input and the model's own weight and bias, in float64."""
        assert self.case is not None and self.weight is not None
        drawn = make_arrays(self.case)
        weight = np.asarray(self.weight, dtype=np.float64)
        bias = None if self.bias is None else np.asarray(self.bias, dtype=np.float64)
        return CaseArrays(x=drawn.x, weight=weight, bias=bias, dtype=self.case.dtype)


def digest(array: np.ndarray | None) -> str | None:
    """The first 16 hex digits of the SHA-256 of the array's bytes as the model holds them: which
    weights were used, checkable against the file."""
    if array is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def weight_problem(case: Case, weight: np.ndarray, bias: np.ndarray | None) -> str | None:
    """Why the arrays cannot be the case's (shape, or values the case's dtype does not hold)."""
    if tuple(weight.shape) != case.weight_shape:
        return f"the weight has shape {list(weight.shape)}, the layer needs {list(case.weight_shape)}"
    if bias is not None and tuple(bias.shape) != (case.out_channels,):
        return f"the bias has shape {list(bias.shape)}, the layer needs [{case.out_channels}]"
    for what, array in (("weight", weight), ("bias", bias)):
        if array is None:
            continue
        values = np.asarray(array, dtype=np.float64)
        rounded = round_to_format(values, case.dtype)
        if not np.array_equal(rounded, values, equal_nan=True):
            return f"the {what} holds values that {case.dtype} does not"
    return None
