"""The merged model: runs merge, findings count the cases they explain, every finding kind is
shown, the matrix counts cases, and a spec a target judged no case of is named."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from report_runs import (
    PASSING,
    UNSUPPORTED,
    VALUE_BUG,
    Entry,
    MarkupTarget,
    buggy_entries,
    make_run,
    read_records,
    strict_json,
)
from targets_for_tests import CorrectTarget, ThreeBugTarget

from harness.model.case import Case
from harness.model.outcomes import FAILING
from harness.model.quant import Quantization, TensorQuant, WeightQuant
from harness.report.model import load_report
from harness.report.write import write_report


def test_merge_two_runs(tmp_path: Path) -> None:
    first = make_run(tmp_path / "a", buggy_entries(shape=False), run_id="shard-1")
    second = make_run(
        tmp_path / "b",
        [Entry(MarkupTarget(), PASSING[0], True), *buggy_entries(error=False)],
        run_id="shard-2",
        spec="conv_transpose1d",
    )
    html = write_report([first, second])
    assert html == first / "report.html" and html.exists()
    summary = strict_json(first / "summary.json")
    cases = [r for f in (first, second) for r in read_records(f) if not r["minimal"]]
    assert summary["totals"]["cases"] == len(cases)
    assert set(summary["targets"]) == {"test.correct", "test.three_bugs", "test.markup"}
    assert summary["targets"]["test.correct"]["cases"] == sum(r["target"] == "test.correct" for r in cases)
    by_sig = {f["signature"]: f for f in summary["findings"]}
    minimal = [r for f in (first, second) for r in read_records(f) if r["minimal"]]
    assert set(by_sig) == {r["signature"] for r in minimal}
    assert len(minimal) == len(by_sig) + 1  # the value finding is in both shards: one entry, two runs
    value = next(f for f in by_sig.values() if f["kind"] == "value")
    assert value["runs"] == ["shard-1", "shard-2"]
    assert [r["run_id"] for r in summary["runs"]] == ["shard-1", "shard-2"]


def test_findings_count_the_cases_they_explain(buggy_run: Path) -> None:
    summary = strict_json(buggy_run / "summary.json")
    cases = [r for r in read_records(buggy_run) if not r["minimal"]]
    for finding in summary["findings"]:
        same = [
            r
            for r in cases
            if (r["target"], r["outcome"], r["detail"])
            == (finding["target"], finding["outcome"], finding["detail"])
        ]
        explained = [r for r in same if set(finding["features"]) <= set(r["features"])]
        assert finding["kind_cases"] == len(same) >= 1
        assert finding["explained_cases"] == len(explained) >= 1


def test_cases_of_a_kind_without_the_findings_features(tmp_path: Path) -> None:
    bugs = ThreeBugTarget()
    cropped = VALUE_BUG.replace(pads_begin=(1, 1), pads_end=(0, 0))  # shrinking can add features
    folder = make_run(tmp_path, [Entry(bugs, VALUE_BUG), Entry(bugs, cropped, True)], run_id="grown")
    write_report([folder])
    (finding,) = strict_json(folder / "summary.json")["findings"]
    assert "asymmetric_crop" in finding["features"]
    assert finding["kind_cases"] == 2 and finding["explained_cases"] == 1


def test_report_model_matrix_counts(buggy_run: Path) -> None:
    report = load_report([buggy_run])
    cases = [r for r in read_records(buggy_run) if not r["minimal"]]
    rank_rows = {row["value"]: row for row in report.matrix() if row["feature"] == "rank"}
    targets = list(report.targets)
    for rank, row in rank_rows.items():
        for target, cell in zip(targets, row["cells"], strict=True):
            mine = [r for r in cases if r["target"] == target and f"{r['case']['rank']}D" == rank]
            assert sum(cell.values()) == len(mine)
            assert cell.get("finding", 0) == sum(r["outcome"] in FAILING for r in mine)


def test_a_spec_a_target_judged_no_case_of_is_named(tmp_path: Path) -> None:
    ok = CorrectTarget()
    expressed = make_run(
        tmp_path / "a", [Entry(ok, PASSING[0]), Entry(ok, UNSUPPORTED)], run_id="a", spec="conv_transpose2d"
    )
    nothing = make_run(
        tmp_path / "b",
        [Entry(ok, UNSUPPORTED), Entry(ok, UNSUPPORTED.replace(seed=5)), Entry(ThreeBugTarget(), PASSING[0])],
        run_id="b",
        spec="channels_last_only",
    )
    html = write_report([expressed, nothing]).read_text(encoding="utf-8")
    targets = strict_json(expressed / "summary.json")["targets"]
    assert targets["test.correct"]["judged_nothing"] == ["channels_last_only"]
    assert targets["test.three_bugs"]["judged_nothing"] == []
    header, *rows = _table_rows(html, "coverage-table")
    cases = next(row for row in rows if row[0] == "cases")
    by_target = dict(zip(header[1:], cases[1:], strict=True))
    assert "judged no case of: channels_last_only" in by_target["test.correct"]
    assert "judged no case" not in by_target["test.three_bugs"]


def _table_rows(html: str, table_id: str) -> list[list[str]]:
    """The text of each cell (th or td) of each row of the table with ``table_id``."""

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[list[str]] = []
            self.depth = 0  # > 0 inside the table

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "table" and dict(attrs).get("id") == table_id:
                self.depth = 1
            elif self.depth and tag == "tr":
                self.rows.append([])
            elif self.depth and tag in ("td", "th"):
                self.rows[-1].append("")

        def handle_endtag(self, tag: str) -> None:
            if tag == "table":
                self.depth = 0

        def handle_data(self, data: str) -> None:
            if self.depth and self.rows and self.rows[-1]:
                self.rows[-1][-1] += data

    parser = Rows()
    parser.feed(html)
    return [[" ".join(cell.split()) for cell in row] for row in parser.rows]


def _append(folder: Path, records: list[dict[str, Any]]) -> None:
    with (folder / "results.jsonl").open("a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec) + "\n")


def test_crash_timeout_and_doc_mismatch(tmp_path: Path) -> None:
    folder = make_run(tmp_path, [Entry(CorrectTarget(), PASSING[0])], run_id="kinds")
    base = read_records(folder)[0]
    doc_stats = {
        "documented_size": [3, 3],
        "actual_size": [3, 4],
        "documented_formula": "L * stride",
        "source": "seed 001 <b> from https://docs.example.org/convt.html",
    }
    extra = [
        dict(base, outcome="crash", detail="SIGSEGV", message="worker died: signal 11"),
        dict(base, outcome="timeout", detail="300s", message="ran past 300 s"),
        dict(
            base,
            outcome="doc_mismatch",
            detail="output_size",
            message="documented [1, 2, 3, 3]",
            expected_shape=[1, 2, 3, 3],
            actual_shape=[1, 2, 3, 4],
            stats=doc_stats,
        ),
    ]
    _append(
        folder,
        extra
        + [dict(r, minimal=True, signature=f"test.correct|{r['outcome']}|{r['detail']}|") for r in extra],
    )
    write_report([folder])
    summary = strict_json(folder / "summary.json")
    assert {f["kind"] for f in summary["findings"]} == {"crash", "timeout", "departure from documentation"}
    suite = next(s for s in ET.parse(folder / "junit.xml").getroot() if s.get("name") == "test.correct")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "2")
    page = (folder / "report.html").read_text()
    assert '<span class="badge doc_mismatch">departure from documentation</span>' in page
    assert "seed 001 &lt;b&gt;" in page and '<td class="mono differs">4</td>' in page
    assert 'href="https://docs.example.org/convt.html"' in page  # the source's URL is a link


def test_int8_cases_have_their_rows_in_the_matrix(tmp_path: Path) -> None:
    quant = Quantization(
        TensorQuant("uint8", 0.125, 7),
        WeightQuant("int8", (0.5,), (0,)),
        "float",
        TensorQuant("uint8", 0.75, 3),
    )
    int8 = Case.make(input_size=(3, 2), in_channels=2, out_channels=2, dtype="int8", quantization=quant)
    ok = CorrectTarget()  # a float target: the int8 case is unsupported, and still a case of the matrix
    folder = make_run(tmp_path, [Entry(ok, PASSING[0]), Entry(ok, int8)], run_id="int8")
    rows = {(row["feature"], row["value"]): row["cells"] for row in load_report([folder]).matrix()}
    assert rows[("dtype", "int8")] == [{"unsupported": 1}]
    assert rows[("quantization", "per_tensor requantized")] == [{"unsupported": 1}]
    assert rows[("quantization", "none")] == [{"pass": 1}]
    dtypes = [value for feature, value in rows if feature == "dtype"]
    assert dtypes == ["float32", "int8"]
