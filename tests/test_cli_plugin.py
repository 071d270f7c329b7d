"""End to end: ``python -m harness run | repro | doctor`` and the pytest plugin, each in a subprocess."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from targets_for_tests import write_spec

from harness.model.case import PER_DIM_FIELDS, Case

ROOT = Path(__file__).resolve().parent.parent
BUGGY = "tests.targets_for_tests:ThreeBugTarget"
CORRECT = "tests.targets_for_tests:CorrectTarget"
TIMEOUT = 300
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


def _env(tmp: Path) -> dict[str, str]:
    """The child environment: the repository importable, a private findings store, no outer pytest/CI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k not in ("CI", "COV_CORE")}
    env.pop("CONVT_HYPOTHESIS_PROFILE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["CONVT_FINDINGS_DB"] = str(tmp / "findings-store.jsonl")
    env["OPENBLAS_THREAD_TIMEOUT"] = "4"
    return env


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(cwd),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _folder(factory: pytest.TempPathFactory, name: str) -> Path:
    return factory.mktemp(name)


# --- the CLI -------------------------------------------------------------------------------------


@dataclasses.dataclass
class CliRuns:
    """The CLI processes of this module, started together."""

    buggy: subprocess.CompletedProcess[str]
    buggy_out: Path
    correct: subprocess.CompletedProcess[str]
    correct_out: Path
    doctor: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small spec in which ThreeBugTarget's three bugs show."""
    return write_spec(_folder(tmp_path_factory, "spec"))


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, spec_path: Path) -> CliRuns:
    """``run`` with the buggy and the correct target, and ``doctor``, run concurrently."""
    work = {name: _folder(tmp_path_factory, name) for name in ("buggy", "correct", "doctor")}
    procs = {
        name: _start(
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
    procs["doctor"] = _start(["-m", "harness", "doctor"], work["doctor"])
    done = {name: _finish(p) for name, p in procs.items()}
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
    canonical = {f.name for f in dataclasses.fields(Case)}
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
        (r, _start(["-m", "harness", "repro", str(results), str(r["line"])], cli.buggy_out)) for r in minimal
    ]
    for rec, proc in procs:
        done = _finish(proc)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"now:      {rec['outcome']}" in done.stdout
        assert "standalone snippet" in done.stdout and "conv_transpose(" in done.stdout


def test_repro_of_a_missing_line_exits_2(cli: CliRuns) -> None:
    done = _finish(
        _start(["-m", "harness", "repro", str(cli.buggy_out / "results.jsonl"), "99999"], cli.buggy_out)
    )
    assert done.returncode == 2 and "no record on line 99999" in done.stderr


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
    done = _finish(
        _start(
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
    done = _finish(_start(["-m", "harness", *command, "--out", str(tmp_path / "out")], tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: unknown target 'torch.functionall'")
    assert not (tmp_path / "out").exists()


def test_doctor_lists_the_torch_targets(cli: CliRuns) -> None:
    assert cli.doctor.returncode == 0, cli.doctor.stderr
    lines = cli.doctor.stdout.splitlines()
    for name in ("torch.nn", "torch.functional", "torch.nn.output_size"):
        assert any(line.split()[0] == name for line in lines), cli.doctor.stdout


# --- the pytest plugin ---------------------------------------------------------------------------


def _pytest(folder: Path, spec: Path, targets: str, *extra: str) -> subprocess.Popen[str]:
    (folder / "tests").mkdir(exist_ok=True)  # an empty test folder
    return _start(
        [
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--convt-targets",
            targets,
            "--convt-spec",
            str(spec),
            "--convt-profile",
            "ci",
            "--convt-out",
            str(folder / "reports"),
            *extra,
            "tests",
        ],
        folder,
    )


@dataclasses.dataclass
class PluginRuns:
    """The pytest processes of this module, started together."""

    buggy: subprocess.CompletedProcess[str]
    correct: subprocess.CompletedProcess[str]
    xdist: subprocess.CompletedProcess[str]
    xdist_out: Path
    collected: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory, spec_path: Path) -> PluginRuns:
    """The plugin on an empty test folder: buggy, correct, both under ``-n 2``, and collect-only."""
    pytest.importorskip("xdist")
    work = {name: _folder(tmp_path_factory, name) for name in ("pbuggy", "pcorrect", "pxdist", "pcollect")}
    other = work["pcollect"] / "other_small.yaml"
    other.write_text(
        spec_path.read_text(encoding="utf-8").replace("three_bugs_small", "other_small"), encoding="utf-8"
    )
    procs = {
        "buggy": _pytest(work["pbuggy"], spec_path, BUGGY),
        "correct": _pytest(work["pcorrect"], spec_path, CORRECT),
        "xdist": _pytest(work["pxdist"], spec_path, f"{BUGGY},{CORRECT}", "-n", "2"),
        "collected": _pytest(
            work["pcollect"],
            spec_path,
            f"{BUGGY},{CORRECT}",
            "--convt-spec",
            str(other),
            "--collect-only",
            "-q",
        ),
    }
    done = {name: _finish(p) for name, p in procs.items()}
    return PluginRuns(
        done["buggy"], done["correct"], done["xdist"], work["pxdist"] / "reports", done["collected"]
    )


def test_plugin_collects_one_test_per_spec_and_target(plugin: PluginRuns) -> None:
    out = plugin.collected.stdout
    assert plugin.collected.returncode == 0, out + plugin.collected.stderr
    items = [line for line in out.splitlines() if "conformance[" in line]
    assert len(items) == 4, out
    for stem in ("three_bugs_small", "other_small"):
        for target in (BUGGY, CORRECT):
            assert any(f"conformance[{stem}-{target}]" in line for line in items), out


def test_plugin_fails_showing_minimal_cases_snippets_and_repro(plugin: PluginRuns) -> None:
    out = plugin.buggy.stdout
    assert plugin.buggy.returncode == 1, out + plugin.buggy.stderr
    assert "1 failed" in out
    assert "3 finding(s) for tests.targets_for_tests:ThreeBugTarget" in out
    for kind in ("value_mismatch|beyond_bound", "shape_mismatch|shape", "error|RuntimeError"):
        assert f"test.three_bugs|{kind}" in out
    assert "case: 1d N=1 C=2->2 g=2 L=1 k=[1]" in out  # the groups bug's minimal case
    assert "snippet.py:" in out and "from harness.oracle.reference import conv_transpose" in out
    assert out.count("python -m harness repro ") >= 3


def test_plugin_passes_a_correct_target(plugin: PluginRuns) -> None:
    out = plugin.correct.stdout
    assert plugin.correct.returncode == 0, out + plugin.correct.stderr
    assert "1 passed" in out
    assert "collected 1 item" in out  # the conformance item is counted as collected


def test_plugin_runs_under_xdist(plugin: PluginRuns) -> None:
    out = plugin.xdist.stdout
    assert plugin.xdist.returncode == 1, out + plugin.xdist.stderr
    assert "created: 2/2 workers" in out or "2 workers" in out
    assert "1 failed, 1 passed" in out
    assert "3 finding(s) for tests.targets_for_tests:ThreeBugTarget" in out
    results = sorted(plugin.xdist_out.glob("*/results.jsonl"))
    assert results and all(path.parent.name.startswith("gw") for path in results)


def test_plugin_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, harness.pytest_plugin; "
        "heavy = {'torch', 'numpy', 'hypothesis'} & set(sys.modules); assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr


def test_plugin_shows_a_bad_spec_or_target_as_its_rule(tmp_path: Path, spec_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: broken\nrank: 1\nmax_elements: 64\nkernal_size: {min: 1, max: 3}\n", encoding="utf-8"
    )
    bad_spec = _finish(_pytest(tmp_path, broken, "tests.targets_for_tests:CorrectTarget"))
    bad_target = _finish(_pytest(tmp_path, spec_path, "torch.nnn"))
    assert bad_spec.returncode == bad_target.returncode == 1
    assert "SpecError: " in bad_spec.stdout
    assert "broken.yaml:4: kernal_size is not a known key" in bad_spec.stdout
    assert "UnknownTarget: unknown target 'torch.nnn'" in bad_target.stdout
    for done in (bad_spec, bad_target):
        assert "Traceback" not in done.stdout and "raise " not in done.stdout, done.stdout


def test_a_pair_that_judges_no_case_is_named_not_passed(tmp_path: Path) -> None:
    """A spec the target cannot express at all tested nothing: the run says so, pytest skips it."""
    from targets_for_tests import THREE_BUGS_SPEC

    spec = tmp_path / "unexpressible.yaml"
    spec.write_text(
        THREE_BUGS_SPEC.replace("name: three_bugs_small", "name: unexpressible").replace(
            "layouts: [channels_first]", "layouts: [channels_last]"
        ),
        encoding="utf-8",
    )
    target = "tests.targets_for_tests:CorrectTarget"
    expressible = write_spec(tmp_path)
    runs = [
        _start(
            [
                "-m",
                "harness",
                "run",
                "--targets",
                target,
                "--spec",
                str(expressible),
                "--spec",
                str(spec),
                "--profile",
                "ci",
                "--quiet",
                "--out",
                str(tmp_path / "out"),
            ],
            tmp_path,
        ),
        _pytest(tmp_path, spec, target, "-rs"),
    ]
    run, plugin = (_finish(p) for p in runs)
    assert run.returncode == 0, run.stderr
    assert "judged no case" in run.stdout
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert any(
        line.startswith("test.correct × unexpressible:") and "unsupported, mostly:" in line for line in lines
    ), run.stdout
    assert not any(line.startswith("test.correct × three_bugs_small") for line in lines)
    assert plugin.returncode == 0 and "1 skipped" in plugin.stdout, plugin.stdout
    assert "judged no case of" in plugin.stdout and "channels" in plugin.stdout
