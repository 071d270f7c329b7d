"""``python -m harness audit-modes``: do the named padding modes of different frameworks agree?

The modes compared are those that exist in several frameworks: the SAME family (MindSpore
``'same'``, Paddle ``'SAME'``, ONNX/TensorRT ``SAME_UPPER`` and ``SAME_LOWER``) and the VALID family
(MindSpore ``'valid'``, Paddle ``'VALID'``, ONNX ``VALID``). Every generated geometry is run under
each (target, mode); what a run did is pinned to explicit crops
(:func:`harness.audits.common.infer_explicit`, under the target's declared tolerance). Two entries
agree on a case when both pin it to the same crops (then both are within tolerance of the same
reference), or both refuse it. A target that cannot run here (TensorRT without a GPU) takes part
through its documentation (``basis: documented``). For each pair that disagrees anywhere, the
smallest distinguishing case is found by shrinking. Written to ``DIR/mode_equivalence.json``.
"""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from harness.audits.common import (
    LoadedTarget,
    explain_output,
    generated_cases,
    guarded_run,
    load_targets,
    make_command,
    mode_variants,
    size_key,
)
from harness.engine.findings import shrink
from harness.errors import InvalidCase
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.modes import resolve_mode

MODE_FILE = "mode_equivalence.json"
MODE_SCHEMA = "convt-mode-equivalence/1"
FAMILIES: dict[str, tuple[str, ...]] = {"same": ("same", "same_lower"), "valid": ("valid",)}
SHRINK_EVALUATIONS = 60


@dataclass(frozen=True)
class Entry:
    """One (target, mode): how its API spells the mode and whether it is run or read from its docs."""

    target: LoadedTarget
    mode: str
    family: str
    api_value: str
    basis: str  # "run" or "documented"

    @property
    def ident(self) -> str:
        """``target:mode``."""
        return f"{self.target.name}:{self.mode}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        assert self.target.pure is not None
        documented = self.target.pure.documented_mode(self.mode)
        return {
            "id": self.ident,
            "target": self.target.name,
            "mode": self.mode,
            "family": self.family,
            "api_value": self.api_value,
            "basis": self.basis,
            "not_run": self.target.reason,
            "documented_formula": documented.formula,
            "documented_split": documented.split,
            "source": documented.source,
        }


@dataclass(frozen=True)
class Behaviour:
    """What an entry did on one case: refused (``reason``/``error``), or the crops it computed."""

    kind: str  # "unsupported", "error", "crops", "unexplained"
    crops: Case | None = None
    text: str = ""
    shape: tuple[int, ...] | None = None
    #: The output itself where no crop explains it (compared directly between entries).
    output: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {"kind": self.kind, "shape": None if self.shape is None else list(self.shape)}
        if self.crops is not None:
            out.update(
                begin=list(self.crops.pads_begin),
                end=list(self.crops.pads_end),
                output_padding=list(self.crops.output_padding),
            )
        if self.text:
            out["text"] = self.text[:400]
        return out


def entries(loaded: list[LoadedTarget]) -> list[Entry]:
    """Every (target, mode) of the families; documented-only entries that repeat one already present
    for the same framework and documentation are left out."""
    out: list[Entry] = []
    seen: set[tuple[str, ...]] = set()
    ordered = [t for t in loaded if t.runnable] + [t for t in loaded if not t.runnable]
    for lt in ordered:
        if lt.pure is None:
            continue
        for family, modes in FAMILIES.items():
            for mode in modes:
                if mode not in lt.pure.capabilities().padding_modes:
                    continue
                documented = lt.pure.documented_mode(mode)
                key = (lt.pure.framework, mode, documented.api_value, documented.formula, documented.split)
                if not lt.runnable and key in seen:
                    continue
                seen.add(key)
                out.append(
                    Entry(lt, mode, family, documented.api_value, "run" if lt.runnable else "documented")
                )
    return out


def behaviour(entry: Entry, case: Case) -> Behaviour:
    """What ``entry`` does on the geometry ``case`` (its crops cleared, its mode set here)."""
    pure = entry.target.pure
    assert pure is not None
    (mode_case,) = mode_variants(case, [entry.mode])
    reason = pure.supports(mode_case)
    if reason is not None:
        return Behaviour("unsupported", text=reason)
    try:
        documented: Case | None = resolve_mode(mode_case, pure.documented_mode(entry.mode, case.rank))
    except InvalidCase as exc:
        documented = None
        if entry.target.target is None:
            return Behaviour("error", text=f"documented size is empty: {exc}")
    if entry.target.target is None:
        assert documented is not None
        return Behaviour("crops", documented, shape=documented.output_shape)
    arrays = make_arrays(mode_case)
    result = guarded_run(entry.target.target, mode_case, arrays)
    if result.output is None:
        return Behaviour("error", text=f"{result.kind}: {result.message}")
    crops, note, _ = explain_output(mode_case, result.output, arrays, entry.target.target, prefer=documented)
    if crops is None:
        return Behaviour("unexplained", text=note, shape=tuple(result.output.shape), output=result.output)
    return Behaviour("crops", crops.replace(padding_mode="explicit"), shape=tuple(result.output.shape))


def agree(a: Behaviour, b: Behaviour) -> bool | None:
    """True/False, or None when the case does not compare them (one of them cannot express it)."""
    if "unsupported" in (a.kind, b.kind):
        return None
    if a.kind == "crops" and b.kind == "crops":
        assert a.crops is not None and b.crops is not None
        return (a.crops.pads_begin, a.crops.output_size) == (b.crops.pads_begin, b.crops.output_size)
    if a.kind == b.kind == "unexplained":
        return same_values(a.output, b.output)
    return a.kind == b.kind == "error"


def same_values(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Outputs no crop explains, compared directly: same shape, within 1e-5 of their magnitude (far
    below the whole products by which two different computations differ)."""
    if a is None or b is None or a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(a), initial=0.0)), 1.0)
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-5 * scale, equal_nan=True))


def _geometries(cases: list[Case]) -> list[Case]:
    out: list[Case] = []
    seen: set[Case] = set()
    for case in cases:
        zero = (0,) * case.rank
        plain = case.replace(padding_mode="explicit", pads_begin=zero, pads_end=zero, output_padding=zero)
        if plain not in seen:
            seen.add(plain)
            out.append(plain)
    return out


def _distinguishing(a: Entry, b: Entry, cases: list[Case]) -> dict[str, Any]:
    smallest = min(cases, key=size_key)

    def still(case: Case) -> bool:
        return agree(behaviour(a, case), behaviour(b, case)) is False

    minimal = shrink(smallest, still, max_evaluations=SHRINK_EVALUATIONS)
    if not still(minimal):
        minimal = smallest
    return {
        "case": minimal.to_dict(),
        "case_short": minimal.short(),
        a.ident: behaviour(a, minimal).to_dict(),
        b.ident: behaviour(b, minimal).to_dict(),
    }


def audit_modes(
    target_names: list[str],
    profile: str,
    *,
    examples: int | None = None,
    device: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """The equivalence table as a JSON-ready dict."""
    start = time.monotonic()
    geometries = _geometries(generated_cases(profile, examples=examples))
    all_entries = entries(load_targets(target_names, device))
    table: dict[str, list[Behaviour]] = {}
    for index, entry in enumerate(all_entries):
        if progress:
            print(
                f"  [{index + 1}/{len(all_entries)}] {entry.ident} on {len(geometries)} geometries",
                file=sys.stderr,
            )
        table[entry.ident] = [behaviour(entry, g) for g in geometries]
    pairs: list[dict[str, Any]] = []
    for a, b in itertools.combinations(all_entries, 2):
        if a.family != b.family:
            continue
        verdicts = [agree(x, y) for x, y in zip(table[a.ident], table[b.ident], strict=True)]
        disagreeing = [g for g, v in zip(geometries, verdicts, strict=True) if v is False]
        compared = sum(v is not None for v in verdicts)
        pair: dict[str, Any] = {
            "a": a.ident,
            "b": b.ident,
            "family": a.family,
            "compared": compared,
            "agree": sum(v is True for v in verdicts),
            "disagree": len(disagreeing),
            "equivalent": compared > 0 and not disagreeing,
            "basis": "run" if a.basis == b.basis == "run" else "documented",
        }
        if disagreeing:
            pair["distinguishing"] = _distinguishing(a, b, disagreeing)
        pairs.append(pair)
    return {
        "schema": MODE_SCHEMA,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "profile": profile,
        "geometries": len(geometries),
        "seconds": round(time.monotonic() - start, 1),
        "entries": [e.to_dict() for e in all_entries],
        "pairs": pairs,
        "behaviour_counts": {ident: _counts(rows) for ident, rows in table.items()},
    }


def _counts(rows: list[Behaviour]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        out[row.kind] = out.get(row.kind, 0) + 1
    return out


def summary_text(result: dict[str, Any]) -> str:
    """The table as text: one line per pair."""
    lines = [f"{result['geometries']} geometries (profile {result['profile']}) in {result['seconds']} s"]
    for pair in result["pairs"]:
        verdict = (
            "agree"
            if pair["equivalent"]
            else (
                "no common case"
                if not pair["compared"]
                else f"DIFFER on {pair['disagree']}/{pair['compared']}"
            )
        )
        line = f"  {pair['a']:32s} {pair['b']:32s} {verdict}"
        if pair["basis"] == "documented":
            line += " (documented)"
        if "distinguishing" in pair:
            line += f"; smallest: {pair['distinguishing']['case_short']}"
        lines.append(line)
    return "\n".join(lines)


#: A table, not a verdict: pairs that differ (SAME_UPPER and SAME_LOWER must) do not fail the command.
cmd_audit_modes = make_command(audit_modes, MODE_FILE, summary_text, lambda result: False)
