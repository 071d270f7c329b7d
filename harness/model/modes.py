"""Named padding modes as each target's documentation defines them.

A case with ``padding_mode`` other than ``"explicit"`` asks a target for its own named mode
(MindSpore ``'same'``, Paddle ``'SAME'``, ONNX ``auto_pad='SAME_UPPER'``, …). What that mode
produces is not canonical: each target declares, as data with its source, the output size its
**documentation** gives and how the documentation splits the crop between begin and end
(:class:`DocumentedMode`). :func:`resolve_mode` turns a mode case into the explicit case that
documentation implies; the reference is computed from it, so a framework that departs from its own
documentation shows up as ``doc_mismatch`` with the documented and the actual size side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from harness.errors import InvalidCase
from harness.model.case import Case

#: Crop split rules. With total crop ``t = F − O``: ``extra_at_end`` takes ``⌊t/2⌋`` at the begin
#: and the rest at the end (ONNX/TensorRT SAME_UPPER); ``extra_at_begin`` the converse (SAME_LOWER);
#: ``all_at_end`` takes the whole crop off the end (a VALID that "discards" what does not fit).
SPLITS = ("extra_at_end", "extra_at_begin", "all_at_end")

#: (L, k, s, d) -> documented output size along one dimension.
SizeFormula = Callable[[int, int, int, int], int]


@dataclass(frozen=True)
class DocumentedMode:
    """What one target's documentation says a named mode produces.

    ``api_value`` is how the API spells the mode; ``formula`` the documented output size in words
    (shown in reports), ``size`` the same formula as code; ``split`` how the total crop is divided
    (one of :data:`SPLITS`); ``source`` where the size formula is documented and ``split_source``
    where the split is (or why the split had to be assumed, when the documentation is silent).
    """

    api_value: str
    formula: str
    size: SizeFormula
    split: str
    source: str
    split_source: str

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split {self.split!r} is not one of {SPLITS}")

    def for_rank(self, rank: int) -> DocumentedMode:
        """The documentation that applies at ``rank`` (the same for every rank here)."""
        return self

    def output_size(self, case: Case) -> tuple[int, ...]:
        """The documented output spatial size of ``case``."""
        return tuple(
            self.size(n, k, s, d)
            for n, k, s, d in zip(case.input_size, case.kernel_size, case.stride, case.dilation, strict=True)
        )

    def to_dict(self) -> dict[str, str]:
        """JSON-ready description (for results, doctor and the documentation audit)."""
        return {
            "api_value": self.api_value,
            "formula": self.formula,
            "split": self.split,
            "source": self.source,
            "split_source": self.split_source,
        }


@dataclass(frozen=True)
class RankedMode(DocumentedMode):
    """A mode whose documentation differs by rank (a page per layer): one entry per rank.

    The inherited fields summarise every rank (for display); :meth:`for_rank` gives the
    documentation that judges a case.
    """

    by_rank: Mapping[int, DocumentedMode] = field(default_factory=dict)

    def for_rank(self, rank: int) -> DocumentedMode:
        """The documentation of this mode at ``rank``."""
        return self.by_rank[rank]

    def output_size(self, case: Case) -> tuple[int, ...]:
        """The documented size at the case's rank."""
        return self.by_rank[case.rank].output_size(case)

    @classmethod
    def combine(cls, api_value: str, by_rank: Mapping[int, DocumentedMode]) -> RankedMode:
        """One mode from per-rank documentation (formulas and sources listed per rank)."""
        first = next(iter(by_rank.values()))

        def no_rank_free_size(n: int, k: int, s: int, d: int) -> int:
            raise TypeError(f"{api_value}: documented per rank; use for_rank(rank)")

        return cls(
            api_value=api_value,
            formula="; ".join(f"{r}-D: {m.formula}" for r, m in by_rank.items()),
            size=no_rank_free_size,
            split=first.split,
            source=" | ".join(f"{r}-D: {m.source}" for r, m in by_rank.items()),
            split_source=" | ".join(f"{r}-D: {m.split_source}" for r, m in by_rank.items()),
            by_rank=dict(by_rank),
        )


#: The rules :func:`explaining_cases` tries: every documented split, and the whole crop at the begin.
EXPLAINING_SPLITS = (*SPLITS, "all_at_begin")


def split_crop(total: int, split: str) -> tuple[int, int]:
    """Divide a non-negative total crop into (begin, end) by the named rule (one of
    :data:`EXPLAINING_SPLITS`)."""
    if split == "all_at_end":
        return (0, total)
    if split == "all_at_begin":
        return (total, 0)
    small, large = total // 2, total - total // 2
    return (small, large) if split == "extra_at_end" else (large, small)


def resolve_mode(case: Case, mode: DocumentedMode) -> Case:
    """The explicit case that ``mode``'s documentation implies for the mode case ``case``.

    A documented size smaller than the full output ``F`` is a crop ``F − O`` split by the
    documented rule; a larger one extends past ``F`` with bias-only positions (output padding).
    Raises :class:`InvalidCase` (rule ``documented_output>=1``) when the documentation gives an
    empty output.
    """
    mode = mode.for_rank(case.rank)
    for dim, size in enumerate(mode.output_size(case)):
        if size < 1:
            raise InvalidCase(
                "documented_output>=1",
                f"{mode.api_value}: the documented size {mode.formula} is {size} along spatial dim {dim}",
            )
    return _sized(case, mode.output_size(case), mode.split)


def _sized(case: Case, sizes: tuple[int, ...], split: str) -> Case:
    """The explicit case of ``case`` with output ``sizes``: crops split by ``split``, or output
    padding past the full output."""
    begin: list[int] = []
    end: list[int] = []
    extra: list[int] = []
    for full, size in zip(case.full_size, sizes, strict=True):
        total = full - size
        if total >= 0:
            cb, ce = split_crop(total, split)
            begin.append(cb)
            end.append(ce)
            extra.append(0)
        else:
            begin.append(0)
            end.append(0)
            extra.append(-total)
    return case.replace(
        padding_mode="explicit", pads_begin=tuple(begin), pads_end=tuple(end), output_padding=tuple(extra)
    )


def explaining_cases(case: Case, sizes: tuple[int, ...], first: str) -> list[tuple[str, Case]]:
    """The explicit cases of the mode case ``case`` whose output size is ``sizes`` (what a target
    really produced), one per split rule of :data:`EXPLAINING_SPLITS` that gives a distinct case,
    ``first`` (the documented rule) first; none when a size is below 1 or no valid case has it."""
    if any(size < 1 for size in sizes) or len(sizes) != case.rank:
        return []
    out: list[tuple[str, Case]] = []
    for split in (first, *(s for s in EXPLAINING_SPLITS if s != first)):
        try:
            explicit = _sized(case, sizes, split)
        except InvalidCase:
            continue
        if all(explicit != seen for _, seen in out):
            out.append((split, explicit))
    return out


# Size formulas shared by several frameworks' documentation.
def size_same(n: int, k: int, s: int, d: int) -> int:
    """``L·s``: the SAME size of ONNX, TensorRT, MindSpore and Paddle documentation."""
    return n * s


def size_valid(n: int, k: int, s: int, d: int) -> int:
    """``(L−1)·s + d·(k−1) + 1``: the full output (VALID: nothing cropped)."""
    return (n - 1) * s + d * (k - 1) + 1
