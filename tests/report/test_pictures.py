"""The pictures put the error where it is: heatmap pixels over the failing elements, a histogram
that accounts for every element, and a note when a finding has no arrays."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from report_runs import VALUE_BUG, Entry, make_run
from targets_for_tests import ThreeBugTarget

from harness.report.pictures import ErrorField, heatmap_panels, histogram
from harness.report.write import write_report


def decode_png(uri: str) -> np.ndarray:
    """Decode an unfiltered 8-bit RGB PNG data URI (the form the report writes)."""
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + 3 * width)
    assert not raw[:, 0].any()
    return raw[:, 1:].reshape(height, width, 3)


def reddish(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the beyond-bound ramp (red clearly above blue)."""
    return (rgb[..., 0].astype(int) - rgb[..., 2].astype(int)) > 60


def test_heatmap_shows_the_failing_channels(buggy_run: Path) -> None:
    arrays = np.load(next((buggy_run / "findings").glob("*value_mismatch")) / "arrays.npz")
    field = ErrorField.from_arrays(arrays["actual"], arrays["reference"], arrays["bound"])
    failing_channels = {int(c) for c in np.argwhere(field.beyond)[:, 1]}
    assert failing_channels and failing_channels < set(range(VALUE_BUG.out_channels))
    panels = heatmap_panels(field)["panels"]
    assert len(panels) == VALUE_BUG.batch * VALUE_BUG.out_channels
    for channel, panel in enumerate(panels):
        image = decode_png(panel["uri"])
        assert image.shape[:2] == (panel["height"], panel["width"])
        assert bool(reddish(image).any()) == (channel in failing_channels), panel["label"]


def _red_cells(panel: dict[str, Any], plane: tuple[int, int]) -> set[tuple[int, int]]:
    """(row, column) of the plane's cells drawn in the beyond-bound ramp."""
    image = decode_png(panel["uri"])
    pooled = panel["pooled"]
    cells = (-(-plane[0] // pooled), -(-plane[1] // pooled))
    scale = panel["height"] // cells[0]
    assert panel["width"] == scale * cells[1]
    rows, cols = np.nonzero(reddish(image))
    return {(int(r) // scale, int(c) // scale) for r, c in zip(rows, cols, strict=True)}


@pytest.mark.parametrize(
    ("shape", "where", "panel_index", "cell"),
    [
        ((1, 1, 5, 7), (0, 0, 3, 5), 0, (3, 5)),  # 2-D: the element itself
        ((2, 3, 9), (1, 2, 7), 0, (5, 7)),  # 1-D: row n·C + c, column = position
        ((1, 2, 4, 5, 6), (0, 1, 3, 2, 4), 1, (2, 4)),  # 3-D: the depth slice holding the error
        ((1, 1, 700, 500), (0, 0, 650, 20), 0, (650 // 3, 20 // 3)),  # large: 3×3 max-pooled
    ],
)
def test_heatmap_pixels_lie_over_the_element(
    shape: tuple[int, ...], where: tuple[int, ...], panel_index: int, cell: tuple[int, int]
) -> None:
    reference = np.zeros(shape)
    actual = reference.copy()
    actual[where] = 1.0
    field = ErrorField.from_arrays(actual, reference, np.full_like(reference, 0.01))
    panels = heatmap_panels(field)["panels"]
    assert len(panels) == (1 if len(shape) == 3 else shape[0] * shape[1])
    plane = tuple(panels[panel_index]["shape"])
    assert _red_cells(panels[panel_index], plane) == {cell}
    assert all(not _red_cells(p, tuple(p["shape"])) for i, p in enumerate(panels) if i != panel_index)
    if len(shape) == 5:
        assert f"depth={where[2]}" in panels[panel_index]["label"]


def test_histogram_accounts_for_every_element() -> None:
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((2, 3, 4, 4))
    bound = np.full_like(reference, 1e-3)
    actual = reference + rng.choice([0.0, 1e-5, 5e-4, 2e-3], size=reference.shape)
    actual[0, 0, 0, 0] = np.nan
    bound[1, 2, 3, 3] = 0.0
    actual[1, 2, 3, 3] = reference[1, 2, 3, 3] + 1.0
    field = ErrorField.from_arrays(actual, reference, bound)
    bins = histogram(field)
    assert sum(b["count"] for b in bins) == reference.size
    beyond = sum(b["count"] for b in bins if b["kind"] in ("beyond", "nonfinite"))
    assert beyond == int((field.beyond | field.nonfinite).sum())
    assert {b["label"] for b in bins} >= {"exact", "nan/inf", "∞ (bound 0)"}


def test_missing_arrays_give_a_note(tmp_path: Path) -> None:
    folder = make_run(tmp_path, [Entry(ThreeBugTarget(), VALUE_BUG, True, arrays=False)], run_id="old-run")
    html = write_report([folder]).read_text()
    assert "No arrays.npz" in html and "data:image/png" not in html
