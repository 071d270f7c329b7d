"""The audits and ``port`` reach a target only through the protocol's hooks: a target they have
never heard of is audited against its own documented formula, is listed as not documented when it
declares none, and has its calls read by ``port`` once it is registered."""

from __future__ import annotations

import re

import pytest
from targets_for_tests import CorrectTarget, DocumentedTarget

from adapters import reading, registry
from adapters.protocol import handle
from harness.audits.common import LoadedTarget
from harness.audits.docs import _formulas, check_case
from harness.errors import PortError
from harness.model.case import Case


def _loaded(target: CorrectTarget) -> LoadedTarget:
    return LoadedTarget(target.name, handle(target), None, target)


def test_a_documented_formula_is_listed_per_rank_and_checked() -> None:
    loaded = _loaded(DocumentedTarget())
    rows = [r for r in _formulas(loaded) if r["mode"] == "explicit"]
    assert [(r["rank"], r["documented"], r["api"]) for r in rows] == [
        (rank, True, f"numpyconv.conv_transpose{rank}d") for rank in (1, 2, 3)
    ]
    case = Case.make(rank=2, input_size=(3, 4), kernel_size=3, stride=2, pads_begin=1, pads_end=(0, 1))
    assert check_case(loaded, case) is None  # the target does what it documents


def test_a_target_without_a_formula_is_an_explicit_not_documented_row() -> None:
    rows = [r for r in _formulas(_loaded(CorrectTarget())) if r["mode"] == "explicit"]
    assert len(rows) == 3
    assert all(not r["documented"] and r["formula"] == "not documented" for r in rows)


def test_port_reads_the_calls_of_a_registered_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BUILTIN, "test.documented", "targets_for_tests:DocumentedTarget")
    apis = registry.readable_apis()
    assert "numpyconv.conv_transpose2d" in {api.name for api in apis}
    shapes = reading.Shapes(input_shape=(1, 2, 4, 4), weight_shape=(2, 3, 3, 3))
    tr = reading.translate("numpyconv.conv_transpose2d(x, w, stride=2)", apis, shapes)
    assert tr.source_target == "test.documented"
    assert (tr.case.in_channels, tr.case.out_channels, tr.case.stride) == (2, 3, (2, 2))
    assert tr.case.output_size == (9, 9)
    # its last name component is torch's as well: the prefix decides, torch's calls still read
    assert reading.find_api("F.conv_transpose2d", apis).name == "torch.nn.functional.conv_transpose2d"
    assert reading.find_api("conv_transpose2d", apis).name == "torch.nn.functional.conv_transpose2d"
    with pytest.raises(PortError, match=re.escape("numpyconv.conv_transpose2d")):
        reading.find_api("np.conv_transpose2d", apis)


def test_an_unregistered_target_contributes_no_calls() -> None:
    assert "numpyconv.conv_transpose2d" not in {api.name for api in registry.readable_apis()}
