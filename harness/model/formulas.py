"""Documented explicit-padding output sizes, as data with their source.

Each target may declare the output size its API's documentation gives for explicit padding
(:meth:`adapters.protocol.TargetApi.explicit_formula`). ``audit-docs`` evaluates the formula on
the arguments the target really passes and compares it with what the framework returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.model.case import Case


@dataclass(frozen=True)
class ExplicitFormula:
    """An API's documented output size for explicit padding: the formula as text with its source,
    and as code taking the case (mapped to the API's arguments as the target maps it)."""

    api: str
    formula: str
    source: str
    size: Callable[[Case], tuple[int, ...]]

    def to_dict(self) -> dict[str, str]:
        """JSON-ready description."""
        return {"api": self.api, "formula": self.formula, "source": self.source}
