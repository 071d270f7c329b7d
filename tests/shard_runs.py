"""A whole run and its shards 1/3, 2/3, 3/3 from the same seed, for the sharding tests of the engine
and of the report: two small 1D specs × two test targets, in-process and without a findings store
(what a shard draws does not depend on the worker a target runs in, and a store that grows
between runs would change what they replay: the guarantee is for runs from the same store)."""

from __future__ import annotations

from pathlib import Path

from targets_for_tests import THREE_BUGS_SPEC

from harness.engine.run import run
from harness.engine.shard import Shard

BUGGY = "tests.targets_for_tests:ThreeBugTarget"
CORRECT = "tests.targets_for_tests:CorrectTarget"
TARGETS = [BUGGY, CORRECT]
NAMES = {BUGGY: "test.three_bugs", CORRECT: "test.correct"}  # requested as → recorded as
SEED = 20240611


def write_specs(folder: Path) -> list[Path]:
    """Two small 1D specs: the three bugs' own, and a narrower one named ``narrow``."""
    first = folder / "three_bugs_small.yaml"
    first.write_text(THREE_BUGS_SPEC, encoding="utf-8")
    second = folder / "narrow.yaml"
    second.write_text(
        THREE_BUGS_SPEC.replace("name: three_bugs_small", "name: narrow").replace(
            "input_size: {min: 1, max: 6}", "input_size: {min: 2, max: 4}"
        ),
        encoding="utf-8",
    )
    return [first, second]


def run_shard(specs: list[Path], out: Path, shard: Shard | None) -> Path:
    """The run of ``specs`` × :data:`TARGETS` into ``out`` (``dev`` profile: the seed decides what is
    drawn)."""
    run(
        spec_paths=specs,
        target_names=TARGETS,
        profile="dev",
        device="cpu",
        out_dir=out,
        progress=False,
        store=None,
        isolate=False,
        seed=SEED,
        shard=shard,
    )
    return out


def whole_and_shards(folder: Path) -> dict[str, Path]:
    """``{"whole": …, "1/3": …, "2/3": …, "3/3": …}``: the run folders, made in ``folder``."""
    specs = write_specs(folder)
    out = {"whole": run_shard(specs, folder / "whole", None)}
    for k in (1, 2, 3):
        out[f"{k}/3"] = run_shard(specs, folder / f"shard{k}", Shard(k, 3))
    return out
