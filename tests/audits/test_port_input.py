"""What ``port`` is given is read the way Python reads it: a keyword repeated in a call is refused
(Python refuses to compile it; ``ast`` alone keeps both), and an impossible size is bad input (exit
2), not a result. What ``port`` prints carries no raw control characters: a target name or message
holding an ANSI escape is shown escaped."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import reading
from adapters.reading import Shapes
from adapters.registry import readable_apis
from harness.audits.port import text_report
from harness.cli.main import main
from harness.errors import PortError

REPEATED = [
    "torch.nn.ConvTranspose1d(4, 4, 3, stride=1, stride=2)",
    "paddle.nn.Conv1DTranspose(4, 4, 3, padding=1, padding=0)",
    "mindspore.nn.Conv1dTranspose(4, 4, 3, pad_mode='pad', pad_mode='valid')",
    "F.conv_transpose1d(x, w, None, 2, groups=1, groups=2)",
    "torch.nn.ConvTranspose1d(4, 4, 3)(x, output_size=[6], output_size=[7])",
    "torch.nn.ConvTranspose1d(4, 4, 3)(torch.randn(size=(1, 4, 5), size=(1, 4, 6)))",
]


@pytest.mark.parametrize("text", REPEATED)
def test_a_repeated_keyword_is_refused_as_python_refuses_it(text: str) -> None:
    with pytest.raises(SyntaxError):
        compile(text, "<call>", "eval")  # the rule being followed
    with pytest.raises(PortError, match="keyword argument repeated"):
        reading.translate(text, readable_apis(), Shapes(input_shape=(1, 4, 5), weight_shape=(4, 4, 3)))


def test_a_repeated_keyword_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["port", REPEATED[0], "--input-shape", "1,4,5", "--to", "torch.functional"])
    err = capsys.readouterr().err
    assert status == 2
    assert "keyword argument repeated: stride" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "text",
    [
        "torch.nn.ConvTranspose1d(4, 4, 3, padding=5)",
        "F.conv_transpose1d(x, w, padding=5)",
        "paddle.nn.Conv1DTranspose(4, 4, 3, padding=5)",
        "paddle.nn.functional.conv1d_transpose(x, w, padding=5)",
        "mindspore.nn.Conv1dTranspose(4, 4, 3, pad_mode='pad', padding=5)",
        "torch.nn.ConvTranspose1d(4, 4, 3, stride=10, padding=5)(x, output_size=[0])",
    ],
)
def test_an_output_size_below_1_is_bad_input_exit_2(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["port", text, "--input-shape", "1,4,2", "--weight-shape", "4,4,3", "--to", "torch.functional"]
    )
    err = capsys.readouterr().err
    assert status == 2, err
    assert "output" in err and "Traceback" not in err


ESC = "\x1b[2J\x1b[31m"


def _result(name: str, message: str) -> dict[str, Any]:
    return {
        "call": "torch.nn.ConvTranspose1d(4, 4, 3)",
        "api": "torch.nn.ConvTranspose1d",
        "source_target": "torch.nn",
        "case_short": "1d case",
        "source_mode": None,
        "basis": "explicit",
        "source": {"verified": True, "output_shape": [1, 4, 7]},
        "notes": [f"a note\x07 about {name}"],
        "targets": [
            {"target": name, "call": None, "reason": f"cannot {ESC}express"},
            {
                "target": "plain",
                "call": "f(x)",
                "verified": False,
                "outcome": "error",
                "output_shape": None,
                "message": f"{message}\nsecond line",
            },
        ],
    }


def test_the_port_text_escapes_control_characters() -> None:
    text = text_report(_result(f"evil{ESC}name", f"boom{ESC}"))
    assert "\x1b" not in text and "\x07" not in text
    assert "evil\\x1b[2J\\x1b[31mname" in text
    assert "boom\\x1b[2J" in text and "cannot \\x1b[2J" in text and "note\\x07" in text
    assert "\nsecond line" in text  # a message's own line breaks stay line breaks
