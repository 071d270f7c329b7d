"""The cells of the coverage map (:mod:`harness.engine.coverage`): their names, which cases fill
each, and the changes to a spec's simplest case that make one.

Each limit cell is per dimension (``[dim i]`` from rank 2 on) and on the valid side of its rule:
output padding ``op`` at ``lim − 1`` and ``lim − 2`` where ``lim`` is the stride (``s > d``) or the
dilation (``d > s``), the output size at 1 and 2 with a crop, a crop at the dilated kernel's extent
``K − 1`` and past it, an odd total crop, and the dilated kernel shorter than the stride. The
range cells put each per-dimension range of the spec at its maximum. Named modes get a cell alone
and one per interaction; the value cells are every float dtype with every distribution, and each
layout and bias where the spec has several.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.model.case import QUANTIZED_DTYPE, Case
from harness.model.quant import QUANT_DISTRIBUTIONS
from harness.spec.schema import Range, Spec

#: What one candidate changes of the base case: a per-dimension field maps dimension → value
#: (dimension −1: every dimension), any other field is the value itself.
Change = Mapping[str, Any]
CellTest = Callable[[Case], bool]


@dataclass(frozen=True)
class Cell:
    """One named cell: which cases fill it (``test``) and the changes to the base case, tried in
    order, that make a case of it. Two cells are equal when their names are."""

    name: str
    test: CellTest = field(compare=False)
    candidates: tuple[Change, ...] = field(default=(), compare=False)
    #: Why the map builds no case for a cell without candidates.
    unbuilt: str = "no case is built for this cell"


def _explicit(test: Callable[[Case], bool]) -> CellTest:
    return lambda c: c.padding_mode == "explicit" and test(c)


def _dim(name: str, rank: int, dim: int) -> str:
    return name if rank == 1 else f"{name} [dim {dim}]"


def _limit_cells(spec: Spec, i: int) -> list[Cell]:
    """The boundaries along dimension ``i`` of the rules on output padding, output size and crops."""
    r = spec.rank

    def op_stride(gap: int) -> CellTest:
        return _explicit(
            lambda c: c.output_padding[i] == c.stride[i] - gap >= 1 and c.stride[i] > c.dilation[i]
        )

    def op_dilation(gap: int) -> CellTest:
        return _explicit(
            lambda c: c.output_padding[i] == c.dilation[i] - gap >= 1 and c.dilation[i] > c.stride[i]
        )

    def out(size: int) -> CellTest:
        return _explicit(lambda c: c.output_size[i] == size and c.pads_begin[i] + c.pads_end[i] > 0)

    def k_extent(c: Case) -> int:
        return c.dilated_kernel[i] - 1

    def geo(length: int, k: int, s: int = 1, d: int = 1, cb: int = 0, ce: int = 0, op: int = 0) -> Change:
        return {
            "input_size": {i: length},
            "kernel_size": {i: k},
            "stride": {i: s},
            "dilation": {i: d},
            "pads_begin": {i: cb},
            "pads_end": {i: ce},
            "output_padding": {i: op},
        }

    return [
        Cell(
            _dim("output_padding=stride-1 (at the limit)", r, i),
            op_stride(1),
            tuple(geo(2, 1, s=s, op=s - 1) for s in (2, 3, 4))
            + tuple(geo(2, 2, s=s, op=s - 1) for s in (2, 3)),
        ),
        Cell(
            _dim("output_padding=stride-2 (just below)", r, i),
            op_stride(2),
            tuple(geo(2, 1, s=s, op=s - 2) for s in (3, 4)) + tuple(geo(2, 2, s=s, op=s - 2) for s in (3, 4)),
        ),
        Cell(
            _dim("output_padding=dilation-1 (at the limit)", r, i),
            op_dilation(1),
            tuple(geo(2, 2, d=d, op=d - 1) for d in (2, 3, 4)),
        ),
        Cell(
            _dim("output_padding=dilation-2 (just below)", r, i),
            op_dilation(2),
            tuple(geo(2, 2, d=d, op=d - 2) for d in (3, 4)),
        ),
        Cell(
            _dim("output=1 (at the limit)", r, i),
            out(1),
            (geo(1, 3, cb=1, ce=1), geo(2, 2, cb=1, ce=1), geo(2, 1, s=2, cb=1, ce=1), geo(1, 2, cb=1)),
        ),
        Cell(
            _dim("output=2 (just above)", r, i),
            out(2),
            (geo(2, 3, cb=1, ce=1), geo(1, 4, cb=1, ce=1), geo(3, 1, s=2, cb=2, ce=1), geo(1, 3, cb=1)),
        ),
        Cell(
            _dim("crop=K-1", r, i),
            _explicit(lambda c: max(c.pads_begin[i], c.pads_end[i]) == k_extent(c) >= 1),
            (geo(3, 2, cb=1, ce=1), geo(2, 2, s=2, cb=1, ce=1), geo(3, 3, cb=2, ce=2)),
        ),
        Cell(
            _dim("crop>K-1", r, i),
            _explicit(lambda c: max(c.pads_begin[i], c.pads_end[i]) > k_extent(c)),
            (geo(4, 1, cb=1, ce=1), geo(3, 1, s=2, cb=1, ce=1), geo(4, 2, cb=2, ce=2)),
        ),
        Cell(
            _dim("crop=odd", r, i),
            _explicit(lambda c: (c.pads_begin[i] + c.pads_end[i]) % 2 == 1),
            (
                geo(2, 2, cb=1),
                geo(2, 2, s=2, cb=1),
                geo(2, 3, s=2, cb=2, ce=1),
                geo(2, 2, ce=1),
            ),
        ),
        Cell(
            _dim("kernel<stride", r, i),
            _explicit(lambda c: c.dilated_kernel[i] < c.stride[i] and c.input_size[i] >= 2),
            (geo(2, 1, s=2), geo(2, 1, s=3), geo(2, 2, s=3), geo(3, 1, s=2)),
        ),
    ]


def _range_cells(spec: Spec, i: int) -> list[Cell]:
    """Each per-dimension range of the spec at its maximum along dimension ``i`` (where it has more
    than one value)."""
    cells = []
    for key, label in (
        ("input_size", "input"),
        ("kernel_size", "kernel"),
        ("stride", "stride"),
        ("dilation", "dilation"),
    ):
        bound: Range = getattr(spec, key)
        if bound.max == bound.min:
            continue
        top = bound.max
        change: dict[str, Any] = {key: {i: top}}
        if key in ("stride", "dilation"):  # with a kernel and an input long enough for it to matter
            change |= {"kernel_size": {i: 2}, "input_size": {i: 2}}
        cells.append(
            Cell(
                _dim(f"{label}={top} (the spec's maximum)", spec.rank, i),
                _at_dim(key, i, top),
                (change, {key: {i: top}}),
            )
        )
    return cells


def _has(**values: Any) -> CellTest:
    return lambda c: all(getattr(c, k) == v for k, v in values.items())


def _at_dim(key: str, dim: int, value: int) -> CellTest:
    return lambda c: bool(getattr(c, key)[dim] == value)


def _everywhere(**values: int) -> dict[str, Any]:
    """The same per-dimension values along every dimension (filled in by :func:`_apply`)."""
    return {name: {-1: v} for name, v in values.items()}


def _mode_cells(spec: Spec) -> list[Cell]:
    """Each named mode of the spec, alone and with each interaction."""
    cells: list[Cell] = []
    for mode in (m for m in spec.padding_modes if m != "explicit"):

        def of(test: CellTest, mode: str = mode) -> CellTest:
            return lambda c: c.padding_mode == mode and test(c)

        with_mode: dict[str, Any] = {"padding_mode": mode}
        cells += [
            Cell(f"mode={mode}", of(lambda c: True), (with_mode | _everywhere(input_size=2, kernel_size=2),)),
            Cell(
                f"mode={mode}×stride>1",
                of(lambda c: max(c.stride) > 1),
                tuple(with_mode | _everywhere(input_size=2, kernel_size=3, stride=s) for s in (2, 3)),
            ),
            Cell(
                f"mode={mode}×dilation>1",
                of(lambda c: any(d > 1 and k > 1 for d, k in zip(c.dilation, c.kernel_size, strict=True))),
                tuple(with_mode | _everywhere(input_size=2, kernel_size=2, dilation=d) for d in (2, 3)),
            ),
            Cell(
                f"mode={mode}×kernel<stride",
                of(lambda c: any(k < s for k, s in zip(c.dilated_kernel, c.stride, strict=True))),
                (
                    with_mode | _everywhere(input_size=2, kernel_size=1, stride=2),
                    with_mode | _everywhere(input_size=2, kernel_size=2, stride=3),
                ),
            ),
        ]
        if mode != "valid":  # VALID crops nothing; a SAME mode crops K − s in all, split by its rule
            cells.append(
                Cell(
                    f"mode={mode}×odd crop",
                    of(
                        lambda c: any(
                            (k - s) % 2 == 1 and k > s
                            for k, s in zip(c.dilated_kernel, c.stride, strict=True)
                        )
                    ),
                    (
                        with_mode | _everywhere(input_size=3, kernel_size=3, stride=2),
                        with_mode | _everywhere(input_size=2, kernel_size=2, stride=1),
                    ),
                )
            )
    return cells


def _group_cells(spec: Spec) -> list[Cell]:
    """Grouped and depthwise channels (groups dividing both channel counts, at their limit)."""
    return [
        Cell(
            "groups>1 (grouped)",
            lambda c: 1 < c.groups < c.in_channels,
            (
                {"groups": 2, "in_channels": 4, "out_channels": 2},
                {"groups": 2, "in_channels": 4, "out_channels": 4},
            ),
        ),
        Cell(
            "groups=in_channels (depthwise)",
            lambda c: 1 < c.groups == c.in_channels,
            (
                {"groups": 2, "in_channels": 2, "out_channels": 2},
                {"groups": 2, "in_channels": 2, "out_channels": 4},
            ),
        ),
    ]


#: The geometries a value cell's own case tries, richest first.
_CARRIERS: tuple[dict[str, Any], ...] = (
    # enough entries that a special distribution's ~5 % of inf/nan land in the weight and a large
    # one's partial sums grow (16 products per output in 1-D), where the spec allows the size
    _everywhere(input_size=8, kernel_size=4) | {"in_channels": 4, "out_channels": 4},
    _everywhere(input_size=6, kernel_size=3) | {"in_channels": 3, "out_channels": 3},
    _everywhere(input_size=3, kernel_size=3, stride=2) | {"in_channels": 2, "out_channels": 2},
    _everywhere(input_size=2, kernel_size=2) | {"in_channels": 2, "out_channels": 2},
)


def _carrying(value: dict[str, Any]) -> tuple[Change, ...]:
    return (*(geometry | value for geometry in _CARRIERS), value)


def value_cells(spec: Spec) -> list[Cell]:
    """The value cells: every dtype with every distribution (int8 with those an int8 case takes),
    and each layout and bias where the spec has more than one.

    A value cell's last candidate is its value alone (what :func:`harness.engine.coverage.coverage_map`
    lays on another cell's case); the ones before it give a case of its own taps, stride phases and
    channels for the values to travel through (a 1×1 case could not show a value pattern's spread).
    """
    cells = []
    for dtype in spec.dtypes:
        for dist in spec.distributions:
            if dtype == QUANTIZED_DTYPE and dist not in QUANT_DISTRIBUTIONS:
                continue  # an int8 case never has it: no cell
            cells.append(
                Cell(
                    f"dtype={dtype}×distribution={dist}",
                    _has(dtype=dtype, distribution=dist),
                    _carrying({"dtype": dtype, "distribution": dist}),
                )
            )
    for key, attr in (("layouts", "layout"), ("bias", "bias")):
        choices = list(getattr(spec, key))
        if len(choices) > 1:
            for value in choices:
                cells.append(
                    Cell(
                        f"{attr}={str(value).lower()}",
                        _has(**{attr: value}),
                        _carrying({attr: value}),
                    )
                )
    return cells


def cells_of(spec: Spec) -> list[Cell]:
    """The map's cells for ``spec`` as written (the same for every target), in a fixed order."""
    cells: list[Cell] = []
    for i in range(spec.rank):
        cells += _limit_cells(spec, i)
    for i in range(spec.rank):
        cells += _range_cells(spec, i)
    cells += _group_cells(spec) + _mode_cells(spec) + value_cells(spec)
    return cells
