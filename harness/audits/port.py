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
4. Each emitted call is verified: it runs in the target's isolated worker on the case's generated
   inputs and is compared with the float64 reference under the target's declared tolerance
   (:mod:`harness.audits.port_verify`: every worker is started at once, and the reference is
   computed once per port). A target that cannot run here (TensorRT without a GPU) still emits its
   call and reports ``not_run`` with the reason.
5. Where the direct call diverges, the other forms of the same case in that API are tried and the
   first that verifies is offered, with the finding it works around
   (:mod:`harness.audits.port_forms`).
6. Each call says how it takes the weight and which of its API's defaults differ from the source
   API's (:meth:`adapters.protocol.TargetApi.weight_layout`, ``call_defaults``).

:func:`save_port` adds the result to ``DIR/port.json`` (``--out DIR``; shown by the HTML report).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from adapters.protocol import TargetApi
from adapters.reading import Shapes, translate
from adapters.registry import readable_apis
from harness.audits.common import LoadedTarget, explain_output, guarded_run, load_targets
from harness.audits.port_forms import call_of, search
from harness.audits.port_text import differing_defaults
from harness.audits.port_text import failed as failed
from harness.audits.port_text import text_report as text_report
from harness.audits.port_verify import Verifier, start_workers
from harness.errors import InvalidCase, PortError
from harness.files import writable_folder, write_text_atomic
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.modes import resolve_mode

PORT_FILE = "port.json"
PORT_SCHEMA = "convt-port/1"


@dataclasses.dataclass
class PinnedSource:
    """The explicit case a (possibly named-mode) source call computes, and how that was decided."""

    case: Case
    basis: str  # "explicit", "run" or "documented"
    source_check: dict[str, Any]
    notes: list[str]


def pin_source(
    case: Case, api_name: str, source: LoadedTarget, weights: CaseArrays | None = None
) -> PinnedSource:
    """The explicit case of the source call (see the module docstring, step 2); an explicit call's
    own check is left to :func:`port`, which verifies it with the targets. ``weights``: the arrays
    to run it on (a model's own weights), else the case's generated ones."""
    if case.padding_mode == "explicit":
        return PinnedSource(case, "explicit", {}, [])
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
                f"{api_name} cannot run here ({source.reason}) and its documentation "
                "gives no output for this input"
            )
        notes.append(f"{source.name} cannot run here ({source.reason}): the port follows its documentation")
        return PinnedSource(
            documented, "documented", dict(described, verified=False, not_run=source.reason), notes
        )
    arrays = make_arrays(case) if weights is None else weights
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
        raise PortError(f"the output of {api_name} (shape {result.shape}): {why}; there is nothing to port")
    if actual is None:
        assert instead is not None
        notes.append(
            f"{api_name} {documented_mode.api_value!r} on this input: {why}. The port "
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
            f"{api_name} {documented_mode.api_value!r} departs from its documentation on "
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


def _named_mode(
    verifier: Verifier, loaded: LoadedTarget, mode_case: Case, case: Case
) -> dict[str, Any] | None:
    """Whether the target's own mode of the same name computes the pinned case on this input."""
    pure = loaded.pure
    if pure is None or mode_case.padding_mode not in pure.capabilities().padding_modes:
        return None
    if pure.supports(mode_case) is not None:
        return None
    out: dict[str, Any] = {
        "api_value": pure.documented_mode(mode_case.padding_mode).api_value,
        "call": call_of(pure, mode_case),
    }
    if loaded.target is None:
        return dict(out, equivalent=None, not_run=loaded.reason)
    result = verifier.verify(loaded, mode_case)
    out["equivalent"] = bool(result.get("verified"))
    out["output_shape"] = result.get("output_shape")
    if result.get("outcome") in ("error", "crash", "timeout"):
        out["error"] = f"{result['outcome']}: {result.get('message', '')}"
    return out


@dataclasses.dataclass
class PortContext:
    """What every target's entry of one port shares: the source API and the verifier."""

    source: TargetApi | None
    verifier: Verifier
    mode_case: Case | None
    verify: bool
    device: str | None
    siblings: dict[str, LoadedTarget] = dataclasses.field(default_factory=dict)

    def sibling(self, name: str) -> LoadedTarget:
        """Another registered target of the same API (loaded once per port)."""
        if name not in self.siblings:
            (self.siblings[name],) = load_targets([name], self.device)
        return self.siblings[name]


def port_entry(loaded: LoadedTarget, pinned: Case, context: PortContext) -> dict[str, Any]:
    """One requested target: its call (or the reason there is none), the verification, and where
    the call diverges, the form of the same case that works."""
    entry: dict[str, Any] = {"target": loaded.name}
    pure = loaded.pure
    if pure is None:
        return dict(entry, call=None, reason=loaded.reason, verified=False)
    case, reason, notes = _expressible_case(pure, pinned)
    if reason is not None:
        return dict(entry, call=None, reason=reason, verified=False)
    call = call_of(pure, case)
    entry.update(call=call, reason=None, notes=notes, weight_layout=pure.weight_layout(case))
    entry["defaults"] = differing_defaults(context.source, pure)
    attributes = getattr(pure, "attributes", None)
    if callable(attributes):
        attrs = attributes(case)
        if dataclasses.is_dataclass(attrs) and not isinstance(attrs, type):
            entry["attributes"] = dataclasses.asdict(attrs)
    entry["expected_shape"] = list(case.output_shape)
    if not context.verify:
        return dict(entry, verified=False, not_run="verification not asked for (--no-verify)")
    entry.update(context.verifier.verify(loaded, case))
    found = search(context.verifier, loaded, case, entry, call, context.sibling)
    if found is not None:
        entry["alternative"] = found
    if context.mode_case is not None:
        named = _named_mode(context.verifier, loaded, context.mode_case.replace(layout=case.layout), case)
        if named is not None:
            entry["named_mode"] = named
    return entry


def port(
    text: str, shapes: Shapes, target_names: list[str], *, device: str | None = None, verify: bool = True
) -> dict[str, Any]:
    """The whole port as a JSON-ready dict (raises :class:`PortError` for an unreadable call)."""
    tr = translate(text, readable_apis(), shapes)
    (source,) = load_targets([tr.source_target], device)
    loaded = load_targets(target_names, device)
    if verify:  # every framework imports at once, the source's with them
        start_workers([source, *loaded])
    pinned = pin_source(tr.case, tr.api.name, source)
    mode_case = tr.case if tr.case.padding_mode != "explicit" else None
    verifier = Verifier(pinned.case)
    source_check = pinned.source_check
    if pinned.basis == "explicit":
        source_check = (
            verifier.verify(source, pinned.case)
            if verify or source.target is None
            else {"verified": False, "not_run": "verification not asked for (--no-verify)"}
        )
    context = PortContext(source.pure, verifier, mode_case, verify, device)
    targets = [port_entry(t, pinned.case, context) for t in loaded]
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
        "source": dict(source_check, target=tr.source_target),
        "source_weight_layout": None if source.pure is None else source.pure.weight_layout(pinned.case),
        "references_computed": verifier.references_computed,
        "notes": tr.notes + pinned.notes,
        "targets": targets,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return getattr(value, "text", str(value))


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
