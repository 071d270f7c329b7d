"""The run's progress display (one row per (target, spec): cases out of the total, findings, rate,
time left; nothing drawn with ``--quiet`` or off a terminal) and its end-of-run table, both drawn
with rich."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from harness.engine.findings import Finding
from harness.engine.progress import Progress, on_terminals
from harness.engine.tally import RunReport, summary_text
from harness.model.case import Case
from harness.model.outcomes import OUTCOMES


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _screen() -> tuple[io.StringIO, Console]:
    screen = io.StringIO()
    return screen, Console(file=screen, force_terminal=True, color_system=None, width=160)


@pytest.mark.parametrize(
    ("stdout", "stderr", "drawn"), [(True, True, True), (False, True, False), (True, False, False)]
)
def test_the_display_is_drawn_only_when_stdout_and_stderr_are_terminals(
    monkeypatch: pytest.MonkeyPatch, stdout: bool, stderr: bool, drawn: bool
) -> None:
    monkeypatch.setattr(sys, "stdout", Stream(stdout))
    monkeypatch.setattr(sys, "stderr", Stream(stderr))
    assert on_terminals() is drawn
    assert Progress(True).enabled is drawn
    assert Progress(False).enabled is False  # --quiet


def test_a_stream_that_cannot_say_is_no_terminal() -> None:
    assert not on_terminals(object())  # type: ignore[arg-type]


def test_off_a_terminal_nothing_is_written(capsys: pytest.CaptureFixture[str]) -> None:
    shown = Progress(True)  # pytest's captured streams are no terminals
    shown.start("t × s", 10)
    shown.update("t × s", 4, 1)
    shown.finish("t × s")
    shown.done()
    assert capsys.readouterr() == ("", "")


def test_each_target_and_spec_has_a_row_with_total_findings_rate_and_eta() -> None:
    screen, console = _screen()
    shown = Progress(True, console)
    shown.start("torch.nn × conv_transpose1d", 130)
    shown.update("torch.nn × conv_transpose1d", 130, 2)
    shown.finish("torch.nn × conv_transpose1d")
    shown.start("paddle.nn × conv_transpose1d", 130)
    shown.update("paddle.nn × conv_transpose1d", 37, 0)
    shown.done()
    last = [line for line in screen.getvalue().splitlines() if "×" in line][-2:]
    assert "torch.nn × conv_transpose1d" in last[0] and "130/130" in last[0] and "2 finding(s)" in last[0]
    assert "paddle.nn × conv_transpose1d" in last[1] and "37/130" in last[1] and "0 finding(s)" in last[1]
    assert all("cases/s" in line and "ETA" in line for line in last)


def test_an_exploration_that_stops_short_ends_at_what_it_judged() -> None:
    screen, console = _screen()
    shown = Progress(True, console)
    shown.start("t × small", 100)
    shown.update("t × small", 7, 0)
    shown.finish("t × small")
    shown.done()
    last = [line for line in screen.getvalue().splitlines() if "×" in line][-1]
    assert "7/7" in last


def test_the_summary_table_fits_its_width_and_shows_only_failing_outcomes_that_occurred() -> None:
    report = RunReport(out_dir=Path("out"))
    names = [f"framework{i}.output_size" for i in range(12)]
    for name in names:
        report.tally(name, "spec", "pass", "")
    report.tally(names[0], "spec", "value_mismatch", "")
    text = summary_text(report, width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    header = text.splitlines()[0].split()
    assert header == ["target", "cases", "pass", "value_mismatch", "unsupported", "findings"]
    row = next(line for line in text.splitlines() if line.startswith(names[0]))
    assert row.split()[1:] == ["2", "1", "1", "·", "·"]


def test_the_summary_table_has_every_outcome_column_when_every_outcome_occurred() -> None:
    report = RunReport(out_dir=Path("out"))
    for outcome in OUTCOMES:
        report.tally("t", "spec", outcome, "")
    case = Case.make(input_size=3, kernel_size=1)
    report.findings.append((Finding("t", "error", "E", frozenset(), case), Path("f")))
    text = summary_text(report, width=200)
    assert all(str(o) in text.splitlines()[0] for o in OUTCOMES)
    row = next(line for line in text.splitlines() if line.startswith("t "))
    assert row.split()[1:] == [str(len(OUTCOMES)), *["1"] * len(OUTCOMES), "1"]


def test_a_width_narrower_than_the_headers_widens_the_table_rather_than_cutting_a_name() -> None:
    report = RunReport(out_dir=Path("out"))
    for outcome in ("pass", "shape_mismatch", "value_mismatch", "error", "unsupported"):
        report.tally("test.three_bugs", "spec", outcome, "")
    lines = summary_text(report, width=40).splitlines()
    assert lines[0].split() == [
        "target",
        "cases",
        "pass",
        "shape_mismatch",
        "value_mismatch",
        "error",
        "unsupported",
        "findings",
    ]
    assert "…" not in "".join(lines)
