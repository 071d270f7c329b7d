"""The report's coverage map: a table per spec of each cell's status per target, with the counts of
filled reachable cells, merged over runs (the best status stands), escaped, and robust to a
``run.json`` that does not hold what a run writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from report_runs import MARKUP, PASSING, Entry, make_run, parse_html
from targets_for_tests import CorrectTarget

from harness.report.coverage_map import coverage_map_view
from harness.report.load import load_run
from harness.report.write import write_report


def _cells(*cells: tuple[str, str, str]) -> dict[str, Any]:
    return {"cells": [{"name": n, "status": s, "reason": r} for n, s, r in cells]}


def _with_map(folder: Path, coverage_map: dict[str, Any]) -> Path:
    meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    meta["coverage_map"] = coverage_map
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def _run(folder: Path, run_id: str, coverage_map: dict[str, Any]) -> Path:
    return _with_map(make_run(folder, [Entry(CorrectTarget(), PASSING[0])], run_id=run_id), coverage_map)


def test_the_report_shows_each_cell_per_target(tmp_path: Path) -> None:
    folder = _run(
        tmp_path / "a",
        "a",
        {
            "test.correct|conv_transpose2d": _cells(
                ("kernel<stride [dim 0]", "filled", ""),
                ("mode=same", "refused", f"the map's case was judged unsupported: {MARKUP}"),
                ("crop=odd [dim 1]", "unfilled", "reachable, but no case of it was judged"),
                (MARKUP, "unreachable", f"outside the spec ({MARKUP})"),
            ),
            "other|conv_transpose2d": _cells(("kernel<stride [dim 0]", "unreachable", "outside the spec")),
        },
    )
    write_report([folder])
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert MARKUP not in page
    parsed = parse_html(folder / "report.html")
    assert [t for t, _ in parsed.tags].count("script") == 1
    section = page[page.index('<section id="coverage-map">') :]
    section = section[: section.index("</section>")]
    assert 'id="covmap-conv_transpose2d"' in section
    for status in ("filled", "refused", "unfilled", "unreachable"):
        assert f'class="map-{status}"' in section
    assert "1 / 3 filled" in section  # test.correct: four cells, one unreachable
    assert "0 / 0 filled" in section  # other: nothing reachable
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in section
    assert 'href="#coverage-map"' in page


def test_runs_merge_with_the_best_status_standing(tmp_path: Path) -> None:
    key = "test.correct|conv_transpose1d"
    first = _run(tmp_path / "a", "a", {key: _cells(("a", "unfilled", ""), ("b", "filled", ""))})
    second = _run(tmp_path / "b", "b", {key: _cells(("a", "filled", ""), ("b", "refused", "no"))})
    view = coverage_map_view([load_run(first, 0), load_run(second, 1)])
    rows = view["conv_transpose1d"]["rows"]
    assert rows["a"]["test.correct"][0] == "filled"
    assert rows["b"]["test.correct"][0] == "filled"
    assert view["conv_transpose1d"]["totals"]["test.correct"] == {"filled": 2, "reachable": 2}


def test_a_malformed_map_is_skipped_not_trusted(tmp_path: Path) -> None:
    folder = _run(
        tmp_path / "a",
        "a",
        {
            "x|s": {"cells": "not a list"},
            "y|s": ["not", "a", "dict"],
            "z|s": _cells(("ok", "filled", ""), ("bad", "<b>owned</b>", "")),
        },
    )
    view = coverage_map_view([load_run(folder, 0)])
    assert view["s"]["targets"] == ["z"]
    assert list(view["s"]["rows"]) == ["ok"]
    write_report([folder])  # and the page still renders
    assert "<b>owned</b>" not in (folder / "report.html").read_text(encoding="utf-8")
