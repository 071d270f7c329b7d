"""The schema of a YAML parameter-space spec: pydantic models that forbid unknown keys.

A spec describes the space of transposed-convolution cases one run explores, for one rank.
:mod:`harness.spec.loader` reads a file into these models, and :mod:`harness.spec.messages` words
what they reject as ``file:line: key rule``.

Schema (``Range`` is ``{min: int, max: int}`` or a bare int meaning ``min = max``; every range
applies to each spatial dimension independently; ``Choices`` is a list of names, equally weighted,
or a mapping ``name: weight`` with integer weights 1..1000; the first entry is the shrink target)::

    name: str                   # required; letters, digits, '_', '-', '.'
    description: str            # optional
    rank: 1 | 2 | 3             # required: spatial dimensions
    max_elements: int           # required: budget per tensor, applied to input, weight and output
                                #   each; drawn cases never exceed it, pinned cases are exempt;
                                #   at most 2**28 (harness.model.limits, like every size below)
    batch: Range                # required, min ≥ 1
    channels:                   # required; C_in = groups·in_per_group, C_out = groups·out_per_group,
      groups: Range             #   so groups divide both channel counts by construction
      in_per_group: Range
      out_per_group: Range
    input_size: Range           # required, spatial input size L
    kernel_size: Range          # required, k
    stride: Range               # default 1
    dilation: Range             # default 1
    crops:                      # crop taken off each end of the full output ("padding")
      max: int | auto           #   per end; auto = d·(k−1) (= K−1) for the drawn kernel; default 0
      probability: float        #   chance that a case crops at all; default 1.0
      asymmetric_probability: float   # chance that a cropping case crops begin/end independently
    output_padding:
      max: int | auto           #   auto = max(stride, dilation) + 1 for the drawn stride/dilation,
                                #   one past what PyTorch accepts; default 0
      probability: float        #   chance that a case pads at all; default 1.0
    bias: Choices[bool]         # default [true, false]
    dtypes: Choices[dtype]      # float64 float32 float16 bfloat16 int8; default the floats; int8
                                #   needs a quantization block (harness.spec.quant_schema)
    layouts: Choices[layout]    # channels_first channels_last; default all
    distributions: Choices[...] # normal uniform small_int large special; default all
    padding_modes: Choices[...] # explicit same same_lower valid; default [explicit]. A named mode
                                #   draws no crops: each target's documentation says what it gives
    pinned:                     # explicit cases that always run first (exempt from max_elements,
                                #   not from the harness's caps in harness.model.limits)
      - source: str             #   required: where the example comes from (e.g. a seed file)
        note: str               #   optional
        in_channels: int        #   required
        out_channels: int       #   required
        input_size: int | [int] #   required; per-dimension fields broadcast an int to every dim
        kernel_size: int | [int]  # required
        groups, batch, stride, dilation, pads_begin, pads_end, output_padding, bias, dtype,
        layout, distribution, seed, padding_mode, rank  # optional Case fields (defaults; rank: spec)
        output_shape: [int]     #   optional: the NC* output shape the source documents; checked

The minimal case of the space (every range at its minimum, no crop, no output padding) must fit
``max_elements``: otherwise no case could be drawn, and the spec is rejected at ``max_elements``.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

from harness.errors import InvalidCase
from harness.model.case import (
    DISTRIBUTIONS,
    LAYOUTS,
    PADDING_MODES,
    PER_DIM_FIELDS,
    Case,
    element_counts,
    output_shape,
)
from harness.model.dtypes import DATA_DTYPES
from harness.model.limits import EXTENT, TENSOR_ELEMENTS, check_reference
from harness.spec.keys import Loc, RuleError, dotted, lookup_line
from harness.spec.quant_schema import QuantSpace, check_int8

MAX_WEIGHT = 1000

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
Count = Annotated[int, Field(ge=1)]
NonNegative = Annotated[int, Field(ge=0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Weight = Annotated[int, Field(ge=1, le=MAX_WEIGHT)]
FloatDtypeName = Literal["float64", "float32", "float16", "bfloat16"]
DtypeName = FloatDtypeName | Literal["int8"]
LayoutName = Literal["channels_first", "channels_last"]
DistributionName = Literal["normal", "uniform", "small_int", "large", "special"]
PaddingModeName = Literal["explicit", "same", "same_lower", "valid"]
PerDim = int | list[int]

assert set(typing.get_args(FloatDtypeName)) == set(DATA_DTYPES)
assert set(typing.get_args(LayoutName)) == set(LAYOUTS)
assert set(typing.get_args(DistributionName)) == set(DISTRIBUTIONS)
assert set(typing.get_args(PaddingModeName)) == set(PADDING_MODES)


class Range(BaseModel):
    """An inclusive integer range ``min..max`` (a bare int ``n`` means ``n..n``)."""

    model_config = _STRICT
    min: Count
    max: int

    @model_validator(mode="before")
    @classmethod
    def _bare_int(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            return {"min": data, "max": data}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.max < self.min:
            raise RuleError(f"{{key}} must be ≥ {{here}}.min (got {self.max} < {self.min})", ("max",))
        return self


class Channels(BaseModel):
    """Channel counts drawn as groups × per-group counts."""

    model_config = _STRICT
    groups: Range
    in_per_group: Range
    out_per_group: Range


class Crops(BaseModel):
    """How much each end of the full output is cropped (the frameworks' "padding")."""

    model_config = _STRICT
    max: NonNegative | Literal["auto"] = 0
    probability: Probability = 1.0
    asymmetric_probability: Probability = 0.0


class OutputPadding(BaseModel):
    """Extra output elements appended at the end of each dimension."""

    model_config = _STRICT
    max: NonNegative | Literal["auto"] = 0
    probability: Probability = 1.0


def _as_weights(value: Any) -> Any:
    """Choices given as a list become equal weights; duplicates and empty lists are errors."""
    if isinstance(value, list):
        seen: dict[Any, int] = {}
        marks: set[tuple[type, Any]] = set()
        for i, item in enumerate(value):
            if isinstance(item, Mapping | list):
                raise RuleError("{key} must be a name, not a nested structure", (i,))
            if (type(item), item) in marks:
                raise RuleError(f"{{key}} lists {item!r} twice", (i,))
            marks.add((type(item), item))
            seen[item] = 1
        value = seen
    if isinstance(value, dict) and not value:
        raise RuleError("{key} must list at least one choice")
    return value


def _equal_weights(names: Sequence[str]) -> dict[Any, int]:
    """Every name weighted 1, in the given order (the asserts above tie the names to the Literals)."""
    return dict.fromkeys(names, 1)


BoolChoices = Annotated[dict[bool, Weight], BeforeValidator(_as_weights)]
DtypeChoices = Annotated[dict[DtypeName, Weight], BeforeValidator(_as_weights)]
LayoutChoices = Annotated[dict[LayoutName, Weight], BeforeValidator(_as_weights)]
DistributionChoices = Annotated[dict[DistributionName, Weight], BeforeValidator(_as_weights)]
PaddingModeChoices = Annotated[dict[PaddingModeName, Weight], BeforeValidator(_as_weights)]


class Pinned(BaseModel):
    """One explicit canonical case, with where it comes from."""

    model_config = _STRICT
    source: Annotated[str, Field(min_length=1)]
    note: str = ""
    rank: int | None = None
    batch: Count = 1
    in_channels: Count
    out_channels: Count
    groups: Count = 1
    input_size: PerDim
    kernel_size: PerDim
    stride: PerDim = 1
    dilation: PerDim = 1
    pads_begin: PerDim = 0
    pads_end: PerDim = 0
    output_padding: PerDim = 0
    bias: bool = True
    dtype: FloatDtypeName = "float32"
    layout: LayoutName = "channels_first"
    distribution: DistributionName = "normal"
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    padding_mode: PaddingModeName = "explicit"
    output_shape: list[int] | None = None

    def to_case(self, rank: int) -> Case:
        """The canonical case (raises :class:`InvalidCase`)."""
        fields = self.model_dump(exclude={"source", "note", "output_shape", "rank"})
        return Case.make(rank=rank, **fields)


#: The ranges of per-dimension sizes, each capped at the harness's per-dimension cap.
_PER_DIM_RANGES = ("input_size", "kernel_size", "stride", "dilation")

_CASE_RULE_KEYS = {
    "groups_divide_in_channels": "groups",
    "groups_divide_out_channels": "groups",
}


class Spec(BaseModel):
    """A validated parameter-space spec (see the module docstring for the keys)."""

    model_config = _STRICT
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")]
    description: str = ""
    rank: Annotated[int, Field(ge=1, le=3)]
    max_elements: Count
    batch: Range
    channels: Channels
    input_size: Range
    kernel_size: Range
    stride: Range = Range(min=1, max=1)
    dilation: Range = Range(min=1, max=1)
    crops: Crops = Crops()
    output_padding: OutputPadding = OutputPadding()
    bias: BoolChoices = Field(default_factory=lambda: {True: 1, False: 1})
    dtypes: DtypeChoices = Field(default_factory=lambda: _equal_weights(DATA_DTYPES))
    layouts: LayoutChoices = Field(default_factory=lambda: _equal_weights(LAYOUTS))
    distributions: DistributionChoices = Field(default_factory=lambda: _equal_weights(DISTRIBUTIONS))
    padding_modes: PaddingModeChoices = Field(default_factory=lambda: _equal_weights(("explicit",)))
    pinned: list[Pinned] = Field(default_factory=list)
    quantization: QuantSpace | None = None

    _path: Path | None = PrivateAttr(default=None)
    _lines: dict[tuple[str, ...], int] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _within_caps(self) -> Spec:
        if self.max_elements > TENSOR_ELEMENTS.cap:
            raise RuleError(
                f"{{key}}={self.max_elements} is over the harness's cap of {TENSOR_ELEMENTS.shown()} "
                f"(rule {TENSOR_ELEMENTS.rule}): lower it",
                ("max_elements",),
            )
        for key in _PER_DIM_RANGES:
            bound: Range = getattr(self, key)
            if bound.max > EXTENT.cap:
                raise RuleError(
                    f"{{key}}={bound.max} is over the harness's cap of {EXTENT.shown()} "
                    f"(rule {EXTENT.rule}): lower it",
                    (key, "max"),
                )
        return self

    @model_validator(mode="after")
    def _int8_has_quantization(self) -> Spec:
        check_int8(self.dtypes, self.quantization, self.distributions)
        return self

    @model_validator(mode="after")
    def _smallest_case_fits(self) -> Spec:
        counts = self.smallest_counts()
        over = {k: v for k, v in counts.items() if v > self.max_elements}
        if over:
            worst = max(over, key=over.__getitem__)
            raise RuleError(
                f"{{key}}={self.max_elements} is below the {worst} size of the smallest case in this "
                f"space ({over[worst]} elements): raise it or lower the minimums",
                ("max_elements",),
            )
        return self

    @model_validator(mode="after")
    def _pinned_valid(self) -> Spec:
        for i, pin in enumerate(self.pinned):
            if pin.rank is not None and pin.rank != self.rank:
                raise RuleError(
                    f"{{key}}={pin.rank} differs from the spec's rank {self.rank}", ("pinned", i, "rank")
                )
            for key in PER_DIM_FIELDS:
                value = getattr(pin, key)
                if isinstance(value, list) and len(value) != self.rank:
                    raise RuleError(
                        f"{{key}} has {len(value)} entries but the spec's rank is {self.rank}",
                        ("pinned", i, key),
                    )
            try:
                case = pin.to_case(self.rank)
                check_reference(case)
            except InvalidCase as exc:
                rule_key = exc.field or _CASE_RULE_KEYS.get(exc.rule)
                rel: Loc = ("pinned", i, rule_key) if rule_key else ("pinned", i)
                raise RuleError(f"{dotted(('pinned', i))} is not a valid case: {exc}", rel) from None
            if pin.output_shape is not None and list(output_shape(case)) != pin.output_shape:
                raise RuleError(
                    f"{{key}} {pin.output_shape} does not match the canonical output shape "
                    f"{list(output_shape(case))}",
                    ("pinned", i, "output_shape"),
                )
        return self

    # --- derived -------------------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        """The file the spec was loaded from (None when built in memory)."""
        return self._path

    def line_of(self, *loc: str | int) -> int | None:
        """The 1-based line of a key path in the spec file, if known."""
        return lookup_line(self._lines, loc)

    @property
    def smallest_full_size(self) -> int:
        """The full output size ``F`` per dimension of the smallest geometry in the space."""
        return (
            (self.input_size.min - 1) * self.stride.min + self.dilation.min * (self.kernel_size.min - 1) + 1
        )

    def smallest_counts(self) -> dict[str, int]:
        """Element counts of input, weight and output for the smallest case in the space."""
        ch = self.channels
        g, cin, cout, n = ch.groups.min, ch.in_per_group.min, ch.out_per_group.min, self.batch.min
        return {
            "input": n * g * cin * self.input_size.min**self.rank,
            "weight": g * cin * cout * self.kernel_size.min**self.rank,
            "output": n * g * cout * self.smallest_full_size**self.rank,
        }

    def pinned_cases(self) -> list[Case]:
        """The pinned examples as canonical cases, in file order."""
        return [pin.to_case(self.rank) for pin in self.pinned]

    def outside(self, case: Case) -> frozenset[str]:
        """The spec keys whose space ``case`` lies outside of (empty when the spec could generate it).

        The shrinker keeps a minimal case inside the spec that found it: a candidate may not leave
        the space along a key the failing case was inside of (a pinned case may already be outside).
        """
        keys: set[str] = set()

        def check(key: str, values: Sequence[int], bounds: Range) -> None:
            if any(not bounds.min <= v <= bounds.max for v in values):
                keys.add(key)

        if case.rank != self.rank:
            keys.add("rank")
        check("batch", [case.batch], self.batch)
        check("channels.groups", [case.groups], self.channels.groups)
        check("channels.in_per_group", [case.in_channels // case.groups], self.channels.in_per_group)
        check("channels.out_per_group", [case.out_channels // case.groups], self.channels.out_per_group)
        check("input_size", case.input_size, self.input_size)
        check("kernel_size", case.kernel_size, self.kernel_size)
        check("stride", case.stride, self.stride)
        check("dilation", case.dilation, self.dilation)
        # "auto" limits are per dimension, as the strategies draw them: crops up to d·(k − 1),
        # output_padding up to max(s, d) + 1.
        dims = list(zip(case.kernel_size, case.stride, case.dilation, strict=True))
        crop_max = [d * (k - 1) if self.crops.max == "auto" else self.crops.max for k, _, d in dims]
        op_max = [
            max(s, d) + 1 if self.output_padding.max == "auto" else self.output_padding.max
            for _, s, d in dims
        ]
        if any(max(b, e) > m for b, e, m in zip(case.pads_begin, case.pads_end, crop_max, strict=True)):
            keys.add("crops.max")
        if self.crops.asymmetric_probability == 0 and case.pads_begin != case.pads_end:
            keys.add("crops.asymmetric_probability")
        if any(o > m for o, m in zip(case.output_padding, op_max, strict=True)):
            keys.add("output_padding.max")
        for key, value, choices in (
            ("bias", case.bias, self.bias),
            ("dtypes", case.dtype, self.dtypes),
            ("layouts", case.layout, self.layouts),
            ("distributions", case.distribution, self.distributions),
            ("padding_modes", case.padding_mode, self.padding_modes),
        ):
            if value not in choices:
                keys.add(key)
        if max(element_counts(case).values()) > self.max_elements:
            keys.add("max_elements")
        return frozenset(keys)
