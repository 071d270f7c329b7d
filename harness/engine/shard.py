"""Splitting one run over N CI jobs: ``run --shard K/N``.

**The unit is one (target, spec) exploration; a shard runs whole units, never part of one.** A
range of one exploration's cases cannot be judged without judging the cases before it: Hypothesis
draws each case from what the earlier ones returned (the ``target()`` scores it steers by, the
examples it mutates), and the findings met so far decide which later failures are shrunk and
recorded. A unit's exploration is fixed by the run's seed, the profile, the target, the spec and
the past findings it replays (:func:`harness.engine.history.unit_seed`), never by which other units
run in the same process, so a unit judged in any shard meets the cases it meets in the whole run.

**The split.** The units are listed spec by spec (in the order the specs were given), each spec's
targets (in the order of ``--targets``) rotated one place further than the previous spec's, and
dealt round-robin: the ``i``-th unit (from 0) goes to shard ``i mod N + 1``. With as many targets
as specs as shards, each shard gets one unit of every target and of every spec. A shard is cut
from the requested targets, available or not, so every job of a matrix cuts the same units.

**The guarantee.** Shards ``1/N`` … ``N/N`` of runs with the same seed, profile, device, specs,
targets and findings store judge, together, exactly the (target, spec, case) records of the run
without ``--shard``, each once, in the same order within a unit, with the same outcomes where the
target answers a case the same way whatever its worker ran before (a history-dependent target may
answer differently, and then Hypothesis may draw differently after that case).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BadShard
from harness.spec.schema import Spec

_FORM = re.compile(r"(\d+)/(\d+)")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (both from 1)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``K/N`` with whole numbers ``1 ≤ K ≤ N``; :class:`~harness.errors.BadShard` otherwise."""
    match = _FORM.fullmatch(text.strip())
    if match is None:
        raise BadShard(f"{text!r} is not K/N (shard K of N, whole numbers, e.g. 2/3)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise BadShard(f"{text!r}: K/N needs 1 ≤ K ≤ N (shard K of N, e.g. 2/3)")
    return Shard(index, count)


def all_units(target_names: list[str], spec_names: list[str]) -> list[tuple[str, str]]:
    """Every (target, spec) unit of a run, in the order shards are dealt from (module docstring)."""
    units = []
    for turn, spec in enumerate(spec_names):
        for j in range(len(target_names)):
            units.append((target_names[(j + turn) % len(target_names)], spec))
    return units


def shard_units(shard: Shard, target_names: list[str], spec_names: list[str]) -> list[tuple[str, str]]:
    """The units of ``shard``; :class:`~harness.errors.BadShard` when there are fewer units than
    shards (a shard would judge nothing)."""
    units = all_units(target_names, spec_names)
    if shard.count > len(units):
        raise BadShard(
            f"--shard {shard}: this run has {len(units)} (target, spec) unit(s) "
            f"({len(target_names)} target(s) × {len(spec_names)} spec(s)), so N may be at most "
            f"{len(units)}: a shard runs whole (target, spec) explorations"
        )
    return [unit for i, unit in enumerate(units) if i % shard.count == shard.index - 1]


def shard_run_id(run_id: str, shard: Shard, target_names: list[str], specs: list[Spec]) -> str:
    """``run_id`` marked with the shard (the jobs of a matrix start in the same second), once
    :func:`shard_units` has checked that the shard has units."""
    shard_units(shard, target_names, [s.name for s in specs])
    return f"{run_id}-shard{shard.index}of{shard.count}"


def split_key(meta: dict[str, Any]) -> str:
    """What every shard of one split run shares (seed, profile, device, targets, spec files), as a
    short digest: the report groups shards by it. A run without ``--shard`` has the same key as the
    shards that split it."""
    shared = [
        meta.get("seed"),
        meta.get("profile"),
        meta.get("device"),
        meta.get("target_names"),
        [Path(str(p)).name for p in meta.get("specs") or []],
    ]
    return hashlib.sha256(json.dumps(shared, default=str).encode()).hexdigest()[:16]


def shard_record(shard: Shard, meta: dict[str, Any], specs: list[Spec]) -> dict[str, Any]:
    """The ``shard`` entry of ``run.json``: K, N, the units this shard runs and :func:`split_key`."""
    units = shard_units(shard, list(meta["target_names"]), [s.name for s in specs])
    return {
        "index": shard.index,
        "count": shard.count,
        "units": [list(u) for u in units],
        "of": split_key(meta),
    }


def runs_unit(meta: dict[str, Any], target: str, spec: str) -> bool:
    """Whether the run of ``run.json`` ``meta`` runs (target, spec): every unit without a shard."""
    entry = meta.get("shard")
    if not entry:
        return True
    return [target, spec] in entry["units"]


def runs_target(meta: dict[str, Any], target: str) -> bool:
    """Whether the run runs any unit of ``target`` (a target with none is not even loaded)."""
    entry = meta.get("shard")
    return not entry or any(unit[0] == target for unit in entry["units"])
