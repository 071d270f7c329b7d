"""Spec texts and helpers shared by the spec tests: a small valid spec and ways to break it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.spec.loader import load_spec

# A small valid spec; the line numbers in the spec tests refer to this text (line 1 = "name: tiny").
VALID = """\
name: tiny
description: a small valid spec
rank: 2
max_elements: 512
batch: {min: 1, max: 2}
channels:
  groups: {min: 1, max: 2}
  in_per_group: {min: 1, max: 2}
  out_per_group: 1
input_size: {min: 1, max: 4}
kernel_size: {min: 1, max: 3}
stride:
  min: 1
  max: 3
dilation: {min: 1, max: 2}
crops: {max: 2, probability: 0.5, asymmetric_probability: 0.5}
output_padding: {max: auto, probability: 0.5}
bias: [true, false]
dtypes: {float32: 2, float64: 1}
layouts: [channels_first, channels_last]
distributions: [normal, small_int]
"""


def write_yaml(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    """Write ``text`` to ``tmp_path/specs/name`` and return the path."""
    path = tmp_path / "specs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def replace_line(text: str, line: int, new: str) -> str:
    """``text`` with its 1-based ``line`` replaced by ``new`` (which may hold several lines)."""
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def spec_error(text: str, tmp_path: Path) -> SpecError:
    """The :class:`SpecError` that loading ``text`` from a file raises."""
    path = write_yaml(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value
