"""The table of invalid and boundary configurations that ``audit-invalid`` sends raw to every target.

Each configuration (:data:`CONFIGS`) is a set of raw parameters (:class:`~adapters.probing.RawParams`)
that breaks a rule of the canonical model or sits on a framework's documented limit: channels not
divisible by groups, crops larger than the full output, output padding at and past the limits,
zero-size dimensions, negative values, wrong weight shapes, input channels that do not match.
:func:`~harness.audits.invalid_raw.raw` builds them from a small valid case.

Each configuration says what is acceptable (``expect``): ``error`` for what no transposed
convolution means, ``accept`` for valid cases, ``either`` for boundaries (a documented limit, an
empty tensor) where a clean refusal and the canonical shape are both correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.probing import RawParams, RawQuant
from harness.audits.invalid_quant_configs import quant_rules
from harness.audits.invalid_raw import raw, raw_output_size
from harness.errors import InvalidCase
from harness.model.case import QUANTIZED_DTYPE, Case
from harness.model.quant import Quantization, TensorQuant, WeightQuant


@dataclass(frozen=True)
class Config:
    """One raw configuration: what it tests, what is acceptable, and the parameters."""

    name: str
    category: str
    description: str
    expect: str  # "error", "accept", "either"
    params: RawParams
    #: What a refusal's message should name (keys of :data:`~harness.audits.invalid_verdicts.SUBJECT_TERMS`).
    subjects: tuple[str, ...] = ()
    #: The rule, the same at every rank (the name without its rank suffix).
    rule: str = ""

    @property
    def rank(self) -> int:
        """The rank of the configuration's data."""
        return self.params.rank

    def canonical(self, quantized: bool = False) -> Case | InvalidCase:
        """The canonical case of the parameters (int8 when they hold a quantization or ``quantized``
        asks for one, the default :class:`~adapters.probing.RawQuant` then), or why the canonical
        model rejects them."""
        p = self.params
        if p.input_channels != p.in_channels:
            return InvalidCase(
                "input_channels", f"the input has {p.input_channels} channels, in_channels is {p.in_channels}"
            )
        expected_weight = (p.in_channels, p.out_channels // p.groups if p.groups else -1, *p.kernel_size)
        if p.weight_shape != expected_weight:
            return InvalidCase(
                "weight_shape",
                f"weight shape {list(p.weight_shape)} is not "
                f"(C_in, C_out/groups, *k) = {list(expected_weight)}",
            )
        try:
            quant = p.quant or (RawQuant() if quantized else None)
            extra: dict[str, Any] = {}
            if quant is not None:
                extra = {"dtype": QUANTIZED_DTYPE, "quantization": canonical_quantization(quant, p.bias)}
            return Case(
                rank=p.rank,
                batch=p.batch,
                in_channels=p.in_channels,
                out_channels=p.out_channels,
                groups=p.groups,
                input_size=p.input_size,
                kernel_size=p.kernel_size,
                stride=p.stride,
                dilation=p.dilation,
                pads_begin=p.pads_begin,
                pads_end=p.pads_end,
                output_padding=p.output_padding,
                bias=p.bias,
                **extra,
            )
        except InvalidCase as exc:
            return exc

    def expected_shape(self) -> list[int] | None:
        """The shape a correct acceptance has (the raw size formula), None where none is defined."""
        p = self.params
        if any(v < 1 for v in (*p.kernel_size, *p.stride, *p.dilation)) or p.groups < 1:
            return None
        size = raw_output_size(p)
        if any(v < 0 for v in size) or min(p.input_size, default=0) < 0:
            return None
        return [p.batch, p.out_channels, *size]


def canonical_quantization(quant: RawQuant, bias: bool) -> Quantization:
    """The canonical form of a raw quantization (:class:`InvalidCase` for one that breaks a rule):
    uint8 in and out, half-to-even requantization, a float bias."""
    return Quantization(
        input=TensorQuant("uint8", quant.input_scale, quant.input_zero_point),
        weight=WeightQuant("int8", quant.weight_scales, quant.weight_zero_points),
        bias="float" if bias else "none",
        output=TensorQuant("uint8", quant.output_scale, quant.output_zero_point),
    )


#: Every rule is sent at each of these ranks.
RANKS = (1, 2, 3)


def _rules(r: int) -> list[tuple[str, str, tuple[str, ...], str, str, RawParams]]:
    """(name, category, subjects, description, expect, parameters) of each rule at rank ``r``."""
    k = (3,) * r
    return [
        (
            "groups_not_dividing_in_channels",
            "groups",
            ("groups", "channels"),
            "C_in=3 with groups=2",
            "error",
            raw(r, in_channels=3, out_channels=2, groups=2, weight_shape=(3, 1, *k)),
        ),
        (
            "groups_not_dividing_out_channels",
            "groups",
            ("groups", "channels"),
            "C_out=3 with groups=2",
            "error",
            raw(r, in_channels=2, out_channels=3, groups=2, weight_shape=(2, 1, *k)),
        ),
        (
            "groups_zero",
            "groups",
            ("groups",),
            "groups=0",
            "error",
            raw(r, groups=0, weight_shape=(2, 2, *k)),
        ),
        (
            "input_channels_mismatch",
            "channels",
            ("channels",),
            "the input has 3 channels, in_channels=2",
            "error",
            raw(r, input_channels=3),
        ),
        (
            "weight_in_channels_mismatch",
            "weight",
            ("weight", "channels"),
            f"weight {(3, 2, *k)} for an input of 2 channels",
            "error",
            raw(r, weight_shape=(3, 2, *k)),
        ),
        (
            "weight_wrong_rank",
            "weight",
            ("weight",),
            f"a {r + 1}-D weight {(2, 2, *k[1:])} for {r}-D data",
            "error",
            raw(r, weight_shape=(2, 2, *k[1:])),
        ),
        (
            "weight_kernel_mismatch",
            "weight",
            ("weight", "kernel_size"),
            f"kernel_size 3 with a {(2, 2, *(2,) * r)} weight",
            "error",
            raw(r, weight_shape=(2, 2, *(2,) * r)),
        ),
        (
            "crop_larger_than_full_output",
            "crop",
            ("padding", "output_size"),
            "L=2, k=3 (full output 4), crops 3 and 3: size −2",
            "error",
            raw(r, input_size=2, pads_begin=3, pads_end=3),
        ),
        (
            "crop_equal_to_full_output",
            "crop",
            ("padding", "output_size"),
            "L=2, k=3 (full output 4), crops 2 and 2: size 0",
            "either",
            raw(r, input_size=2, pads_begin=2, pads_end=2),
        ),
        (
            "crop_beyond_kernel",
            "crop",
            ("padding", "output_size"),
            "k=2 with crops 2 (more than k−1), size 1: valid",
            "accept",
            raw(r, kernel_size=2, pads_begin=2, pads_end=2),
        ),
        (
            "output_padding_below_stride",
            "output_padding",
            ("output_padding",),
            "stride 2, output_padding 1: valid",
            "accept",
            raw(r, stride=2, output_padding=1),
        ),
        (
            "output_padding_at_stride",
            "output_padding",
            ("output_padding",),
            "stride 2, dilation 1, output_padding 2 (at the limit 'smaller than stride or dilation')",
            "either",
            raw(r, stride=2, output_padding=2),
        ),
        (
            "output_padding_past_stride",
            "output_padding",
            ("output_padding",),
            "stride 2, dilation 1, output_padding 3",
            "either",
            raw(r, stride=2, output_padding=3),
        ),
        (
            "output_padding_below_dilation",
            "output_padding",
            ("output_padding",),
            "stride 1, dilation 2, output_padding 1 (≥ stride, < dilation)",
            "either",
            raw(r, dilation=2, output_padding=1),
        ),
        (
            "output_padding_at_dilation",
            "output_padding",
            ("output_padding",),
            "stride 2, dilation 3, output_padding 3 (at max(stride, dilation))",
            "either",
            raw(r, stride=2, dilation=3, output_padding=3),
        ),
        ("batch_zero", "zero_size", ("batch", "input_size"), "batch 0", "either", raw(r, batch=0)),
        (
            "in_channels_zero",
            "zero_size",
            ("channels",),
            "C_in = 0 (the output is the bias alone)",
            "either",
            raw(r, in_channels=0),
        ),
        ("out_channels_zero", "zero_size", ("channels",), "C_out = 0", "either", raw(r, out_channels=0)),
        (
            "input_size_zero",
            "zero_size",
            ("input_size",),
            "a spatial size of 0 (the size formula gives K − s: bias alone)",
            "either",
            raw(r, input_size=(0, *(4,) * (r - 1))),
        ),
        ("kernel_size_zero", "zero_size", ("kernel_size",), "kernel size 0", "error", raw(r, kernel_size=0)),
        ("stride_zero", "zero_size", ("stride",), "stride 0", "error", raw(r, stride=0)),
        ("dilation_zero", "zero_size", ("dilation",), "dilation 0", "error", raw(r, dilation=0)),
        (
            "padding_negative",
            "negative",
            ("padding",),
            "padding −1 at both ends",
            "error",
            raw(r, pads_begin=-1, pads_end=-1),
        ),
        (
            "output_padding_negative",
            "negative",
            ("output_padding",),
            "output_padding −1",
            "error",
            raw(r, stride=2, output_padding=-1),
        ),
        ("stride_negative", "negative", ("stride",), "stride −1", "error", raw(r, stride=-1)),
        ("dilation_negative", "negative", ("dilation",), "dilation −1", "error", raw(r, dilation=-1)),
        (
            "kernel_size_negative",
            "negative",
            ("kernel_size",),
            "kernel size −1",
            "error",
            raw(r, kernel_size=-1),
        ),
        (
            "groups_negative",
            "negative",
            ("groups",),
            "groups −1",
            "error",
            raw(r, groups=-1, weight_shape=(2, 2, *k)),
        ),
    ]


def _configs() -> list[Config]:
    out = []
    for rank in RANKS:
        for name, category, subjects, text, expect, params in [*_rules(rank), *quant_rules(rank)]:
            out.append(
                Config(f"{name}_{rank}d", category, f"{rank}-D: {text}", expect, params, subjects, name)
            )
    return out


CONFIGS = _configs()
