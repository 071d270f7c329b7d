"""The worker limits given on the command line are checked before anything runs: a case timeout of
0 or less would make every case a timeout, ``nan`` would disable it, and a memory limit of 0 would
make every case a crash. Each is refused with the rule, exit status 2."""

from __future__ import annotations

import pytest

from harness.cli.main import build_parser
from harness.workers.worker import SETTINGS, configure

COMMANDS = {
    "run": ["run"],
    "port": ["port", "torch.nn.ConvTranspose1d(4, 4, 3)"],
    "audit-docs": ["audit-docs"],
    "audit-modes": ["audit-modes"],
    "audit-invalid": ["audit-invalid"],
    "audit": ["audit"],
}
BAD_TIMEOUTS = ["0", "-5", "nan", "inf", "-inf", "soon"]


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("value", BAD_TIMEOUTS)
def test_a_case_timeout_that_is_not_a_positive_finite_number_is_refused(
    command: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused([*COMMANDS[command], f"--case-timeout={value}"], capsys)
    assert "argument --case-timeout:" in err
    assert "finite number of seconds > 0" in err or "is not a number of seconds" in err


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "lots"])
def test_a_worker_memory_limit_that_is_not_a_positive_whole_number_is_refused(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(["run", f"--worker-memory-mb={value}"], capsys)
    assert "argument --worker-memory-mb:" in err
    assert "whole number of MiB" in err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sensible_limits_are_taken(command: str) -> None:
    args = build_parser().parse_args([*COMMANDS[command], "--case-timeout", "2.5"])
    assert args.case_timeout == 2.5
    assert build_parser().parse_args(["run", "--worker-memory-mb", "512"]).worker_memory_mb == 512


@pytest.mark.parametrize(
    "limits", [{"case_timeout": 0}, {"case_timeout": float("nan")}, {"memory_limit_mb": 0}]
)
def test_configure_refuses_the_same_limits(limits: dict[str, float]) -> None:
    before = (SETTINGS.case_timeout, SETTINGS.memory_limit_mb)
    with pytest.raises(ValueError, match="must be a"):
        configure(**limits)  # type: ignore[arg-type]
    assert (SETTINGS.case_timeout, SETTINGS.memory_limit_mb) == before
