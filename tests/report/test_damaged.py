"""A damaged line of ``results.jsonl`` costs only itself: ``report`` skips it, counts it and names it,
and writes its three files only once all of them have rendered."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_runs import PASSING, Entry, buggy_entries, make_run, read_records, report_cli, strict_json
from targets_for_tests import CorrectTarget

DAMAGE = {
    "bytes": (b"\xff\xfe\x00 \x80garbage", "not UTF-8 text"),
    "empty object": (b"{}", "missing key 'target'"),
    "wrong types": (
        b'{"target": 3, "spec": [], "outcome": [], "case": "x", "minimal": "no"}',
        "key 'target' is int",
    ),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, "nested deeper than"),
    "not an object": (b"[1, 2]", "not a JSON object but list"),
    "half a line": (b'{"target": "test.correct", "outc', "not JSON"),
    "a damaged case": (None, "case: "),
}


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with every kind of finding, and its report, before any damage."""
    folder = make_run(tmp_path_factory.mktemp("intact"), buggy_entries(), run_id="intact")
    assert report_cli([str(folder)]) == 1
    return folder


def _damaged_line(folder: Path, damage: str) -> bytes:
    line, _ = DAMAGE[damage]
    if line is None:  # a well-formed record but for its case: stride 0
        rec = read_records(folder)[0]
        line = json.dumps(dict(rec, case=dict(rec["case"], stride=[0, 0]))).encode()
    return line


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_report_skips_counts_and_names_a_damaged_line(tmp_path: Path, intact: Path, damage: str) -> None:
    folder = tmp_path / "run"
    shutil.copytree(intact, folder)
    lines = (folder / "results.jsonl").read_bytes().split(b"\n")
    lines.insert(3, _damaged_line(folder, damage))  # becomes line 4, in the middle of the file
    (folder / "results.jsonl").write_bytes(b"\n".join(lines))

    assert report_cli([str(folder)]) == 1
    summary, before = strict_json(folder / "summary.json"), strict_json(intact / "summary.json")
    assert summary["totals"] == before["totals"]
    assert [f["signature"] for f in summary["findings"]] == [f["signature"] for f in before["findings"]]
    (run,) = summary["runs"]
    assert run["skipped_lines"] == 1 and run["records"] == len(read_records(intact))
    ((entry),) = run["damaged_lines"]
    assert entry["line"] == 4 and entry["problem"].startswith(DAMAGE[damage][1])
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "1 damaged line skipped: line 4 (" in page
    ET.parse(folder / "junit.xml")


def test_many_damaged_lines_are_named_the_first_ten_then_counted(tmp_path: Path, intact: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(intact, folder)
    with (folder / "results.jsonl").open("ab") as fh:
        fh.write(b"{}\n" * 12)
    first = len(read_records(intact)) + 1
    assert report_cli([str(folder)]) == 1
    page = (folder / "report.html").read_text(encoding="utf-8")
    named = ", ".join(f"{n} (missing key &#39;target&#39;)" for n in range(first, first + 10))
    assert f"12 damaged lines skipped: lines {named}, and 2 more" in page
    assert [d["line"] for d in strict_json(folder / "summary.json")["runs"][0]["damaged_lines"]] == list(
        range(first, first + 12)
    )


def test_the_validator_accepts_every_record_the_harness_writes(intact: Path) -> None:
    from harness.engine.records import record_problem

    records = [json.loads(line) for line in (intact / "results.jsonl").read_text().splitlines()]
    assert [record_problem(r) for r in records] == [None] * len(records)


def test_a_report_that_fails_to_render_rewrites_none_of_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_run(tmp_path, [Entry(CorrectTarget(), PASSING[0])], run_id="whole")
    assert report_cli([str(folder)]) == 0
    written = {name: (folder / name).read_bytes() for name in ("summary.json", "junit.xml", "report.html")}
    with (folder / "results.jsonl").open("a") as fh:  # a second record: every file would change
        fh.write(json.dumps(dict(read_records(folder)[0], line=2)) + "\n")

    def broken(*args: object) -> str:
        raise RuntimeError("template bug")

    monkeypatch.setattr("harness.report.write.render_html", broken)
    with pytest.raises(RuntimeError, match="template bug"):
        report_cli([str(folder)])
    assert {name: (folder / name).read_bytes() for name in written} == written
