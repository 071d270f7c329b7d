"""How commands end when something is wrong: an ordinary mistake (a folder that is a file, a folder
that is not a run, a damaged ``run.json``, results file or baseline, a missing line, an unknown
profile) is one line on stderr and exit 2; the harness's own failure is one line with its type and
message plus the path of the log holding the traceback, exit 3; a full disk says so and what was
kept. No traceback ever reaches the terminal."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from cli_processes import CORRECT, finish, start
from targets_for_tests import write_spec

import harness.files
from harness.cli.exitcodes import ExitCode
from harness.cli.main import main
from harness.engine.profiles import PROFILE_ENV


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    return _one_line_error(err)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """The small test spec."""
    return write_spec(tmp_path)


def _run_argv(spec: Path, out: Path) -> list[str]:
    return ["run", "--targets", CORRECT, "--spec", str(spec), "--out", str(out), "--quiet"]


# --- exit 2: ordinary mistakes ------------------------------------------------------------------


def test_out_that_is_a_file(tmp_path: Path, spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me", encoding="utf-8")
    line = _usage_error(_run_argv(spec, afile), capsys)
    assert f"--out {afile} is a file, not a folder" in line
    line = _usage_error(_run_argv(spec, afile / "sub"), capsys)
    assert f"--out {afile / 'sub'}: cannot write there" in line
    assert afile.read_text(encoding="utf-8") == "keep me"


def test_out_that_cannot_be_written(
    tmp_path: Path, spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read-only folder, as the probe write sees it (root writes anywhere, so it is simulated)."""

    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(harness.files.tempfile, "TemporaryFile", refused)
    line = _usage_error(_run_argv(spec, tmp_path / "ro"), capsys)
    assert f"--out {tmp_path / 'ro'}: cannot write there (Permission denied)" in line
    line = _usage_error(["audit-docs", "--targets", CORRECT, "--out", str(tmp_path / "ro2")], capsys)
    assert "--out" in line and "Permission denied" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder(tmp_path: Path, spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert "cannot write there" in _usage_error(_run_argv(spec, locked / "out"), capsys)
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize(
    ("run_json", "message"),
    [
        (None, "no run.json, not a run folder"),
        ("{bad", "run.json: damaged, the run cannot be resumed: Expecting property name"),
        ("[1, 2]", "run.json: damaged, the run cannot be resumed: it holds a JSON list"),
        ('{"run_id": "x"}', "run.json: damaged, the run cannot be resumed: 'profile' is missing"),
        (b"\xff\xfe", "run.json: damaged, the run cannot be resumed"),
    ],
)
def test_resume_of_a_folder_that_is_not_a_run(
    tmp_path: Path, run_json: str | bytes | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    if isinstance(run_json, bytes):
        (folder / "run.json").write_bytes(run_json)
    elif run_json is not None:
        (folder / "run.json").write_text(run_json, encoding="utf-8")
    assert message in _usage_error(["run", "--resume", str(folder)], capsys)
    assert "no such folder" in _usage_error(["run", "--resume", str(tmp_path / "nowhere")], capsys)


def _good_run_json(spec: Path) -> dict[str, object]:
    return {
        "run_id": "r",
        "status": "running",
        "profile": "ci",
        "device": "cpu",
        "specs": [str(spec)],
        "target_names": [CORRECT],
        "seed": 1,
        "targets": {},
        "isolate": False,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"profile": "weekly"}, "'profile' 'weekly' is not one of"),
        ({"seed": "x"}, "'seed' must be an integer seed"),
        ({"case_timeout": 0}, "case timeout must be a finite number of seconds > 0"),
    ],
)
def test_resume_of_a_damaged_run_json(
    tmp_path: Path, spec: Path, change: dict[str, object], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({**_good_run_json(spec), **change}), encoding="utf-8")
    assert message in _usage_error(["run", "--resume", str(folder)], capsys)


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (b"[1]\n", "line 1 (not a JSON object but list)"),
        (b'{"target": "t", "outcome": "pass"}\n', "line 1 (missing key 'spec')"),
        (
            b'{"target": "t", "spec": "s", "outcome": "pass", "minimal": false, "case": {"rank": 9}}\n',
            "line 1 (case: ",
        ),
        (b"\xff\n", "line 1 (not UTF-8 text)"),
    ],
)
def test_resume_skips_and_names_a_damaged_result_line(
    tmp_path: Path, spec: Path, results: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps(_good_run_json(spec)), encoding="utf-8")
    (folder / "results.jsonl").write_bytes(results)
    assert main(["run", "--resume", str(folder), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"1 damaged line skipped: {message}" in err and "Traceback" not in err
    written = (folder / "results.jsonl").read_bytes()
    assert written.startswith(results) and len(written.splitlines()) > 1  # the run went on after it


def test_an_unknown_profile_in_the_environment(
    tmp_path: Path, spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PROFILE_ENV, "weekly")
    line = _usage_error(_run_argv(spec, tmp_path / "out"), capsys)
    assert "CONVT_HYPOTHESIS_PROFILE='weekly' is not a profile; set it to one of dev, ci, nightly" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (None, 1, "no such results file"),
        (b"\xff\xfe", 1, "line 1 is damaged (not UTF-8 text)"),
        (b'{"line": 1}\n', 1, "line 1 is damaged (missing key 'target')"),
        (
            b'{"line": 1, "target": "test.correct", "spec": "s", "outcome": "pass", "minimal": false}\n',
            1,
            "line 1 is damaged (missing key 'case')",
        ),
        (
            b'{"line": 1, "target": "test.correct", "spec": "s", "outcome": "pass", "minimal": false, '
            b'"case": {"rank": 1}}\n',
            1,
            ":1: the recorded case is not one the harness runs: ",
        ),
        (b'[1, 2]\n{"line": 1, "target": "x"}\n', 7, "no record on line 7"),
    ],
)
def test_repro_of_a_bad_results_file_or_line(
    tmp_path: Path, content: bytes | None, line: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.jsonl"
    if content is not None:
        results.write_bytes(content)
    assert message in _usage_error(["repro", str(results), str(line)], capsys)
    assert "is a folder" in _usage_error(["repro", str(tmp_path), "1"], capsys)


def _report_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2, captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err
    return captured.out


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ("{bad", "not a readable summary.json"),
        ("[1, 2]", "it holds a JSON list, not an object"),
        ('{"findings": [{"x": 1}]}', "each of its 'findings' must be an object with a 'signature'"),
        ('{"findings": 3}', "'findings' must be a list"),
    ],
)
def test_report_with_a_damaged_baseline(
    tmp_path: Path, summary: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "summary.json").write_text(summary, encoding="utf-8")
    out = _report_error(["report", str(run), "--baseline", str(tmp_path / "summary.json")], capsys)
    assert f"--baseline {tmp_path / 'summary.json'}" in out and message in out


def test_report_on_a_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no such folder" in _report_error(["report", str(tmp_path / "nowhere")], capsys)
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert "no such folder" in _report_error(["report", str(tmp_path / "afile")], capsys)
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "results.jsonl").mkdir()  # not a file: nothing to read record by record
    assert "cannot read the results file" in _report_error(["report", str(unreadable)], capsys)


def test_report_skips_records_that_are_not_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.jsonl").write_text('[1]\n{"target": 1, "outcome": []}\n', encoding="utf-8")
    (run / "run.json").write_text("[1]", encoding="utf-8")
    assert main(["report", str(run)]) == ExitCode.NOTHING_JUDGED  # no record left: nothing was judged
    assert (run / "report.html").is_file()


# --- exit 3: the harness's own failure, and a full disk -----------------------------------------

#: Runs ``python -m harness ARGV`` after the patch given as the first argument (Python source).
PATCHED_MAIN = """\
import sys
exec(sys.argv[1])
from harness.cli.main import main
sys.exit(main(sys.argv[2:]))
"""
BUG_IN_THE_RUN = """\
import harness.engine.run
def broken(**kwargs):
    raise KeyError("boom\\x1b[31m")
harness.engine.run.run_target_spec = broken
"""
DISK_FILLS_UP = """\
import errno
from harness.engine import results
real = results.ResultsWriter.write
def write(self, record):
    if self.lines >= 5:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
    return real(self, record)
results.ResultsWriter.write = write
"""
BUG_IN_DOCTOR = """\
import adapters.registry
def broken():
    raise RuntimeError("no idea")
adapters.registry.availability = broken
"""
REPORT_DISK_FULL = """\
import errno
import harness.report.write
def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "report.html")
harness.report.write.save_report = full
"""


def _patched(tmp_path: Path, patch: str, *argv: str) -> tuple[int, str, str]:
    done = finish(start(["-c", PATCHED_MAIN, patch, *argv], tmp_path))  # with a private findings store
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def child_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The children's temporary folder: a log written there is found (and removed) with the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def test_a_bug_in_a_run_is_one_line_and_its_traceback_is_in_the_run_folder(
    tmp_path: Path, spec: Path, child_tmp: Path
) -> None:
    out = tmp_path / "out"
    status, _, err = _patched(tmp_path, BUG_IN_THE_RUN, *_run_argv(spec, out))
    assert status == 3, err
    line = _one_line_error(err)
    assert line.startswith("error: internal error, KeyError: 'boom\\x1b[31m'")  # escaped, one line
    assert f"continue the run with: python -m harness run --resume {out}" in line
    log = out / "harness-error.log"
    assert line.endswith(f"(full traceback: {log})")
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "KeyError" in text and "broken" in text


def test_a_bug_outside_a_run_logs_to_the_temporary_folder(tmp_path: Path, child_tmp: Path) -> None:
    status, _, err = _patched(tmp_path, BUG_IN_DOCTOR, "doctor")
    assert status == 3, err
    line = _one_line_error(err)
    assert line.startswith("error: internal error, RuntimeError: no idea (full traceback: ")
    (log,) = child_tmp.glob("convt-harness-error-*.log")
    assert str(log) in line and "RuntimeError: no idea" in log.read_text(encoding="utf-8")


def test_a_full_disk_during_a_run_says_so_and_the_run_resumes(
    tmp_path: Path, spec: Path, child_tmp: Path
) -> None:
    out = tmp_path / "out"
    status, _, err = _patched(tmp_path, DISK_FILLS_UP, *_run_argv(spec, out), "--profile", "ci")
    assert status == 3, err
    line = _one_line_error(err)
    assert line.startswith(
        f"error: the disk is full (no space left on device) while writing {out / 'results.jsonl'}"
    )
    assert f"5 result(s) kept in {out / 'results.jsonl'}" in line
    assert f"python -m harness run --resume {out}" in line
    assert len((out / "results.jsonl").read_text(encoding="utf-8").splitlines()) == 5
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["status"] == "running"
    resumed = finish(start(["-m", "harness", "run", "--resume", str(out), "--quiet"], tmp_path))
    assert resumed.returncode == 0, resumed.stderr
    records = [json.loads(raw) for raw in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) > 5 and [r["line"] for r in records] == list(range(1, len(records) + 1))
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["status"] == "complete"


def test_a_full_disk_while_writing_the_report_says_the_run_is_complete(
    tmp_path: Path, spec: Path, child_tmp: Path
) -> None:
    out = tmp_path / "out"
    status, stdout, err = _patched(tmp_path, REPORT_DISK_FULL, *_run_argv(spec, out), "--profile", "ci")
    assert status == 3, err
    line = _one_line_error(err)
    assert "the disk is full" in line and "while writing report.html" in line
    assert "the run is complete" in line and f"python -m harness report {out}" in line
    assert "results:" in stdout  # the summary was printed before


def test_a_full_disk_outside_a_run_says_what_was_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import harness.cli.report

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "report.html"))

    run = tmp_path / "run"
    run.mkdir()
    (run / "results.jsonl").write_text("", encoding="utf-8")
    monkeypatch.setattr(harness.cli.report, "save_report", full)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    assert main(["report", str(run)]) == 3
    line = _one_line_error(capsys.readouterr().err)
    assert "the disk is full (no space left on device) while writing" in line
    assert "files written before it are kept" in line


def test_the_cli_module_of_report_ends_the_same_way(tmp_path: Path) -> None:
    done = finish(start(["-m", "harness.cli.report", str(tmp_path / "nowhere")], tmp_path))
    assert done.returncode == 2 and "no such folder" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
