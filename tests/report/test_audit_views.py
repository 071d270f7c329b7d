"""The audit sections: every audit file becomes an escaped section and a summary entry, cells carry
their verdict, and an unreadable file says so."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from report_runs import MARKUP, PASSING, buggy_entries, make_run, parse_html, report_cli, strict_json

from harness.audits.invalid_verdicts import VERDICTS
from harness.report.audit_views import invalid_view
from harness.report.write import write_report


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
                        "source": "the Shape section of https://docs.example.org/Conv_cn.html.",
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
                        "t.one": {"response": "error", "message": MARKUP, "assessment": "clear"},
                        "t.off": {"response": "not_run", "assessment": "not_run"},
                    },
                },
                {
                    "name": "stride",
                    "description": "d",
                    "expect": "error",
                    "canonical": "invalid",
                    "expected_shape": None,
                    "responses": {
                        "t.one": {
                            "response": "error",
                            "message": "integer modulo by zero",
                            "message_why": MARKUP,
                            "assessment": "opaque",
                        },
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
    assert "https://docs.example.org/Conv_cn.html" in hrefs  # a source's URL is a link
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


def test_invalid_view_shows_the_vocabulary_and_each_problem(tmp_path: Path) -> None:
    data = audit_files(tmp_path / "audit")["invalid_inputs.json"]
    view = invalid_view(data)
    assert [v["name"] for v in view["legend"]] == list(VERDICTS)
    assert view["targets"] == ["t.one"] and view["counts"]["t.one"] == {
        "silently_accepted": 1,
        "clear": 1,
        "opaque": 1,
    }
    # the legacy name of a silent acceptance is still a failure; an opaque message a warning, listed
    assert [(p["config"], p["cls"]) for p in view["problems"]] == [("groups", "fail"), ("stride", "warn")]
    assert view["problems"][1]["why"] == MARKUP
    assert [c["cls"] for r in view["rows"] for c in r["cells"]] == ["fail", "pass", "warn"]
    page = write_report([tmp_path / "audit"]).read_text(encoding="utf-8")
    assert VERDICTS["opaque"].meaning in page and "integer modulo by zero" in page


def test_unreadable_audit_file_and_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "mode_equivalence.json").write_text("{not json", encoding="utf-8")
    page = write_report([folder]).read_text(encoding="utf-8")
    assert "could not be read" in page
    assert report_cli([str(tmp_path / "empty")]) == 2


def test_audits_next_to_a_run(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "run", buggy_entries(), run_id="with-audits")
    audit_files(folder)
    page = write_report([folder]).read_text(encoding="utf-8")
    assert 'id="findings"' in page and 'id="invalid-inputs"' in page
    assert strict_json(folder / "summary.json")["totals"]["findings"] == 3
