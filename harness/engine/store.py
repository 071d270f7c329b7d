"""The findings store: every finding's minimal case, kept across runs and replayed first.

One JSON line per (spec, target, signature, minimal case) in ``$CONVT_FINDINGS_DB`` (default
``.hypothesis/convt-findings.jsonl``). A run freezes the cases to replay in ``run.json`` when it
starts (:func:`replay_snapshot`), so a resumed run replays the same ones; a stored case the harness
refuses now is not replayed, and the run says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from adapters.registry import resolve
from harness.engine.findings import Finding
from harness.errors import InvalidCase
from harness.model.case import Case
from harness.model.limits import check_reference
from harness.spec.schema import Spec

FINDINGS_STORE = Path(os.environ.get("CONVT_FINDINGS_DB", ".hypothesis/convt-findings.jsonl"))


def load_replay(store: Path, spec: str, target: str, skipped: list[str] | None = None) -> list[Case]:
    """Minimal cases of past findings for (spec, target): replayed before anything else.

    A stored case the harness refuses now (a rule of the canonical model, or a cap of
    :mod:`harness.model.limits` on its size or its reference) is left out, and a note saying why is
    added to ``skipped``; a line that is not a stored finding is left out silently.
    """
    if not store.exists():
        return []
    out = []
    for number, line in enumerate(store.read_text(encoding="utf-8").splitlines(), 1):
        try:
            item = json.loads(line)
            if item["spec"] == spec and item["target"] == target:
                case = Case.from_dict(item["case"])
                check_reference(case)
                out.append(case)
        except InvalidCase as exc:
            if skipped is not None:
                skipped.append(
                    f"{store}:{number}: a past finding of {target} × {spec} is not replayed: {exc}"
                )
        except (ValueError, KeyError, TypeError):
            continue
    return out


def remember(store: Path, spec: str, finding: Finding) -> None:
    """Add a finding of ``spec`` to the store, unless the same line is already there."""
    store.parent.mkdir(parents=True, exist_ok=True)
    item = {
        "spec": spec,
        "target": finding.target,
        "signature": finding.signature,
        "case": finding.minimal.to_dict(),
    }
    known = store.read_text(encoding="utf-8") if store.exists() else ""
    line = json.dumps(item, sort_keys=True)
    if line not in known.splitlines():
        with store.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def replay_snapshot(
    store: Path,
    *,
    specs: list[Spec],
    targets: list[str],
    skipped: list[str] | None = None,
    stored_as: dict[str, str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Past findings to replay first, per ``target|spec``, frozen at the start of the run (the notes
    on cases left out go to ``skipped``, as in :func:`load_replay`). ``stored_as`` maps a requested
    name (``module:Class``) to the target's own name, which the findings a run stores carry; lines
    stored under the requested name are replayed too."""
    out: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        for name in targets:
            own = (stored_as or {}).get(name, name)
            cases_ = load_replay(store, spec.name, own, skipped)
            if own != name:  # a line stored under the name the run was given
                cases_ += load_replay(store, spec.name, name, skipped)
            if cases_:
                out[f"{name}|{spec.name}"] = [c.to_dict() for c in cases_]
    return out


def replay_entries(store: Path | None, specs: list[Spec], targets: list[str]) -> dict[str, Any]:
    """The ``run.json`` entries of a run's replay: the store (None: no replay), the cases taken from
    it per ``target|spec`` and the lines skipped. Findings are stored under the target's own name,
    which for a ``module:Class`` name differs from the name requested."""
    replay: dict[str, list[dict[str, Any]]] = {}
    skipped: list[str] = []
    if store is not None and store.exists():
        stored_as = {name: resolve(name).name for name in targets}
        replay = replay_snapshot(store, specs=specs, targets=targets, skipped=skipped, stored_as=stored_as)
    return {"replay_store": str(store) if store else None, "replay": replay, "replay_skipped": skipped}
