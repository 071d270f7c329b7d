"""The ``quantization`` block of a spec: the parameter space an int8 case's quantization is drawn
from (read when ``dtypes`` lists ``int8``; see :mod:`harness.spec.schema`)::

    quantization:
      input:  {dtypes: Choices[int8|uint8], scale: {min: float, max: float}, zero_point: {min: int, max: int}}
      weight: {... the same, and per_channel: Choices[bool]}     # per output channel
      output: {... the same}                                     # when requantized
      requantized: Choices[bool]       # true: integer output; false: dequantized to float
      bias: Choices[none|int32|float]  # the form of a case's bias (bias: false draws none)
      rounding: Choices[half_even|half_away]

Scales are drawn log-uniformly on a grid of :data:`SCALE_STEPS` steps between ``min`` and ``max``
and rounded to float32 (every framework stores them so); each zero point range must lie within the
range of every dtype its tensor lists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from harness.model.case import QUANTIZED_DTYPE
from harness.model.quant import INT_RANGES, QUANT_DISTRIBUTIONS
from harness.spec.keys import RuleError

#: Points on the log grid a scale is drawn from.
SCALE_STEPS = 64

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
Weight = Annotated[int, Field(ge=1, le=1000)]


def _as_weights(value: Any) -> Any:
    if isinstance(value, list):
        if len(set(map(repr, value))) != len(value):
            raise RuleError("{key} lists a choice twice")
        value = dict.fromkeys(value, 1)
    if isinstance(value, dict) and not value:
        raise RuleError("{key} must list at least one choice")
    return value


IntDtypeChoices = Annotated[dict[Literal["int8", "uint8"], Weight], BeforeValidator(_as_weights)]
BoolChoices = Annotated[dict[bool, Weight], BeforeValidator(_as_weights)]
BiasChoices = Annotated[dict[Literal["none", "int32", "float"], Weight], BeforeValidator(_as_weights)]
RoundingChoices = Annotated[dict[Literal["half_even", "half_away"], Weight], BeforeValidator(_as_weights)]


class ScaleRange(BaseModel):
    """A scale range ``min..max``, both finite and > 0."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    max: Annotated[float, Field(gt=0, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _ordered(self) -> ScaleRange:
        if self.max < self.min:
            raise RuleError(f"{{key}} must be ≥ {{here}}.min (got {self.max} < {self.min})", ("max",))
        return self

    def at(self, step: int) -> float:
        """The scale at grid point ``step`` of ``0..SCALE_STEPS``, rounded to float32."""
        import numpy as np

        ratio = math.log(self.max / self.min) * step / SCALE_STEPS
        return float(np.float32(self.min * math.exp(ratio)))


class ZeroPointRange(BaseModel):
    """An inclusive integer range of zero points."""

    model_config = _STRICT
    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> ZeroPointRange:
        if self.max < self.min:
            raise RuleError(f"{{key}} must be ≥ {{here}}.min (got {self.max} < {self.min})", ("max",))
        return self


class TensorSpace(BaseModel):
    """One tensor's dtypes, scales and zero points."""

    model_config = _STRICT
    dtypes: IntDtypeChoices
    scale: ScaleRange
    zero_point: ZeroPointRange

    @model_validator(mode="after")
    def _zero_points_in_range(self) -> TensorSpace:
        for dtype in self.dtypes:
            low, high = INT_RANGES[dtype]
            if self.zero_point.min < low or self.zero_point.max > high:
                raise RuleError(
                    f"{{key}} {self.zero_point.min}..{self.zero_point.max} leaves {dtype}'s range "
                    f"[{low}, {high}] (rule quant_zero_point)",
                    ("zero_point",),
                )
        return self


class WeightSpace(TensorSpace):
    """The weight's space, with the chance of a per-output-channel quantization."""

    per_channel: BoolChoices = Field(default_factory=lambda: {False: 1})


class QuantSpace(BaseModel):
    """The quantization choices of a spec's int8 cases."""

    model_config = _STRICT
    input: TensorSpace
    weight: WeightSpace
    output: TensorSpace
    requantized: BoolChoices = Field(default_factory=lambda: {True: 1})
    bias: BiasChoices = Field(default_factory=lambda: dict.fromkeys(("none", "float"), 1))  # type: ignore[arg-type]
    rounding: RoundingChoices = Field(default_factory=lambda: {"half_even": 1})  # type: ignore[arg-type]


def check_int8(
    dtypes: Mapping[Any, int], quantization: QuantSpace | None, distributions: Mapping[Any, int]
) -> None:
    """A spec has a quantization block exactly when its dtypes list int8, and then a distribution
    an int8 case can take (raises :class:`RuleError` at the key to change)."""
    if QUANTIZED_DTYPE in dtypes and quantization is None:
        raise RuleError("{key} lists int8: the spec needs a quantization block", ("dtypes",))
    if QUANTIZED_DTYPE not in dtypes and quantization is not None:
        raise RuleError("{key} is given but dtypes does not list int8", ("quantization",))
    if QUANTIZED_DTYPE in dtypes and not set(distributions) & set(QUANT_DISTRIBUTIONS):
        raise RuleError(
            f"{{key}} must list one of {', '.join(QUANT_DISTRIBUTIONS)} for the int8 cases",
            ("distributions",),
        )
