"""A report triaged against a known-findings file and a baseline: new, known, fixed and stale, in
summary.json, junit.xml, the page's banner and the exit status of ``report``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_runs import PASSING, Entry, buggy_entries, make_run, parse_html, report_cli, strict_json
from targets_for_tests import CorrectTarget

from harness.cli.exitcodes import ExitCode

KNOWN = """\
known:
  - target: test.three_bugs
    outcome: value_mismatch
    features: [groups>1]
    reason: "the groups bug <b>is</b> deliberate"
    link: "https://example.org/issues/7?a=1&b=2"
  - target: test.three_bugs
    outcome: error
    reason: bias=False raises
  - target: torch.nn
    outcome: crash
    reason: an old crash
"""


@pytest.fixture
def known_file(tmp_path: Path) -> Path:
    path = tmp_path / "known.yaml"
    path.write_text(KNOWN, encoding="utf-8")
    return path


def _signatures(folder: Path) -> dict[str, str]:
    return {f["kind"]: f["signature"] for f in strict_json(folder / "summary.json")["findings"]}


def test_known_findings_are_not_new_and_stale_entries_are_listed(
    tmp_path: Path, known_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path / "run", buggy_entries(), run_id="run")
    assert report_cli([str(run), "--known", str(known_file)]) == ExitCode.NEW_FINDINGS  # the shape bug
    out = capsys.readouterr().out
    assert "1 new, 2 known, 0 fixed finding(s); 1 stale known-findings entry" in out
    assert f"stale  {known_file}:10: target=torch.nn outcome=crash" in out
    summary = strict_json(run / "summary.json")
    sigs = _signatures(run)
    assert summary["triage"]["new"] == [sigs["shape"]]
    assert {k["signature"] for k in summary["triage"]["known"]} == {sigs["value"], sigs["error"]}
    assert [s["where"] for s in summary["triage"]["stale"]] == [f"{known_file}:10"]
    status = {f["kind"]: (f["status"], f["known"]) for f in summary["findings"]}
    assert status["shape"] == ("new", None)
    assert status["value"] == (
        "known",
        f"known ({known_file}:2): the groups bug <b>is</b> deliberate — https://example.org/issues/7?a=1&b=2",
    )


def test_junit_skips_known_findings_and_their_cases_with_the_reason(tmp_path: Path, known_file: Path) -> None:
    run = make_run(tmp_path / "run", buggy_entries(), run_id="run")
    report_cli([str(run), "--known", str(known_file)])
    root = ET.parse(run / "junit.xml").getroot()
    findings = next(s for s in root if s.get("name") == "findings")
    by_name = {c.get("name"): c for c in findings.findall("testcase")}
    sigs = _signatures(run)
    value = by_name[sigs["value"]].find("skipped")
    assert value is not None and value.get("type") == "known"
    assert "the groups bug <b>is</b> deliberate" in str(value.get("message"))
    assert by_name[sigs["shape"]].find("failure") is not None  # new: still a failure
    assert findings.get("failures") == "1" and findings.get("skipped") == "2"
    props = {p.get("name"): p.get("value") for p in findings.iter("property")}
    assert (props["new"], props["known"], props["fixed"], props["stale"]) == ("1", "2", "0", "1")
    bugs = next(s for s in root if s.get("name") == "test.three_bugs")
    kinds = [(c.find("skipped"), c.find("failure"), c.find("error")) for c in bugs.findall("testcase")]
    skipped = [s for s, _, _ in kinds if s is not None and s.get("type") == "known"]
    assert len(skipped) == 5  # the three value cases and the two error cases: known
    assert all("known (" in str(s.get("message")) for s in skipped)
    assert sum(1 for _, f, _ in kinds if f is not None) == 2  # the shape cases: the new finding
    assert sum(1 for _, _, e in kinds if e is not None) == 0
    assert root.get("failures") == "3" and root.get("errors") == "0"


def test_the_banner_says_new_known_fixed_stale_and_escapes_reasons(tmp_path: Path, known_file: Path) -> None:
    old = make_run(tmp_path / "old", buggy_entries(shape=False), run_id="old")
    run = make_run(tmp_path / "run", buggy_entries(error=False), run_id="run")
    status = report_cli([str(run), "--known", str(known_file), "--baseline", str(old)])
    assert status == ExitCode.NEW_FINDINGS  # the shape bug: neither known nor in the baseline
    html = (run / "report.html").read_text(encoding="utf-8")
    assert 'id="triage">1 new · 1 known · 1 fixed · 2 stale known-findings entries' in html
    assert '<div class="banner bad" id="findings-banner">' in html  # a new finding: red
    assert "the groups bug &lt;b&gt;is&lt;/b&gt; deliberate" in html and "<b>is</b>" not in html
    # and on the finding itself
    assert '<p class="known"><b>Known</b> the groups bug &lt;b&gt;is&lt;/b&gt; deliberate' in html
    links = [
        a
        for tag, a in parse_html(run / "report.html").tags
        if tag == "a" and "example.org" in str(a.get("href"))
    ]
    assert links and all(a["href"] == "https://example.org/issues/7?a=1&b=2" for a in links)


def test_report_exits_0_when_every_finding_is_known_or_in_the_baseline(
    tmp_path: Path, known_file: Path
) -> None:
    old = make_run(tmp_path / "old", buggy_entries(value=False, error=False), run_id="old")  # shape only
    run = make_run(tmp_path / "run", buggy_entries(), run_id="run")
    assert report_cli([str(run), "--known", str(known_file), "--baseline", str(old)]) == ExitCode.OK
    summary = strict_json(run / "summary.json")
    assert summary["triage"]["new"] == []
    assert {f["status"] for f in summary["findings"]} == {"known", "baseline"}
    html = (run / "report.html").read_text(encoding="utf-8")
    banner = '<div class="banner warn" id="findings-banner">'
    assert banner in html and "every one already known or in the baseline</div>" in html
    assert report_cli([str(run), "--known", str(known_file), "--fail-on", "any"]) == ExitCode.NEW_FINDINGS


def test_report_exits_2_on_a_bad_known_file_and_4_when_nothing_was_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path / "run", [Entry(CorrectTarget(), c) for c in PASSING], run_id="run")
    bad = tmp_path / "bad.yaml"
    bad.write_text("known:\n  - target: x\n", encoding="utf-8")
    assert report_cli([str(run), "--known", str(bad)]) == ExitCode.USAGE
    assert f"{bad}:2: known[0].reason is required but missing" in capsys.readouterr().out
    assert not (run / "report.html").exists()  # nothing written
    assert report_cli([str(run)]) == ExitCode.OK
    empty = make_run(tmp_path / "empty", [], run_id="empty", unavailable={"tensorrt": "not installed"})
    assert report_cli([str(empty)]) == ExitCode.NOTHING_JUDGED
