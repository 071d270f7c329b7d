"""Numpy targets with one named 'same' mode whose documentation and behaviour each class chooses,
for the documentation and mode-equivalence audit tests (the modes audit loads them in a worker by
``mode_targets:Class``), and where the SAME crop splits differ.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import numpy as np
from targets_for_tests import ReferenceTarget

from adapters.protocol import Capabilities
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.modes import DocumentedMode, resolve_mode, size_same


def _ceil_size(n: int, k: int, s: int, d: int) -> int:
    return -(-n // s)


class ModeTarget(ReferenceTarget):
    """A 'same' mode that computes ``does_split`` crops of size ``does_size``; documents ``doc_*``."""

    name = "test.mode"
    mode: ClassVar[str] = "same"
    does_split: ClassVar[str] = "extra_at_end"
    doc_split: ClassVar[str] = "extra_at_end"
    does_size = staticmethod(size_same)
    doc_size = staticmethod(size_same)

    def capabilities(self) -> Capabilities:
        """The reference target's capabilities with the one documented mode."""
        documented = DocumentedMode(
            "SAME", "as documented by the test", self.doc_size, self.doc_split, "this test", "this test"
        )
        return replace(super().capabilities(), padding_modes={self.mode: documented})

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Explicit cases faithfully; the mode as the class says it behaves."""
        if case.padding_mode == self.mode:
            does = DocumentedMode("SAME", "", self.does_size, self.does_split, "", "")
            case = resolve_mode(case, does)
        return self.compute(case, arrays.x, arrays.weight, arrays.bias)


class UpperTarget(ModeTarget):
    """Does what it documents: extra crop at the end."""

    name = "test.upper"


class UpperTwin(UpperTarget):
    """The same behaviour under another name."""

    name = "test.upper_twin"


class LowerDocumentedUpper(ModeTarget):
    """Documents the extra crop at the end, takes it at the begin."""

    name = "test.lower_documented_upper"
    does_split = "extra_at_begin"


class LowerTarget(ModeTarget):
    """A 'same_lower' mode, as documented: extra crop at the begin."""

    name = "test.lower"
    mode = "same_lower"
    does_split = doc_split = "extra_at_begin"


class CeilDocumented(ModeTarget):
    """Computes L·s, documents ⌈L/s⌉ (the forward-convolution SAME size)."""

    name = "test.ceil_documented"
    doc_size = staticmethod(_ceil_size)


def odd_total_crop(case: Case) -> bool:
    """Whether some dimension's SAME crop ``K − s`` is positive and odd (where the splits differ)."""
    return any((kk - s) > 0 and (kk - s) % 2 for kk, s in zip(case.dilated_kernel, case.stride, strict=True))
