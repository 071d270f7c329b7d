"""End to end: ``python -m harness run | repro | doctor`` and the subcommands' bad-input exits, each
in a subprocess."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_processes import BUGGY, CORRECT, finish, new_folder, start

from harness.model.case import PER_DIM_FIELDS, Case

REQUIRED_KEYS = {
    "target",
    "framework_version",
    "device",
    "outcome",
    "case",
    "stats",
    "message",
    "minimal",
    "repro",
    "line",
}
EXPECTED_KINDS = {("value_mismatch", "beyond_bound"), ("shape_mismatch", "shape"), ("error", "RuntimeError")}


@dataclasses.dataclass
class CliRuns:
    """The CLI processes of this module, started together."""

    buggy: subprocess.CompletedProcess[str]
    buggy_out: Path
    correct: subprocess.CompletedProcess[str]
    correct_out: Path
    doctor: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, spec_path: Path) -> CliRuns:
    """``run`` with the buggy and the correct target, and ``doctor``, run concurrently."""
    work = {name: new_folder(tmp_path_factory, name) for name in ("buggy", "correct", "doctor")}
    procs = {
        name: start(
            [
                "-m",
                "harness",
                "run",
                "--targets",
                target,
                "--spec",
                str(spec_path),
                "--profile",
                "ci",
                "--out",
                str(work[name] / "out"),
                "--quiet",
            ],
            work[name],
        )
        for name, target in (("buggy", BUGGY), ("correct", CORRECT))
    }
    procs["doctor"] = start(["-m", "harness", "doctor"], work["doctor"])
    done = {name: finish(p) for name, p in procs.items()}
    return CliRuns(
        done["buggy"], work["buggy"] / "out", done["correct"], work["correct"] / "out", done["doctor"]
    )


def _records(out: Path) -> list[dict[str, Any]]:
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_run_with_a_buggy_target_exits_1(cli: CliRuns) -> None:
    assert cli.buggy.returncode == 1, cli.buggy.stderr


def test_run_with_a_correct_target_exits_0(cli: CliRuns) -> None:
    assert cli.correct.returncode == 0, cli.correct.stdout + cli.correct.stderr
    records = _records(cli.correct_out)
    assert records and {r["outcome"] for r in records} == {"pass"}
    assert not (cli.correct_out / "findings").exists()


def test_results_records_have_every_required_key(cli: CliRuns) -> None:
    records = _records(cli.buggy_out)
    # A float case's record has no quantization key (only an int8 case's has one).
    canonical = {f.name for f in dataclasses.fields(Case)} - {"quantization"}
    for number, rec in enumerate(records, start=1):
        assert REQUIRED_KEYS <= set(rec), REQUIRED_KEYS - set(rec)
        assert rec["line"] == number
        assert rec["target"] == "test.three_bugs"
        assert rec["device"] == "cpu" and rec["framework_version"]
        assert isinstance(rec["stats"], dict) and isinstance(rec["message"], str)
        assert isinstance(rec["minimal"], bool)
        assert rec["repro"].startswith("python -m harness repro ") and rec["repro"].endswith(f" {number}")
        assert set(rec["case"]) == canonical
        for key in PER_DIM_FIELDS:
            assert isinstance(rec["case"][key], list) and len(rec["case"][key]) == rec["case"]["rank"]
        Case.from_dict(rec["case"])  # round-trips
    kinds = {(r["outcome"], r["detail"]) for r in records if r["minimal"]}
    assert kinds == EXPECTED_KINDS
    assert sum(r["minimal"] for r in records) == 3


def test_each_finding_has_a_folder(cli: CliRuns) -> None:
    folders = sorted((cli.buggy_out / "findings").iterdir())
    assert len(folders) == 3
    for folder in folders:
        for name in ("case.npz", "snippet.py", "README.txt"):
            assert (folder / name).is_file(), folder / name
        readme = (folder / "README.txt").read_text(encoding="utf-8")
        assert "python -m harness repro" in readme and "python snippet.py" in readme


def test_summary_table_names_the_results(cli: CliRuns) -> None:
    text = cli.buggy.stdout
    for outcome in ("pass", "shape_mismatch", "value_mismatch", "error", "unsupported"):
        assert outcome in text.splitlines()[0]
    assert any(line.startswith("test.three_bugs") for line in text.splitlines())
    assert "3 finding(s)" in text
    assert f"results: {cli.buggy_out / 'results.jsonl'}" in text


def test_repro_reproduces_each_minimal_finding(cli: CliRuns) -> None:
    results = cli.buggy_out / "results.jsonl"
    minimal = [r for r in _records(cli.buggy_out) if r["minimal"]]
    procs = [
        (r, start(["-m", "harness", "repro", str(results), str(r["line"])], cli.buggy_out)) for r in minimal
    ]
    for rec, proc in procs:
        done = finish(proc)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"now:      {rec['outcome']}" in done.stdout
        assert "standalone snippet" in done.stdout and "conv_transpose(" in done.stdout


def test_repro_of_a_missing_line_exits_2(cli: CliRuns) -> None:
    done = finish(
        start(["-m", "harness", "repro", str(cli.buggy_out / "results.jsonl"), "99999"], cli.buggy_out)
    )
    assert done.returncode == 2 and "no record on line 99999" in done.stderr


def test_repro_of_a_recorded_case_over_a_cap_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli.main import main

    results = tmp_path / "results.jsonl"
    case = Case.make(input_size=2).to_dict() | {"stride": [10**9]}
    results.write_text(
        json.dumps(
            {
                "line": 1,
                "target": "test.correct",
                "spec": "s",
                "outcome": "pass",
                "minimal": False,
                "case": case,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    assert main(["repro", str(results), "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {results}:1: the recorded case is not one the harness runs: stride[0] is 1000000000"
    )
    assert "(rule max_extent)" in err


@pytest.mark.parametrize(
    ("spec_text", "targets", "message"),
    [
        (
            "name: broken\nrank: 1\nmax_elements: 64\nbatch: {min: 1, max: 1\n",
            "CORRECT",
            "broken.yaml:5: malformed YAML",
        ),
        (
            "name: broken\nrank: 1\nmax_elements: 64\nkernal_size: {min: 1, max: 3}\n",
            "CORRECT",
            "broken.yaml:4: kernal_size is not a known key",
        ),
        (None, "no.such.module:Target", "cannot load target 'no.such.module:Target'"),
        (None, "torch.nnn", "unknown target 'torch.nnn'; known: torch.nn,"),
    ],
)
def test_bad_input_exits_2_with_the_rule_and_writes_nothing(
    tmp_path: Path, spec_path: Path, spec_text: str | None, targets: str, message: str
) -> None:
    spec = spec_path
    if spec_text is not None:
        spec = tmp_path / "broken.yaml"
        spec.write_text(spec_text, encoding="utf-8")
    out = tmp_path / "out"
    target = "tests.targets_for_tests:CorrectTarget" if targets == "CORRECT" else targets
    done = finish(
        start(
            ["-m", "harness", "run", "--targets", target, "--spec", str(spec), "--quiet", "--out", str(out)],
            tmp_path,
        )
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists(), "a run folder was left behind for input that never ran"


@pytest.mark.parametrize(
    "command",
    [
        ["audit-docs", "--targets", "torch.functionall"],
        ["audit-invalid", "--targets", "torch.functional,torch.functionall"],
        ["port", "torch.nn.ConvTranspose1d(4, 4, 3)", "--input-shape", "1,4,6", "--to", "torch.functionall"],
    ],
)
def test_a_mistyped_target_in_audits_and_port_exits_2(tmp_path: Path, command: list[str]) -> None:
    done = finish(start(["-m", "harness", *command, "--out", str(tmp_path / "out")], tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: unknown target 'torch.functionall'")
    assert not (tmp_path / "out").exists()


def test_doctor_lists_the_torch_targets(cli: CliRuns) -> None:
    assert cli.doctor.returncode == 0, cli.doctor.stderr
    lines = cli.doctor.stdout.splitlines()
    for name in ("torch.nn", "torch.functional", "torch.nn.output_size"):
        assert any(line.split()[0] == name for line in lines), cli.doctor.stdout
