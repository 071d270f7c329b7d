"""The report's coverage map: per spec, each cell's status per target, read from ``run.json``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from harness.report.load import Run

#: A cell's status as the map shows it, best first: when runs disagree, the best one stands.
MAP_STATUSES = ("filled", "refused", "unfilled", "unreachable")


def coverage_map_view(runs: Iterable[Run]) -> dict[str, dict[str, Any]]:
    """Per spec, its coverage map (``run.json``'s ``coverage_map``): the targets, and per cell each
    target's status and reason, with per target how many reachable cells were filled.

    ``run.json`` is read as untrusted data: an entry that is not the expected shape is skipped.
    """
    cells: dict[str, dict[str, dict[str, tuple[str, str]]]] = defaultdict(lambda: defaultdict(dict))
    for run in runs:
        recorded = run.meta.get("coverage_map")
        for key, entry in (recorded if isinstance(recorded, dict) else {}).items():
            target, _, spec = str(key).rpartition("|")
            listed = entry.get("cells") if isinstance(entry, dict) else None
            for cell in listed if isinstance(listed, list) else []:
                if not isinstance(cell, dict) or cell.get("status") not in MAP_STATUSES:
                    continue
                name, status = str(cell.get("name")), str(cell["status"])
                old = cells[spec][name].get(target)
                if old is None or MAP_STATUSES.index(status) < MAP_STATUSES.index(old[0]):
                    cells[spec][name][target] = (status, str(cell.get("reason") or ""))
    out: dict[str, dict[str, Any]] = {}
    for spec in sorted(cells):
        targets = sorted({t for row in cells[spec].values() for t in row})
        totals = {}
        for t in targets:
            statuses = [row[t][0] for row in cells[spec].values() if t in row]
            reachable = sum(s != "unreachable" for s in statuses)
            totals[t] = {"filled": statuses.count("filled"), "reachable": reachable}
        out[spec] = {"targets": targets, "rows": dict(cells[spec]), "totals": totals}
    return out
