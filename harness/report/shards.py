"""Merging the shards of split runs (``run --shard K/N``, :mod:`harness.engine.shard`).

Each shard judges whole (target, spec) units of one run, so the report of shards ``1/N`` … ``N/N``
merged is the report of the whole run: the same cases, outcome counts, findings and coverage. What
would break that is refused here, before anything is merged: the same run given twice (its cases
would count twice), one shard given twice, shards of one run split two ways (``1/2`` beside
``1/3``: their units overlap), or the whole run beside its shards. A shard that is missing is not
an error (a job of the matrix may have failed): the report is written and says which are missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.engine.shard import split_key
from harness.errors import BadShard
from harness.report.load import Run


@dataclass
class SplitRun:
    """The shards of one split run found among the report's folders."""

    key: str
    count: int
    seed: Any
    #: Shard index (from 1) → the folder holding it.
    folders: dict[int, Path] = field(default_factory=dict)

    @property
    def missing(self) -> list[int]:
        """The indexes of the shards not given."""
        return [k for k in range(1, self.count + 1) if k not in self.folders]

    def note(self) -> str:
        """One line for the terminal: which shards are in the report and which are missing."""
        have = ", ".join(f"{k}/{self.count}" for k in sorted(self.folders))
        gone = ", ".join(f"{k}/{self.count}" for k in self.missing)
        text = f"shards {have} of the run with seed {self.seed} (split {self.key})"
        return f"{text}: missing {gone}, whose cases this report lacks" if gone else f"{text}: complete"

    def to_dict(self) -> dict[str, Any]:
        """The ``shards`` entry of ``summary.json``."""
        return {
            "split": self.key,
            "seed": self.seed,
            "count": self.count,
            "present": sorted(self.folders),
            "missing": self.missing,
            "folders": {str(k): str(v) for k, v in sorted(self.folders.items())},
        }


def _identity(run: Run) -> tuple[str, str, Any]:
    shard = run.meta.get("shard") or {}
    return (run.run_id, split_key(run.meta), shard.get("index"))


def check_shards(runs: list[Run]) -> list[SplitRun]:
    """The split runs among ``runs`` (in the order first met); :class:`~harness.errors.BadShard`
    when merging them would count cases twice (module docstring)."""
    seen: dict[tuple[str, str, Any], Path] = {}
    splits: dict[str, SplitRun] = {}
    whole: dict[str, Path] = {}
    for run in runs:
        if "seed" not in run.meta:  # audit files only, or no readable run.json: nothing to match
            continue
        identity = _identity(run)
        if identity in seen:
            raise BadShard(
                f"{seen[identity]} and {run.folder} hold the same run (run id {run.run_id}): "
                "merged, its cases would count twice; give each run folder once"
            )
        seen[identity] = run.folder
        key = split_key(run.meta)
        shard = run.meta.get("shard")
        if not isinstance(shard, dict):
            whole.setdefault(key, run.folder)
            continue
        index, count = int(shard["index"]), int(shard["count"])
        split = splits.setdefault(key, SplitRun(key, count, run.meta.get("seed")))
        if count != split.count:
            first = next(iter(split.folders.values()))
            raise BadShard(
                f"{first} and {run.folder} are shards of one run split two ways (into {split.count} "
                f"and into {count}): their (target, spec) units overlap; merge the shards of one split"
            )
        if index in split.folders:
            raise BadShard(
                f"{split.folders[index]} and {run.folder} both hold shard {index}/{count} of the run "
                f"with seed {split.seed}: merged, its cases would count twice"
            )
        split.folders[index] = run.folder
    for key, split in splits.items():
        if key in whole:
            raise BadShard(
                f"{whole[key]} holds the whole run that the shards in {split.folders[min(split.folders)]}"
                "… split: merged with them, their cases would count twice"
            )
    return list(splits.values())
