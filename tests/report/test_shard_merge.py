"""``report`` over the folders of shards 1/3, 2/3, 3/3 gives the report of the run without
``--shard`` (cases, counts, findings, coverage, matrix); folders that would count cases twice are
refused with the rule, exit 2; a missing shard is said (the runs: :mod:`shard_runs`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from shard_runs import whole_and_shards

from harness.cli.report import main as report_main
from harness.errors import BadShard
from harness.report.load import Run
from harness.report.model import Report, build_report, load_report
from harness.report.summary import summary

SHARDS = ["1/3", "2/3", "3/3"]
#: What a case record says of where and when it was judged: its run, the line of its results file
#: (and the repro command naming both), its time.
IDS = ("_run", "run_id", "line", "repro", "seconds")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return whole_and_shards(tmp_path_factory.mktemp("merge"))


def _comparable(report: Report) -> dict[str, Any]:
    """The report's content less what names the run folders and ids (which differ by design)."""
    content = summary(report)
    for key in ("generated", "runs", "shards"):
        content.pop(key)
    for info in content["targets"].values():
        info["environments"] = [env["settings"] for env in info["environments"]]
    for finding in content["findings"]:
        for key in ("repro", "finding_dir", "runs"):
            finding.pop(key)
    return {
        "summary": content,
        "coverage": report.coverage(),
        "matrix": report.matrix(),
        "cases": sorted(_without_ids(case) for case in report.cases),
    }


def _without_ids(case: dict[str, Any]) -> str:
    """A case record less :data:`IDS`."""
    return json.dumps({k: v for k, v in case.items() if k not in IDS}, sort_keys=True)


def test_the_merged_shards_give_the_report_of_the_whole_run(runs: dict[str, Path]) -> None:
    whole = _comparable(load_report([runs["whole"]]))
    merged_report = load_report([runs[k] for k in reversed(SHARDS)])  # in any order
    merged = _comparable(merged_report)
    assert whole["summary"]["totals"]["cases"] > 100 and whole["summary"]["findings"]
    assert merged == whole
    [split] = merged_report.splits
    assert (
        split.count == 3
        and split.missing == []
        and summary(merged_report)["shards"][0]["present"] == [1, 2, 3]
    )


def test_a_missing_shard_is_said_and_its_cases_are_absent(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = [tmp_path / "a", tmp_path / "b"]
    for source, copy in zip((runs["1/3"], runs["3/3"]), folders, strict=True):
        shutil.copytree(source, copy)
    report_main([str(f) for f in folders])
    out = capsys.readouterr().out
    assert "warning: shards 1/3, 3/3 of the run with seed" in out and "missing 2/3" in out
    written = json.loads((folders[0] / "summary.json").read_text())
    assert written["shards"][0]["missing"] == [2]


@pytest.mark.parametrize(
    ("names", "rule"),
    [
        (["1/3", "1/3"], "hold the same run"),
        (["whole", "1/3"], "holds the whole run that the shards"),
    ],
)
def test_folders_that_would_count_cases_twice_are_refused_exit_2(
    runs: dict[str, Path], names: list[str], rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report_main([str(runs[n]) for n in names]) == 2
    assert rule in capsys.readouterr().out


def _shard_run(folder: str, index: int, count: int, run_id: str) -> Run:
    meta = {"run_id": run_id, "seed": 1, "profile": "ci", "device": "cpu", "target_names": ["t"], "specs": []}
    meta["shard"] = {"index": index, "count": count, "units": [], "of": "k"}
    return Run(folder=Path(folder), meta=meta, records=[], damaged=[])


def test_one_shard_given_twice_from_two_copies_of_a_job_is_refused() -> None:
    # a rerun CI job: the same shard, a second run id
    with pytest.raises(BadShard, match=r"both hold shard 2/3 of the run with seed 1"):
        build_report([_shard_run("a", 2, 3, "r1"), _shard_run("b", 2, 3, "r2")])


def test_shards_of_one_run_split_two_ways_are_refused() -> None:
    with pytest.raises(BadShard, match=r"split two ways \(into 2 and into 3\)"):
        build_report([_shard_run("a", 1, 2, "r1"), _shard_run("b", 1, 3, "r2")])


def test_a_complete_split_misses_no_shard_and_a_whole_run_is_no_split(runs: dict[str, Path]) -> None:
    report = build_report([_shard_run("a", 1, 2, "r1"), _shard_run("b", 2, 2, "r2")])
    assert [s.missing for s in report.splits] == [[]]
    assert load_report([runs["whole"]]).splits == []
