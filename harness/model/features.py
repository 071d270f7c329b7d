"""The features of a case: the one description of "what kind of case this is" that finding
signatures, the report's matrix, coverage and the generator's events all read.

:func:`features` gives each feature's value. :func:`signature_features` keeps those that differ
from the simplest case (rank 1, float32, no groups, …), written as the tokens a finding signature
holds (``rank=2``, ``groups>1``, ``crop``): what a shrinker could not remove.
"""

from __future__ import annotations

import math
import re

from harness.model.case import Case

#: A case is "tiny" when each output channel holds at most this many elements.
TINY_OUTPUT = 2
#: The features the generator reports as coverage events (and spec health measures).
COVERAGE_FEATURES: tuple[str, ...] = (
    "rank",
    "dtype",
    "layout",
    "distribution",
    "bias",
    "groups",
    "stride",
    "dilation",
    "crops",
    "output_padding",
    "padding_mode",
    "size",
)
#: Every token :func:`signature_features` can give (a known-findings pattern is checked against it).
SIGNATURE_TOKEN = re.compile(
    r"(rank|dtype|layout|distribution|padding_mode)=[a-z0-9_]+"
    r"|(groups|batch|in_per_group|out_per_group|kernel|stride|dilation)>1"
    r"|crop|asymmetric_crop|output_padding|past_full_output|bias"
)


def _more_than_one(values: tuple[int, ...] | int) -> str:
    if isinstance(values, int):
        return ">1" if values > 1 else "1"
    return ">1" if any(v > 1 for v in values) else "1"


def features(case: Case) -> dict[str, str]:
    """Every feature of ``case`` with its value.

    ``groups`` is ``1``, ``depthwise`` (one input channel per group) or ``grouped``; ``crops`` is
    ``none``, ``symmetric`` or ``asymmetric``; ``output_padding`` is ``none``, ``within full output``
    (no position past the uncropped output) or ``past full output``; ``past_full_output`` says
    whether any output position lies past the uncropped output (by output padding, or a named
    mode's size); ``padding`` joins crops and a
    named mode (``mode same``); ``size`` is ``tiny`` when each output channel holds at most
    :data:`TINY_OUTPUT` elements.
    """
    if case.groups <= 1:
        groups = "1"
    else:
        groups = "depthwise" if case.groups == case.in_channels else "grouped"
    if case.pads_begin != case.pads_end:
        crops = "asymmetric"
    elif any(case.pads_begin):
        crops = "symmetric"
    else:
        crops = "none"
    # Positions past the uncropped output hold the bias alone: explicit output padding beyond the
    # end crop reaches them, and so does a named mode whose size exceeds the full output.
    past_full = any(
        cb + o > full for cb, o, full in zip(case.pads_begin, case.output_size, case.full_size, strict=True)
    )
    if not any(case.output_padding):
        output_padding = "none"
    else:
        output_padding = "past full output" if past_full else "within full output"
    padding = crops if case.padding_mode == "explicit" else f"mode {case.padding_mode}"
    return {
        "rank": str(case.rank),
        "dtype": case.dtype,
        "layout": case.layout,
        "distribution": case.distribution,
        "bias": "yes" if case.bias else "no",
        "groups": groups,
        "batch": _more_than_one(case.batch),
        "in_per_group": _more_than_one(case.in_channels // case.groups),
        "out_per_group": _more_than_one(case.out_channels // case.groups),
        "kernel": _more_than_one(case.kernel_size),
        "stride": _more_than_one(case.stride),
        "dilation": _more_than_one(case.dilation),
        "crops": crops,
        "output_padding": output_padding,
        "past_full_output": "yes" if past_full else "no",
        "padding_mode": case.padding_mode,
        "padding": padding,
        "size": "tiny" if math.prod(case.output_size) <= TINY_OUTPUT else "normal",
        "quantization": _quantization(case),
    }


def _quantization(case: Case) -> str:
    """``none`` for a float case; else the weight's granularity and the output's form."""
    quant = case.quantization
    if quant is None:
        return "none"
    granularity = "per_channel" if quant.weight.per_channel else "per_tensor"
    return f"{granularity} {'requantized' if quant.requantized else 'dequantized'}"


def coverage_features(case: Case) -> dict[str, str]:
    """The features in :data:`COVERAGE_FEATURES`, with their values."""
    every = features(case)
    return {name: every[name] for name in COVERAGE_FEATURES}


def signature_features(case: Case) -> frozenset[str]:
    """The tokens of the features where ``case`` differs from the simplest case.

    ``normal`` and ``small_int`` are both plain finite values and a shrinker moves to
    ``small_int``, so neither is a token: tokens must only disappear under shrinking.
    """
    f = features(case)
    tokens: set[str] = set()
    for name, simplest in (("rank", "1"), ("dtype", "float32"), ("layout", "channels_first")):
        if f[name] != simplest:
            tokens.add(f"{name}={f[name]}")
    if f["distribution"] not in ("normal", "small_int"):
        tokens.add(f"distribution={f['distribution']}")
    if f["groups"] != "1":
        tokens.add("groups>1")
    for name in ("batch", "in_per_group", "out_per_group", "kernel", "stride", "dilation"):
        if f[name] == ">1":
            tokens.add(f"{name}>1")
    if f["crops"] != "none":
        tokens.add("crop")
    if f["crops"] == "asymmetric":
        tokens.add("asymmetric_crop")
    if f["output_padding"] != "none":
        tokens.add("output_padding")
    if f["past_full_output"] == "yes":
        tokens.add("past_full_output")
    if f["bias"] == "yes":
        tokens.add("bias")
    if f["padding_mode"] != "explicit":
        tokens.add(f"padding_mode={f['padding_mode']}")
    quant = case.quantization
    if quant is not None:
        if quant.weight.per_channel:
            tokens.add("per_channel")
        if not quant.requantized:
            tokens.add("dequantized")
        if any(quant.weight.zero_points):
            tokens.add("weight_zero_point")
    return frozenset(tokens)
