"""``junit.xml``: one ``testsuite`` per target with a ``testcase`` per (case, target) record
(mismatches are ``failure``, error/crash/timeout ``error``, unsupported ``skipped``), and a
``findings`` suite with one ``testcase`` per finding signature: stable names from run to run.

A known finding, and a failing case it explains, is ``skipped`` with ``type="known"`` and the
entry's reason and link as its message (the way pytest writes an xfail); a finding the baseline
holds is ``skipped`` with ``type="baseline"``. A baseline finding now fixed is a passing testcase of
the ``findings`` suite, and the suite's properties count new, known, fixed and stale entries.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

from harness.model.outcomes import OUTCOMES, Outcome
from harness.report.model import Report
from harness.report.recorded import per_dimension, recorded_features
from harness.report.triage import Accepted

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: Any) -> str:
    # Control characters are not representable in XML 1.0 even escaped (framework messages carry ANSI codes).
    return _XML_INVALID.sub("?", "" if text is None else str(text))


def _case_name(rec: dict[str, Any]) -> str:
    case = rec.get("case") or {}

    def dims(key: str) -> list[int]:
        return per_dimension(case.get(key))

    size = "x".join(str(v) for v in dims("input_size"))
    padding = recorded_features(case)["padding"]
    return _xml_text(
        f"line {rec.get('line', '?')}: {case.get('rank', '?')}d {case.get('dtype', '?')} "
        f"C={case.get('in_channels', '?')}->{case.get('out_channels', '?')} g={case.get('groups', '?')} "
        f"L={size} k={dims('kernel_size')} s={dims('stride')} "
        f"d={dims('dilation')} crop={dims('pads_begin')}/{dims('pads_end')} "
        f"op={dims('output_padding')} {padding} seed={case.get('seed', '?')}"
    )


def _result_element(parent: ET.Element, rec: dict[str, Any], accepted: Accepted | None = None) -> None:
    outcome = str(rec.get("outcome"))
    text = _xml_text(rec.get("message"))
    body = f"{text}\nrepro: {_xml_text(rec.get('repro'))}"
    if accepted is not None and outcome in OUTCOMES and Outcome(outcome).failing:
        note = _xml_text(accepted.note)
        ET.SubElement(parent, "skipped", message=note[:500], type=accepted.status).text = f"{note}\n{body}"
    elif outcome in OUTCOMES and Outcome(outcome).junit == "failure":
        ET.SubElement(parent, "failure", message=text[:500], type=outcome).text = body
    elif outcome in OUTCOMES and Outcome(outcome).junit == "error":
        ET.SubElement(
            parent, "error", message=text[:500], type=f"{outcome}:{_xml_text(rec.get('detail'))}"
        ).text = body
    elif outcome == Outcome.UNSUPPORTED:
        ET.SubElement(parent, "skipped", message=text[:500])


def junit(report: Report) -> ET.ElementTree:
    """JUnit XML: a suite per target (a testcase per case) and a ``findings`` suite (one per signature)."""
    root = ET.Element("testsuites", name="convt-harness")
    suites: list[tuple[str, list[dict[str, Any]]]] = [
        (name, [r for r in report.cases if r.get("target") == name]) for name in report.targets
    ]
    for name, records in suites:
        suite = ET.SubElement(root, "testsuite", name=_xml_text(name))
        for rec in records:
            case_el = ET.SubElement(
                suite,
                "testcase",
                name=_case_name(rec),
                classname=_xml_text(f"{rec.get('spec')}.{name}"),
                time=f"{float(rec.get('seconds') or 0.0):.6f}",
            )
            _result_element(case_el, rec, report.triage.case_acceptance(rec))
        _suite_counts(suite, records)
    findings_suite = ET.SubElement(root, "testsuite", name="findings")
    _triage_properties(findings_suite, report)
    for f in report.findings:
        case_el = ET.SubElement(
            findings_suite,
            "testcase",
            name=_xml_text(f.signature),
            classname=_xml_text(f"findings.{f.target}"),
            time="0",
        )
        _result_element(case_el, f.record, report.triage.accepted.get(f.signature))
    for signature in report.triage.fixed:
        case_el = ET.SubElement(
            findings_suite, "testcase", name=_xml_text(signature), classname="findings.fixed", time="0"
        )
        ET.SubElement(case_el, "system-out").text = "fixed: in the baseline, not found now (its target ran)"
    _suite_counts(findings_suite, [f.record for f in report.findings])
    totals: Counter[str] = Counter()
    for suite in root:
        for key in ("tests", "failures", "errors", "skipped"):
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.ElementTree(root)


def _triage_properties(suite: ET.Element, report: Report) -> None:
    result = report.triage
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("new", len(result.new)),
        ("known", len(result.accepted)),
        ("fixed", len(result.fixed)),
        ("stale", len(result.stale)),
    ):
        ET.SubElement(props, "property", name=name, value=str(value))
    for rule in result.stale:
        text = _xml_text(f"{rule.where}: {rule.entry.describe()} (matched no finding)")
        ET.SubElement(props, "property", name="stale_entry", value=text)


def _suite_counts(suite: ET.Element, records: list[dict[str, Any]]) -> None:
    """The suite's counts, from the testcases as written (a known finding is skipped, not failed)."""
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for key, element in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(key, str(sum(1 for c in cases if c.find(element) is not None)))
    suite.set("time", f"{sum(float(r.get('seconds') or 0.0) for r in records):.6f}")
