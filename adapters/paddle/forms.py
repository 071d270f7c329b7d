"""How a case is written in Paddle's API: the padding form and the output extension.

Paddle's ``padding`` takes five forms (an int, one int per dimension, ``[b1, e1, b2, e2, …]``, the
full-rank pair list that includes batch and channel, and the strings ``'SAME'``/``'VALID'``), and
the output can be extended either by ``output_padding`` or by asking for ``output_size``. Which
form a case uses is decided from the case alone (:func:`padding_call`), so that a run exercises
every form and the snippet prints exactly the call that was made.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.probing import RawParams
from harness.model.case import Case

CHANNELS_FIRST_FORMAT = {1: "NCL", 2: "NCHW", 3: "NCDHW"}
CHANNELS_LAST_FORMAT = {1: "NLC", 2: "NHWC", 3: "NDHWC"}

# Form names as recorded with each call (tests and snippets use them).
FORM_INT = "int"
FORM_PER_DIM = "per_dim"
FORM_PAIRS = "pairs"
FORM_FULL_RANK = "full_rank_pairs"
FORM_SAME = "SAME"
FORM_VALID = "VALID"


@dataclass(frozen=True)
class PaddleCall:
    """How one case is expressed in Paddle's API.

    ``padding`` is the exact value passed as ``padding=``; ``output_padding`` (a per-dimension list)
    and ``output_size`` are passed only when not None. ``form`` names the padding form.
    """

    form: str
    padding: int | str | list[int] | list[list[int]]
    output_padding: list[int] | None
    output_size: list[int] | None
    data_format: str


def data_format(case: Case) -> str:
    """Paddle's ``data_format`` for the case's rank and layout."""
    table = CHANNELS_LAST_FORMAT if case.layout == "channels_last" else CHANNELS_FIRST_FORMAT
    return table[case.rank]


def _bit(case: Case, index: int) -> bool:
    return bool((case.seed >> index) & 1)


def _explicit_padding(case: Case) -> tuple[str, int | list[int] | list[list[int]]]:
    """Padding form for explicit crops; seed bit 0 picks single values or pairs, bit 1 which pairs."""
    begin, end = list(case.pads_begin), list(case.pads_end)
    if case.symmetric_crops and not _bit(case, 0):
        if len(set(begin)) == 1:
            return FORM_INT, begin[0]
        return FORM_PER_DIM, begin
    if _bit(case, 1):
        pairs = [[b, e] for b, e in zip(begin, end, strict=True)]
        zero: list[list[int]] = [[0, 0]]
        if case.layout == "channels_last":
            return FORM_FULL_RANK, zero + pairs + zero
        return FORM_FULL_RANK, zero + zero + pairs
    return FORM_PAIRS, [v for b, e in zip(begin, end, strict=True) for v in (b, e)]


def output_padding_reason(case: Case) -> str | None:
    """Why Paddle's validation refuses the case's output_padding, or None if it accepts it.

    Enforced (not documented) rules, paddle 3.3.1: the shape inference requires each
    ``output_padding < max(stride, dilation)`` (phi/infermeta/binary.cc), and
    ``conv1d_transpose`` additionally refuses ``output_padding > stride`` in Python.
    """
    for dim, (op, s, d) in enumerate(zip(case.output_padding, case.stride, case.dilation, strict=True)):
        if op >= max(s, d):
            return (
                f"output_padding {op} along dim {dim} is not smaller than max(stride {s}, "
                f"dilation {d}): paddle's shape inference refuses it"
            )
        if case.rank == 1 and op > s:
            return (
                f"output_padding {op} is greater than stride {s}: paddle.nn.functional."
                "conv1d_transpose refuses it"
            )
    return None


def padding_call(case: Case) -> PaddleCall:
    """The padding form and output extension used for ``case`` (deterministic in the case).

    Named modes pass the string. Explicit crops: symmetric crops use the int/per-dimension form
    when seed bit 0 is clear, else (and for asymmetric crops always) the ``[b1, e1, …]`` form or,
    when seed bit 1 is set, the full-rank pair list. The output extension is ``output_size`` when
    seed bit 2 is set and the documented range ``[O', O' + stride)`` holds it (every
    ``output_padding < stride``), otherwise ``output_padding`` when any is non-zero.
    """
    fmt = data_format(case)
    if case.padding_mode == "same":
        return PaddleCall(FORM_SAME, "SAME", None, None, fmt)
    if case.padding_mode == "valid":
        return PaddleCall(FORM_VALID, "VALID", None, None, fmt)
    form, padding = _explicit_padding(case)
    fits_size = all(op < s for op, s in zip(case.output_padding, case.stride, strict=True))
    if _bit(case, 2) and fits_size:
        return PaddleCall(form, padding, None, list(case.output_size), fmt)
    output_padding = list(case.output_padding) if any(case.output_padding) else None
    return PaddleCall(form, padding, output_padding, None, fmt)


def raw_padding(params: RawParams) -> list[int]:
    """The padding form a probe passes for raw parameters: one per dimension, or begin/end pairs."""
    if params.symmetric:
        return list(params.pads_begin)
    return list(params.pairs())
