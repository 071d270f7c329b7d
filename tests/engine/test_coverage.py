"""The coverage map: every cell's case is a case of its target's space and of the cell, the map is
the same every time, a cell the space excludes is unreachable with why, a run judges the map's cases
before any drawn one and fills every reachable cell, and the run records what it filled."""

from __future__ import annotations

import json
from pathlib import Path

import hypothesis
import pytest
from in_process_runs import run_in_process
from targets_for_tests import THREE_BUGS_SPEC, CorrectTarget

from adapters.registry import resolve
from harness.engine.coverage import (
    FILLED,
    REFUSED,
    UNFILLED,
    UNREACHABLE,
    CoverageMap,
    MapTally,
    counts,
    coverage_map,
    map_budget,
    plan_unit,
)
from harness.engine.coverage_cells import cells_of
from harness.engine.space import TargetSpace, target_space
from harness.model.case import Case
from harness.model.limits import check_reference
from harness.model.outcomes import Outcome
from harness.spec.loader import load_spec
from harness.spec.schema import Spec

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPECS = sorted((ROOT / "specs").glob("**/conv_transpose*d.yaml"))
BUILT_IN = (
    "torch.nn",
    "paddle.nn",
    "onnxruntime",
    "mindspore.ops",
    "torch.quantized.fbgemm",
    "onnxruntime.qdq",
)


def _spec(tmp_path: Path, text: str = THREE_BUGS_SPEC) -> Spec:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def _map_of(spec: Spec, name: str, seed: int | None = None) -> tuple[TargetSpace, CoverageMap]:
    api = resolve(name)("cpu")
    space = target_space(spec, api)
    assert isinstance(space, TargetSpace), space
    return space, coverage_map(spec, space.spec, api, seed)


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("spec_path", DEFAULT_SPECS, ids=lambda p: p.stem)
def test_every_cell_case_is_in_its_target_space(spec_path: Path, name: str) -> None:
    spec = load_spec(spec_path)
    api = resolve(name)("cpu")
    space = target_space(spec, api)
    if not isinstance(space, TargetSpace):  # e.g. mindspore.ops has no 1-D transposed convolution
        cmap = coverage_map(spec, space, api)
        assert all(e.case is None and e.reason == space for e in cmap.cells)
        return
    cmap = coverage_map(spec, space.spec, api)
    assert [e.cell.name for e in cmap.cells] == [c.name for c in cells_of(spec)]
    built = [e for e in cmap.cells if e.case is not None]
    # a target that refuses every case of the spec (fbgemm takes a quint8 input only) says so per cell
    refuses_all = not built and any(f"{name} refuses it" in e.reason for e in cmap.cells)
    assert len(built) > len(cmap.cells) // 3 or refuses_all
    for entry in built:
        case = entry.case
        assert isinstance(case, Case)
        assert case.rank == spec.rank
        assert entry.cell.test(case), entry.cell.name
        assert spec.outside(case) == frozenset(), (entry.cell.name, spec.outside(case))
        assert space.spec.outside(case) == frozenset(), entry.cell.name
        assert api.supports(case) is None, (entry.cell.name, api.supports(case))
        assert (case.quantization is not None) == (case.dtype == "int8")
        check_reference(case)
    for entry in cmap.cells:
        assert entry.case is not None or entry.reason, entry.cell.name
    # the map shares cases between cells: fewer cases than cells
    assert len(cmap.cases) < len(built) or not built


def test_the_map_is_the_same_every_time() -> None:
    spec = load_spec(ROOT / "specs" / "conv_transpose2d.yaml")
    _, first = _map_of(spec, "onnxruntime", seed=7)
    _, again = _map_of(spec, "onnxruntime", seed=7)
    assert first == again
    _, other_seed = _map_of(spec, "onnxruntime", seed=8)
    # the seed moves only the arrays' seeds, never which geometries are judged
    assert [c.replace(seed=0) for c in first.cases] == [c.replace(seed=0) for c in other_seed.cases]
    assert [c.seed for c in first.cases] != [c.seed for c in other_seed.cases]


def test_a_derandomized_profile_ignores_the_seed() -> None:
    spec = load_spec(ROOT / "specs" / "conv_transpose1d.yaml")
    api = resolve("torch.nn")("cpu")
    fixed = hypothesis.settings(max_examples=100, derandomize=True)
    assert plan_unit(spec, api, fixed, 1).map == plan_unit(spec, api, fixed, 2).map
    # the map's cases count toward the profile's examples; at least half stays random
    plan = plan_unit(spec, api, fixed, 1)
    assert plan.settings.max_examples == 100 - len(plan.map.cases)
    assert map_budget(30, 40) == 15


def test_a_cell_the_spec_excludes_is_unreachable_with_why(tmp_path: Path) -> None:
    spec = _spec(tmp_path, THREE_BUGS_SPEC.replace("stride: {min: 1, max: 2}", "stride: 1"))
    api = CorrectTarget()
    space = target_space(spec, api)
    assert isinstance(space, TargetSpace)
    cells = {e.cell.name: e for e in coverage_map(spec, space.spec, api).cells}
    for name in ("kernel<stride", "output_padding=stride-1 (at the limit)"):
        assert cells[name].case is None
        assert "outside the spec (stride)" in cells[name].reason
    # with the stride free again, both are reached
    free = _spec(tmp_path, THREE_BUGS_SPEC)
    space = target_space(free, api)
    assert isinstance(space, TargetSpace)
    reached = {e.cell.name: e for e in coverage_map(free, space.spec, api).cells}
    assert reached["kernel<stride"].case is not None
    assert reached["output_padding=stride-1 (at the limit)"].case is not None


def test_a_cell_the_target_declares_away_is_unreachable_with_its_reason() -> None:
    spec = load_spec(ROOT / "specs" / "conv_transpose2d.yaml")
    _, torch_map = _map_of(spec, "torch.nn")
    cells = {e.cell.name: e for e in torch_map.cells}
    assert cells["mode=same×stride>1"].case is None
    assert "torch.nn declares" in cells["mode=same×stride>1"].reason
    _, ms_map = _map_of(spec, "mindspore.ops")  # 2-D output padding below the stride only
    cells = {e.cell.name: e for e in ms_map.cells}
    assert cells["output_padding=dilation-1 (at the limit) [dim 0]"].case is None
    assert "mindspore.ops refuses it" in cells["output_padding=dilation-1 (at the limit) [dim 0]"].reason
    assert cells["output_padding=stride-1 (at the limit) [dim 1]"].case is not None


def test_the_tally_tells_filled_refused_and_unfilled(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    api = CorrectTarget()
    space = target_space(spec, api)
    assert isinstance(space, TargetSpace)
    cmap = coverage_map(spec, space.spec, api)
    tally = MapTally(cmap)
    first, second = cmap.cases[0], cmap.cases[1]
    tally.observe(first, Outcome.UNSUPPORTED, "no such thing")
    tally.observe(second, Outcome.VALUE_MISMATCH)  # a finding fills its cells too
    results = {r.name: r for r in tally.results()}
    for entry in cmap.cells:
        result = results[entry.cell.name]
        if entry.case is None:
            assert result.status == UNREACHABLE
        elif entry.cell.test(second):
            assert result.status == FILLED
        elif entry.case == first:
            assert result.status == REFUSED and "no such thing" in result.reason
        else:
            assert result.status == UNFILLED
    got = counts(results.values())
    assert got[REFUSED] >= 1 and got[FILLED] >= 1
    assert got["reachable"] == len(cmap.cells) - got[UNREACHABLE]


def test_a_run_judges_the_map_first_and_fills_every_reachable_cell(tmp_path: Path) -> None:
    spec_path = tmp_path / "three_bugs_small.yaml"
    spec_path.write_text(THREE_BUGS_SPEC, encoding="utf-8")
    out = tmp_path / "run"
    run_in_process([spec_path], "tests.targets_for_tests:CorrectTarget", out)
    spec = load_spec(spec_path)
    api = CorrectTarget()
    space = target_space(spec, api)
    assert isinstance(space, TargetSpace)
    expected = coverage_map(spec, space.spec, api).cases
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    judged = [Case.from_dict(json.loads(line)["case"]) for line in lines]
    assert judged[: len(expected)] == expected  # no pinned cases: the map comes first
    assert not set(judged[len(expected) :]) & set(expected)  # and is not judged twice
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    entry = meta["coverage_map"][f"{CorrectTarget.name}|three_bugs_small"]
    assert entry["counts"]["filled"] == entry["counts"]["reachable"] > 0
    assert entry["counts"]["refused"] == entry["counts"]["unfilled"] == 0
    assert [c["name"] for c in entry["cells"]] == [c.name for c in cells_of(spec)]
    assert meta["generation"][f"{CorrectTarget.name}|three_bugs_small"]["mapped"] == len(expected)


def test_int8_cells_get_the_simplest_quantization_every_time() -> None:
    spec = load_spec(ROOT / "specs" / "int8" / "conv_transpose_int8_2d.yaml")
    _, first = _map_of(spec, "torch.quantized.fbgemm")
    _, again = _map_of(spec, "torch.quantized.fbgemm")
    assert first == again
    cells = {e.cell.name: e for e in first.cells}
    assert {"dtype=int8×distribution=uniform", "dtype=int8×distribution=small_int"} <= set(cells)
    quantized = [c for c in first.cases if c.quantization is not None]
    assert quantized == first.cases  # an int8-only spec: every case is quantized
    space = spec.quantization
    assert space is not None
    for case in quantized:
        assert case.quantization is not None
        assert case.quantization.input.zero_point == space.input.zero_point.min
        assert (case.quantization.bias != "none") == case.bias
