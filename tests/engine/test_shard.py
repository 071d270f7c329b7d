"""``run --shard K/N``: the split of a run into whole (target, spec) units, and the union of shards
1/3, 2/3 and 3/3 judging exactly the cases of the run without ``--shard``, case for case (the runs:
:mod:`shard_runs`)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shard_runs import CORRECT, NAMES, run_shard, whole_and_shards, write_specs
from targets_for_tests import THREE_BUGS_SPEC

from harness.cli.main import build_parser, main
from harness.engine.history import case_key
from harness.engine.results import read_results
from harness.engine.run import resume
from harness.engine.shard import Shard, all_units, parse_shard, shard_units
from harness.errors import BadShard


@pytest.mark.parametrize(
    ("text", "shard"), [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)), (" 3/3 ", Shard(3, 3))]
)
def test_a_shard_is_k_of_n(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "0/0", "3", "1/2/3", "-1/3", "a/b", "1.5/3", ""])
def test_a_shard_that_is_not_k_of_n_with_1_le_k_le_n_exits_2_with_the_rule(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["run", "--seed", "1", f"--shard={text}"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --shard:" in err and "K/N" in err


def test_a_shard_without_a_seed_exits_2_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--shard", "1/2", "--targets", CORRECT, "--out", str(tmp_path / "out")]) == 2
    assert "--shard needs --seed" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_resume_takes_no_shard(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "--resume", str(tmp_path), "--shard", "1/2"]) == 2
    assert "--shard" in capsys.readouterr().err


@given(targets=st.integers(1, 5), specs=st.integers(1, 4), data=st.data())
def test_the_shards_partition_the_units(targets: int, specs: int, data: st.DataObject) -> None:
    names, spec_names = [f"t{i}" for i in range(targets)], [f"s{j}" for j in range(specs)]
    count = data.draw(st.integers(1, targets * specs))
    dealt = [shard_units(Shard(k, count), names, spec_names) for k in range(1, count + 1)]
    every = [unit for units in dealt for unit in units]
    assert sorted(every) == sorted((t, s) for t in names for s in spec_names)
    assert all(units for units in dealt)  # no shard is empty
    assert max(map(len, dealt)) - min(map(len, dealt)) <= 1


def test_three_targets_three_specs_three_shards_give_each_shard_every_target_and_spec() -> None:
    names, specs = ["a", "b", "c"], ["1d", "2d", "3d"]
    for k in (1, 2, 3):
        units = shard_units(Shard(k, 3), names, specs)
        assert sorted(t for t, _ in units) == names and sorted(s for _, s in units) == specs
    assert len(all_units(names, specs)) == 9


def test_more_shards_than_units_is_refused_with_the_rule(tmp_path: Path) -> None:
    spec = tmp_path / "one.yaml"
    spec.write_text(THREE_BUGS_SPEC, encoding="utf-8")
    with pytest.raises(BadShard, match=r"has 2 \(target, spec\) unit\(s\).*at most 2"):
        run_shard([spec], tmp_path / "out", Shard(3, 3))
    assert not (tmp_path / "out").exists()  # refused before the folder was made


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The whole run, and its shards 1/3, 2/3, 3/3, from the same seed."""
    return whole_and_shards(tmp_path_factory.mktemp("shards"))


def _judged(folder: Path) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """Per (target, spec) unit, its records in order: case, outcome, detail, minimal, signature."""
    units: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for rec in read_results(folder / "results.jsonl"):
        units.setdefault((rec["target"], rec["spec"]), []).append(
            (
                case_key(rec["case"]),
                rec["outcome"],
                rec.get("detail"),
                rec.get("minimal"),
                rec.get("signature"),
            )
        )
    return units


def test_the_union_of_the_shards_is_the_whole_run_case_for_case(runs: dict[str, Path]) -> None:
    whole = _judged(runs["whole"])
    assert len(whole) == 4 and sum(map(len, whole.values())) > 100
    assert any(rec[3] for recs in whole.values() for rec in recs)  # findings among them
    union: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for k in (1, 2, 3):
        shard = _judged(runs[f"{k}/3"])
        assert shard and not set(shard) & set(union)  # each unit in one shard only
        union.update(shard)
    assert union == whole


def test_run_json_records_the_shard_and_its_units(runs: dict[str, Path]) -> None:
    metas = [json.loads((runs[f"{k}/3"] / "run.json").read_text()) for k in (1, 2, 3)]
    assert [m["shard"]["index"] for m in metas] == [1, 2, 3] and {m["shard"]["count"] for m in metas} == {3}
    assert len({m["shard"]["of"] for m in metas}) == 1  # one split
    assert len({m["run_id"] for m in metas}) == 3  # told apart though started in the same second
    for meta, folder in zip(metas, (runs[f"{k}/3"] for k in (1, 2, 3)), strict=True):
        assert sorted((NAMES[t], s) for t, s in meta["shard"]["units"]) == sorted(_judged(folder))
        assert set(meta["targets"]) == {t for t, _ in meta["shard"]["units"]}  # no other target loaded
    whole = json.loads((runs["whole"] / "run.json").read_text())
    assert "shard" not in whole


def test_a_shard_run_on_the_command_line_records_its_shard(tmp_path: Path) -> None:
    specs = write_specs(tmp_path)
    argv = ["run", "--targets", CORRECT, "--profile", "ci", "--seed", "3", "--shard", "2/2", "--quiet"]
    argv += [a for spec in specs for a in ("--spec", str(spec))]
    assert main([*argv, "--in-process", "--out", str(tmp_path / "out")]) == 0
    meta = json.loads((tmp_path / "out" / "run.json").read_text())
    assert meta["shard"]["units"] == [[CORRECT, "narrow"]]
    assert Counter(rec["spec"] for rec in read_results(tmp_path / "out" / "results.jsonl")) == Counter(
        {"narrow": 100}
    )


def test_a_killed_shard_resumes_to_the_same_records_and_runs_no_other_unit(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "killed"
    shutil.copytree(runs["1/3"], copy)
    lines = (copy / "results.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (copy / "results.jsonl").write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    meta = json.loads((copy / "run.json").read_text())
    meta["status"] = "running"
    (copy / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    resume(copy, progress=False, store=None)
    assert _judged(copy) == _judged(runs["1/3"])
