"""What the report page shows of ``port-model`` results (``DIR/port_model.json``): per model, the
layers, the target × layer table and each target's emitted calls (``templates/audits.html.j2``)."""

from __future__ import annotations

from typing import Any

from harness.audits.port_model import cell

#: A pair's state → its cell class and short text.
STATE_CELL = {
    "verified": ("pass", "verified"),
    "workaround": ("warn", "workaround"),
    "not_expressible": ("unsup", "not expressible"),
    "not_run": ("none", "not run"),
    "not_verified": ("fail", "not verified"),
}


def _calls(entry: dict[str, Any]) -> dict[str, Any]:
    found = (entry.get("alternative") or {}).get("found")
    return {
        "call": entry.get("call"),
        "working": None if found is None else found.get("call"),
        "weight": ", ".join(entry.get("weight_layout") or []),
        "defaults": entry.get("defaults") or [],
    }


def port_model_view(data: dict[str, Any]) -> dict[str, Any]:
    """Template data for every model in the file."""
    models = []
    for result in data.get("models", []):
        layers = result.get("layers", [])
        targets = result.get("targets", [])
        rows = []
        for index, name in enumerate(targets):
            cells, calls = [], []
            for layer in layers:
                entries = layer.get("targets") or []
                if not entries:
                    cells.append({"cls": "none", "text": "—", "title": layer.get("problem") or ""})
                    continue
                c = cell(entries[index])
                cls, text = STATE_CELL[c["state"]]
                if c.get("error_ratio") is not None:
                    text = f"{text} {c['error_ratio']:.2g}"
                cells.append({"cls": cls, "text": text, "title": c.get("reason") or ""})
                calls.append(dict(_calls(entries[index]), layer=layer.get("layer")))
            rows.append({"target": name, "cells": cells, "calls": calls})
        views = [
            {
                "label": f"L{i + 1}",
                "name": layer.get("layer"),
                "source_call": layer.get("source_call"),
                "case_short": layer.get("case_short"),
                "problem": layer.get("problem"),
                "verified": (layer.get("source") or {}).get("verified"),
                "weight_sha256": layer.get("weight_sha256"),
                "notes": layer.get("notes") or [],
            }
            for i, layer in enumerate(layers)
        ]
        models.append(
            {
                "model": result.get("model"),
                "kind": result.get("kind"),
                "seconds": result.get("seconds"),
                "layers": views,
                "rows": rows,
            }
        )
    return {"models": models}
