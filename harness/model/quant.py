"""The canonical quantization of a transposed convolution: affine int8/uint8 tensors, int32
accumulation, and the output requantized or dequantized.

A real value ``r`` is held as the integer ``q`` with ``r = scale · (q − zero_point)``. The input
has one (scale, zero point); the weight has one per tensor or one per output channel (its axis 1 in
the canonical ``(C_in, C_out/groups, k…)`` layout, read group by group). The products are summed
exactly in int32 (``accumulator``), with the bias either as int32 in the accumulator's units
(scale ``scale_x · scale_w[c]``, zero point 0) or as a float added after the scaling. The output is
either requantized — ``q_y = clamp(zero_point_y + round(real / scale_y))`` with a declared rounding
rule (half to even or half away from zero) and saturation to its dtype's range — or dequantized to
float64.

Every rule is checked on construction and refused with :class:`~harness.errors.InvalidCase`
naming it; :func:`quantization_rules` lists them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from harness.errors import InvalidCase

IntDtype = Literal["int8", "uint8"]
Rounding = Literal["half_even", "half_away"]
BiasForm = Literal["none", "int32", "float"]

#: The value range of each integer dtype.
INT_RANGES: dict[str, tuple[int, int]] = {
    "int8": (-128, 127),
    "uint8": (0, 255),
    "int32": (-(2**31), 2**31 - 1),
}
ROUNDINGS: tuple[Rounding, ...] = ("half_even", "half_away")
BIAS_FORMS: tuple[BiasForm, ...] = ("none", "int32", "float")

_RULES = {
    "quant_dtype": "an int8 tensor's dtype is int8 or uint8",
    "quant_scale": "every scale is a finite float > 0",
    "quant_zero_point": "every zero point is an integer within its dtype's range",
    "quant_channels": "a per-channel weight quantization has one scale and one zero point per output channel",
    "quant_rounding": "the output's rounding is half_even or half_away",
    "quant_bias": "the bias is none, int32 (in the accumulator's units) or float",
    "quant_fields": "a quantization's record holds exactly its fields",
    "quant_exact": "every partial sum of the accumulator stays below 2**53, so the reference sums it exactly",
}


def quantization_rules() -> dict[str, str]:
    """Each quantization rule's name and statement."""
    return dict(_RULES)


def _refuse(rule: str, message: str, field: str) -> InvalidCase:
    return InvalidCase(rule, f"{message} ({rule}: {_RULES[rule]})", field)


@dataclass(frozen=True)
class TensorQuant:
    """Per-tensor affine quantization of one tensor."""

    dtype: IntDtype
    scale: float
    zero_point: int

    def __post_init__(self) -> None:
        _check_dtype(self.dtype, "dtype")
        _check_scale(self.scale, "scale")
        _check_zero_point(self.zero_point, self.dtype, "zero_point")


@dataclass(frozen=True)
class WeightQuant:
    """The weight's quantization: one (scale, zero point), or one per output channel."""

    dtype: IntDtype
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_dtype(self.dtype, "weight.dtype")
        if len(self.scales) < 1 or len(self.scales) != len(self.zero_points):
            raise _refuse(
                "quant_channels",
                f"{len(self.scales)} scales and {len(self.zero_points)} zero points",
                "weight",
            )
        for s in self.scales:
            _check_scale(s, "weight.scales")
        for z in self.zero_points:
            _check_zero_point(z, self.dtype, "weight.zero_points")

    @property
    def per_channel(self) -> bool:
        """True when there is a scale per output channel."""
        return len(self.scales) > 1

    def for_channels(self, c_out: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
        """The scale and zero point of each of ``c_out`` output channels."""
        if len(self.scales) == 1:
            return self.scales * c_out, self.zero_points * c_out
        if len(self.scales) != c_out:
            raise _refuse(
                "quant_channels", f"{len(self.scales)} scales for {c_out} output channels", "weight"
            )
        return self.scales, self.zero_points


@dataclass(frozen=True)
class Quantization:
    """The whole quantized case: input, weight, bias form and output (None: dequantized to float)."""

    input: TensorQuant
    weight: WeightQuant
    bias: BiasForm = "none"
    output: TensorQuant | None = None
    rounding: Rounding = "half_even"

    def __post_init__(self) -> None:
        if self.bias not in BIAS_FORMS:
            raise _refuse("quant_bias", f"bias {self.bias!r}", "bias")
        if self.rounding not in ROUNDINGS:
            raise _refuse("quant_rounding", f"rounding {self.rounding!r}", "rounding")

    @property
    def requantized(self) -> bool:
        """True when the output is an integer tensor."""
        return self.output is not None


def _check_dtype(dtype: str, field: str) -> None:
    if dtype not in ("int8", "uint8"):
        raise _refuse("quant_dtype", f"{field} {dtype!r}", field)


def _check_scale(scale: float, field: str) -> None:
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or scale <= 0
    ):
        raise _refuse("quant_scale", f"{field} {scale!r}", field)


def _check_zero_point(zero_point: int, dtype: str, field: str) -> None:
    low, high = INT_RANGES[dtype]
    if isinstance(zero_point, bool) or not isinstance(zero_point, int) or not low <= zero_point <= high:
        raise _refuse("quant_zero_point", f"{field} {zero_point!r} for {dtype} [{low}, {high}]", field)


#: The value distributions an int8 case's arrays are drawn with (:func:`harness.model.arrays.make_arrays`).
QUANT_DISTRIBUTIONS: tuple[str, ...] = ("uniform", "normal", "small_int")


def _tensor_to_dict(t: TensorQuant) -> dict[str, Any]:
    return {"dtype": t.dtype, "scale": t.scale, "zero_point": t.zero_point}


def quantization_to_dict(quant: Quantization) -> dict[str, Any]:
    """The JSON form of a quantization (the ``quantization`` field of a case's record)."""
    return {
        "input": _tensor_to_dict(quant.input),
        "weight": {
            "dtype": quant.weight.dtype,
            "scales": list(quant.weight.scales),
            "zero_points": list(quant.weight.zero_points),
        },
        "bias": quant.bias,
        "output": None if quant.output is None else _tensor_to_dict(quant.output),
        "rounding": quant.rounding,
    }


def _tensor_from(data: Any, field: str) -> TensorQuant:
    if not isinstance(data, Mapping) or set(data) != {"dtype", "scale", "zero_point"}:
        raise InvalidCase("quant_fields", f"{field} must hold dtype, scale and zero_point", field)
    return TensorQuant(data["dtype"], data["scale"], data["zero_point"])


def quantization_from_dict(data: Any) -> Quantization:
    """Inverse of :func:`quantization_to_dict`; a malformed form is :class:`InvalidCase`."""
    keys = {"input", "weight", "bias", "output", "rounding"}
    if not isinstance(data, Mapping) or set(data) != keys:
        raise InvalidCase("quant_fields", f"quantization must hold exactly {', '.join(sorted(keys))}")
    weight = data["weight"]
    if not isinstance(weight, Mapping) or set(weight) != {"dtype", "scales", "zero_points"}:
        raise InvalidCase("quant_fields", "quantization.weight must hold dtype, scales and zero_points")
    if not isinstance(weight["scales"], Sequence) or not isinstance(weight["zero_points"], Sequence):
        raise InvalidCase("quant_fields", "quantization.weight scales and zero_points must be lists")
    output = None if data["output"] is None else _tensor_from(data["output"], "output")
    return Quantization(
        input=_tensor_from(data["input"], "input"),
        weight=WeightQuant(weight["dtype"], tuple(weight["scales"]), tuple(weight["zero_points"])),
        bias=data["bias"],
        output=output,
        rounding=data["rounding"],
    )


def describe(quant: Quantization) -> str:
    """A short description: ``u8·i8/pc→u8 half_even bias=int32`` (pc: per output channel)."""
    short = {"int8": "i8", "uint8": "u8"}
    out = "f64" if quant.output is None else short[quant.output.dtype]
    per = "/pc" if quant.weight.per_channel else ""
    return (
        f"{short[quant.input.dtype]}·{short[quant.weight.dtype]}{per}→{out} {quant.rounding} "
        f"bias={quant.bias}"
    )
