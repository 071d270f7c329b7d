"""Test-only targets for ``port``'s search of other forms (framework "numpy", on the reference).

- :class:`ZeroedOutputPadding` returns zeros at the positions its output padding appends, as
  ``mindspore.nn`` does (a value divergence that the same case without output padding avoids);
- :class:`RaisesOnOutputPadding` raises whenever it is given output padding;
- :class:`WrongWithGroups` drops the last group whatever the form (no form can work around it).

Each describes its call by the case's crops, so every form has its own call text.
"""

from __future__ import annotations

import numpy as np

from harness.model.arrays import CaseArrays
from harness.model.case import Case
from tests.targets_for_tests import ReferenceTarget


class FormTarget(ReferenceTarget):
    """A reference target whose one-line call names the crops it was given."""

    def equivalent_call(self, case: Case) -> str:
        """``ref(...)`` with the case's crops (or its mode)."""
        if case.padding_mode != "explicit":
            return f"ref(mode={case.padding_mode!r})"
        return (
            f"ref(begin={list(case.pads_begin)}, end={list(case.pads_end)}, "
            f"output_padding={list(case.output_padding)})"
        )


class ZeroedOutputPadding(FormTarget):
    """The appended output-padding positions hold zeros."""

    name = "test.zeroed_output_padding"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The reference with the last ``output_padding`` positions of each dimension zeroed."""
        y = np.array(super().run(case, arrays))
        for dim, op in enumerate(case.output_padding):
            if op:
                index = [slice(None)] * y.ndim
                index[2 + dim] = slice(y.shape[2 + dim] - op, None)
                y[tuple(index)] = 0.0
        return y


class RaisesOnOutputPadding(FormTarget):
    """Refuses output padding at run time (declared supported: a divergence)."""

    name = "test.raises_on_output_padding"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Raises for any output padding, else the reference."""
        if any(case.output_padding):
            raise RuntimeError("output_padding is not implemented in this kernel")
        return super().run(case, arrays)


class WrongWithGroups(FormTarget):
    """Drops the last group's contribution in every form."""

    name = "test.wrong_with_groups"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The reference of the case with the last group's weights zeroed."""
        weight = np.array(arrays.weight)
        weight[-(case.in_channels // case.groups) :] = 0.0
        return super().compute(case, arrays.x, weight, arrays.bias)
