"""What a nan/inf mismatch is: "nan where the reference is finite (12 positions)".

A value finding whose mismatches are all nan/inf has a max |error| of 0 over the finite positions,
which says nothing; the report shows the pattern instead. From the finding's ``arrays.npz`` each
mismatching position is counted by the pair (what the output holds, what the reference holds), each
side one of ``nan``, ``inf``, ``−inf`` or ``finite``. Without the arrays, the record's message
names the first such position ("got nan, expected 1.0") and its statistics the count.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

#: The comparison's message for a nan/inf mismatch: ``… first at [i, …]: got X, expected Y …``.
_FIRST = re.compile(r"got (\S+?), expected (\S+?)(?:[ ;]|$)")


def _kind(value: float) -> str:
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "inf" if value > 0 else "−inf"
    return "finite"


def pair(got: float, want: float) -> str:
    """``nan where the reference is finite``: what one position holds against its reference."""
    return f"{_kind(got)} where the reference is {_kind(want)}"


def _kinds(a: np.ndarray) -> np.ndarray:
    out = np.full(a.shape, "finite", dtype=object)
    out[np.isnan(a)] = "nan"
    out[np.isposinf(a)] = "inf"
    out[np.isneginf(a)] = "−inf"
    return out


def pattern_from_arrays(
    actual: np.ndarray, reference: np.ndarray, mismatch: np.ndarray
) -> list[tuple[str, int]]:
    """(what the output holds, what the reference holds) → positions, over the positions of
    ``mismatch``, as ``("nan where the reference is finite", 12)``, most frequent first."""
    got, want = _kinds(np.asarray(actual)[mismatch]), _kinds(np.asarray(reference)[mismatch])
    counts = Counter(
        f"{g} where the reference is {w}" for g, w in zip(got.tolist(), want.tolist(), strict=True)
    )
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _number(text: str) -> float | None:
    try:
        return float(text.replace("−", "-"))
    except ValueError:
        return None


def first_pair(message: str) -> str | None:
    """The pair of the first nan/inf mismatch that a comparison's message names, if it names one."""
    match = _FIRST.search(message or "")
    got = None if match is None else _number(match.group(1))
    want = None if match is None else _number(match.group(2))
    return None if got is None or want is None else pair(got, want)


def describe_record(stats: dict[str, Any], message: str) -> str | None:
    """The pattern as far as a record tells it (no arrays): the count of nan/inf mismatches from
    its statistics and the first position's pair from its message; None when there are none."""
    count = stats.get("nonfinite_mismatches")
    if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
        return None
    first = first_pair(message)
    if count == 1:
        return f"{first or 'a nan/inf where the reference differs'} (1 position)"
    return f"{count} positions differ in nan/inf" + (f", the first: {first}" if first else "")


def describe(pattern: list[tuple[str, int]]) -> str:
    """``nan where the reference is finite (12 positions); inf where … (1 position)``."""
    return "; ".join(f"{what} ({n} position{'' if n == 1 else 's'})" for what, n in pattern)
