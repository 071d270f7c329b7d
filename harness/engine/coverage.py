"""The coverage map: named cells of one (spec, target) that every run fills before random exploration.

A cell is one thing a conformance run should have judged at least once: the boundary of a
validity rule or documented formula along one dimension (output padding at its limit
``max(s, d) − 1`` and just below it, the output size at its limit 1 and just above it, a crop at
the dilated kernel's extent ``K − 1`` and past it), the spec's range maxima per dimension, the
kernel shorter than the stride, odd crops, groups, each named mode alone and with a stride, a
dilation, a kernel shorter than the stride and an odd total crop, and every dtype with every
distribution, each layout and bias. Every cell is at the spec's rank.

The map holds the *valid* side of each limit only (at the limit and just inside it): the case
just past a validity limit is invalid, and is the invalid-input audit's
(``harness audit-invalid``), not the run's.

:func:`coverage_map` builds, by construction and without randomness, one case per cell that a
target space can reach (checked valid, inside the spec as the target's declarations restrict it,
and expressible by the target), sharing cases between cells where one case fills several; a cell
no such case reaches is unreachable, with the reason. The run judges the map's cases first, then
explores; :class:`MapTally` tells, from every case judged inside the target's space, which cells
were filled, refused (the map's case for it was judged unsupported: a declaration that does not
match the adapter) or left unfilled.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import strategies as st

from adapters.protocol import TargetApi
from harness.engine.coverage_cells import Cell, Change, cells_of, value_cells
from harness.engine.space import OUTSIDE_PER_RULE, TargetSpace, target_space
from harness.errors import InvalidCase
from harness.model.case import PER_DIM_FIELDS, QUANTIZED_DTYPE, Case
from harness.model.limits import check_reference
from harness.model.outcomes import Outcome
from harness.model.quant import QUANT_DISTRIBUTIONS, Quantization
from harness.spec.quant_strategies import draw_quantization
from harness.spec.schema import Spec
from harness.spec.strategies import cases

FILLED, REFUSED, UNFILLED, UNREACHABLE = "filled", "refused", "unfilled", "unreachable"
STATUSES = (FILLED, REFUSED, UNFILLED, UNREACHABLE)


@dataclass(frozen=True)
class MapCell:
    """A cell of a built map: its case (None when unreachable) and why it is unreachable."""

    cell: Cell
    case: Case | None
    reason: str = ""


@dataclass(frozen=True)
class CoverageMap:
    """The cells of one (spec, target), in order, and the distinct cases that fill them."""

    cells: tuple[MapCell, ...]

    @property
    def cases(self) -> list[Case]:
        """The map's distinct cases, in the order the run judges them."""
        out: list[Case] = []
        for entry in self.cells:
            if entry.case is not None and entry.case not in out:
                out.append(entry.case)
        return out


# --- building the cases ------------------------------------------------------------------------


Quantize = Callable[[int, bool], Quantization]


def quantizer(spec: Spec) -> Quantize | None:
    """For an int8 spec, the simplest quantization of its space for a case's output channels and
    bias: Hypothesis's simplest example of the quantized generator's own draw (the same every time),
    so that a map case is quantized as a drawn one could be."""
    space = spec.quantization
    if space is None:
        return None
    made: dict[tuple[int, bool], Quantization] = {}
    # Hypothesis's first example is its simplest (every choice at its first): no shrinking needed
    first = hypothesis.settings(
        database=None, derandomize=True, max_examples=1, phases=[hypothesis.Phase.generate]
    )

    def quantize(out_channels: int, bias: bool) -> Quantization:
        if (out_channels, bias) not in made:
            strategy = st.composite(lambda draw: draw_quantization(draw, space, out_channels, bias))()
            made[(out_channels, bias)] = hypothesis.find(strategy, lambda _: True, settings=first)
        return made[(out_channels, bias)]

    return quantize


def base_case(spec: Spec) -> Case:
    """The simplest case of ``spec``: every range at its minimum, no crop, no output padding, the
    first choice of everything (explicit crops when the spec draws them; a float dtype when it has
    one, else int8 with its simplest quantization and distribution)."""
    ch = spec.channels
    g = ch.groups.min
    floats = [d for d in spec.dtypes if d != QUANTIZED_DTYPE]
    modes = list(spec.padding_modes)
    dists = (
        list(spec.distributions) if floats else [d for d in spec.distributions if d in QUANT_DISTRIBUTIONS]
    )
    base = Case.make(
        rank=spec.rank,
        batch=spec.batch.min,
        in_channels=g * ch.in_per_group.min,
        out_channels=g * ch.out_per_group.min,
        groups=g,
        input_size=spec.input_size.min,
        kernel_size=spec.kernel_size.min,
        stride=spec.stride.min,
        dilation=spec.dilation.min,
        bias=next(iter(spec.bias)),
        dtype=floats[0] if floats else "float32",
        layout=next(iter(spec.layouts)),
        distribution=dists[0],
        padding_mode="explicit" if "explicit" in modes else modes[0],
    )
    quantize = quantizer(spec)
    return base if floats or quantize is None else _apply(base, {"dtype": QUANTIZED_DTYPE}, quantize)


def _apply(base: Case, change: Change, quantize: Quantize | None = None) -> Case:
    """``base`` with ``change`` (raises :class:`InvalidCase`); an int8 result gets the simplest
    quantization for its channels and bias, a float one none."""
    fields: dict[str, Any] = {}
    for name, value in change.items():
        if name in PER_DIM_FIELDS:
            values = list(getattr(base, name))
            for dim, v in value.items():
                for j in range(base.rank) if dim == -1 else (dim,):
                    values[j] = v
            fields[name] = tuple(values)
        else:
            fields[name] = value
    if fields.get("padding_mode", base.padding_mode) != "explicit":
        zero = (0,) * base.rank
        fields |= {"pads_begin": zero, "pads_end": zero, "output_padding": zero}
    if fields.get("dtype", base.dtype) != QUANTIZED_DTYPE:
        fields["quantization"] = None
    elif quantize is None:
        raise InvalidCase("quant_fields", "an int8 case needs the spec's quantization block")
    else:
        channels, bias = fields.get("out_channels", base.out_channels), fields.get("bias", base.bias)
        fields["quantization"] = quantize(channels, bias)
    return dataclasses.replace(base, **fields)


@dataclass
class _Checker:
    """Whether a case belongs to one target space, and if not, why."""

    full: Spec
    restricted: Spec
    api: TargetApi
    quantize: Quantize | None = None

    def why_not(self, case: Case) -> str | None:
        keys = sorted(self.full.outside(case))
        if keys:
            return f"outside the spec ({', '.join(keys)})"
        keys = sorted(self.restricted.outside(case))
        if keys:
            return f"outside what {self.api.name} declares ({', '.join(keys)})"
        try:
            check_reference(case)
        except InvalidCase as exc:
            return f"invalid: {exc}"
        refused = self.api.supports(case)
        return None if refused is None else f"{self.api.name} refuses it: {refused}"


def _build(cell: Cell, base: Case, check: _Checker) -> Case | str:
    """The first candidate of ``cell`` that is a case of the target space and of the cell, or the
    first candidate's reason for not being one."""
    reasons: list[str] = []
    for change in cell.candidates:
        try:
            case = _apply(base, change, check.quantize)
        except InvalidCase as exc:
            reasons.append(f"invalid: {exc}")
            continue
        why = check.why_not(case)
        if why is None and not cell.test(case):  # the spec's minimum elsewhere can defeat a candidate
            why = "the spec's minimum sizes leave no case of this cell"
        if why is None:
            return case
        reasons.append(why)
    return reasons[0] if reasons else cell.unbuilt


def _shared(cell: Cell, built: Mapping[str, Case | str]) -> Case | None:
    """A case already built for another cell that fills ``cell`` too."""
    return next((c for c in built.values() if isinstance(c, Case) and cell.test(c)), None)


def _try(case: Case, change: Change, check: _Checker) -> Case | None:
    """``case`` with ``change``, when that is still a case of the target space."""
    try:
        changed = _apply(case, change, check.quantize)
    except InvalidCase:
        return None
    return changed if check.why_not(changed) is None else None


def _seeded(case: Case, key: str, seed: int | None) -> Case:
    """The case with its array seed fixed by the cell's name (and the run's seed, when given)."""
    return dataclasses.replace(case, seed=zlib.crc32(f"{seed}|{key}".encode()) & 0xFFFFFFFF)


def coverage_map(full: Spec, restricted: Spec | str, api: TargetApi, seed: int | None = None) -> CoverageMap:
    """The map of ``full`` (the spec as written) for ``api``, whose space is ``restricted``
    (:func:`harness.engine.space.target_space`'s spec, or why nothing of the spec is left).

    Deterministic: the same spec, target and ``seed`` give the same cases. The value cells (dtype ×
    distribution, layout, bias) are first laid on the geometric cells' cases, in turn, and get a
    case of their own only when none is left to carry them.
    """
    cells = cells_of(full)
    if isinstance(restricted, str):
        return CoverageMap(tuple(MapCell(c, None, restricted) for c in cells))
    check = _Checker(full, restricted, api, quantizer(full))
    base = base_case(restricted)
    values = {c.name for c in value_cells(full)}
    built: dict[str, Case | str] = {}
    for cell in cells:
        if cell.name not in values:
            built[cell.name] = _shared(cell, built) or _build(cell, base, check)
    pending = [c for c in cells if c.name in values]
    for name in list(built):
        case = built[name]
        if not isinstance(case, Case):
            continue
        held = [c for c in cells if built.get(c.name) is case]
        for cell in list(pending):
            changed = case if cell.test(case) else _try(case, cell.candidates[-1], check)
            if changed is not None and all(c.test(changed) for c in held):
                for other in held:
                    built[other.name] = changed
                built[cell.name] = changed
                held.append(cell)
                pending.remove(cell)
                case = changed
    for cell in pending:
        built[cell.name] = _shared(cell, built) or _build(cell, base, check)
    seeded: dict[Case, Case] = {}
    out = []
    for cell in cells:
        value = built[cell.name]
        if isinstance(value, str):
            out.append(MapCell(cell, None, value))
        else:
            out.append(MapCell(cell, seeded.setdefault(value, _seeded(value, cell.name, seed))))
    return CoverageMap(tuple(out))


# --- what a run filled -------------------------------------------------------------------------


@dataclass(frozen=True)
class CellResult:
    """One cell as a run left it: filled, refused, unfilled or unreachable, with why."""

    name: str
    status: str
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form (``run.json``'s ``coverage_map``)."""
        return {"name": self.name, "status": self.status, "reason": self.reason}


@dataclass
class MapTally:
    """Which cells of a map the cases judged inside the target's space filled."""

    map: CoverageMap
    filled: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)

    def observe(self, case: Case, verdict_outcome: str, message: str = "") -> None:
        """Count one judged case: it fills every cell it belongs to unless it was unsupported."""
        for entry in self.map.cells:
            if entry.cell.name in self.filled or entry.case is None:
                continue
            if verdict_outcome != Outcome.UNSUPPORTED:
                if entry.cell.test(case):
                    self.filled.add(entry.cell.name)
                    self.refused.pop(entry.cell.name, None)
            elif case == entry.case:
                self.refused[entry.cell.name] = message or "unsupported"

    def results(self) -> list[CellResult]:
        """Every cell, in the map's order, with its status."""
        out = []
        for entry in self.map.cells:
            name = entry.cell.name
            if entry.case is None:
                out.append(CellResult(name, UNREACHABLE, entry.reason))
            elif name in self.filled:
                out.append(CellResult(name, FILLED))
            elif name in self.refused:
                out.append(
                    CellResult(name, REFUSED, f"the map's case was judged unsupported: {self.refused[name]}")
                )
            else:
                out.append(CellResult(name, UNFILLED, "reachable, but no case of it was judged"))
        return out


def counts(results: Iterable[CellResult]) -> dict[str, int]:
    """How many cells have each status, and how many were reachable (every status but unreachable)."""
    listed = list(results)
    out = {status: sum(r.status == status for r in listed) for status in STATUSES}
    out["reachable"] = len(listed) - out[UNREACHABLE]
    return out


def map_budget(max_examples: int, mapped: int) -> int:
    """The examples left to Hypothesis once the map's cases are counted in a profile's budget: at
    least half of it stays random."""
    return max(max_examples - mapped, max_examples // 2, 1)


# --- one (spec, target)'s plan -----------------------------------------------------------------


@dataclass(frozen=True)
class UnitPlan:
    """How one (spec, target) is explored: its target space (or why none is left), the strategy
    and settings of its random exploration, and its coverage map (judged before it)."""

    space: TargetSpace | str
    strategy: st.SearchStrategy[Case]
    settings: hypothesis.settings
    map: CoverageMap


def plan_unit(spec: Spec, api: TargetApi, settings: hypothesis.settings, seed: int | None) -> UnitPlan:
    """The plan of ``spec`` on ``api`` under a profile's ``settings``: the map's cases count toward
    the profile's examples (:func:`map_budget`). Where nothing of the spec is declared expressible,
    only a small sample of it checks that claim, and every cell is unreachable."""
    space = target_space(spec, api)
    restricted = space.spec if isinstance(space, TargetSpace) else space
    # a derandomized profile's cases do not depend on the run's seed: neither do its map's
    cmap = coverage_map(spec, restricted, api, None if settings.derandomize else seed)
    if isinstance(space, TargetSpace):
        left = map_budget(settings.max_examples, len(cmap.cases))
        return UnitPlan(
            space, cases(space.spec, rule=space.rule), hypothesis.settings(settings, max_examples=left), cmap
        )
    sample = hypothesis.settings(settings, max_examples=max(OUTSIDE_PER_RULE, settings.max_examples // 20))
    return UnitPlan(space, cases(spec), sample, cmap)
