"""End to end: the pytest plugin (``--convt-*`` options), in a subprocess."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from cli_processes import BUGGY, CORRECT, TIMEOUT, finish, new_folder, run_pytest, start
from targets_for_tests import write_spec


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
    work = {name: new_folder(tmp_path_factory, name) for name in ("pbuggy", "pcorrect", "pxdist", "pcollect")}
    other = work["pcollect"] / "other_small.yaml"
    other.write_text(
        spec_path.read_text(encoding="utf-8").replace("three_bugs_small", "other_small"), encoding="utf-8"
    )
    procs = {
        "buggy": run_pytest(work["pbuggy"], spec_path, BUGGY),
        "correct": run_pytest(work["pcorrect"], spec_path, CORRECT),
        "xdist": run_pytest(work["pxdist"], spec_path, f"{BUGGY},{CORRECT}", "-n", "2"),
        "collected": run_pytest(
            work["pcollect"],
            spec_path,
            f"{BUGGY},{CORRECT}",
            "--convt-spec",
            str(other),
            "--collect-only",
            "-q",
        ),
    }
    done = {name: finish(p) for name, p in procs.items()}
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
    assert "3 new finding(s) for tests.targets_for_tests:ThreeBugTarget" in out
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
    assert "3 new finding(s) for tests.targets_for_tests:ThreeBugTarget" in out
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
    bad_spec = finish(run_pytest(tmp_path, broken, "tests.targets_for_tests:CorrectTarget"))
    bad_target = finish(run_pytest(tmp_path, spec_path, "torch.nnn"))
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
        start(
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
        run_pytest(tmp_path, spec, target, "-rs"),
    ]
    run, plugin = (finish(p) for p in runs)
    assert run.returncode == 0, run.stderr
    assert "judged no case" in run.stdout
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert any(
        line.startswith("test.correct × unexpressible:") and "unsupported, mostly:" in line for line in lines
    ), run.stdout
    assert not any(line.startswith("test.correct × three_bugs_small") for line in lines)
    assert plugin.returncode == 0 and "1 skipped" in plugin.stdout, plugin.stdout
    assert "judged no case of" in plugin.stdout and "channels" in plugin.stdout


def test_a_target_that_refuses_to_load_is_skipped_as_unavailable(tmp_path: Path, spec_path: Path) -> None:
    done = finish(run_pytest(tmp_path, spec_path, "tests.targets_for_tests:UnavailableTarget", "-rs"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout, done.stdout
    assert "unavailable: test.unavailable needs an accelerator this machine lacks" in done.stdout


def test_a_spec_not_applicable_to_the_target_is_skipped_saying_so(tmp_path: Path) -> None:
    int8 = Path(__file__).resolve().parents[2] / "specs" / "int8" / "conv_transpose_int8_1d.yaml"
    done = finish(run_pytest(tmp_path, int8, "tests.targets_for_tests:CorrectTarget", "-rs"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout, done.stdout
    assert "is not applicable to tests.targets_for_tests:CorrectTarget" in done.stdout, done.stdout
    assert "the spec's cases are int8" in done.stdout
