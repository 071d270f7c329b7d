"""Rendering of the conformance report: one self-contained HTML page.

Everything is inline: styles, one script (allowed by its hash in the page's Content-Security-Policy,
which also forbids every network fetch) and the pictures (PNG data URIs, SVG). Every string that
comes from specs, cases, records or exception texts goes through Jinja2's autoescaping.

Pictures of a value finding come from ``arrays.npz`` in its folder (float64 ``actual``,
``reference`` — the reference rounded to the output dtype — and ``bound``, all of the output shape
``(N, C, *spatial)``): a heatmap of ``|actual − reference|`` per output plane and a histogram of
``|error| / bound``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from harness.errors import InvalidCase
from harness.model.outcomes import FINDING_ORDER, Outcome
from harness.report.model import Finding, Report

TEMPLATES = Path(__file__).resolve().parent / "templates"
SNIPPET_LIMIT = 20_000
#: Largest side of a heatmap, in pixels; larger planes are max-pooled.
HEATMAP_PIXELS = 320
MAX_PANELS = 8
# Colour ramps (light → dark): within the bound, beyond it; exact and non-finite positions.
WITHIN = ((0xDE, 0xEB, 0xF7), (0x08, 0x51, 0x9C))
BEYOND = ((0xFD, 0xD4, 0x9E), (0x99, 0x00, 0x0D))
EXACT = (0xF5, 0xF5, 0xF5)
NONFINITE = (0x11, 0x11, 0x11)
GRID = (0xFF, 0xFF, 0xFF)


# --- pictures ----------------------------------------------------------------------------------


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
    return lo + (hi - lo) * t[..., None]


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
    return blocks.any(axis=(1, 3)) if how == "any" else blocks.max(axis=(1, 3))


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
    return [
        ("index (N, C, *spatial)", [int(i) for i in index]),
        ("actual", float(arrays["actual"][index])),
        ("reference", float(arrays["reference"][index])),
        ("|error|", float(field.error[index])),
        ("bound", float(bound[index])),
    ]


def pictures(folder: Path | None) -> dict[str, Any]:
    """Heatmap and histogram of a value finding, or ``{"note": why not}``."""
    path = None if folder is None else folder / "arrays.npz"
    if path is None or not path.exists():
        return {
            "note": "No arrays.npz in the finding's folder (a run from before arrays were saved): "
            "no picture of the error."
        }
    try:
        with np.load(path) as data:
            data_arrays = {k: np.asarray(data[k], np.float64) for k in ("actual", "reference", "bound")}
        field = ErrorField.from_arrays(**data_arrays)
    except (OSError, KeyError, ValueError) as exc:
        return {"note": f"arrays.npz could not be read ({exc}): no picture of the error."}
    if field.error.ndim < 3:
        return {"note": f"arrays.npz holds arrays of shape {list(field.error.shape)}, not (N, C, *spatial)."}
    return {
        "heatmap": heatmap_panels(field),
        "histogram": histogram(field),
        "elements": int(field.error.size),
        "worst": worst_element(field, data_arrays),
    }


# --- findings ----------------------------------------------------------------------------------

SPATIAL = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def shape_diff(expected: list[int] | None, actual: list[int] | None) -> list[dict[str, Any]]:
    """Per dimension of the output shape: name, expected, actual, whether they differ."""
    expected, actual = list(expected or []), list(actual or [])
    n = max(len(expected), len(actual))
    names = ["N", "C", *SPATIAL.get(n - 2, [f"S{i}" for i in range(max(0, n - 2))])][:n]
    names += [f"dim{i}" for i in range(len(names), n)]
    return [
        {
            "name": names[i],
            "expected": expected[i] if i < len(expected) else "—",
            "actual": actual[i] if i < len(actual) else "—",
            "differs": i >= len(expected) or i >= len(actual) or expected[i] != actual[i],
        }
        for i in range(n)
    ]


CASE_FIELDS = (
    ("rank", "rank"),
    ("batch", "N"),
    ("in_channels", "C_in"),
    ("out_channels", "C_out"),
    ("groups", "groups"),
    ("input_size", "input size"),
    ("kernel_size", "kernel"),
    ("stride", "stride"),
    ("dilation", "dilation"),
    ("pads_begin", "crop begin"),
    ("pads_end", "crop end"),
    ("output_padding", "output_padding"),
    ("padding_mode", "padding mode"),
    ("bias", "bias"),
    ("dtype", "dtype"),
    ("layout", "layout"),
    ("distribution", "values"),
    ("seed", "seed"),
)


def case_rows(case: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of a minimal case, in a fixed order."""
    return [(label, str(case[key])) for key, label in CASE_FIELDS if key in case]


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _read_snippet(folder: Path | None) -> str | None:
    if folder is None or not (folder / "snippet.py").exists():
        return None
    text = (folder / "snippet.py").read_text(encoding="utf-8", errors="replace")
    return text if len(text) <= SNIPPET_LIMIT else text[:SNIPPET_LIMIT] + "\n# … (truncated)\n"


STAT_ROWS = (
    ("max_abs_error", "max |error|"),
    ("max_rel_error", "max relative error"),
    ("max_ulp_error", "max error in ULP"),
    ("error_ratio", "max |error| / bound (the tolerance factor that would just pass)"),
    ("mismatched", "elements beyond the bound"),
    ("nonfinite_mismatches", "nan/inf mismatches"),
    ("compared", "elements compared"),
    ("worst_index", "worst element (N, C, *spatial)"),
)


def finding_view(finding: Finding, index: int) -> dict[str, Any]:
    """What the template shows for one finding."""
    rec = finding.record
    stats = rec.get("stats") or {}
    view: dict[str, Any] = {
        "id": f"finding-{index}",
        "finding": finding,
        "rec": rec,
        "kind": finding.kind,
        "case": _chunks(case_rows(rec.get("case") or {}), 3),
        "short": _case_short(rec.get("case") or {}),
        "features": rec.get("features") or [],
        "snippet": _read_snippet(finding.folder),
        "folder": None if finding.folder is None else str(finding.folder),
        "search": " ".join(str(x) for x in (finding.signature, rec.get("spec"), rec.get("message"))).lower(),
    }
    if finding.outcome == Outcome.VALUE_MISMATCH:
        view["stats"] = [(label, stats[key]) for key, label in STAT_ROWS if key in stats]
        view["exact_bound"] = stats.get("error_ratio") in (math.inf, "inf")
        view["pictures"] = pictures(finding.folder)
    if finding.outcome in (Outcome.SHAPE_MISMATCH, Outcome.DOC_MISMATCH):
        view["shape"] = shape_diff(rec.get("expected_shape"), rec.get("actual_shape"))
    if finding.outcome == Outcome.DOC_MISMATCH:
        view["doc"] = [
            (k.replace("_", " "), stats[k])
            for k in ("documented_size", "actual_size", "documented_formula", "source")
            if k in stats
        ]
    return view


def _case_short(case: dict[str, Any]) -> str:
    from harness.model.case import Case

    try:
        return Case.from_dict(case).short()
    except (InvalidCase, TypeError, ValueError):
        return ", ".join(f"{k}={v}" for k, v in case.items())


# --- audits ------------------------------------------------------------------------------------

#: Invalid-input assessments → cell class (pass: as it should be; fail: a problem; warn: a valid
#: configuration refused; unsup: nothing judged).
ASSESSMENT_CLASS = {
    "ok": "pass",
    "silently_accepted": "fail",
    "wrong_shape": "fail",
    "wrong_values": "fail",
    "crash": "fail",
    "hang": "fail",
    "refused": "warn",
    "not_applicable": "unsup",
    "not_run": "none",
}


def _crop_text(crops: dict[str, Any] | None) -> str:
    if not crops:
        return "no crop reproduces it"
    text = f"crops {crops.get('begin')}/{crops.get('end')}"
    if any(crops.get("output_padding") or []):
        text += f" + {crops.get('output_padding')} past the end"
    return text


def port_view(data: dict[str, Any]) -> dict[str, Any]:
    """Rows of the port section: per port, the source and one row per requested target."""
    views = []
    for entry in data.get("ports", []):
        rows = []
        for t in entry.get("targets", []):
            stats = t.get("stats") or {}
            if t.get("call") is None:
                state, cls = "not expressible", "unsup"
            elif t.get("not_run"):
                state, cls = "not run", "none"
            elif t.get("verified"):
                state, cls = "verified", "pass"
            else:
                state, cls = f"not verified ({t.get('outcome', '?')})", "fail"
            named = t.get("named_mode") or {}
            named_text = ""
            if named:
                named_text = {True: "same result here", False: "a different result here", None: "not run"}[
                    named.get("equivalent")
                ]
                named_text = f"its own {named.get('api_value')!r}: {named_text}"
            rows.append(
                {
                    "target": t.get("target"),
                    "call": t.get("call"),
                    "state": state,
                    "cls": cls,
                    "shape": t.get("output_shape"),
                    "max_abs_error": stats.get("max_abs_error"),
                    "error_ratio": stats.get("error_ratio"),
                    "why": t.get("reason")
                    or t.get("not_run")
                    or ("" if t.get("verified") else t.get("message", "")),
                    "notes": t.get("notes") or [],
                    "named": named_text,
                }
            )
        source = entry.get("source") or {}
        if source.get("not_run"):
            source_state = f"not run: {source['not_run']}"
        else:
            source_state = "verified" if source.get("verified") else "NOT verified"
        views.append(
            {
                "call": entry.get("call"),
                "api": entry.get("api"),
                "case_short": entry.get("case_short"),
                "source_target": entry.get("source_target"),
                "notes": entry.get("notes") or [],
                "source_state": source_state,
                "source_shape": source.get("output_shape"),
                "rows": rows,
            }
        )
    return {"ports": views}


def doc_audit_view(data: dict[str, Any]) -> dict[str, Any]:
    """The documentation audit: a line per target and a card per departure."""
    departures = []
    for d in data.get("departures", []):
        documented, actual = d.get("documented") or {}, d.get("actual") or {}
        departures.append(
            dict(
                d,
                documented_value=documented.get("value"),
                formula=documented.get("formula"),
                source=documented.get("source"),
                split=documented.get("split"),
                actual_value=actual.get("value"),
                actual_crops=(actual.get("note") or _crop_text(actual.get("crops")))
                if "crops" in actual
                else "",
                documented_crops=_crop_text(documented.get("crops")) if "crops" in documented else "",
                case_rows=_chunks(case_rows(d.get("case") or {}), 3),
            )
        )
    return {
        "meta": {k: data.get(k) for k in ("profile", "cases", "generated_cases", "seconds", "generated")},
        "targets": data.get("targets", {}),
        "departures": departures,
    }


def mode_view(data: dict[str, Any]) -> dict[str, Any]:
    """Per family a symmetric agreement matrix of (target, mode) entries, and the differing pairs."""
    entries = data.get("entries", [])
    pairs = {(p["a"], p["b"]): p for p in data.get("pairs", [])}
    families = []
    for family in dict.fromkeys(e.get("family") for e in entries):
        members = [e for e in entries if e.get("family") == family]
        rows = []
        for a in members:
            cells = []
            for b in members:
                pair = pairs.get((a["id"], b["id"])) or pairs.get((b["id"], a["id"]))
                if a["id"] == b["id"]:
                    cells.append({"cls": "none", "text": "—", "title": ""})
                elif pair is None or not pair.get("compared"):
                    cells.append({"cls": "unsup", "text": "n/a", "title": "no case both can express"})
                elif pair.get("equivalent"):
                    cells.append(
                        {
                            "cls": "pass",
                            "text": f"= {pair['compared']}",
                            "title": f"agree on all {pair['compared']} cases both express",
                        }
                    )
                else:
                    smallest = (pair.get("distinguishing") or {}).get("case_short", "")
                    cells.append(
                        {
                            "cls": "fail",
                            "text": f"≠ {pair['disagree']}/{pair['compared']}",
                            "title": f"smallest distinguishing case: {smallest}",
                        }
                    )
            rows.append({"entry": a, "cells": cells})
        families.append({"name": family, "members": members, "rows": rows})
    differing = []
    for pair in data.get("pairs", []):
        found = pair.get("distinguishing")
        if not found:
            continue
        differing.append(
            {
                "pair": pair,
                "case_short": found.get("case_short"),
                "a": _behaviour_text(found.get(pair["a"]) or {}),
                "b": _behaviour_text(found.get(pair["b"]) or {}),
            }
        )
    return {
        "meta": {k: data.get(k) for k in ("profile", "geometries", "seconds", "generated")},
        "families": families,
        "differing": differing,
        "entries": entries,
    }


def _behaviour_text(b: dict[str, Any]) -> str:
    kind = b.get("kind")
    if kind == "crops":
        return f"output {b.get('shape')}, " + _crop_text(b)
    return f"{kind}: {b.get('text', '')}" + (f" (output {b['shape']})" if b.get("shape") else "")


def invalid_view(data: dict[str, Any]) -> dict[str, Any]:
    """Configurations × targets that ran, each cell an assessment; the problems listed with messages."""
    rows_in = data.get("configurations", [])

    def ran(target: str) -> bool:
        return any(
            (row.get("responses") or {}).get(target, {}).get("response") != "not_run" for row in rows_in
        )

    targets = [t for t in data.get("targets", []) if ran(t)]
    rows, problems = [], []
    for row in rows_in:
        cells = []
        for t in targets:
            r = (row.get("responses") or {}).get(t, {})
            assessment = r.get("assessment", "?")
            text = assessment.replace("_", " ")
            if r.get("response") == "accepted":
                text += f" {r.get('shape')}"
            title = r.get("message") or (r.get("values") or {}).get("message") or ""
            cells.append({"cls": ASSESSMENT_CLASS.get(assessment, "none"), "text": text, "title": title})
            if ASSESSMENT_CLASS.get(assessment) == "fail":
                problems.append(
                    {
                        "config": row.get("name"),
                        "target": t,
                        "assessment": assessment,
                        "response": r,
                        "expect": row.get("expect"),
                        "expected_shape": row.get("expected_shape"),
                    }
                )
        rows.append({"row": row, "cells": cells})
    return {
        "targets": targets,
        "rows": rows,
        "problems": problems,
        "not_run": data.get("not_run") or {},
        "meta": {k: data.get(k) for k in ("seconds", "generated")},
    }


def audit_views(audits: dict[str, Any]) -> dict[str, Any]:
    """Template data for each audit present (an unreadable file becomes a note)."""
    builders = {
        "port": port_view,
        "doc_audit": doc_audit_view,
        "mode_equivalence": mode_view,
        "invalid_inputs": invalid_view,
    }
    views: dict[str, Any] = {}
    for key, data in audits.items():
        if not isinstance(data, dict) or "_unreadable" in data:
            views[key] = {
                "unreadable": (data or {}).get("_unreadable", "not a JSON object")
                if isinstance(data, dict)
                else "not a JSON object"
            }
            continue
        try:
            views[key] = builders[key](data)
        except (KeyError, TypeError, AttributeError) as exc:
            views[key] = {"unreadable": f"{key}: unexpected content ({type(exc).__name__}: {exc})"}
    return views


# --- template ----------------------------------------------------------------------------------


def fmt_number(value: Any) -> str:
    """Numbers to 4 significant digits; lists element-wise; non-finite as ∞/nan."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt_number(v) for v in value) + "]"
    return str(value)


def slug(text: Any) -> str:
    """An id-safe form of a name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "x"


def csp_hash(script: str) -> str:
    """The CSP source expression allowing exactly this inline script."""
    digest = hashlib.sha256(str(script).encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def environment() -> Environment:
    """The Jinja2 environment (autoescape on for every template)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_number
    env.filters["slug"] = slug
    env.filters["csp_hash"] = csp_hash
    env.filters["rgb"] = lambda c: Markup("rgb({},{},{})".format(*(int(v) for v in c)))
    return env


def render_html(report: Report) -> str:
    """The report page."""
    views = [finding_view(f, i) for i, f in enumerate(report.findings)]
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for view in views:
        grouped.setdefault(view["finding"].target, {}).setdefault(view["kind"], []).append(view)
    by_kind = {t: {k: len(v) for k, v in kinds.items()} for t, kinds in grouped.items()}
    comparison = report.comparison
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            totals=report.totals,
            matrix=report.matrix(),
            coverage=report.coverage(),
            grouped=grouped,
            by_kind=by_kind,
            kinds=[o.label for o in FINDING_ORDER],
            comparison=comparison,
            signature_views={v["finding"].signature: v for v in views},
            audits=audit_views(report.audits),
        )
    )
