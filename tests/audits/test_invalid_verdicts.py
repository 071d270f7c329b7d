"""The verdict vocabulary of ``audit-invalid`` and the judgement of a refusal's message, on messages
written here (most of them the words a framework really answers), each with the verdict a reader
gives it."""

from __future__ import annotations

import pytest

from harness.audits.invalid_configs import CONFIGS
from harness.audits.invalid_verdicts import LEGACY, PROBLEMS, SUBJECT_TERMS, VERDICTS, judge_message, verdict


@pytest.mark.parametrize(
    ("message", "subjects", "expected", "why"),
    [
        ("ValueError: in_channels must be divisible by groups", ("groups", "channels"), "clear", "group"),
        ("RuntimeError: non-positive stride is not supported", ("stride",), "clear", "stride"),
        (
            "RuntimeError: Given input size per channel: (2 x 2). Calculated output size per channel: "
            "(-2 x -2). Output size is too small",
            ("padding", "output_size"),
            "clear",
            "output size",
        ),
        (
            "RuntimeError: quantize_tensor_per_tensor_affine zero_point 256 is above upper bound.",
            ("zero_point",),
            "clear",
            "zero_point",
        ),
        (
            "RuntimeError: length of scales must equal to channel, expected 2 got, 3",
            ("per_channel",),
            "clear",
            "scale",
        ),
        (
            "RuntimeError: could not create a primitive descriptor for a deconvolution forward "
            "propagation primitive",
            ("output_padding",),
            "opaque",
            "internal names primitive",
        ),
        (
            "dnnl_status: invalid arguments in src/cpu/x64/jit_uni_deconv.cpp",
            ("dilation",),
            "opaque",
            "dnnl_status",
        ),
        (
            "RuntimeError: Trying to create tensor with negative dimension -2: [2, -2, 3, 3]",
            ("groups",),
            "opaque",
            "sentinel sizes -2",
        ),
        ("ZeroDivisionError: integer modulo by zero", ("groups",), "opaque", "wording about something else"),
        # A parameter's name inside a source file or a qualified C++ name is not the message naming it.
        (
            "check failed at /src/phi/kernels/conv_stride_check.cc:120",
            ("stride",),
            "opaque",
            "names none of: stride",
        ),
        ("phi::stride_guard tripped", ("stride",), "opaque", "names none of: stride"),
    ],
)
def test_messages_are_judged(message: str, subjects: tuple[str, ...], expected: str, why: str) -> None:
    got, reason = judge_message(message, subjects)
    assert got == expected, reason
    assert why in reason


def test_dimension_names_are_not_internal_names() -> None:
    # torch's own wording for C_out = 0 in 3-D: it names the weight, not the channel count, and
    # kernel_depth is a dimension's name, not a kernel's.
    message = (
        "RuntimeError: non-empty 5D (n_output_plane x n_input_plane x kernel_depth x kernel_height x "
        "kernel_width) tensor expected for weight, but got: [2, 0, 3, 3, 3]"
    )
    got, reason = judge_message(message, ("channels",))
    assert got == "opaque" and "internal" not in reason and "wording about something else" in reason
    assert judge_message(message, ("weight",))[0] == "clear"


def test_the_vocabulary_is_one_table() -> None:
    assert {"clear", "opaque", "refused_valid", "accepted", "crash", "hang", "ok"} <= set(VERDICTS)
    assert set(PROBLEMS) == {
        "opaque",
        "refused_valid",
        "accepted",
        "wrong_shape",
        "wrong_values",
        "crash",
        "hang",
    }
    assert verdict("silently_accepted") is VERDICTS["accepted"] and set(LEGACY.values()) <= set(VERDICTS)
    assert verdict("no such verdict") is None


def test_every_configuration_names_subjects_the_judge_knows() -> None:
    for config in CONFIGS:
        assert config.subjects, config.name
        assert set(config.subjects) <= set(SUBJECT_TERMS), config.name
