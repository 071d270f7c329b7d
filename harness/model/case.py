"""The canonical description of one transposed-convolution case.

Semantics, per spatial dimension with input size ``L``, kernel ``k``, stride ``s``, dilation ``d``,
crops ``cb``/``ce`` and output padding ``op``::

    K = d·(k−1) + 1            dilated kernel extent
    F = (L−1)·s + K            full, uncropped output
    O = F − cb − ce + op       output size (must be ≥ 1)

Output position ``o`` holds the products with ``i·s + j·d = o + cb``; positions with ``o + cb ≥ F``
receive none and hold the bias alone. Canonical validity is mathematics, plus the harness's caps on
a tensor's elements and on each per-dimension size (:mod:`harness.model.limits`); what a framework
refuses is that framework's capability, decided by its adapter.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import InvalidCase
from harness.model.dtypes import DATA_DTYPES
from harness.model.limits import check_case_size
from harness.model.quant import (
    QUANT_DISTRIBUTIONS,
    Quantization,
    describe,
    quantization_from_dict,
    quantization_to_dict,
)

#: The dtype of a quantized case: its tensors' integer dtypes are in its ``quantization``.
QUANTIZED_DTYPE = "int8"

LAYOUTS: tuple[str, ...] = ("channels_first", "channels_last")
DISTRIBUTIONS: tuple[str, ...] = ("normal", "uniform", "small_int", "large", "special")
# How the crops are given: explicitly (pads_begin/pads_end/output_padding), or by a named mode whose
# crops each target's documentation defines (harness.model.modes). "same" is the API's primary SAME mode
# (MindSpore 'same', Paddle 'SAME', ONNX/TensorRT SAME_UPPER); "same_lower" the variant that puts
# the odd element at the begin (ONNX/TensorRT SAME_LOWER).
PADDING_MODES: tuple[str, ...] = ("explicit", "same", "same_lower", "valid")
PER_DIM_FIELDS: tuple[str, ...] = (
    "input_size",
    "kernel_size",
    "stride",
    "dilation",
    "pads_begin",
    "pads_end",
    "output_padding",
)


@dataclass(frozen=True)
class Case:
    """One transposed-convolution case: geometry, dtype, layout and how its arrays are drawn.

    Per-dimension fields are tuples of length ``rank``. Construct with :meth:`make` to broadcast
    ints; construction itself validates and raises :class:`InvalidCase`.
    """

    rank: int
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads_begin: tuple[int, ...]
    pads_end: tuple[int, ...]
    output_padding: tuple[int, ...]
    bias: bool = True
    dtype: str = "float32"
    layout: str = "channels_first"
    distribution: str = "normal"
    seed: int = 0
    padding_mode: str = "explicit"
    #: The affine quantization of a quantized case (dtype ``int8``); None for a float case.
    quantization: Quantization | None = None

    def __post_init__(self) -> None:
        for name in PER_DIM_FIELDS:
            value = getattr(self, name)
            if isinstance(value, Iterable):
                value = tuple(int(v) if isinstance(v, numbers.Integral) else v for v in value)
            object.__setattr__(self, name, value)
        validate(self)

    @classmethod
    def make(
        cls,
        *,
        input_size: Sequence[int] | int,
        rank: int | None = None,
        kernel_size: Sequence[int] | int = 3,
        stride: Sequence[int] | int = 1,
        dilation: Sequence[int] | int = 1,
        pads_begin: Sequence[int] | int = 0,
        pads_end: Sequence[int] | int = 0,
        output_padding: Sequence[int] | int = 0,
        batch: int = 1,
        in_channels: int = 1,
        out_channels: int = 1,
        groups: int = 1,
        **rest: Any,
    ) -> Case:
        """Build a case, broadcasting an int to every spatial dimension."""
        if rank is None:
            rank = 1 if isinstance(input_size, int) else len(input_size)

        def per_dim(v: Sequence[int] | int) -> tuple[int, ...]:
            return (int(v),) * rank if isinstance(v, int) else tuple(int(x) for x in v)

        return cls(
            rank=rank,
            batch=batch,
            in_channels=in_channels,
            out_channels=out_channels,
            groups=groups,
            input_size=per_dim(input_size),
            kernel_size=per_dim(kernel_size),
            stride=per_dim(stride),
            dilation=per_dim(dilation),
            pads_begin=per_dim(pads_begin),
            pads_end=per_dim(pads_end),
            output_padding=per_dim(output_padding),
            **rest,
        )

    # --- derived geometry -------------------------------------------------------------------
    @property
    def dilated_kernel(self) -> tuple[int, ...]:
        """``K = d·(k−1)+1`` per dimension."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation, strict=True))

    @property
    def full_size(self) -> tuple[int, ...]:
        """``F = (L−1)·s + K`` per dimension: the uncropped output."""
        return tuple(
            (n - 1) * s + kk
            for n, s, kk in zip(self.input_size, self.stride, self.dilated_kernel, strict=True)
        )

    @property
    def output_size(self) -> tuple[int, ...]:
        """``O = F − cb − ce + op`` per dimension."""
        return spatial_output_size(self)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The NC* output shape."""
        return output_shape(self)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The NC* input shape."""
        return (self.batch, self.in_channels, *self.input_size)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """``(C_in, C_out/groups, *k)``."""
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    @property
    def symmetric_crops(self) -> bool:
        """True when every dimension crops the same amount at both ends."""
        return self.pads_begin == self.pads_end

    def replace(self, **changes: Any) -> Case:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # --- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every canonical field, per-dimension fields as lists (the results-record form); a float
        case has no ``quantization`` key, so its record is what it was before int8 existed."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "quantization":
                if v is not None:
                    out[f.name] = quantization_to_dict(v)
                continue
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Case:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidCase("known_fields", f"unknown case field(s): {', '.join(unknown)}")
        missing = sorted(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in data
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        )
        if missing:
            raise InvalidCase("required_fields", f"missing case field(s): {', '.join(missing)}")
        kwargs: dict[str, Any] = {k: (tuple(v) if k in PER_DIM_FIELDS else v) for k, v in data.items()}
        if kwargs.get("quantization") is not None:
            kwargs["quantization"] = quantization_from_dict(kwargs["quantization"])
        return cls(**kwargs)

    def short(self) -> str:
        """A one-line human description."""
        dims = "x".join(map(str, self.input_size))
        return (
            f"{self.rank}d N={self.batch} C={self.in_channels}->{self.out_channels} g={self.groups} "
            f"L={dims} k={list(self.kernel_size)} s={list(self.stride)} d={list(self.dilation)} "
            f"crop={list(self.pads_begin)}/{list(self.pads_end)} op={list(self.output_padding)} "
            f"bias={self.bias} {self.dtype} {self.layout} {self.distribution} seed={self.seed}"
            + ("" if self.padding_mode == "explicit" else f" mode={self.padding_mode}")
            + ("" if self.quantization is None else f" [{describe(self.quantization)}]")
        )


def spatial_output_size(case: Case) -> tuple[int, ...]:
    """Output spatial size ``O = (L−1)·s + d·(k−1) + 1 − cb − ce + op`` per dimension.

    For a named padding mode this is the *nominal* size (``L·s`` for the SAME modes, ``F`` for
    VALID), used for budgets and features; what a target must produce is what its documentation
    says (:func:`harness.model.modes.resolve_mode`).
    """
    if case.padding_mode in ("same", "same_lower"):
        return tuple(n * s for n, s in zip(case.input_size, case.stride, strict=True))
    if case.padding_mode == "valid":
        return case.full_size
    return tuple(
        (n - 1) * s + d * (k - 1) + 1 - cb - ce + op
        for n, k, s, d, cb, ce, op in zip(
            case.input_size,
            case.kernel_size,
            case.stride,
            case.dilation,
            case.pads_begin,
            case.pads_end,
            case.output_padding,
            strict=True,
        )
    )


def output_shape(case: Case) -> tuple[int, ...]:
    """The NC* output shape of a case: ``(N, C_out, *O)``."""
    return (case.batch, case.out_channels, *spatial_output_size(case))


def _check_int(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidCase("integer", f"{name} must be an integer (got {value!r})")
    if value < minimum:
        raise InvalidCase(f"{name}>={minimum}", f"{name}={value} must be ≥ {minimum}")


def _check_per_dim(values: Iterable[int], name: str, rank: int, minimum: int) -> None:
    if not isinstance(values, tuple):
        raise InvalidCase("per_dim_sequence", f"{name} must be a sequence of integers (got {values!r})")
    if len(values) != rank:
        raise InvalidCase(
            "per_dim_length", f"{name} has {len(values)} entries but rank is {rank}: {list(values)}"
        )
    for dim, v in enumerate(values):
        _check_int(v, f"{name}[{dim}]", minimum)


def validate(case: Case) -> None:
    """Raise :class:`InvalidCase` naming the first canonical rule the case breaks."""
    _check_int(case.rank, "rank", 1)
    if case.rank > 3:
        raise InvalidCase("rank<=3", f"rank={case.rank} must be 1, 2 or 3")
    for name in ("batch", "in_channels", "out_channels", "groups"):
        _check_int(getattr(case, name), name, 1)
    for name in ("input_size", "kernel_size", "stride", "dilation"):
        _check_per_dim(getattr(case, name), name, case.rank, 1)
    for name in ("pads_begin", "pads_end", "output_padding"):
        _check_per_dim(getattr(case, name), name, case.rank, 0)
    if case.in_channels % case.groups:
        raise InvalidCase(
            "groups_divide_in_channels",
            f"C_in={case.in_channels} is not divisible by groups={case.groups}",
        )
    if case.out_channels % case.groups:
        raise InvalidCase(
            "groups_divide_out_channels",
            f"C_out={case.out_channels} is not divisible by groups={case.groups}",
        )
    if case.padding_mode not in PADDING_MODES:
        raise InvalidCase(
            "padding_mode",
            f"padding_mode {case.padding_mode!r} is not one of {', '.join(PADDING_MODES)}",
        )
    if case.padding_mode != "explicit" and (
        any(case.pads_begin) or any(case.pads_end) or any(case.output_padding)
    ):
        raise InvalidCase(
            "mode_without_explicit_crops",
            f"padding_mode {case.padding_mode!r} takes its crops from the mode: pads_begin, pads_end "
            "and output_padding must be 0",
        )
    for dim, size in enumerate(spatial_output_size(case)):
        if size < 1:
            raise InvalidCase(
                "output_size>=1",
                f"output size along spatial dim {dim} would be {size} "
                f"(full {case.full_size[dim]} − crops {case.pads_begin[dim]}+{case.pads_end[dim]} "
                f"+ output_padding {case.output_padding[dim]})",
            )
    check_case_size(case)
    if not isinstance(case.bias, bool):
        raise InvalidCase("bias_bool", f"bias must be true or false (got {case.bias!r})")
    _check_dtype_and_quantization(case)
    if case.layout not in LAYOUTS:
        raise InvalidCase("layout", f"layout {case.layout!r} is not one of {', '.join(LAYOUTS)}")
    if case.distribution not in DISTRIBUTIONS:
        raise InvalidCase(
            "distribution",
            f"distribution {case.distribution!r} is not one of {', '.join(DISTRIBUTIONS)}",
        )
    if case.quantization is not None and case.distribution not in QUANT_DISTRIBUTIONS:
        raise InvalidCase(
            "quant_distribution",
            f"an int8 case's distribution is one of {', '.join(QUANT_DISTRIBUTIONS)} "
            f"(got {case.distribution!r})",
            "distribution",
        )
    _check_int(case.seed, "seed", 0)


def _check_dtype_and_quantization(case: Case) -> None:
    """A float case has a float dtype and no quantization; an int8 case has both, consistent."""
    quant = case.quantization
    if quant is None:
        if case.dtype not in DATA_DTYPES:
            known = ", ".join((*DATA_DTYPES, QUANTIZED_DTYPE))
            extra = " (int8 needs a quantization)" if case.dtype == QUANTIZED_DTYPE else ""
            raise InvalidCase("dtype", f"dtype {case.dtype!r} is not one of {known}{extra}")
        return
    if not isinstance(quant, Quantization):
        raise InvalidCase("quant_fields", f"quantization must be a Quantization (got {quant!r})")
    if case.dtype != QUANTIZED_DTYPE:
        raise InvalidCase(
            "quant_dtype_int8", f"a quantized case has dtype {QUANTIZED_DTYPE!r} (got {case.dtype!r})"
        )
    quant.weight.for_channels(case.out_channels)
    if case.bias != (quant.bias != "none"):
        raise InvalidCase(
            "quant_bias_matches",
            f"bias={case.bias} but the quantization's bias form is {quant.bias!r}: a case has a bias "
            "exactly when its form is int32 or float",
            "bias",
        )


def element_counts(case: Case) -> dict[str, int]:
    """Element counts of the input, weight and output tensors (for size budgets)."""
    return {
        "input": math.prod(case.input_shape),
        "weight": math.prod(case.weight_shape),
        "output": math.prod(output_shape(case)),
    }
