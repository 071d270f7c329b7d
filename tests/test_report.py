"""The report: summary.json and JUnit agree with the records, runs merge, a baseline compares by
signature, every string is escaped, the page fetches nothing, a truncated last line is tolerated, and
the pictures put the error where it is.

Fixtures are run folders written here with the real record machinery (``judge``, ``make_record``,
``ResultsWriter``, ``write_finding``) on the numpy test targets: small and fast, no framework.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from targets_for_tests import CorrectTarget, ThreeBugTarget

from adapters.protocol import Target
from harness.cli.report import add_report_parser
from harness.engine.artefacts import write_finding
from harness.engine.findings import Finding as ShrunkFinding
from harness.engine.results import ResultsWriter, make_record
from harness.engine.verdict import judge
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.model.features import signature_features
from harness.model.outcomes import FAILING
from harness.oracle.tolerance import ReferenceResult, error_bound
from harness.report.model import load_report
from harness.report.pictures import ErrorField, heatmap_panels, histogram
from harness.report.write import write_report

MARKUP = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'


class MarkupTarget(CorrectTarget):
    """Raises an exception whose text is markup (as a framework message could be)."""

    name = "test.markup"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Always raises."""
        raise RuntimeError(MARKUP)


# --- fixtures: run folders ---------------------------------------------------------------------

PASSING = [
    Case.make(input_size=(3, 3), kernel_size=2, stride=2, in_channels=2, out_channels=2),
    Case.make(input_size=5, kernel_size=3, pads_begin=1, pads_end=1, dtype="float64"),
    Case.make(input_size=(2, 2, 2), kernel_size=2, output_padding=1, stride=2, bias=False),
]
UNSUPPORTED = Case.make(input_size=(3, 3), kernel_size=2, layout="channels_last")  # channels_first only
VALUE_BUG = Case.make(input_size=(4, 4), kernel_size=3, in_channels=4, out_channels=4, groups=2)
SHAPE_BUG = Case.make(input_size=(3, 3), kernel_size=2, dilation=2)
ERROR_BUG = Case.make(input_size=4, kernel_size=2, bias=False)


@dataclass
class Entry:
    """One (target, case) to record; ``finding`` also writes it as a finding's minimal record."""

    target: Target
    case: Case
    finding: bool = False
    arrays: bool = True


def _signature(target: Target, case: Case, outcome: str, detail: str) -> str:
    return ShrunkFinding(target.name, outcome, detail, signature_features(case), case).signature


def _save_error_arrays(folder: Path, target: Target, case: Case) -> None:
    """``arrays.npz`` as the runner writes it for a value mismatch."""
    arrays = make_arrays(case)
    ref = ReferenceResult.for_case(case, arrays)
    dtype = target.output_dtype(case)
    np.savez(
        folder / "arrays.npz",
        actual=np.asarray(target.run(case, arrays), np.float64),
        reference=round_to_format(ref.exact, dtype),
        bound=np.array(error_bound(ref, dtype, target.accumulation(case.dtype))),
    )


def make_run(
    folder: Path,
    entries: Iterable[Entry],
    *,
    run_id: str,
    spec: str = "conv_transpose2d",
    unavailable: dict[str, str] | None = None,
) -> Path:
    """Write ``results.jsonl``, ``run.json`` and ``findings/`` for the entries."""
    writer = ResultsWriter(folder)
    meta: dict[str, Any] = {
        "run_id": run_id,
        "profile": "dev",
        "device": "cpu",
        "specs": [spec],
        "targets": {},
    }
    for n, entry in enumerate(entries):
        verdict = judge(entry.case, entry.target)
        rec = make_record(case=entry.case, target=entry.target, verdict=verdict, spec=spec, run_id=run_id)
        writer.write(rec)
        meta["targets"][entry.target.class_reference()] = {
            "available": True,
            "environment": entry.target.environment(),
        }
        if entry.finding:
            assert verdict.outcome in FAILING, (entry.case, verdict)
            sig = _signature(entry.target, entry.case, verdict.outcome, verdict.detail)
            rel = f"findings/{n:05d}-{entry.target.name}-{verdict.outcome}"
            minimal = dict(
                make_record(
                    case=entry.case,
                    target=entry.target,
                    verdict=verdict,
                    spec=spec,
                    run_id=run_id,
                    minimal=True,
                    signature=sig,
                ),
                finding_dir=rel,
            )
            write_finding(
                folder / rel,
                case=entry.case,
                target=entry.target,
                record=minimal,
                command=f"python -m harness repro {writer.path} 0",
            )
            if verdict.outcome == "value_mismatch" and entry.arrays:
                _save_error_arrays(folder / rel, entry.target, entry.case)
            writer.write(minimal)
    for name, reason in (unavailable or {}).items():
        meta["targets"][name] = {"available": False, "reason": reason}
    writer.close()
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def buggy_entries(*, value: bool = True, shape: bool = True, error: bool = True) -> list[Entry]:
    """Passing, unsupported and (optionally) the three ThreeBugTarget findings."""
    bugs, ok = ThreeBugTarget(), CorrectTarget()
    out = [Entry(ok, c) for c in PASSING] + [Entry(ok, UNSUPPORTED), Entry(bugs, PASSING[0])]
    if value:
        out += [Entry(bugs, VALUE_BUG), Entry(bugs, VALUE_BUG.replace(seed=3)), Entry(bugs, VALUE_BUG, True)]
    if shape:
        out += [Entry(bugs, SHAPE_BUG), Entry(bugs, SHAPE_BUG, True)]
    if error:
        out += [Entry(bugs, ERROR_BUG), Entry(bugs, ERROR_BUG, True)]
    return out


@pytest.fixture(scope="module")
def buggy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with every outcome but crash/timeout/doc_mismatch, its report written."""
    folder = make_run(
        tmp_path_factory.mktemp("buggy"),
        buggy_entries(),
        run_id="run-a",
        unavailable={"paddle.nn": "paddlepaddle is not installed"},
    )
    write_report([folder])
    return folder


def read_records(folder: Path) -> list[dict[str, Any]]:
    """The records as written, independent of the report code."""
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines() if line]


def strict_json(path: Path) -> Any:
    """Parse JSON refusing NaN/Infinity (what strict CI parsers do)."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


# --- summary.json and JUnit --------------------------------------------------------------------


def test_summary_counts_agree_with_records(buggy_run: Path) -> None:
    records = read_records(buggy_run)
    cases = [r for r in records if not r["minimal"]]
    summary = strict_json(buggy_run / "summary.json")
    assert summary["totals"]["cases"] == len(cases)
    assert {k: v for k, v in summary["totals"]["outcomes"].items() if v} == dict(
        Counter(r["outcome"] for r in cases)
    )
    for target in {r["target"] for r in cases}:
        mine = Counter(r["outcome"] for r in cases if r["target"] == target)
        assert {k: v for k, v in summary["targets"][target]["outcomes"].items() if v} == dict(mine)
    sigs = {r["signature"] for r in records if r["minimal"]}
    assert {f["signature"] for f in summary["findings"]} == sigs and len(sigs) == 3
    assert {f["kind"] for f in summary["findings"]} == {"value", "shape", "error"}
    assert summary["failed"] is True
    assert summary["unavailable"] == {"paddle.nn": ["paddlepaddle is not installed"]}


def test_summary_writes_infinity_as_text(buggy_run: Path) -> None:
    value = next(f for f in strict_json(buggy_run / "summary.json")["findings"] if f["kind"] == "value")
    recorded = next(r for r in read_records(buggy_run) if r["minimal"] and r["outcome"] == "value_mismatch")
    ratio = recorded["stats"]["error_ratio"]
    assert value["stats"]["error_ratio"] == ("inf" if ratio == float("inf") else ratio)


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


def test_junit_counts_agree_with_records(buggy_run: Path) -> None:
    root = ET.parse(buggy_run / "junit.xml").getroot()
    records = read_records(buggy_run)
    cases = [r for r in records if not r["minimal"]]
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    for target in {r["target"] for r in cases}:
        mine = Counter(r["outcome"] for r in cases if r["target"] == target)
        suite = suites[target]
        assert int(suite.get("tests")) == sum(mine.values()) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == mine["value_mismatch"] + mine["shape_mismatch"]
        assert int(suite.get("errors")) == mine["error"]
        assert int(suite.get("skipped")) == mine["unsupported"]
        assert len(suite.findall("testcase/failure")) == int(suite.get("failures"))
        assert len(suite.findall("testcase/error")) == int(suite.get("errors"))
    findings = suites["findings"]
    assert sorted(tc.get("name") for tc in findings.findall("testcase")) == sorted(
        r["signature"] for r in records if r["minimal"]
    )
    assert int(root.get("tests")) == len(cases) + len(findings.findall("testcase"))


def test_junit_survives_control_characters(tmp_path: Path) -> None:
    class AnsiTarget(CorrectTarget):
        name = "test.ansi"

        def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
            raise RuntimeError("\x1b[31mred\x1b[0m failure \x00")

    folder = make_run(tmp_path, [Entry(AnsiTarget(), PASSING[0], True)], run_id="ansi")
    write_report([folder])
    error = ET.parse(folder / "junit.xml").getroot().find("testsuite/testcase/error")
    assert error is not None and "red" in error.get("message")


def test_undecodable_bytes_in_an_error_message_are_written_as_escapes(tmp_path: Path) -> None:
    class SurrogateTarget(CorrectTarget):
        name = "test.surrogate"

        def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
            raise RuntimeError("log: " + b"\xff\xfe".decode("utf-8", "surrogateescape"))

    folder = make_run(tmp_path, [Entry(SurrogateTarget(), PASSING[0], True)], run_id="bytes")
    html = write_report([folder])
    assert "log: \\udcff\\udcfe" in read_records(folder)[0]["message"]
    readme = next((folder / "findings").glob("*/README.txt")).read_text(encoding="utf-8")
    assert "log: \\udcff\\udcfe" in readme
    assert "log: \\udcff\\udcfe" in html.read_text(encoding="utf-8")


def test_a_failing_render_keeps_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.report import write as report_write

    folder = make_run(tmp_path, [Entry(CorrectTarget(), PASSING[0])], run_id="atomic")
    html = write_report([folder])
    before = html.read_text(encoding="utf-8")
    assert "</html>" in before.lower()

    def unencodable(*args: object, **kwargs: object) -> str:
        return "<html>a lone surrogate from some error text: \ud800</html>"  # fails inside the write

    monkeypatch.setattr(report_write, "render_html", unencodable)
    with pytest.raises(UnicodeEncodeError):
        write_report([folder])
    assert html.read_text(encoding="utf-8") == before  # not truncated, not emptied
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


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


# --- merge and baseline ------------------------------------------------------------------------


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


def test_baseline_new_fixed_unchanged(tmp_path: Path) -> None:
    old = make_run(tmp_path / "old", buggy_entries(shape=False), run_id="old")  # value + error
    new = make_run(tmp_path / "new", buggy_entries(error=False), run_id="new")  # value + shape
    write_report([new], baseline=old)
    sigs = {f["kind"]: f["signature"] for f in strict_json(new / "summary.json")["findings"]}
    old_sigs = {r["outcome"]: r["signature"] for r in read_records(old) if r["minimal"]}
    comparison = strict_json(new / "summary.json")["comparison"]
    assert comparison["new"] == [sigs["shape"]]
    assert comparison["fixed"] == [old_sigs["error"]]
    assert comparison["unchanged"] == [sigs["value"]]
    assert comparison["not_rerun"] == []
    html = (new / "report.html").read_text()
    assert 'id="cmp-new"' in html and 'id="cmp-fixed"' in html


def test_baseline_from_summary_and_targets_not_rerun(tmp_path: Path) -> None:
    old = make_run(tmp_path / "old", buggy_entries(), run_id="old")
    write_report([old])
    current = make_run(tmp_path / "now", [Entry(CorrectTarget(), c) for c in PASSING], run_id="now")
    write_report([current], baseline=old / "summary.json")
    comparison = strict_json(current / "summary.json")["comparison"]
    assert comparison["fixed"] == [] and comparison["new"] == []
    assert len(comparison["not_rerun"]) == 3  # test.three_bugs did not run now: not "fixed"


# --- escaping and self-containment -------------------------------------------------------------


class Attributes(HTMLParser):
    """Collects tags and their attributes, and the text of <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse_html(path: Path) -> Attributes:
    """Parse a report page."""
    parser = Attributes()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def markup_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose spec name and exception message are markup."""
    folder = make_run(
        tmp_path_factory.mktemp("markup"),
        [
            Entry(MarkupTarget(), PASSING[0]),
            Entry(MarkupTarget(), PASSING[0], True),
            Entry(CorrectTarget(), PASSING[1]),
        ],
        run_id="markup",
        spec=MARKUP,
    )
    write_report([folder])
    return folder


def test_markup_in_spec_and_messages_is_escaped(markup_run: Path) -> None:
    page = (markup_run / "report.html").read_text(encoding="utf-8")
    assert MARKUP not in page and "window.__pwned" in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    parsed = parse_html(markup_run / "report.html")
    assert [t for t, _ in parsed.tags].count("script") == 1  # the report's own script only
    assert not any(t == "img" and a.get("src") == "x" for t, a in parsed.tags)
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)


def test_report_is_self_contained(buggy_run: Path) -> None:
    page = (buggy_run / "report.html").read_text(encoding="utf-8")
    parsed = parse_html(buggy_run / "report.html")
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "action", "srcset", "data", "poster"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, name, value[:80])
        assert not (tag == "link" and attrs.get("rel") == "stylesheet")
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert "@import" not in page
    images = [a["src"] for t, a in parsed.tags if t == "img"]
    assert images and all(src.startswith("data:image/png;base64,") for src in images)


def test_script_is_allowed_by_the_pages_own_policy(buggy_run: Path) -> None:
    parsed = parse_html(buggy_run / "report.html")
    policy = next(
        a["content"]
        for t, a in parsed.tags
        if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
    )
    digest = base64.b64encode(hashlib.sha256(parsed.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "img-src data:" in policy


def test_truncated_last_line_is_skipped(tmp_path: Path) -> None:
    folder = make_run(tmp_path, buggy_entries(), run_id="killed")
    complete = read_records(folder)
    with (folder / "results.jsonl").open("a") as fh:
        fh.write('{"run_id": "killed", "target": "test.correct", "outcome": "pa')
    write_report([folder])
    summary = strict_json(folder / "summary.json")
    assert summary["totals"]["cases"] == sum(not r["minimal"] for r in complete)
    assert summary["runs"][0]["skipped_lines"] == 1
    assert "unreadable line skipped" in (folder / "report.html").read_text()


# --- pictures ----------------------------------------------------------------------------------


def decode_png(uri: str) -> np.ndarray:
    """Decode an unfiltered 8-bit RGB PNG data URI (the form the report writes)."""
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + 3 * width)
    assert not raw[:, 0].any()
    return raw[:, 1:].reshape(height, width, 3)


def reddish(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the beyond-bound ramp (red clearly above blue)."""
    return (rgb[..., 0].astype(int) - rgb[..., 2].astype(int)) > 60


def test_heatmap_shows_the_failing_channels(buggy_run: Path) -> None:
    arrays = np.load(next((buggy_run / "findings").glob("*value_mismatch")) / "arrays.npz")
    field = ErrorField.from_arrays(arrays["actual"], arrays["reference"], arrays["bound"])
    failing_channels = {int(c) for c in np.argwhere(field.beyond)[:, 1]}
    assert failing_channels and failing_channels < set(range(VALUE_BUG.out_channels))
    panels = heatmap_panels(field)["panels"]
    assert len(panels) == VALUE_BUG.batch * VALUE_BUG.out_channels
    for channel, panel in enumerate(panels):
        image = decode_png(panel["uri"])
        assert image.shape[:2] == (panel["height"], panel["width"])
        assert bool(reddish(image).any()) == (channel in failing_channels), panel["label"]


def _red_cells(panel: dict[str, Any], plane: tuple[int, int]) -> set[tuple[int, int]]:
    """(row, column) of the plane's cells drawn in the beyond-bound ramp."""
    image = decode_png(panel["uri"])
    pooled = panel["pooled"]
    cells = (-(-plane[0] // pooled), -(-plane[1] // pooled))
    scale = panel["height"] // cells[0]
    assert panel["width"] == scale * cells[1]
    rows, cols = np.nonzero(reddish(image))
    return {(int(r) // scale, int(c) // scale) for r, c in zip(rows, cols, strict=True)}


@pytest.mark.parametrize(
    ("shape", "where", "panel_index", "cell"),
    [
        ((1, 1, 5, 7), (0, 0, 3, 5), 0, (3, 5)),  # 2-D: the element itself
        ((2, 3, 9), (1, 2, 7), 0, (5, 7)),  # 1-D: row n·C + c, column = position
        ((1, 2, 4, 5, 6), (0, 1, 3, 2, 4), 1, (2, 4)),  # 3-D: the depth slice holding the error
        ((1, 1, 700, 500), (0, 0, 650, 20), 0, (650 // 3, 20 // 3)),  # large: 3×3 max-pooled
    ],
)
def test_heatmap_pixels_lie_over_the_element(
    shape: tuple[int, ...], where: tuple[int, ...], panel_index: int, cell: tuple[int, int]
) -> None:
    reference = np.zeros(shape)
    actual = reference.copy()
    actual[where] = 1.0
    field = ErrorField.from_arrays(actual, reference, np.full_like(reference, 0.01))
    panels = heatmap_panels(field)["panels"]
    assert len(panels) == (1 if len(shape) == 3 else shape[0] * shape[1])
    plane = tuple(panels[panel_index]["shape"])
    assert _red_cells(panels[panel_index], plane) == {cell}
    assert all(not _red_cells(p, tuple(p["shape"])) for i, p in enumerate(panels) if i != panel_index)
    if len(shape) == 5:
        assert f"depth={where[2]}" in panels[panel_index]["label"]


def test_histogram_accounts_for_every_element() -> None:
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((2, 3, 4, 4))
    bound = np.full_like(reference, 1e-3)
    actual = reference + rng.choice([0.0, 1e-5, 5e-4, 2e-3], size=reference.shape)
    actual[0, 0, 0, 0] = np.nan
    bound[1, 2, 3, 3] = 0.0
    actual[1, 2, 3, 3] = reference[1, 2, 3, 3] + 1.0
    field = ErrorField.from_arrays(actual, reference, bound)
    bins = histogram(field)
    assert sum(b["count"] for b in bins) == reference.size
    beyond = sum(b["count"] for b in bins if b["kind"] in ("beyond", "nonfinite"))
    assert beyond == int((field.beyond | field.nonfinite).sum())
    assert {b["label"] for b in bins} >= {"exact", "nan/inf", "∞ (bound 0)"}


def test_missing_arrays_give_a_note(tmp_path: Path) -> None:
    folder = make_run(tmp_path, [Entry(ThreeBugTarget(), VALUE_BUG, True, arrays=False)], run_id="old-run")
    html = write_report([folder]).read_text()
    assert "No arrays.npz" in html and "data:image/png" not in html


# --- command line ------------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_report_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", *argv])
    return int(args.func(args))


def test_cli_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = make_run(tmp_path / "clean", [Entry(CorrectTarget(), c) for c in PASSING], run_id="clean")
    buggy = make_run(tmp_path / "buggy", buggy_entries(), run_id="buggy")
    assert _cli([str(clean)]) == 0
    assert (clean / "report.html").exists() and (clean / "junit.xml").exists()
    assert str(clean / "report.html") in capsys.readouterr().out
    assert _cli([str(buggy)]) == 1
    assert _cli([str(buggy), "--fail-on", "never"]) == 0
    assert _cli([str(buggy), "--baseline", str(buggy)]) == 0  # nothing new
    assert _cli([str(buggy), "--baseline", str(clean)]) == 1  # three new findings
    assert _cli([str(tmp_path / "nowhere")]) == 2


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


def test_cases_of_a_kind_without_the_findings_features(tmp_path: Path) -> None:
    bugs = ThreeBugTarget()
    cropped = VALUE_BUG.replace(pads_begin=(1, 1), pads_end=(0, 0))  # shrinking can add features
    folder = make_run(tmp_path, [Entry(bugs, VALUE_BUG), Entry(bugs, cropped, True)], run_id="grown")
    write_report([folder])
    (finding,) = strict_json(folder / "summary.json")["findings"]
    assert "asymmetric_crop" in finding["features"]
    assert finding["kind_cases"] == 2 and finding["explained_cases"] == 1


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
        "source": "seed 001 <b>",
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
    assert "<h4>departure from documentation (1)</h4>" in page
    assert "seed 001 &lt;b&gt;" in page and '<td class="mono differs">4</td>' in page


# --- audit sections ----------------------------------------------------------------------------


def audit_files(folder: Path) -> dict[str, Any]:
    """Small audit results in the files' formats, with markup wherever text goes, written to folder."""
    case = PASSING[0].to_dict()
    data: dict[str, Any] = {
        "doc_audit.json": {
            "profile": "dev",
            "cases": 7,
            "generated_cases": 3,
            "seconds": 1.0,
            "targets": {
                "t.one": {"checked": 5, "unsupported": 2, "errors": 0, "departures": 2},
                "t.off": {"not_run": MARKUP},
            },
            "departures": [
                {
                    "target": "t.one",
                    "api": MARKUP,
                    "mode": "same",
                    "aspect": "output_size",
                    "case": case,
                    "case_short": "c",
                    "call": MARKUP,
                    "cases_checked": 5,
                    "cases_departing": 1,
                    "documented": {"formula": MARKUP, "value": [2], "source": MARKUP},
                    "actual": {"value": [3]},
                },
                {
                    "target": "t.one",
                    "api": "a",
                    "mode": "same",
                    "aspect": "crop_split",
                    "case": case,
                    "case_short": "c",
                    "call": None,
                    "cases_checked": 5,
                    "cases_departing": 2,
                    "documented": {
                        "formula": "f",
                        "value": [2],
                        "source": "s",
                        "split": "extra_at_end",
                        "crops": {"begin": [0], "end": [1], "output_padding": [0]},
                    },
                    "actual": {"value": [2], "crops": None, "note": MARKUP},
                },
            ],
        },
        "mode_equivalence.json": {
            "profile": "dev",
            "geometries": 4,
            "seconds": 1.0,
            "entries": [
                {"id": "a:same", "family": "same", "api_value": MARKUP, "basis": "run"},
                {"id": "b:same", "family": "same", "api_value": "SAME", "basis": "documented"},
                {"id": "c:same_lower", "family": "same", "api_value": "SAME_LOWER", "basis": "run"},
            ],
            "pairs": [
                {"a": "a:same", "b": "b:same", "compared": 4, "agree": 4, "disagree": 0, "equivalent": True},
                {
                    "a": "a:same",
                    "b": "c:same_lower",
                    "compared": 4,
                    "agree": 1,
                    "disagree": 3,
                    "equivalent": False,
                    "distinguishing": {
                        "case_short": MARKUP,
                        "a:same": {"kind": "error", "text": MARKUP},
                        "c:same_lower": {
                            "kind": "crops",
                            "shape": [1, 1, 2],
                            "begin": [0],
                            "end": [1],
                            "output_padding": [0],
                        },
                    },
                },
                {
                    "a": "b:same",
                    "b": "c:same_lower",
                    "compared": 0,
                    "agree": 0,
                    "disagree": 0,
                    "equivalent": False,
                },
            ],
        },
        "invalid_inputs.json": {
            "targets": ["t.one", "t.off"],
            "not_run": {"t.off": "absent"},
            "configurations": [
                {
                    "name": "groups",
                    "description": MARKUP,
                    "expect": "error",
                    "canonical": "invalid",
                    "expected_shape": None,
                    "responses": {
                        "t.one": {"response": "accepted", "shape": [1, 2], "assessment": "silently_accepted"},
                        "t.off": {"response": "not_run", "assessment": "not_run"},
                    },
                },
                {
                    "name": "negative",
                    "description": "d",
                    "expect": "error",
                    "canonical": "invalid",
                    "expected_shape": None,
                    "responses": {
                        "t.one": {"response": "error", "message": MARKUP, "assessment": "ok"},
                        "t.off": {"response": "not_run", "assessment": "not_run"},
                    },
                },
            ],
        },
        "port.json": {
            "ports": [
                {
                    "call": MARKUP,
                    "api": "torch.nn.ConvTranspose1d",
                    "case_short": "c",
                    "source_target": "torch.nn",
                    "notes": [MARKUP],
                    "source": {"verified": True, "output_shape": [1, 1, 3]},
                    "targets": [
                        {
                            "target": "t.one",
                            "call": MARKUP,
                            "verified": True,
                            "output_shape": [1, 1, 3],
                            "stats": {"max_abs_error": 0.0, "error_ratio": 0.0},
                        },
                        {
                            "target": "t.two",
                            "call": "f(x)",
                            "verified": False,
                            "outcome": "value_mismatch",
                            "message": MARKUP,
                        },
                        {"target": "t.off", "call": None, "reason": MARKUP, "verified": False},
                    ],
                }
            ]
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in data.items():
        (folder / name).write_text(json.dumps(content), encoding="utf-8")
    return data


def test_audit_only_folder_renders_every_section_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    data = audit_files(folder)
    html = write_report([folder])
    page = html.read_text(encoding="utf-8")
    parsed = parse_html(html)
    ids = {attrs.get("id") for _, attrs in parsed.tags}
    assert {"port", "doc-audit", "mode-equivalence", "invalid-inputs"} <= ids
    hrefs = {attrs.get("href") for tag, attrs in parsed.tags if tag == "a"}
    assert {"#port", "#doc-audit", "#mode-equivalence", "#invalid-inputs"} <= hrefs
    assert MARKUP not in page and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert [t for t, _ in parsed.tags].count("script") == 1
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    summary = strict_json(folder / "summary.json")["audits"]
    assert summary["doc_audit"]["departures"] == len(data["doc_audit.json"]["departures"])
    pairs = data["mode_equivalence.json"]["pairs"]
    assert summary["mode_equivalence"] == {
        "pairs": len(pairs),
        "differing": sum(1 for p in pairs if p["disagree"]),
    }
    assessments = Counter(
        r["assessment"]
        for row in data["invalid_inputs.json"]["configurations"]
        for r in row["responses"].values()
    )
    assert summary["invalid_inputs"]["assessments"] == dict(assessments)
    targets = data["port.json"]["ports"][0]["targets"]
    assert summary["port"]["emitted"] == sum(1 for t in targets if t["call"])
    assert summary["port"]["unverified"] == 1


def test_audit_cells_carry_their_verdict(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    audit_files(folder)
    parsed = parse_html(write_report([folder]))
    cells = [
        attrs.get("class")
        for tag, attrs in parsed.tags
        if tag == "td" and "cell" in (attrs.get("class") or "")
    ]
    # port: verified, not verified, not expressible; modes: agree, differ, nothing compared;
    # invalid: silently accepted (fail), ok (pass)
    assert cells.count("cell pass") >= 4 and cells.count("cell fail") >= 3 and "cell unsup" in cells


def test_unreadable_audit_file_and_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "mode_equivalence.json").write_text("{not json", encoding="utf-8")
    page = write_report([folder]).read_text(encoding="utf-8")
    assert "could not be read" in page
    assert _cli([str(tmp_path / "empty")]) == 2


def test_audits_next_to_a_run(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "run", buggy_entries(), run_id="with-audits")
    audit_files(folder)
    page = write_report([folder]).read_text(encoding="utf-8")
    assert 'id="findings"' in page and 'id="invalid-inputs"' in page
    assert strict_json(folder / "summary.json")["totals"]["findings"] == 3
