"""Porting a whole model: every transposed convolution of an ONNX file or a PyTorch module, ported
to each requested target with the model's own weights (``python -m harness port-model``).

1. The model is read into layers (:mod:`harness.audits.model_onnx`, :mod:`harness.audits.model_torch`):
   one canonical case per layer, with the model's weight and bias and an input of the layer's real
   shape drawn from the seed.
2. Each layer goes through ``port``'s own machinery (:mod:`harness.audits.port`): a named mode is
   pinned by running the source, each target emits its call or says why it cannot express the case,
   each call is verified in the target's worker against the float64 reference of *these* arrays,
   and where the direct call diverges the other forms of the same case are searched
   (:mod:`harness.audits.port_forms`).
3. The targets are loaded once and every worker started at once for the whole model; each layer
   computes its reference once.

The result is one table per model (layer × target) with every layer's emitted calls: printed
(:mod:`harness.audits.port_model_text`), as JSON, and added to ``DIR/port_model.json`` for the
HTML report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.audits.common import LoadedTarget, load_targets
from harness.audits.model_layers import ModelLayer, digest
from harness.audits.port import PortContext, pin_source, port_entry
from harness.audits.port_text import working_call
from harness.audits.port_verify import Verifier, start_workers
from harness.errors import PortError
from harness.files import writable_folder, write_text_atomic

PORT_MODEL_FILE = "port_model.json"
PORT_MODEL_SCHEMA = "convt-port-model/1"


def port_layer(
    layer: ModelLayer,
    source: LoadedTarget | None,
    targets: list[LoadedTarget],
    siblings: dict[str, LoadedTarget],
    *,
    device: str | None,
    verify: bool,
) -> dict[str, Any]:
    """One layer's port: its source check and one entry per target (as ``port`` gives them)."""
    out: dict[str, Any] = {
        "layer": layer.name,
        "source_call": layer.source_call,
        "source_target": layer.source_target,
        "notes": list(layer.notes),
        "weight_sha256": digest(layer.weight),
        "bias_sha256": digest(layer.bias),
    }
    if layer.problem is not None or layer.case is None or source is None:
        return dict(out, problem=layer.problem or "not read", targets=[])
    arrays = layer.arrays()
    try:
        pinned = pin_source(layer.case, layer.api_name, source, arrays)
    except PortError as exc:  # the source itself fails on this layer
        return dict(out, problem=str(exc), source={"verified": False, "message": str(exc)}, targets=[])
    verifier = Verifier(pinned.case, arrays)
    check = pinned.source_check
    if pinned.basis == "explicit":
        check = (
            verifier.verify(source, pinned.case)
            if verify
            else {"verified": False, "not_run": "verification not asked for (--no-verify)"}
        )
    mode_case = layer.case if layer.case.padding_mode != "explicit" else None
    context = PortContext(source.pure, verifier, mode_case, verify, device, siblings)
    entries = [port_entry(t, pinned.case, context) for t in targets]
    return dict(
        out,
        problem=None,
        case=pinned.case.to_dict(),
        case_short=pinned.case.short(),
        basis=pinned.basis,
        source=dict(check, target=layer.source_target),
        notes=out["notes"] + pinned.notes,
        references_computed=verifier.references_computed,
        targets=entries,
    )


def port_model(
    model: str,
    kind: str,
    layers: list[ModelLayer],
    target_names: list[str],
    *,
    device: str | None = None,
    verify: bool = True,
) -> dict[str, Any]:
    """The whole model's port as a JSON-ready dict."""
    began = time.perf_counter()
    source_names = sorted({layer.source_target for layer in layers if layer.case is not None})
    sources = dict(zip(source_names, load_targets(source_names, device), strict=True))
    targets = load_targets(target_names, device)
    if verify:  # every framework imports at once
        start_workers([*sources.values(), *targets])
    siblings: dict[str, LoadedTarget] = {}
    ported = [
        port_layer(layer, sources.get(layer.source_target), targets, siblings, device=device, verify=verify)
        for layer in layers
    ]
    return {
        "schema": PORT_MODEL_SCHEMA,
        "model": model,
        "kind": kind,
        "targets": [t.name for t in targets],
        "layers": ported,
        "seconds": round(time.perf_counter() - began, 3),
    }


def cell(entry: dict[str, Any]) -> dict[str, Any]:
    """One (layer, target) pair of the table: its state (``verified``, ``workaround``,
    ``not_expressible``, ``not_run``, ``not_verified``), the error/bound and the reason."""
    stats = entry.get("stats") or {}
    if entry.get("call") is None:
        return {"state": "not_expressible", "reason": entry.get("reason")}
    if entry.get("not_run"):
        return {"state": "not_run", "reason": entry["not_run"]}
    if entry.get("verified"):
        return {"state": "verified", "error_ratio": stats.get("error_ratio")}
    alternative = entry.get("alternative") or {}
    found = alternative.get("found")
    if found is not None:
        return {
            "state": "workaround",
            "error_ratio": (found.get("stats") or {}).get("error_ratio"),
            "reason": f"{found['description']}; works around: {alternative['works_around']}",
        }
    return {"state": "not_verified", "reason": f"{entry.get('outcome')}: {entry.get('message', '')}"}


def model_failed(result: dict[str, Any]) -> bool:
    """True when a layer's source fails, or a pair ran and neither its call nor another form verified."""
    for layer in result["layers"]:
        if (layer.get("source") or {}).get("verified") is False and not layer["source"].get("not_run"):
            return True
        if any(t.get("call") and not t.get("not_run") and working_call(t) is None for t in layer["targets"]):
            return True
    return False


def save_port_model(result: dict[str, Any], out_dir: Path) -> Path:
    """Add ``result`` to ``out_dir/port_model.json`` (replacing an earlier port of the same model)."""
    writable_folder(out_dir, "--report")
    path = out_dir / PORT_MODEL_FILE
    models: list[dict[str, Any]] = []
    if path.exists():
        try:
            models = list(json.loads(path.read_text(encoding="utf-8")).get("models", []))
        except (json.JSONDecodeError, AttributeError):
            models = []
    models = [m for m in models if m.get("model") != result["model"]] + [result]
    text = json.dumps({"schema": PORT_MODEL_SCHEMA, "models": models}, indent=2, default=str)
    return write_text_atomic(path, text + "\n")
