"""Pictures of a value finding's error, from ``arrays.npz`` in its folder.

The file holds float64 ``actual``, ``reference`` (the reference rounded to the output dtype) and
``bound``, all of the output shape ``(N, C, *spatial)``. The pictures are a heatmap of
``|actual − reference|`` per output plane and a histogram of ``|error| / bound``, as PNG data URIs
and template data, so that the page stays self-contained.

The file is read member by member with :func:`read_arrays`, each member's size checked from its zip
and ``.npy`` headers first: a small file that would inflate past :data:`MAX_ARRAY_BYTES` is refused
with a note instead of exhausting the memory of ``report``.
"""

from __future__ import annotations

import base64
import math
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from harness.files import contained
from harness.report.nonfinite import pair, pattern_from_arrays

#: Largest uncompressed size of one array of ``arrays.npz`` that the report reads (4 Mi float64).
MAX_ARRAY_BYTES = 32 * 2**20
#: The arrays a value finding's ``arrays.npz`` holds.
ARRAY_NAMES = ("actual", "reference", "bound")
#: Largest side of a heatmap, in pixels; larger planes are max-pooled.
HEATMAP_PIXELS = 320
MAX_PANELS = 8
# Colour ramps (light → dark): within the bound, beyond it; exact and non-finite positions.
WITHIN = ((0xDE, 0xEB, 0xF7), (0x08, 0x51, 0x9C))
BEYOND = ((0xFD, 0xD4, 0x9E), (0x99, 0x00, 0x0D))
EXACT = (0xF5, 0xF5, 0xF5)
NONFINITE = (0x11, 0x11, 0x11)
GRID = (0xFF, 0xFF, 0xFF)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an ``(h, w, 3)`` uint8 array as a PNG (8-bit RGB, no filtering)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].astype(np.uint8).tobytes() for row in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,…`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class ErrorField:
    """Per-element error of a value finding, from its ``arrays.npz``."""

    error: np.ndarray
    ratio: np.ndarray
    beyond: np.ndarray
    nonfinite: np.ndarray
    exact: np.ndarray

    @classmethod
    def from_arrays(cls, actual: np.ndarray, reference: np.ndarray, bound: np.ndarray) -> ErrorField:
        """|actual − reference|, its ratio to the bound, and the positions that fail."""
        a, r = np.asarray(actual, np.float64), np.asarray(reference, np.float64)
        b = np.broadcast_to(np.asarray(bound, np.float64), a.shape)
        finite = np.isfinite(a) & np.isfinite(r)
        same_special = (np.isnan(a) & np.isnan(r)) | (np.isinf(a) & np.isinf(r) & (a == r))
        err = np.abs(np.where(finite, a, 0.0) - np.where(finite, r, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(finite, np.where(b > 0, err / b, np.where(err > 0, np.inf, 0.0)), 0.0)
        nonfinite = ~finite & ~same_special
        # the same nan/inf on both sides counts as exact: the comparison requires exactly that
        return cls(
            error=err,
            ratio=ratio,
            beyond=finite & (ratio > 1.0),
            nonfinite=nonfinite,
            exact=(finite & (err == 0)) | same_special,
        )


def _ramp(ends: tuple[tuple[int, int, int], tuple[int, int, int]], t: np.ndarray) -> np.ndarray:
    lo, hi = np.array(ends[0], np.float64), np.array(ends[1], np.float64)
    shades: np.ndarray = lo + (hi - lo) * t[..., None]
    return shades


def colour_plane(
    err: np.ndarray, beyond: np.ndarray, nonfinite: np.ndarray, lo: float, hi: float
) -> np.ndarray:
    """RGB of a 2-D plane: exact grey, blue within the bound, orange→red beyond it, black non-finite.

    Shade is log10(|error|) between ``lo`` and ``hi`` (shared by every panel of a finding).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        span = math.log10(hi) - math.log10(lo) if hi > lo > 0 else 0.0
        t = (np.log10(np.maximum(err, lo)) - math.log10(lo)) / span if span > 0 else np.ones_like(err)
    t = np.clip(np.nan_to_num(t, nan=1.0), 0.0, 1.0)
    rgb = np.where(beyond[..., None], _ramp(BEYOND, t), _ramp(WITHIN, t))
    rgb = np.where((err == 0)[..., None] & ~beyond[..., None], np.array(EXACT, np.float64), rgb)
    rgb = np.where(nonfinite[..., None], np.array(NONFINITE, np.float64), rgb)
    return np.round(rgb).astype(np.uint8)


def _pool(a: np.ndarray, factor: int, how: str) -> np.ndarray:
    """Max (or any) over ``factor × factor`` blocks of a 2-D plane."""
    if factor <= 1:
        return a
    h, w = a.shape
    ph, pw = -h % factor, -w % factor
    padded = np.pad(a, ((0, ph), (0, pw)), constant_values=0)
    blocks = padded.reshape((h + ph) // factor, factor, (w + pw) // factor, factor)
    return np.asarray(blocks.any(axis=(1, 3)) if how == "any" else blocks.max(axis=(1, 3)))


def _upscale(rgb: np.ndarray, scale: int) -> np.ndarray:
    big = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    if scale >= 8:  # a cell grid, so single elements can be counted
        big[::scale, :, :] = GRID
        big[:, ::scale, :] = GRID
    return big


def _planes(field: ErrorField) -> list[tuple[str, tuple[slice | int, ...]]]:
    """(label, index) of the 2-D planes to show: the (n, c) planes with the most failing elements."""
    shape = field.error.shape
    if len(shape) < 3:
        return []
    bad = field.beyond | field.nonfinite
    if len(shape) == 3:  # 1-D outputs: one picture, a row per (n, c)
        return [("rows: (n, c) pairs in order; columns: output position", (slice(None),))]
    pairs = [(n, c) for n in range(shape[0]) for c in range(shape[1])]

    def badness(nc: tuple[int, int]) -> tuple[int, float]:
        return (int(bad[nc].sum()), float(np.max(field.error[nc])))

    if len(pairs) > MAX_PANELS:
        pairs = sorted(sorted(pairs, key=badness, reverse=True)[:MAX_PANELS])
    out: list[tuple[str, tuple[slice | int, ...]]] = []
    for n, c in pairs:
        if len(shape) == 4:
            out.append((f"n={n} c={c}", (n, c)))
        else:  # 3-D: the depth slice where this channel is worst
            bad_d = bad[n, c].reshape(shape[2], -1).sum(axis=1)
            err_d = field.error[n, c].reshape(shape[2], -1).max(axis=1)
            depth = max(range(shape[2]), key=lambda i: (int(bad_d[i]), float(err_d[i])))
            out.append((f"n={n} c={c} depth={depth} of {shape[2]}", (n, c, depth)))
    return out


def _plane(a: np.ndarray, index: tuple[slice | int, ...]) -> np.ndarray:
    plane = a[index]
    return plane.reshape(-1, plane.shape[-1]) if plane.ndim != 2 else plane


def heatmap_panels(field: ErrorField) -> dict[str, Any]:
    """The heatmap panels of a value finding, their shared scale, and the notes a reader needs."""
    planes = _planes(field)
    positive = field.error[field.error > 0]
    hi = float(positive.max()) if positive.size else 1.0
    lo = max(float(positive.min()) if positive.size else hi, hi * 1e-6)
    panels = []
    for label, index in planes:
        err, beyond = _plane(field.error, index), _plane(field.beyond, index)
        nonfinite = _plane(field.nonfinite, index)
        factor = max(1, math.ceil(max(err.shape) / HEATMAP_PIXELS))
        err_p = _pool(err, factor, "max")
        beyond_p, nonfinite_p = _pool(beyond, factor, "any"), _pool(nonfinite, factor, "any")
        scale = max(1, min(32, HEATMAP_PIXELS // max(err_p.shape)))
        rgb = _upscale(colour_plane(err_p, beyond_p, nonfinite_p, lo, hi), scale)
        panels.append(
            {
                "label": label,
                "uri": data_uri(png_bytes(rgb)),
                "width": rgb.shape[1],
                "height": rgb.shape[0],
                "shape": list(err.shape),
                "pooled": factor,
                "failing": int(beyond.sum() + nonfinite.sum()),
                "elements": int(err.size),
            }
        )
    if hi > lo:
        legend = [
            {"label": "exact", "rgb": EXACT},
            {"label": f"within bound, |error| ≤ {lo:.3g}", "rgb": WITHIN[0]},
            {"label": f"within bound, |error| {hi:.3g}", "rgb": WITHIN[1]},
            {"label": f"beyond bound, |error| ≤ {lo:.3g}", "rgb": BEYOND[0]},
            {"label": f"beyond bound, |error| {hi:.3g}", "rgb": BEYOND[1]},
        ]
    else:  # a single error magnitude: the darkest shade
        legend = [
            {"label": "exact", "rgb": EXACT},
            {"label": f"within bound, |error| {hi:.3g}", "rgb": WITHIN[1]},
            {"label": f"beyond bound, |error| {hi:.3g}", "rgb": BEYOND[1]},
        ]
    legend.append({"label": "nan/inf where the reference differs", "rgb": NONFINITE})
    total = int(field.error.shape[0] * field.error.shape[1]) if field.error.ndim >= 3 else 1
    return {
        "panels": panels,
        "legend": legend,
        "lo": lo,
        "hi": hi,
        "positive": bool(positive.size),
        "omitted": total - len(planes) if field.error.ndim > 3 else 0,
    }


def histogram(field: ErrorField) -> list[dict[str, Any]]:
    """Bins of |error|/bound: exact, one per decade, error where the bound is 0, and nan/inf mismatches."""
    finite = ~field.nonfinite & np.isfinite(field.ratio)
    ratios = field.ratio[finite & ~field.exact]
    bins: list[dict[str, Any]] = [{"label": "exact", "count": int(field.exact.sum()), "kind": "exact"}]
    if ratios.size:
        low = max(-8, min(-1, math.floor(math.log10(float(ratios.min())))))
        high = min(8, max(1, math.ceil(math.log10(float(ratios.max())))))
        edges = np.concatenate([[0.0], 10.0 ** np.arange(low + 1, high), [np.inf]])
        counts = np.histogram(ratios, bins=edges)[0]
        for k, count in enumerate(counts):
            lo_label = "0" if k == 0 else f"1e{low + k}"
            hi_label = "∞" if k == len(counts) - 1 else f"1e{low + k + 1}"
            bins.append(
                {
                    "label": f"{lo_label}–{hi_label}",
                    "count": int(count),
                    "kind": "beyond" if low + k >= 0 else "within",
                }
            )
    infinite = int((field.ratio == np.inf).sum())
    if infinite:
        bins.append({"label": "∞ (bound 0)", "count": infinite, "kind": "beyond"})
    if field.nonfinite.any():
        bins.append({"label": "nan/inf", "count": int(field.nonfinite.sum()), "kind": "nonfinite"})
    peak = max(b["count"] for b in bins) or 1
    for b in bins:
        b["height"] = 0 if b["count"] == 0 else max(2, round(120 * b["count"] / peak))
    return bins


def worst_element(field: ErrorField, arrays: dict[str, np.ndarray]) -> list[tuple[str, Any]]:
    """Index, actual, reference and bound at the worst element (a nan/inf mismatch first)."""
    if field.error.size == 0:
        return []
    if field.nonfinite.any():
        flat = int(np.flatnonzero(field.nonfinite)[0])
    else:
        flat = int(np.argmax(np.where(np.isnan(field.ratio), 0.0, field.ratio)))
    index = np.unravel_index(flat, field.error.shape)
    bound = np.broadcast_to(arrays["bound"], field.error.shape)
    actual, reference = float(arrays["actual"][index]), float(arrays["reference"][index])
    # |error| is 0 by construction at a nan/inf mismatch; what differs is the kind of value
    error: Any = pair(actual, reference) if field.nonfinite[index] else float(field.error[index])
    return [
        ("index (N, C, *spatial)", [int(i) for i in index]),
        ("actual", actual),
        ("reference", reference),
        ("|error|", error),
        ("bound", float(bound[index])),
    ]


def _header(member: IO[bytes]) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype from a ``.npy`` member's header (nothing past the header is read)."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f"npy format version {version[0]}.{version[1]} is not read")
    return tuple(int(n) for n in shape), np.dtype(dtype)


def read_arrays(path: Path, names: tuple[str, ...], cap: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """The arrays ``names`` of an ``.npz`` file, each at most ``cap`` bytes uncompressed.

    Each member's size is checked from the zip's header and its shape and dtype from the ``.npy``
    header before it is loaded; ``ValueError`` (or ``KeyError`` for a missing array) otherwise.
    """
    out = {}
    with zipfile.ZipFile(path) as archive:
        for name in names:
            info = archive.getinfo(f"{name}.npy")
            if info.file_size > cap + 65536:  # the .npy header is at most 64 KiB
                raise ValueError(
                    f"{name} is {info.file_size} bytes uncompressed, over the cap of {cap} bytes"
                )
            with archive.open(info) as member:
                shape, dtype = _header(member)
            size = math.prod(shape) * dtype.itemsize
            if dtype.hasobject or size > cap:
                raise ValueError(f"{name} is {shape} {dtype} ({size} bytes), over the cap of {cap} bytes")
            with archive.open(info) as member:
                out[name] = np.lib.format.read_array(member, allow_pickle=False)
    return out


def pictures(folder: Path | None, missing: str = "") -> dict[str, Any]:
    """Heatmap and histogram of a value finding, or ``{"note": why not}`` (``missing``, when given,
    says why there is no folder)."""
    path = None if folder is None else contained(folder, "arrays.npz")
    if folder is not None and path is None:
        return {"note": "arrays.npz links outside the finding's folder: not read, no picture of the error."}
    if path is None or not path.is_file():
        return {
            "note": missing
            or "No arrays.npz in the finding's folder (a run from before arrays were saved): "
            "no picture of the error."
        }
    try:
        data_arrays = {k: np.asarray(v, np.float64) for k, v in read_arrays(path, ARRAY_NAMES).items()}
        field = ErrorField.from_arrays(**data_arrays)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        return {"note": f"arrays.npz could not be read ({exc}): no picture of the error."}
    if field.error.ndim < 3:
        return {"note": f"arrays.npz holds arrays of shape {list(field.error.shape)}, not (N, C, *spatial)."}
    return {
        "heatmap": heatmap_panels(field),
        "histogram": histogram(field),
        "elements": int(field.error.size),
        "worst": worst_element(field, data_arrays),
        "nonfinite": pattern_from_arrays(data_arrays["actual"], data_arrays["reference"], field.nonfinite),
    }
