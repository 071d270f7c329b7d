"""The table of invalid and boundary configurations that ``audit-invalid`` sends raw to every target.

Each configuration (:data:`CONFIGS`) is a set of raw parameters (:class:`~adapters.probing.RawParams`)
that breaks a rule of the canonical model or sits on a framework's documented limit: channels not
divisible by groups, crops larger than the full output, output padding at and past the limits,
zero-size dimensions, negative values, wrong weight shapes, input channels that do not match.
:func:`raw` builds them from a small valid case.

Each configuration says what is acceptable (``expect``): ``error`` for what no transposed
convolution means, ``accept`` for valid cases, ``either`` for boundaries (a documented limit, an
empty tensor) where a clean refusal and the canonical shape are both correct.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from adapters.probing import RawParams
from harness.errors import InvalidCase
from harness.model.case import Case


@dataclass(frozen=True)
class Config:
    """One raw configuration: what it tests, what is acceptable, and the parameters."""

    name: str
    category: str
    description: str
    expect: str  # "error", "accept", "either"
    params: RawParams

    def canonical(self) -> Case | InvalidCase:
        """The canonical case of the parameters, or why the canonical model rejects them."""
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


def raw_output_size(p: RawParams) -> tuple[int, ...]:
    """``(L−1)·s + d·(k−1) + 1 − cb − ce + op`` per dimension, whatever the signs."""
    return tuple(
        (n - 1) * s + d * (k - 1) + 1 - b - e + o
        for n, k, s, d, b, e, o in zip(
            p.input_size,
            p.kernel_size,
            p.stride,
            p.dilation,
            p.pads_begin,
            p.pads_end,
            p.output_padding,
            strict=True,
        )
    )


def raw(rank: int = 2, **changes: Any) -> RawParams:
    """Raw parameters: a small valid case (N=1, C 2→2, L=4, k=3) with ``changes`` applied.

    Per-dimension values given as ints are broadcast; ``weight_shape`` and ``output_size`` follow
    the other values unless given.
    """
    base: dict[str, Any] = {
        "batch": 1,
        "input_channels": None,
        "in_channels": 2,
        "out_channels": 2,
        "groups": 1,
        "input_size": 4,
        "kernel_size": 3,
        "stride": 1,
        "dilation": 1,
        "pads_begin": 0,
        "pads_end": 0,
        "output_padding": 0,
        "bias": True,
        "weight_shape": None,
        "output_size": None,
    }
    base.update(changes)
    per_dim = ("input_size", "kernel_size", "stride", "dilation", "pads_begin", "pads_end", "output_padding")
    for key in per_dim:
        value = base[key]
        base[key] = (value,) * rank if isinstance(value, int) else tuple(value)
    if base["input_channels"] is None:
        base["input_channels"] = base["in_channels"]
    weight = base.pop("weight_shape")
    params = RawParams(
        rank=rank, **{k: v for k, v in base.items() if k != "output_size"}, weight_shape=(), output_size=()
    )
    params = replace(params, weight_shape=params.default_weight_shape() if weight is None else tuple(weight))
    if base["output_size"] is None:
        return replace(params, output_size=raw_output_size(params))
    return replace(params, output_size=tuple(base["output_size"]))


def _configs() -> list[Config]:
    c = Config
    return [
        c(
            "groups_not_dividing_in_channels",
            "groups",
            "C_in=3 with groups=2",
            "error",
            raw(in_channels=3, out_channels=2, groups=2, weight_shape=(3, 1, 3, 3)),
        ),
        c(
            "groups_not_dividing_out_channels",
            "groups",
            "C_out=3 with groups=2",
            "error",
            raw(in_channels=2, out_channels=3, groups=2, weight_shape=(2, 1, 3, 3)),
        ),
        c(
            "groups_not_dividing_in_channels_1d",
            "groups",
            "1-D: C_in=3 with groups=2",
            "error",
            raw(1, in_channels=3, out_channels=2, groups=2, weight_shape=(3, 1, 3)),
        ),
        c(
            "groups_not_dividing_in_channels_3d",
            "groups",
            "3-D: C_in=3 with groups=2",
            "error",
            raw(3, in_channels=3, out_channels=2, groups=2, weight_shape=(3, 1, 3, 3, 3)),
        ),
        c("groups_zero", "groups", "groups=0", "error", raw(groups=0, weight_shape=(2, 2, 3, 3))),
        c(
            "input_channels_mismatch",
            "channels",
            "the input has 3 channels, in_channels=2",
            "error",
            raw(input_channels=3),
        ),
        c(
            "weight_in_channels_mismatch",
            "weight",
            "weight (3, 2, 3, 3) for an input of 2 channels",
            "error",
            raw(weight_shape=(3, 2, 3, 3)),
        ),
        c(
            "weight_wrong_rank",
            "weight",
            "a 3-D weight (2, 2, 3) for 2-D data",
            "error",
            raw(weight_shape=(2, 2, 3)),
        ),
        c(
            "weight_kernel_mismatch",
            "weight",
            "kernel_size 3 with a (2, 2, 2, 2) weight",
            "error",
            raw(weight_shape=(2, 2, 2, 2)),
        ),
        c(
            "crop_larger_than_full_output",
            "crop",
            "L=2, k=3 (full output 4), crops 3 and 3: size −2",
            "error",
            raw(input_size=2, pads_begin=3, pads_end=3),
        ),
        c(
            "crop_equal_to_full_output",
            "crop",
            "L=2, k=3 (full output 4), crops 2 and 2: size 0",
            "either",
            raw(input_size=2, pads_begin=2, pads_end=2),
        ),
        c(
            "crop_larger_than_full_output_3d",
            "crop",
            "3-D: L=2, k=3, crops 3 and 3: size −2",
            "error",
            raw(3, input_size=2, pads_begin=3, pads_end=3),
        ),
        c(
            "crop_beyond_kernel",
            "crop",
            "k=2 with crops 2 (more than k−1), size 1: valid",
            "accept",
            raw(kernel_size=2, pads_begin=2, pads_end=2),
        ),
        c(
            "output_padding_below_stride",
            "output_padding",
            "stride 2, output_padding 1: valid",
            "accept",
            raw(stride=2, output_padding=1),
        ),
        c(
            "output_padding_at_stride",
            "output_padding",
            "stride 2, dilation 1, output_padding 2 (at the limit 'smaller than stride or dilation')",
            "either",
            raw(stride=2, output_padding=2),
        ),
        c(
            "output_padding_past_stride",
            "output_padding",
            "stride 2, dilation 1, output_padding 3",
            "either",
            raw(stride=2, output_padding=3),
        ),
        c(
            "output_padding_below_dilation",
            "output_padding",
            "stride 1, dilation 2, output_padding 1 (≥ stride, < dilation)",
            "either",
            raw(dilation=2, output_padding=1),
        ),
        c(
            "output_padding_at_dilation",
            "output_padding",
            "stride 2, dilation 3, output_padding 3 (at max(stride, dilation))",
            "either",
            raw(stride=2, dilation=3, output_padding=3),
        ),
        c(
            "output_padding_at_stride_1d",
            "output_padding",
            "1-D: stride 2, output_padding 2",
            "either",
            raw(1, stride=2, output_padding=2),
        ),
        c(
            "output_padding_at_stride_3d",
            "output_padding",
            "3-D: stride 2, output_padding 2",
            "either",
            raw(3, stride=2, output_padding=2),
        ),
        c("batch_zero", "zero_size", "batch 0", "either", raw(batch=0)),
        c(
            "in_channels_zero",
            "zero_size",
            "C_in = 0 (the output is the bias alone)",
            "either",
            raw(in_channels=0),
        ),
        c("out_channels_zero", "zero_size", "C_out = 0", "either", raw(out_channels=0)),
        c(
            "input_size_zero",
            "zero_size",
            "a spatial size of 0 (the size formula gives K − s: bias alone)",
            "either",
            raw(input_size=(0, 4)),
        ),
        c("kernel_size_zero", "zero_size", "kernel size 0", "error", raw(kernel_size=0)),
        c("stride_zero", "zero_size", "stride 0", "error", raw(stride=0)),
        c("dilation_zero", "zero_size", "dilation 0", "error", raw(dilation=0)),
        c(
            "padding_negative",
            "negative",
            "padding −1 at both ends",
            "error",
            raw(pads_begin=-1, pads_end=-1),
        ),
        c(
            "output_padding_negative",
            "negative",
            "output_padding −1",
            "error",
            raw(stride=2, output_padding=-1),
        ),
        c("stride_negative", "negative", "stride −1", "error", raw(stride=-1)),
        c("dilation_negative", "negative", "dilation −1", "error", raw(dilation=-1)),
        c("kernel_size_negative", "negative", "kernel size −1", "error", raw(kernel_size=-1)),
        c("groups_negative", "negative", "groups −1", "error", raw(groups=-1, weight_shape=(2, 2, 3, 3))),
    ]


CONFIGS = _configs()
