"""What the report reads off a recorded case: its features, its overview-matrix values and the
parameter values it exercises, for records that may be damaged or written by another version."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harness.model.case import Case
from harness.model.features import features

#: Overview matrix rows: (feature, its values in display order).
MATRIX_FEATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rank", ("1D", "2D", "3D")),
    ("dtype", ("float64", "float32", "float16", "bfloat16", "int8")),
    ("layout", ("channels_first", "channels_last")),
    ("padding", ("none", "symmetric", "asymmetric", "mode same", "mode same_lower", "mode valid")),
    ("groups", ("1", "grouped", "depthwise")),
    ("dilation", ("1", ">1")),
    ("output_padding", ("0", ">0")),
    ("bias", ("yes", "no")),
    (
        "quantization",
        (
            "none",
            "per_tensor requantized",
            "per_channel requantized",
            "per_tensor dequantized",
            "per_channel dequantized",
        ),
    ),
    ("device", ()),
)

#: Coverage: parameters whose exercised values are listed per target.
COVERAGE_PARAMS: tuple[str, ...] = (
    "rank",
    "dtype",
    "layout",
    "distribution",
    "padding",
    "groups",
    "batch",
    "in_channels",
    "out_channels",
    "input_size",
    "kernel_size",
    "stride",
    "dilation",
    "crop",
    "output_padding",
    "bias",
)


def per_dimension(value: Any) -> list[int]:
    """A per-dimension field of a recorded case as a list (a scalar gives one entry, None none)."""
    if isinstance(value, list):
        return value  # records hold per-dimension fields as lists of ints
    if isinstance(value, tuple):
        return list(value)
    return [] if value is None else [int(value)]


def recorded_features(case: dict[str, Any]) -> dict[str, str]:
    """The features (:func:`harness.model.features.features`) of a case as a record holds it; ``?``
    for each feature of a case the record does not describe completely."""
    try:
        return features(Case.from_dict(case))
    except Exception:  # a damaged or foreign record still gets a row
        return defaultdict(lambda: "?")


def matrix_values(record: dict[str, Any]) -> dict[str, str]:
    """The overview-matrix value of each feature for one record."""
    f = recorded_features(record.get("case") or {})
    return {
        "rank": f"{f['rank']}D",
        "dtype": f["dtype"],
        "layout": f["layout"],
        "padding": f["padding"],
        "groups": f["groups"],
        "dilation": f["dilation"],
        "output_padding": "0" if f["output_padding"] in ("none", "?") else ">0",
        "bias": f["bias"],
        "quantization": f["quantization"],
        "device": str(record.get("device", "?")),
    }


def coverage_values(case: dict[str, Any]) -> dict[str, list[str]]:
    """The values a case exercises per coverage parameter (per-dimension fields give several)."""
    crop = per_dimension(case.get("pads_begin")) + per_dimension(case.get("pads_end"))
    return {
        "rank": [f"{case.get('rank', '?')}D"],
        "dtype": [str(case.get("dtype", "?"))],
        "layout": [str(case.get("layout", "?"))],
        "distribution": [str(case.get("distribution", "?"))],
        "padding": [recorded_features(case)["padding"]],
        "groups": [str(case.get("groups", "?"))],
        "batch": [str(case.get("batch", "?"))],
        "in_channels": [str(case.get("in_channels", "?"))],
        "out_channels": [str(case.get("out_channels", "?"))],
        "input_size": [str(v) for v in per_dimension(case.get("input_size"))],
        "kernel_size": [str(v) for v in per_dimension(case.get("kernel_size"))],
        "stride": [str(v) for v in per_dimension(case.get("stride"))],
        "dilation": [str(v) for v in per_dimension(case.get("dilation"))],
        "crop": [str(v) for v in crop],
        "output_padding": [str(v) for v in per_dimension(case.get("output_padding"))],
        "bias": ["yes" if case.get("bias") else "no"],
    }


def value_order(value: str) -> tuple[int, float, str]:
    """Sort key of a parameter value: numbers first, by size, then the rest by name."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)
