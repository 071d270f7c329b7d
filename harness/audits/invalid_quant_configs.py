"""The quantization parameters ``audit-invalid`` sends to the int8 targets: a zero or negative scale
and an out-of-range zero point on each of the input, the weight and the output, and per-channel
weight scales and zero points whose lengths do not match the output channels or each other.

Each breaks a rule of :mod:`harness.model.quant` (the canonical model refuses it); a valid int8
configuration and a valid per-channel one stand beside them as controls. Float targets answer
``not_applicable`` (a quantization cannot be given to them).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.probing import RawParams, RawQuant
from harness.audits.invalid_raw import raw

#: The zero point just above each tensor's range: uint8 input and output, int8 weight.
_ABOVE_RANGE = {"input": 256, "weight": 128, "output": 256}


def _with(tensor: str, scale: float | None = None, zero_point: int | None = None) -> RawQuant:
    """The default quantization with one tensor's scale or zero point replaced."""
    q = RawQuant()
    if tensor == "weight":
        return replace(
            q,
            weight_scales=q.weight_scales if scale is None else (scale,),
            weight_zero_points=q.weight_zero_points if zero_point is None else (zero_point,),
        )
    changes: dict[str, Any] = {}
    if scale is not None:
        changes[f"{tensor}_scale"] = scale
    if zero_point is not None:
        changes[f"{tensor}_zero_point"] = zero_point
    return replace(q, **changes)


def quant_rules(r: int) -> list[tuple[str, str, tuple[str, ...], str, str, RawParams]]:
    """(name, category, subjects, description, expect, parameters) of each quantization rule at
    rank ``r`` (C_out = 2)."""
    rules: list[tuple[str, str, tuple[str, ...], str, str, RawParams]] = [
        (
            "quant_valid",
            "quantization",
            ("scale", "zero_point"),
            "int8: uint8 input, int8 weight, uint8 output, valid scales and zero points",
            "accept",
            raw(r, quant=RawQuant()),
        ),
        (
            "quant_per_channel_valid",
            "quantization",
            ("per_channel",),
            "int8: per-channel weight, 2 scales and 2 zero points for C_out=2",
            "either",
            raw(r, quant=replace(RawQuant(), weight_scales=(0.02, 0.03), weight_zero_points=(0, 0))),
        ),
    ]
    for tensor in ("input", "weight", "output"):
        rules += [
            (
                f"quant_{tensor}_scale_zero",
                "quantization",
                ("scale",),
                f"int8: {tensor} scale 0",
                "error",
                raw(r, quant=_with(tensor, scale=0.0)),
            ),
            (
                f"quant_{tensor}_scale_negative",
                "quantization",
                ("scale",),
                f"int8: {tensor} scale −0.05",
                "error",
                raw(r, quant=_with(tensor, scale=-0.05)),
            ),
            (
                f"quant_{tensor}_zero_point_out_of_range",
                "quantization",
                ("zero_point",),
                f"int8: {tensor} zero point {_ABOVE_RANGE[tensor]}, outside its dtype's range",
                "error",
                raw(r, quant=_with(tensor, zero_point=_ABOVE_RANGE[tensor])),
            ),
        ]
    rules += [
        (
            "quant_per_channel_length",
            "quantization",
            ("per_channel", "channels"),
            "int8: 3 weight scales and 3 zero points for C_out=2",
            "error",
            raw(r, quant=replace(RawQuant(), weight_scales=(0.02,) * 3, weight_zero_points=(0,) * 3)),
        ),
        (
            "quant_per_channel_scale_zero_point_lengths",
            "quantization",
            ("per_channel",),
            "int8: 2 weight scales and 3 zero points for C_out=2",
            "error",
            raw(r, quant=replace(RawQuant(), weight_scales=(0.02,) * 2, weight_zero_points=(0,) * 3)),
        ),
    ]
    return rules
