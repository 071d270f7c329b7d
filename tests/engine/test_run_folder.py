"""A run folder has one writer and keeps every finding's folder: the lock (two processes), the
refusal of a folder that already holds a run, finding folders written before their records and
rebuilt by ``--resume``, damaged result lines skipped by ``--resume``, and messages kept short."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from in_process_runs import run_in_process
from targets_for_tests import LOUD_CHARACTERS, THREE_BUGS_SPEC

import harness.engine.artefacts as artefacts
from harness.cli.main import main
from harness.engine.results import read_results
from harness.engine.run import resume

ROOT = Path(__file__).resolve().parents[2]
SLOW = "tests.targets_for_tests:SlowTarget"
BUGGY = "tests.targets_for_tests:ThreeBugTarget"
LOUD = "tests.targets_for_tests:LoudTarget"
# bias=False: ThreeBugTarget raises, so the run's first finding comes from a pinned case, outside
# Hypothesis (an exception raised by the test's own code there would be shrunk as a failure).
PINNED = (
    "pinned:\n  - {source: test, in_channels: 1, out_channels: 1, input_size: 2, kernel_size: 2, "
    "bias: false, dtype: float64}\n"
)


#: What every finding folder holds, and how long a record's message may be (README.md).
FINDING_FILES = ("case.json", "case.npz", "snippet.py", "README.txt")
MESSAGE_LIMIT = 4000


class Cut(BaseException):
    """Stands for the process dying at this point (SIGKILL, a full disk): nothing catches it."""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "three_bugs_small.yaml"
    path.write_text(THREE_BUGS_SPEC + PINNED, encoding="utf-8")
    return path


def _run(spec: Path, out: Path | None, target: str = BUGGY) -> None:
    run_in_process([spec], target, out)


def _minimal(out: Path) -> list[dict]:
    return [r for r in read_results(out / "results.jsonl") if r["minimal"]]


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        CONVT_FINDINGS_DB=str(tmp_path / "store.jsonl"),
        HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / "hyp"),
    )


def _lock(folder: Path) -> int:
    """Take the run folder's lock as a run does; the descriptor, to close (None when it is held)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "run.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    return fd


def _harness(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- the lock ---------------------------------------------------------------------------------


def test_a_second_run_or_resume_into_a_busy_folder_exits_2_at_once(tmp_path: Path, spec: Path) -> None:
    out = tmp_path / "run"
    # nightly: 2000 cases of 50 ms, far longer than the test; killed below
    command = ["run", "--targets", SLOW, "--spec", str(spec), "--profile", "nightly", "--out", str(out)]
    first = subprocess.Popen(
        [sys.executable, "-m", "harness", *command, "--quiet"],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        results = out / "results.jsonl"
        deadline = time.monotonic() + 240
        while not (results.exists() and read_results(results)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the first run ended before the test could overlap it"
        for args in (
            ["run", "--targets", SLOW, "--spec", str(spec), "--out", str(out), "--quiet"],
            ["run", "--resume", str(out), "--quiet"],
        ):
            started = time.monotonic()
            second = _harness(tmp_path, *args)
            assert second.returncode == 2, second.stderr
            assert f"process {first.pid}" in second.stderr and "another --out" in second.stderr
            assert "Traceback" not in second.stderr
            assert first.poll() is None, "the second command waited for the first run to end"
            assert time.monotonic() - started < 60
        os.kill(first.pid, signal.SIGKILL)  # the run alone: its worker must not hold the lock either
        first.wait(timeout=60)
        os.close(_lock(out))  # SIGKILL released it
        lines = [r["line"] for r in read_results(results)]
        assert lines == list(range(1, len(lines) + 1)), "a line number was written twice"
        assert json.loads((out / "run.json").read_text())["target_names"] == [SLOW]
    finally:
        try:
            os.killpg(first.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        first.wait(timeout=60)


def test_a_locked_folder_is_refused_before_anything_is_written_and_free_after_a_run(
    tmp_path: Path, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    fd = _lock(out)
    os.write(fd, b"4242 python -m harness run --out elsewhere\n")
    try:
        args = ["run", "--targets", BUGGY, "--spec", str(spec), "--out", str(out), "--quiet", "--in-process"]
        assert main(args) == 2
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert "another run is writing into this folder (process 4242: python -m harness run" in err
    assert sorted(p.name for p in out.iterdir()) == ["run.lock"]
    _run(spec, out)
    os.close(_lock(out))  # released when the run returned


# --- a folder that already holds a run --------------------------------------------------------


@pytest.mark.parametrize("present", ["run.json", "results.jsonl"])
def test_a_new_run_into_a_folder_of_another_run_is_refused(
    tmp_path: Path, spec: Path, present: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / present).write_text('{"run_id": "earlier"}\n', encoding="utf-8")
    status = main(
        ["run", "--targets", BUGGY, "--spec", str(spec), "--out", str(out), "--quiet", "--in-process"]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert f"--resume {out}" in err and "another --out" in err and present in err
    assert sorted(p.name for p in out.iterdir()) == sorted([present, "run.lock"])
    assert (out / present).read_text(encoding="utf-8") == '{"run_id": "earlier"}\n'


def test_runs_without_out_started_in_the_same_second_get_folders_of_their_own(
    tmp_path: Path, spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("harness.engine.run.new_run_id", lambda: "20240101-000000")
    _run(spec, None, SLOW.replace("Slow", "Correct"))
    _run(spec, None, SLOW.replace("Slow", "Correct"))
    folders = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert folders == ["20240101-000000", "20240101-000000-2"]
    for name in folders:
        lines = [r["line"] for r in read_results(tmp_path / "reports" / name / "results.jsonl")]
        assert lines == list(range(1, len(lines) + 1))


# --- finding folders --------------------------------------------------------------------------


def _assert_complete(out: Path) -> None:
    minimal = _minimal(out)
    assert minimal
    for rec in minimal:
        folder = out / rec["finding_dir"]
        assert not [n for n in FINDING_FILES if not (folder / n).is_file()], rec["finding_dir"]
    named = {Path(r["finding_dir"]).name for r in minimal}
    assert {p.name for p in (out / "findings").iterdir()} == named, "a stray or temporary folder"


def test_a_run_cut_while_writing_a_finding_resumes_with_every_finding_folder(
    tmp_path: Path, spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    real = artefacts._snippet

    def cut(*args: object, **kwargs: object) -> object:
        monkeypatch.setattr(artefacts, "_snippet", real)
        raise Cut  # after case.npz and case.json, before snippet.py and README.txt

    monkeypatch.setattr(artefacts, "_snippet", cut)
    with pytest.raises(Cut):
        _run(spec, out)
    resume(out, progress=False, store=None)
    _assert_complete(out)
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_resume_rebuilds_a_missing_or_incomplete_finding_folder(tmp_path: Path, spec: Path) -> None:
    out = tmp_path / "run"
    _run(spec, out)
    minimal = _minimal(out)
    value = next(r for r in minimal if r["outcome"] == "value_mismatch")
    gone = next(r for r in minimal if r is not value)
    arrays = (out / value["finding_dir"] / "arrays.npz").read_bytes()
    shutil.rmtree(out / gone["finding_dir"])
    (out / value["finding_dir"] / "snippet.py").unlink()
    (out / value["finding_dir"] / "README.txt").unlink()
    # a record whose finding_dir leads out of the run folder makes resume write nothing there
    (out / "results.jsonl").open("a").write(json.dumps(dict(gone, finding_dir="../escaped")) + "\n")

    (out / "findings" / ".00099-test.three_bugs-error.4242.tmp").mkdir()  # a killed run's, half-written
    resume(out, progress=False, store=None)
    assert not (out / "findings" / ".00099-test.three_bugs-error.4242.tmp").exists()
    for rec in (gone, value):
        folder = out / rec["finding_dir"]
        assert not [n for n in FINDING_FILES if not (folder / n).is_file()]
        assert "rebuilt by `python -m harness run --resume`" in (folder / "README.txt").read_text()
        assert json.loads((folder / "case.json").read_text()) == rec["case"]
    assert (out / value["finding_dir"] / "arrays.npz").read_bytes() == arrays  # kept, not lost
    assert f"results.jsonl {gone['line']}" in (out / gone["finding_dir"] / "README.txt").read_text()
    assert not (tmp_path / "escaped").exists()


# --- damaged result lines ---------------------------------------------------------------------

DAMAGE = {
    "bytes": b"\xff\xfe\x00 \x80garbage",
    "empty object": b"{}",
    "wrong types": b'{"target": 3, "spec": [], "outcome": "pass", "case": "x", "minimal": "no"}',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of ThreeBugTarget, to damage copies of."""
    folder = tmp_path_factory.mktemp("finished")
    spec = folder / "three_bugs_small.yaml"
    spec.write_text(THREE_BUGS_SPEC + PINNED, encoding="utf-8")
    _run(spec, folder / "run")
    return folder / "run"


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_resume_skips_and_names_damaged_lines(
    tmp_path: Path, finished: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    lines = (out / "results.jsonl").read_bytes().split(b"\n")
    lines[4:6] = [DAMAGE[damage], DAMAGE[damage]]  # lines 5 and 6 replaced
    (out / "results.jsonl").write_bytes(b"\n".join(lines))
    lost = read_results(finished / "results.jsonl")[4:6]

    resume(out, progress=False, store=None)
    err = capsys.readouterr().err
    assert "2 damaged lines skipped: lines 5 (" in err and "), 6 (" in err
    after = read_results(out / "results.jsonl")
    # the two cases whose records were damaged are judged again, and recorded after the others
    cases = [json.dumps(r["case"], sort_keys=True) for r in after if not r["minimal"]]
    for rec in lost:
        if not rec["minimal"]:
            assert json.dumps(rec["case"], sort_keys=True) in cases
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


# --- long messages ----------------------------------------------------------------------------


def test_messages_are_shortened_in_records_and_kept_whole_in_the_finding_folder(
    tmp_path: Path, spec: Path
) -> None:
    out = tmp_path / "run"
    _run(spec, out, LOUD)
    records = read_results(out / "results.jsonl")
    assert len(records) > 50
    for rec in records:
        assert len(rec["message"]) < MESSAGE_LIMIT + 200
        assert rec["message"].startswith("RuntimeError: state dump xxx")
    (finding,) = [r for r in records if r["minimal"]]
    full = (out / finding["finding_dir"] / "message.txt").read_text(encoding="utf-8")
    assert "state dump " + "x" * (LOUD_CHARACTERS - 11) in full
    left = len(full) - MESSAGE_LIMIT
    assert finding["message"] == (
        f"{full[:MESSAGE_LIMIT]}… ({left} more characters; full text in {finding['finding_dir']}/message.txt)"
    )
    ordinary = next(r for r in records if not r["minimal"])
    assert ordinary["message"].endswith(f"… ({left} more characters)")
    assert (out / "results.jsonl").stat().st_size < len(records) * 20_000
