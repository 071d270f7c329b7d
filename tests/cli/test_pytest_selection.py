"""The pytest plugin as CI runs it: conformance items only when asked for, known findings as
xfails with their reasons, stale entries listed, and ``--lf``, ``-k``, ``-x`` working on the items."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_processes import BUGGY, CORRECT, finish, start

ALL_KNOWN = """\
known:
  - target: test.three_bugs
    reason: "deliberate <bugs> of the test target"
    link: https://example.org/three-bugs
  - target: torch.nn
    outcome: crash
    reason: an entry that matches nothing here
"""
UNIT_TEST = "def test_a_unit_test():\n    assert True\n"


def _folder(tmp_path: Path, spec_path: Path) -> Path:
    """A checkout-like folder: a unit test under tests/, the spec under specs/."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_unit.py").write_text(UNIT_TEST, encoding="utf-8")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / spec_path.name).write_text(spec_path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "known.yaml").write_text(ALL_KNOWN, encoding="utf-8")
    return tmp_path


def _pytest(folder: Path, *args: str) -> subprocess.Popen[str]:
    options = ["--convt-profile", "ci", "--convt-out", str(folder / "reports")]
    return start(["-m", "pytest", *options, *args], folder)


def _collected(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_conformance_items_only_with_the_flag_or_a_spec_path(tmp_path: Path, spec_path: Path) -> None:
    folder = _folder(tmp_path, spec_path)
    spec = f"specs/{spec_path.name}"
    procs = {
        "plain": _pytest(folder, "--co", "-q", "tests"),
        "flag": _pytest(folder, "--co", "-q", "--convt", "--convt-spec", spec, "--convt-targets", CORRECT),
        "path": _pytest(folder, "--co", "-q", spec, "--convt-targets", f"{CORRECT},{BUGGY}"),
        "folder": _pytest(folder, "--co", "-q", "--convt", "specs", "--convt-targets", CORRECT),
        "dot": _pytest(folder, "--co", "-q", ".", "--convt-targets", CORRECT),
    }
    done = {name: finish(p) for name, p in procs.items()}
    assert _collected(done["plain"]) == ["tests/test_unit.py::test_a_unit_test"], done["plain"].stdout
    item = f"{spec}::conformance[three_bugs_small-{CORRECT}]"
    assert _collected(done["flag"]) == [item], done["flag"].stdout  # no unit test
    assert _collected(done["path"]) == [item, f"{spec}::conformance[three_bugs_small-{BUGGY}]"]
    assert _collected(done["folder"]) == [item]
    # a folder above the specs is not a request for conformance: the unit tests only
    assert _collected(done["dot"]) == ["tests/test_unit.py::test_a_unit_test"], done["dot"].stdout


def test_known_findings_xfail_with_their_reason_and_stale_entries_are_listed(
    tmp_path: Path, spec_path: Path
) -> None:
    folder = _folder(tmp_path, spec_path)
    spec = f"specs/{spec_path.name}"
    junit = folder / "pytest.xml"
    done = finish(
        _pytest(
            folder,
            "-rx",
            spec,
            "--convt-targets",
            BUGGY,
            "--convt-known",
            "known.yaml",
            f"--junitxml={junit}",
        )
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 xfailed" in done.stdout
    assert (
        "deliberate <bugs> of the test target — https://example.org/three-bugs (known.yaml:2)" in done.stdout
    )
    assert "convt: stale known-findings entries" in done.stdout
    assert "known.yaml:5: target=torch.nn outcome=crash (matched no finding of this session)" in done.stdout
    skipped = ET.parse(junit).getroot().find(".//testcase/skipped")
    assert skipped is not None and skipped.get("type") == "pytest.xfail"
    assert "deliberate <bugs> of the test target" in str(skipped.get("message"))
    # items report as they go: a line for each finding, while the item runs
    assert done.stdout.count("(new finding)") == 3


def test_a_bad_known_file_is_a_usage_error(tmp_path: Path, spec_path: Path) -> None:
    folder = _folder(tmp_path, spec_path)
    (folder / "bad.yaml").write_text("known:\n  - target: x\n", encoding="utf-8")
    done = finish(_pytest(folder, "--convt", "--convt-targets", CORRECT, "--convt-known", "bad.yaml"))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "bad.yaml:2: known[0].reason is required but missing" in done.stderr


def test_last_failed_keyword_and_exitfirst_select_items(tmp_path: Path, spec_path: Path) -> None:
    folder = _folder(tmp_path, spec_path)
    spec = f"specs/{spec_path.name}"
    both = f"{BUGGY},{CORRECT}"
    first = finish(_pytest(folder, spec, "--convt-targets", both))
    assert first.returncode == 1 and "1 failed, 1 passed" in first.stdout, first.stdout
    procs = {
        "lf": _pytest(folder, "--lf", spec, "--convt-targets", both),
        "k": _pytest(folder, "-k", "CorrectTarget", spec, "--convt-targets", both),
        "x": _pytest(folder, "-x", spec, "--convt-targets", both),
    }
    done = {name: finish(p) for name, p in procs.items()}
    assert "run-last-failure: rerun previous 1 failure" in done["lf"].stdout, done["lf"].stdout
    assert "1 failed, 1 deselected" in done["lf"].stdout
    assert done["k"].returncode == 0 and "1 passed, 1 deselected" in done["k"].stdout
    assert done["x"].returncode == 1 and "stopping after 1 failures" in done["x"].stdout
    assert "1 failed in" in done["x"].stdout  # the correct item, after the buggy one, never ran
