"""What a value mismatch does, told apart by mechanism: what the wrong positions hold against what
they should hold, and where in the output they lie.

The mismatching positions of an output (:func:`harness.oracle.compare.mismatches`) are grouped by
their *pattern*, ``<what the output holds>_for_<what the rounded reference holds>``, each side one
of ``nan``, ``inf`` or ``finite`` (``zero`` on the output side when every such position holds 0;
``wrong_sign_inf`` for an infinity of the other sign). When the inputs hold nan/inf, where they land
decides which nan/inf pattern a wrong result shows, so all its nan/inf positions are one group,
``nonfinite_input``. Each group is one :class:`Mechanism` with
its *region*, the smallest of these that holds every position of the group and is not the whole
output:

- ``appended``: the positions that output padding appends (the last ``output_padding[d]`` of a
  dimension), or past the uncropped output;
- ``crop_border``: within a kernel's reach (``dilation·(kernel − 1)``, at least 1) of a cropped side;
- ``channels``: some output channels but not all;
- ``inside``: anywhere else.

A nan/inf group is ``intermediate_overflow`` when the inputs are finite, the output holds the
nan/inf, and every position's partial sums may exceed a declared accumulation format's range;
otherwise ``nonfinite_pattern``. A finite group is ``beyond_bound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.model.case import Case
from harness.oracle.compare import mismatches
from harness.oracle.tolerance import AccumulationModel, ReferenceResult

REGIONS = ("appended", "crop_border", "channels", "inside")

_REGION_TEXT = {
    "appended": "positions appended by output_padding",
    "crop_border": "positions next to a cropped side",
    "channels": "some output channels (not all)",
    "inside": "positions inside the output",
}
_HELD_TEXT = {
    "nan": "nan",
    "inf": "±inf",
    "zero": "0",
    "finite": "values beyond the bound",
    "wrong_sign_inf": "the infinity of the other sign",
}


@dataclass(frozen=True)
class Mechanism:
    """One group of mismatching positions: its detail, pattern, region and size."""

    detail: str
    pattern: str
    region: str
    positions: int
    sentence: str

    @property
    def key(self) -> str:
        """``pattern@region``, the mechanism's part of a finding's signature."""
        return f"{self.pattern}@{self.region}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (a record's ``stats["mechanisms"]``)."""
        return {
            "detail": self.detail,
            "key": self.key,
            "positions": self.positions,
            "sentence": self.sentence,
        }


_KINDS = ("finite", "inf", "nan")


def _kinds(values: np.ndarray) -> np.ndarray:
    """Per position the index in :data:`_KINDS` (one byte each: an output may be large)."""
    out: np.ndarray = np.isinf(values).astype(np.int8)
    out[np.isnan(values)] = 2
    return out


def _grid(case: Case, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Per spatial dimension, the output index broadcast over ``shape`` (N, C, *spatial)."""
    return [
        np.broadcast_to(
            np.arange(size).reshape((1, 1, *(size if e == d else 1 for e in range(case.rank)))), shape
        )
        for d, size in enumerate(shape[2:])
    ]


def region_masks(case: Case, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The ``appended`` and ``crop_border`` masks of an output of ``shape`` for ``case``."""
    appended = np.zeros(shape, dtype=bool)
    border = np.zeros(shape, dtype=bool)
    for d, index in enumerate(_grid(case, shape)):
        size = shape[2 + d]
        op = case.output_padding[d]
        full = case.full_size[d]
        appended |= (op > 0) & (index >= size - op)
        appended |= index + case.pads_begin[d] >= full
        reach = max(1, case.dilation[d] * (case.kernel_size[d] - 1))
        if case.pads_begin[d] > 0:
            border |= index < reach
        if case.pads_end[d] > 0:
            border |= index >= size - reach
    return {"appended": appended, "crop_border": border}


def _region(
    group: np.ndarray, masks: dict[str, np.ndarray], whole: dict[str, bool], channels: np.ndarray, count: int
) -> str:
    """The region of a group, given as a mask over the bad positions: ``masks`` says which of
    those lie in each named region, ``whole`` whether that region is the whole output, and
    ``channels`` holds the group's output channels (of ``count``)."""
    for name in ("appended", "crop_border"):
        if not whole[name] and not (group & ~masks[name]).any():
            return name
    if count > 1 and np.unique(channels).size < count:
        return "channels"
    return "inside"


def _held(got_kind: str, got: np.ndarray, want: np.ndarray) -> str:
    if got_kind == "finite" and not got.any():
        return "zero"
    if got_kind == "inf" and np.isinf(want).all():
        return "wrong_sign_inf"
    return got_kind


def _sentence(case: Case, held: str, want_kind: str, region: str, detail: str) -> str:
    if held == "nonfinite":
        return f"{_REGION_TEXT[region]} differ from the reference in nan/inf, with nan/inf in the inputs"
    if want_kind == "finite":
        wanted = "bias + products" if case.bias else "the sum of products"
    else:
        wanted = {"nan": "nan", "inf": "±inf (the rounded exact result)"}[want_kind]
    if held == "wrong_sign_inf":
        text = f"{_REGION_TEXT[region]} hold {_HELD_TEXT[held]}"
    else:
        text = f"{_REGION_TEXT[region]} hold {_HELD_TEXT[held]} instead of {wanted}"
    if detail == "intermediate_overflow":
        text += ", where partial sums exceed the declared accumulation format's range"
    return text


def mechanisms(
    case: Case, actual: np.ndarray, ref: ReferenceResult, output_dtype: str, model: AccumulationModel
) -> list[Mechanism]:
    """The mechanisms of ``actual``'s mismatches against ``ref`` (none when it matches), the group
    with the most positions first. ``case`` is the explicit case the reference was computed for."""
    found = mismatches(actual, ref, output_dtype, model)
    if not found.bad.any():
        return []
    got = np.asarray(actual)
    # the bad positions only, with their kinds: the rest of the output is not needed again
    where = np.nonzero(found.bad)
    got_bad = np.asarray(got[where], dtype=np.float64)
    want_bad = found.expected[where]
    nonfinite_bad, prone_bad = found.nonfinite[where], found.overflow_prone[where]
    shape = found.bad.shape
    del found
    got_kinds, want_kinds = _kinds(got_bad), _kinds(want_bad)
    regions = region_masks(case, shape)
    masks = {name: mask[where] for name, mask in regions.items()}
    whole = {name: bool(mask.all()) for name, mask in regions.items()}
    del regions
    groups = [
        (_KINDS[g], _KINDS[w], (got_kinds == g) & (want_kinds == w)) for g in (2, 1, 0) for w in (2, 1, 0)
    ]
    if not ref.finite_inputs:
        # where the inputs' nan/inf land decides which nan/inf pattern a wrong result shows: every
        # pattern of such a case is one mechanism, told apart from those of finite inputs
        groups = [groups[-1], ("nonfinite", "nonfinite", (got_kinds > 0) | (want_kinds > 0))]
    out: list[Mechanism] = []
    for got_kind, want_kind, group in groups:
        if not group.any():
            continue
        held = _held(got_kind, got_bad[group], want_bad[group])
        if not nonfinite_bad[group].any():
            detail = "beyond_bound"
        elif got_kind != "finite" and ref.finite_inputs and prone_bad[group].all():
            detail = "intermediate_overflow"
        else:
            detail = "nonfinite_pattern"
        region = _region(group, masks, whole, where[1][group], shape[1])
        pattern = "nonfinite_input" if got_kind == "nonfinite" else f"{held}_for_{want_kind}"
        out.append(
            Mechanism(
                detail,
                held if held == "wrong_sign_inf" else pattern,
                region,
                int(group.sum()),
                _sentence(case, held, want_kind, region, detail),
            )
        )
    return sorted(out, key=lambda m: (-m.positions, m.key))
