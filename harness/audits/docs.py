"""``python -m harness audit-docs``: every target's documented output sizes and crop splits, checked
against what the framework does on generated cases.

The documentation of each target is data with its source, declared in the target's own folder: the
named modes are its :class:`~harness.model.modes.DocumentedMode` declarations, the explicit-padding
size its :meth:`~adapters.protocol.TargetApi.explicit_formula` (an
:class:`~harness.model.formulas.ExplicitFormula`, evaluated on the arguments the target really
passes; a target that declares none is listed as not documented). A departure is a generated case
whose output size differs from the documented one, or — for a named mode whose size matches — whose
values match another crop than the documented split. Each kind of departure is shrunk to a minimal
case and written to ``DIR/doc_audit.json``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.protocol import TargetApi
from harness.audits.common import (
    LoadedTarget,
    explain_output,
    generated_cases,
    guarded_run,
    load_targets,
    make_command,
    mode_variants,
    one_line_call,
    size_key,
)
from harness.engine.findings import shrink
from harness.errors import InvalidCase
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.modes import resolve_mode
from harness.oracle.compare import compare
from harness.oracle.tolerance import ReferenceResult

DOC_AUDIT_FILE = "doc_audit.json"
DOC_AUDIT_SCHEMA = "convt-doc-audit/1"
NAMED_MODES = ("same", "same_lower", "valid")
SHRINK_EVALUATIONS = 80

# --- checking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Departure:
    """One case where behaviour departs from the documentation."""

    key: tuple[str, str, str, str]  # target, api, mode, aspect
    documented: dict[str, Any]
    actual: dict[str, Any]


def _crops(case: Case | None) -> dict[str, list[int]] | None:
    if case is None:
        return None
    return {
        "begin": list(case.pads_begin),
        "end": list(case.pads_end),
        "output_padding": list(case.output_padding),
    }


def api_label(pure: TargetApi, case: Case) -> str:
    """The API a case exercises on a target, as departures name it."""
    formula = pure.explicit_formula(case.rank)
    if case.padding_mode == "explicit" and formula is not None:
        return formula.api
    return formula.api.split(" (")[0] if formula is not None else f"{pure.name} ({case.rank}-D)"


def check_case(loaded: LoadedTarget, case: Case) -> Departure | str | None:
    """A departure, an error text (the framework failed on a supported case), or None (agrees)."""
    assert loaded.target is not None and loaded.pure is not None
    target, pure = loaded.target, loaded.pure
    arrays = make_arrays(case)
    if case.padding_mode == "explicit":
        formula = pure.explicit_formula(case.rank)
        if formula is None:
            return None
        documented_size = formula.size(case)
        result = guarded_run(target, case, arrays)
        if result.output is None:
            return f"{result.kind}: {result.message}"
        shape = tuple(result.output.shape)
        if shape[2:] == documented_size and shape[:2] == (case.batch, case.out_channels):
            return None
        return Departure(
            (loaded.name, api_label(pure, case), "explicit", "output_size"),
            {"formula": formula.formula, "value": list(documented_size), "source": formula.source},
            {"value": list(shape[2:]), "shape": list(shape)},
        )
    mode = pure.documented_mode(case.padding_mode, case.rank)
    api = api_label(pure, case)
    documented_size = mode.output_size(case)
    try:
        documented: Case | None = resolve_mode(case, mode)
    except InvalidCase:
        documented = None
    result = guarded_run(target, case, arrays)
    doc = {
        "formula": mode.formula,
        "value": list(documented_size),
        "split": mode.split,
        "source": mode.source,
        "split_source": mode.split_source,
        "api_value": mode.api_value,
    }
    if result.output is None:
        if documented is None:
            return None  # the documentation gives an empty output and the framework refuses: agreed
        return f"{result.kind}: {result.message}"
    shape = tuple(result.output.shape)
    if shape[2:] != documented_size or shape[:2] != (case.batch, case.out_channels):
        actual, note, _ = explain_output(case, result.output, arrays, target)
        return Departure(
            (loaded.name, api, case.padding_mode, "output_size"),
            doc,
            {"value": list(shape[2:]), "shape": list(shape), "crops": _crops(actual), "note": note or None},
        )
    assert documented is not None
    model, dtype = pure.accumulation(case.dtype), pure.output_dtype(case)
    if compare(result.output, ReferenceResult.for_case(documented, arrays), dtype, model).passed:
        return None
    actual, note, _ = explain_output(case, result.output, arrays, target)
    return Departure(
        (loaded.name, api, case.padding_mode, "crop_split"),
        dict(doc, crops=_crops(documented)),
        {"value": list(shape[2:]), "crops": _crops(actual), "note": note or None},
    )


@dataclass
class TargetTally:
    """Per target: cases checked, unsupported, failing, and a few error samples."""

    checked: int = 0
    unsupported: int = 0
    errors: int = 0
    error_samples: list[dict[str, Any]] = field(default_factory=list)
    departing: dict[tuple[str, str, str, str], list[Case]] = field(default_factory=dict)
    #: cases checked per (api, mode): the denominator of each departure's count
    checked_by_key: dict[tuple[str, str], int] = field(default_factory=dict)


def _still_departs(loaded: LoadedTarget, key: tuple[str, str, str, str]) -> Callable[[Case], bool]:
    def check(case: Case) -> bool:
        assert loaded.pure is not None
        if loaded.pure.supports(case) is not None:
            return False
        found = check_case(loaded, case)
        return isinstance(found, Departure) and found.key == key

    return check


def audit_target(loaded: LoadedTarget, cases: list[Case], progress: bool = False) -> TargetTally:
    """Check every supported case on one runnable target."""
    assert loaded.pure is not None
    tally = TargetTally()
    for index, case in enumerate(cases):
        if loaded.pure.supports(case) is not None:
            tally.unsupported += 1
            continue
        tally.checked += 1
        scope = (api_label(loaded.pure, case), case.padding_mode)
        tally.checked_by_key[scope] = tally.checked_by_key.get(scope, 0) + 1
        found = check_case(loaded, case)
        if isinstance(found, str):
            tally.errors += 1
            if len(tally.error_samples) < 3:
                tally.error_samples.append(
                    {"case": case.to_dict(), "case_short": case.short(), "message": found[:500]}
                )
        elif found is not None:
            tally.departing.setdefault(found.key, []).append(case)
        if progress and index % 50 == 0:
            print(f"  {loaded.name}: {index}/{len(cases)}", file=sys.stderr)
    return tally


def minimal_departure(
    loaded: LoadedTarget, key: tuple[str, str, str, str], cases: list[Case], checked: int
) -> dict[str, Any]:
    """The departure of one kind, shrunk to a minimal case, as written to the JSON."""
    smallest = min(cases, key=size_key)
    minimal = shrink(smallest, _still_departs(loaded, key), max_evaluations=SHRINK_EVALUATIONS)
    found = check_case(loaded, minimal)
    if not isinstance(found, Departure):  # flaky: keep the smallest generated case
        minimal, found = smallest, check_case(loaded, smallest)
    assert isinstance(found, Departure) and loaded.pure is not None
    target, api, mode, aspect = key
    return {
        "target": target,
        "api": api,
        "mode": mode,
        "aspect": aspect,
        "documented": found.documented,
        "actual": found.actual,
        "case": minimal.to_dict(),
        "case_short": minimal.short(),
        "call": one_line_call(loaded.pure, minimal),
        "cases_checked": checked,
        "cases_departing": len(cases),
    }


def audit_docs(
    target_names: list[str],
    profile: str,
    *,
    examples: int | None = None,
    device: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """The whole audit as a JSON-ready dict."""
    start = time.monotonic()
    drawn = generated_cases(profile, examples=examples)
    cases: list[Case] = []
    for case in drawn:
        cases.append(case)
        if case.padding_mode == "explicit":
            cases.extend(mode_variants(case, NAMED_MODES))
    targets: dict[str, Any] = {}
    departures: list[dict[str, Any]] = []
    for loaded in load_targets(target_names, device):
        entry: dict[str, Any] = {"not_run": loaded.reason, "formulas": _formulas(loaded)}
        targets[loaded.name] = entry
        if loaded.target is None:
            continue
        tally = audit_target(loaded, cases, progress)
        entry.update(
            checked=tally.checked,
            unsupported=tally.unsupported,
            errors=tally.errors,
            error_samples=tally.error_samples,
        )
        for key, bad in sorted(tally.departing.items()):
            checked = tally.checked_by_key.get((key[1], key[2]), 0)
            departures.append(minimal_departure(loaded, key, bad, checked))
        entry["departures"] = sum(1 for d in departures if d["target"] == loaded.name)
    return {
        "schema": DOC_AUDIT_SCHEMA,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "profile": profile,
        "generated_cases": len(drawn),
        "cases": len(cases),
        "seconds": round(time.monotonic() - start, 1),
        "targets": targets,
        "departures": departures,
    }


def _formulas(loaded: LoadedTarget) -> list[dict[str, Any]]:
    """Every documented formula of a target (explicit per rank, then its named modes)."""
    out: list[dict[str, Any]] = []
    pure = loaded.pure
    if pure is None:
        return out
    ranks = sorted(pure.capabilities().ranks)
    for rank in ranks:
        formula = pure.explicit_formula(rank)
        if formula is None:
            out.append(
                {
                    "api": f"{pure.name} ({rank}-D)",
                    "formula": "not documented",
                    "source": "the target declares no explicit-padding size (TargetApi.explicit_formula)",
                    "mode": "explicit",
                    "rank": rank,
                    "documented": False,
                }
            )
        else:
            out.append(dict(formula.to_dict(), mode="explicit", rank=rank, documented=True))
    for mode_name in pure.capabilities().padding_modes:
        for rank in ranks:
            documented = pure.documented_mode(mode_name, rank)
            out.append(dict(documented.to_dict(), mode=mode_name, rank=rank))
    return out


def summary_text(result: dict[str, Any]) -> str:
    """One line per target and one per departure."""
    lines = [
        f"{result['cases']} cases ({result['generated_cases']} generated, profile {result['profile']}) "
        f"in {result['seconds']} s"
    ]
    for name, entry in result["targets"].items():
        if entry.get("not_run"):
            lines.append(f"  {name:26s} not run: {entry['not_run']}")
        else:
            lines.append(
                f"  {name:26s} {entry['checked']} checked, {entry['unsupported']} unsupported, "
                f"{entry['errors']} errors, {entry['departures']} departure kind(s)"
            )
    for d in result["departures"]:
        lines.append(
            f"- {d['target']} {d['api']} [{d['mode']}, {d['aspect']}]: documented "
            f"{d['documented']['value']} ({d['documented']['formula']}), "
            f"actual {d['actual']['value']}"
            f"; {d['cases_departing']}/{d['cases_checked']} cases; minimal: {d['case_short']}"
        )
    return "\n".join(lines)


cmd_audit_docs = make_command(audit_docs, DOC_AUDIT_FILE, summary_text, lambda r: bool(r["departures"]))
