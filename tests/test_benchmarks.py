"""The benchmark scripts run end to end on their smallest settings (their figures are not judged)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OPENBLAS_THREAD_TIMEOUT="4")
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_reference_benchmark_runs_and_checks_agreement() -> None:
    pytest.importorskip("torch")
    done = _run("benchmarks.reference", "--repeats", "2", "--shapes", "small2d,3d")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agreement with torch float64 (≤ 1e-12): PASS" in done.stdout
    assert "ref sys" in done.stdout and "max ref/torch64:" in done.stdout
    assert "geomean ref/torch32 over 3d (without medium2d, large2d, 1d):" in done.stdout
    assert "%ceil on every shape of ≥ 0.1 GFLOP (3d " in done.stdout


def test_reference_benchmark_diagnostic_allocator_setting() -> None:
    pytest.importorskip("torch")
    done = _run("benchmarks.reference", "--repeats", "1", "--shapes", "small2d", "--mmap-threshold-mib", "64")
    assert done.returncode == 0, done.stdout + done.stderr
    if sys.platform.startswith("linux"):
        assert "allocator: glibc mallopt: mmap_threshold=64 MiB" in done.stdout


def test_reference_benchmark_cpu_clock() -> None:
    pytest.importorskip("torch")
    done = _run(
        "benchmarks.reference", "--repeats", "1", "--shapes", "small2d", "--threads", "1", "--clock", "cpu"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "repeats=1 clock=cpu" in done.stdout


def test_ceiling_summary_judges_only_shapes_with_enough_arithmetic() -> None:
    from benchmarks.reference import SHAPES, Result, ceiling_summary

    def result(name: str, share: float) -> Result:
        shape = next(s for s in SHAPES if s.name == name)
        ref_s = shape.flops / 1e9 / (share * 10.0)  # GF/s = share × the 10 GF/s ceiling
        return Result(shape, ref_s, 1.0, 1.0, 10.0, ref_s, 10.0, 0, 0, 0.0, 0.0, 0.0, 0, ref_s)

    # small2d (0.001 GFLOP) far below the target does not count; 3d at 49 % does
    line = ceiling_summary([result("small2d", 0.01), result("large2d", 0.6), result("3d", 0.49)])
    assert line.endswith("FAIL") and "3d 49.0 %" in line and "small2d" not in line
    assert ceiling_summary([result("small2d", 0.01), result("3d", 0.5)]).endswith("PASS")
    assert "n/a" in ceiling_summary([result("depthwise2d", 0.01)])


def test_harness_overhead_benchmark_runs() -> None:
    pytest.importorskip("torch")
    done = _run("benchmarks.harness_overhead", "--repeats", "2", "--warmup", "1", "--cases", "tiny1d")
    assert "tiny1d" in done.stdout, done.stdout + done.stderr
    assert done.returncode in (0, 1)  # 1: the overhead goal is missed (printed, not an error)


def test_run_throughput_benchmark_runs() -> None:
    pytest.importorskip("torch")
    only = ("--frameworks", "torch", "--targets", "torch.functional")
    done = _run("benchmarks.run_throughput", "--examples", "2", *only)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cases/s/core" in done.stdout and "harness %" in done.stdout
    (row,) = [line.split() for line in done.stdout.splitlines() if line.startswith("torch ")]
    assert row[:2] == ["torch", "torch.functional"] and int(row[2]) > 0  # cases recorded
    shares = [float(v) for v in row[5:]]
    assert len(shares) == 4 and abs(sum(shares) - 100.0) < 0.5


def test_report_scale_benchmark_runs() -> None:
    pytest.importorskip("selenium")
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("Chromium and chromedriver not installed (apt-get install -y chromium chromium-driver)")
    done = _run("benchmarks.report_scale", "--findings", "12", "--targets", "3", "--repeats", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "findings: 12 in 4 groups on 3 targets" in done.stdout
    assert "fits the window: True" in done.stdout and "in order: True" in done.stdout


def test_port_speed_benchmark_runs() -> None:
    pytest.importorskip("torch")
    done = _run("benchmarks.port_speed", "--repeats", "1")
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: the goal is missed (printed)
    assert "port (python -m harness)" in done.stdout and "torch start-up + call" in done.stdout
    assert "port / slowest framework" in done.stdout


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        (["0110010100000000"], True),  # bit 5 set (the machine this project is benchmarked on)
        (["0110000100000000"], False),
        (["0110000100000000", "0000010000000000"], True),  # any device that reports
        ([], None),
    ],
)
def test_free_page_reporting_reads_the_balloon_feature_bit(
    tmp_path: Path, features: list[str], expected: bool | None
) -> None:
    from benchmarks.reference import free_page_reporting

    for i, bits in enumerate(features):
        device = tmp_path / f"virtio{i}"
        device.mkdir()
        (device / "features").write_text(bits + "\n")
    assert free_page_reporting(str(tmp_path)) is expected


def test_planted_bugs_benchmark_kills_a_planted_bug_and_clears_the_control() -> None:
    pytest.importorskip("torch")
    done = _run(
        "benchmarks.planted_bugs", "--profile", "dev", "--seeds", "1", "--bugs", "planted.groups_mixed"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "killed 1/1 (100 %)" in done.stdout, done.stdout
    assert "control: 0 finding(s)" in done.stdout, done.stdout


def test_fresh_start_benchmark_compares_forked_and_spawned_fresh_processes() -> None:
    pytest.importorskip("torch")
    done = _run("benchmarks.fresh_start", "--repeats", "1", "--frameworks", "torch")
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(text for text in done.stdout.splitlines() if text.startswith("torch "))
    if sys.platform.startswith("linux"):
        assert "forked/spawned" in line


def test_ort_sessions_benchmark_prints_a_line_per_cache_size() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    done = _run("benchmarks.ort_sessions", "--cases", "12", "--rounds", "1", "--sizes", "0,4")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [text for text in done.stdout.splitlines() if text.startswith("sessions kept")]
    assert [line.split(":")[0].split()[-1] for line in lines] == ["0", "4"], done.stdout
    assert "(  1.0×)" in lines[0], done.stdout
