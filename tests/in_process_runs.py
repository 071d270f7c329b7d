"""A conformance run as the engine tests make it: targets in this process, no progress display, no
findings store (so that nothing from other runs is replayed or kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.engine.run import run
from harness.engine.tally import RunReport


def run_in_process(
    spec_paths: list[Path], target: str, out_dir: Path | None, profile: str = "ci", **options: Any
) -> RunReport:
    """:func:`harness.engine.run.run` of ``spec_paths`` against one target on the CPU, in this
    process; ``options`` go to it as they are."""
    return run(
        spec_paths=spec_paths,
        target_names=[target],
        profile=profile,
        device="cpu",
        out_dir=out_dir,
        progress=False,
        store=None,
        isolate=False,
        **options,
    )
