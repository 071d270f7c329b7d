"""Names, reasons and messages reach the terminal with their control characters escaped: a target
named with an ANSI escape (any ``module:Class`` target names itself) cannot clear or recolour the
user's terminal through the run summary, the progress line, ``doctor`` or an audit's summary."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import pytest

from harness.engine.progress import Progress
from harness.engine.tally import RunReport, summary_text
from harness.terminal import printable

ESC = "\x1b[2J\x1b[31m"
NAME = f"evil{ESC}target"
SHOWN = "evil\\x1b[2J\\x1b[31mtarget"


def test_printable_escapes_what_is_not_printable_and_keeps_the_rest() -> None:
    assert printable("torch.nn × spec: ü, ∞") == "torch.nn × spec: ü, ∞"
    assert printable(f"a{ESC}b\x07\x00\r") == "a\\x1b[2J\\x1b[31mb\\x07\\x00\\r"
    assert printable("one\ntwo") == "one\\ntwo"
    assert printable("one\ntwo\x1b", newlines=True) == "one\ntwo\\x1b"
    assert printable(Path("/tmp/x")) == "/tmp/x"


def test_the_run_summary_escapes_target_names_and_reasons() -> None:
    report = RunReport(out_dir=Path("out"))
    report.tally(NAME, "spec", "pass", "")
    report.tally(f"other{ESC}", "spec\x07", "unsupported", f"cannot{ESC}")
    report.unavailable[f"gone{ESC}"] = "missing\x1b]0;title\x07 framework"
    text = summary_text(report)
    assert "\x1b" not in text and "\x07" not in text
    assert any(line.startswith(SHOWN) for line in text.splitlines())
    assert "gone\\x1b[2J\\x1b[31m" in text and "missing\\x1b]0;title\\x07 framework" in text
    assert "other\\x1b[2J\\x1b[31m × spec\\x07" in text and "mostly: cannot\\x1b" in text


def test_the_progress_display_escapes_the_label() -> None:
    from rich.console import Console

    screen = io.StringIO()
    shown = Progress(True, Console(file=screen, force_terminal=True, color_system=None, width=150))
    shown.start(f"{NAME} × spec", 10)
    shown.update(f"{NAME} × spec", 3, 0)
    shown.done()
    drawn = screen.getvalue()
    assert ESC not in drawn and f"{SHOWN} × spec" in drawn and "3/10" in drawn


def test_doctor_escapes_names_and_reasons(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import adapters.registry
    from harness.cli.doctor import cmd_doctor

    monkeypatch.setattr(adapters.registry, "availability", lambda: {NAME: f"not here{ESC}"})
    assert cmd_doctor(argparse.Namespace(device="cpu", json=False)) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert out.startswith(SHOWN) and "unavailable: not here\\x1b[2J" in out


def test_an_audit_summary_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.audits.common import make_command

    def audit(names: list[str], profile: str, **kwargs: Any) -> dict[str, Any]:
        return {"names": names}

    command = make_command(audit, "audit.json", lambda result: f"{NAME}: fine\nnext line", lambda r: False)
    args = argparse.Namespace(
        case_timeout=None,
        targets="tests.targets_for_tests:CorrectTarget",
        profile="dev",
        examples=1,
        device=None,
        quiet=True,
        out=str(tmp_path),
    )
    assert command(args) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and f"{SHOWN}: fine\nnext line" in out
