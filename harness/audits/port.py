"""Porting a call: a call in one framework's API, emitted in every other target's API and verified
numerically (the ``python -m harness port`` command is :mod:`harness.cli.port`).

1. The call is read (:mod:`adapters.reading`, parsed with ``ast``) into the canonical case.
2. A named mode (MindSpore's default ``pad_mode='same'``, Paddle's ``'SAME'``) adapts its crops to
   the input, so it is first pinned to explicit crops: the source call is run in its worker and the
   crops its output corresponds to are inferred (:func:`harness.audits.common.infer_explicit`); the
   port reproduces what the call *does*, and says where that departs from its documentation. Where
   the source framework cannot run, the documented crops are used (and said so).
3. Each requested target emits its own call for that case (``equivalent_call``, the call its
   ``run`` makes) or the precise reason its API cannot express it.
4. Each emitted call is verified: :func:`harness.engine.verdict.judge` runs it in the target's isolated
   worker on the case's generated inputs and compares it with the float64 reference under the
   target's declared tolerance. A target that cannot run here (TensorRT without a GPU) still emits
   its call and reports ``not_run`` with the reason.

:func:`save_port` adds the result to ``DIR/port.json`` (``--out DIR``; shown by the HTML report).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from adapters.protocol import TargetApi
from adapters.reading import Shapes, Translation, translate
from adapters.registry import readable_apis
from harness.audits.common import (
    LoadedTarget,
    explain_output,
    guarded_run,
    infer_explicit,
    load_targets,
    one_line_call,
)
from harness.engine.verdict import judge
from harness.errors import InvalidCase, PortError
from harness.files import writable_folder, write_text_atomic
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.modes import resolve_mode
from harness.model.outcomes import Outcome
from harness.terminal import printable

PORT_FILE = "port.json"
PORT_SCHEMA = "convt-port/1"
STAT_KEYS = ("max_abs_error", "max_rel_error", "max_ulp_error", "error_ratio", "mismatched", "compared")


def _call_of(target: TargetApi, case: Case) -> str:
    """The target's one-line call; for a target that describes no plan, the last code line of its
    snippet."""
    text = one_line_call(target, case)
    if text is not None:
        return text
    lines = [ln for ln in target.snippet(case).splitlines() if ln and not ln.startswith(("import", "#"))]
    return lines[-1] if lines else ""


def _verify(loaded: LoadedTarget, case: Case) -> dict[str, Any]:
    """judge() in the target's worker: verified, outcome, shapes and error statistics."""
    if loaded.target is None:
        return {"verified": False, "not_run": loaded.reason, "output_shape": None}
    verdict = judge(case, loaded.target)
    return {
        "verified": verdict.outcome == Outcome.PASS,
        "outcome": verdict.outcome,
        "message": verdict.message,
        "expected_shape": verdict.expected_shape,
        "output_shape": verdict.actual_shape,
        "stats": {k: verdict.stats[k] for k in STAT_KEYS if k in verdict.stats},
        "seconds": round(verdict.seconds, 4),
    }


@dataclasses.dataclass
class PinnedSource:
    """The explicit case a (possibly named-mode) source call computes, and how that was decided."""

    case: Case
    basis: str  # "explicit", "run" or "documented"
    source_check: dict[str, Any]
    notes: list[str]


def pin_source(tr: Translation, source: LoadedTarget) -> PinnedSource:
    """The explicit case of the source call (see the module docstring, step 2)."""
    case = tr.case
    if case.padding_mode == "explicit":
        explicit_check = (
            _verify(source, case)
            if source.target is not None
            else {"verified": False, "not_run": source.reason}
        )
        return PinnedSource(case, "explicit", explicit_check, [])
    assert source.pure is not None
    documented_mode = source.pure.documented_mode(case.padding_mode, case.rank)
    notes: list[str] = []
    try:
        documented: Case | None = resolve_mode(case, documented_mode)
    except InvalidCase as exc:
        documented = None
        notes.append(f"the documentation gives no usable size here: {exc}")
    described: dict[str, Any] = {
        "api_value": documented_mode.api_value,
        "formula": documented_mode.formula,
        "source": documented_mode.source,
        "documented_output_size": None if documented is None else list(documented.output_size),
    }
    if source.target is None:
        if documented is None:
            raise PortError(
                f"{tr.api.name} cannot run here ({source.reason}) and its documentation "
                "gives no output for this input"
            )
        notes.append(f"{source.name} cannot run here ({source.reason}): the port follows its documentation")
        return PinnedSource(
            documented, "documented", dict(described, verified=False, not_run=source.reason), notes
        )
    arrays = make_arrays(case)
    result = guarded_run(source.target, case, arrays)
    if result.output is None:
        raise PortError(
            f"the source call itself fails on input {list(case.input_shape)}: {result.kind}: {result.message}"
        )
    actual, why, instead = explain_output(case, result.output, arrays, source.target, prefer=documented)
    # verified: the pinned case reproduces the source's output (whatever the documentation says)
    check: dict[str, Any] = dict(
        described, output_shape=result.shape, verified=actual is not None or instead is not None
    )
    if actual is None and instead is None:
        raise PortError(
            f"the output of {tr.api.name} (shape {result.shape}): {why}; there is nothing to port"
        )
    if actual is None:
        assert instead is not None
        notes.append(
            f"{tr.api.name} {documented_mode.api_value!r} on this input: {why}. The port "
            "reproduces what the call computes, the case with dilation 1"
        )
        actual = instead
    check["actual_crops"] = {
        "begin": list(actual.pads_begin),
        "end": list(actual.pads_end),
        "output_padding": list(actual.output_padding),
    }
    if documented is not None and actual != documented:
        notes.append(
            f"{tr.api.name} {documented_mode.api_value!r} departs from its documentation on "
            f"this input: documented output {list(documented.output_size)} with crops "
            f"{list(documented.pads_begin)}/{list(documented.pads_end)}, actual "
            f"{list(actual.output_size)} with crops {list(actual.pads_begin)}/"
            f"{list(actual.pads_end)}; the port reproduces the actual behaviour"
        )
    size = "x".join(map(str, case.input_size))
    notes.append(
        f"{documented_mode.api_value!r} adapts its crops to the input size; the explicit calls "
        f"below are for spatial size {size}"
    )
    return PinnedSource(actual, "run", check, notes)


def _expressible_case(pure: Any, case: Case) -> tuple[Case, str | None, list[str]]:
    """The case the target is asked for (channels-first where it has no channels-last form)."""
    reason = pure.supports(case)
    if reason is not None and case.layout == "channels_last":
        first = case.replace(layout="channels_first")
        if pure.supports(first) is None:
            return (
                first,
                None,
                [f"{pure.name} has no channels-last form: give it x in NC* order (transpose N*C → NC*)"],
            )
    return case, reason, []


def _named_mode(loaded: LoadedTarget, mode_case: Case, pinned: Case) -> dict[str, Any] | None:
    """Whether the target's own mode of the same name computes the pinned case on this input."""
    pure = loaded.pure
    if pure is None or mode_case.padding_mode not in pure.capabilities().padding_modes:
        return None
    if pure.supports(mode_case) is not None:
        return None
    out: dict[str, Any] = {
        "api_value": pure.documented_mode(mode_case.padding_mode).api_value,
        "call": _call_of(pure, mode_case),
    }
    if loaded.target is None:
        out["equivalent"] = None
        out["not_run"] = loaded.reason
        return out
    arrays = make_arrays(mode_case)
    result = guarded_run(loaded.target, mode_case, arrays)
    actual = (
        None
        if result.output is None
        else infer_explicit(mode_case, result.output, arrays, loaded.target, prefer=pinned)
    )
    out["equivalent"] = actual == pinned
    out["output_shape"] = result.shape
    if result.output is None:
        out["error"] = f"{result.kind}: {result.message}"
    return out


def port_entry(loaded: LoadedTarget, pinned: Case, mode_case: Case | None, verify: bool) -> dict[str, Any]:
    """One requested target: its call (or the reason there is none) and the verification."""
    entry: dict[str, Any] = {"target": loaded.name}
    pure = loaded.pure
    if pure is None:
        return dict(entry, call=None, reason=loaded.reason, verified=False)
    case, reason, notes = _expressible_case(pure, pinned)
    if reason is not None:
        return dict(entry, call=None, reason=reason, verified=False)
    entry.update(call=_call_of(pure, case), reason=None, notes=notes)
    attributes = getattr(pure, "attributes", None)
    if callable(attributes):
        attrs = attributes(case)
        if dataclasses.is_dataclass(attrs) and not isinstance(attrs, type):
            entry["attributes"] = dataclasses.asdict(attrs)
    entry["expected_shape"] = list(case.output_shape)
    if verify:
        entry.update(_verify(loaded, case))
    else:
        entry.update(verified=False, not_run="verification not asked for (--no-verify)")
    if mode_case is not None:
        named = _named_mode(loaded, mode_case.replace(layout=case.layout), pinned.replace(layout=case.layout))
        if named is not None:
            entry["named_mode"] = named
    return entry


def port(
    text: str, shapes: Shapes, target_names: list[str], *, device: str | None = None, verify: bool = True
) -> dict[str, Any]:
    """The whole port as a JSON-ready dict (raises :class:`PortError` for an unreadable call)."""
    tr = translate(text, readable_apis(), shapes)
    (source,) = load_targets([tr.source_target], device)
    pinned = pin_source(tr, source)
    mode_case = tr.case if tr.case.padding_mode != "explicit" else None
    targets = [port_entry(t, pinned.case, mode_case, verify) for t in load_targets(target_names, device)]
    return {
        "call": tr.call.text,
        "api": tr.api.name,
        "api_source": tr.api.source,
        "source_target": tr.source_target,
        "arguments": {k: _jsonable(v) for k, v in tr.arguments.items()},
        "input_shape": list(tr.case.input_shape),
        "layout": tr.case.layout,
        "case": pinned.case.to_dict(),
        "case_short": pinned.case.short(),
        "source_mode": None if mode_case is None else mode_case.padding_mode,
        "basis": pinned.basis,
        "source": dict(pinned.source_check, target=tr.source_target),
        "notes": tr.notes + pinned.notes,
        "targets": targets,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return getattr(value, "text", str(value))


def failed(result: dict[str, Any]) -> bool:
    """True when a call was emitted, ran, and did not verify (or the source itself failed)."""
    if result["source"].get("verified") is False and not result["source"].get("not_run"):
        return True
    return any(t.get("call") and not t.get("verified") and not t.get("not_run") for t in result["targets"])


def text_report(result: dict[str, Any]) -> str:
    """The human-readable form of a port."""
    src = result["source"]
    lines = [
        f"call:      {printable(result['call'])}",
        f"api:       {result['api']} ({printable(result['source_target'])})",
        f"canonical: {result['case_short']}",
    ]
    if result["source_mode"]:
        lines.append(f"mode:      {result['source_mode']!r} pinned to explicit crops ({result['basis']})")
    state = _state(src)
    lines.append(f"source:    {state}")
    lines += [f"note:      {n}" for n in result["notes"]]
    lines.append("")
    names = {t["target"]: printable(t["target"]) for t in result["targets"]}
    width = max([len(n) for n in names.values()] + [8])
    for t in result["targets"]:
        if t.get("call") is None:
            lines.append(f"{names[t['target']]:{width}s}  not expressible: {t['reason']}")
            continue
        lines.append(f"{names[t['target']]:{width}s}  {_state(t)}")
        lines.append(f"{'':{width}s}    {t['call']}")
        lines += [f"{'':{width}s}    note: {n}" for n in t.get("notes", [])]
        named = t.get("named_mode")
        if named:
            same = {True: "computes the same here", False: "computes something else here", None: "not run"}[
                named.get("equivalent")
            ]
            lines.append(f"{'':{width}s}    its own {named['api_value']!r}: {same}")
    # reasons, notes and framework messages may span lines; nothing else in them reaches the terminal
    return printable("\n".join(lines), newlines=True)


def _state(entry: dict[str, Any]) -> str:
    if entry.get("not_run"):
        return f"not run: {entry['not_run']}"
    stats = entry.get("stats") or {}
    shape = entry.get("output_shape")
    detail = ""
    if stats:
        detail = (
            f", max |error| {stats.get('max_abs_error', 0):.3g}, "
            f"error/bound {stats.get('error_ratio', 0):.3g}"
        )
    if entry.get("verified"):
        return f"verified, output {shape}{detail}"
    outcome = entry.get("outcome", "failed")
    return f"NOT verified ({outcome}), output {shape}{detail}: {entry.get('message', '')}"


def save_port(result: dict[str, Any], out_dir: Path) -> Path:
    """Add ``result`` to ``out_dir/port.json`` (replacing an earlier port of the same call and input;
    UnusablePath when ``out_dir`` cannot be written)."""
    writable_folder(out_dir, "--out")
    path = out_dir / PORT_FILE
    ports: list[dict[str, Any]] = []
    if path.exists():
        try:
            ports = list(json.loads(path.read_text(encoding="utf-8")).get("ports", []))
        except (json.JSONDecodeError, AttributeError):
            ports = []
    key = (result["call"], result["case_short"])
    ports = [p for p in ports if (p.get("call"), p.get("case_short")) != key] + [result]
    # Rewritten in one piece: the store holds every earlier port, and a cut-short write would lose them.
    return write_text_atomic(
        path, json.dumps({"schema": PORT_SCHEMA, "ports": ports}, indent=2, default=str) + "\n"
    )
