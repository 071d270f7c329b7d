"""Run folders for the report tests, written with the real record machinery (``judge``,
``make_record``, ``ResultsWriter``, ``write_finding``) on the numpy test targets: small and fast, no
framework; and the readers the tests check the written files with.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
from targets_for_tests import CorrectTarget, ThreeBugTarget

from adapters.protocol import Target
from harness.cli.report import add_report_parser
from harness.engine.artefacts import write_finding
from harness.engine.findings import Finding as ShrunkFinding
from harness.engine.results import ResultsWriter, make_record
from harness.engine.verdict import judge
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.model.features import signature_features
from harness.model.outcomes import FAILING
from harness.oracle.tolerance import ReferenceResult, error_bound

MARKUP = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'


class MarkupTarget(CorrectTarget):
    """Raises an exception whose text is markup (as a framework message could be)."""

    name = "test.markup"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Always raises."""
        raise RuntimeError(MARKUP)


PASSING = [
    Case.make(input_size=(3, 3), kernel_size=2, stride=2, in_channels=2, out_channels=2),
    Case.make(input_size=5, kernel_size=3, pads_begin=1, pads_end=1, dtype="float64"),
    Case.make(input_size=(2, 2, 2), kernel_size=2, output_padding=1, stride=2, bias=False),
]
UNSUPPORTED = Case.make(input_size=(3, 3), kernel_size=2, layout="channels_last")  # channels_first only
VALUE_BUG = Case.make(input_size=(4, 4), kernel_size=3, in_channels=4, out_channels=4, groups=2)
SHAPE_BUG = Case.make(input_size=(3, 3), kernel_size=2, dilation=2)
ERROR_BUG = Case.make(input_size=4, kernel_size=2, bias=False)


@dataclass
class Entry:
    """One (target, case) to record; ``finding`` also writes it as a finding's minimal record."""

    target: Target
    case: Case
    finding: bool = False
    arrays: bool = True


def _signature(target: Target, case: Case, outcome: str, detail: str) -> str:
    return ShrunkFinding(target.name, outcome, detail, signature_features(case), case).signature


def _save_error_arrays(folder: Path, target: Target, case: Case) -> None:
    """``arrays.npz`` as the runner writes it for a value mismatch."""
    arrays = make_arrays(case)
    ref = ReferenceResult.for_case(case, arrays)
    dtype = target.output_dtype(case)
    np.savez(
        folder / "arrays.npz",
        actual=np.asarray(target.run(case, arrays), np.float64),
        reference=round_to_format(ref.exact, dtype),
        bound=np.array(error_bound(ref, dtype, target.accumulation(case.dtype))),
    )


def make_run(
    folder: Path,
    entries: Iterable[Entry],
    *,
    run_id: str,
    spec: str = "conv_transpose2d",
    unavailable: dict[str, str] | None = None,
) -> Path:
    """Write ``results.jsonl``, ``run.json`` and ``findings/`` for the entries."""
    writer = ResultsWriter(folder)
    meta: dict[str, Any] = {
        "run_id": run_id,
        "profile": "dev",
        "device": "cpu",
        "specs": [spec],
        "targets": {},
    }
    for n, entry in enumerate(entries):
        verdict = judge(entry.case, entry.target)
        rec = make_record(case=entry.case, target=entry.target, verdict=verdict, spec=spec, run_id=run_id)
        writer.write(rec)
        meta["targets"][entry.target.class_reference()] = {
            "available": True,
            "environment": entry.target.environment(),
        }
        if entry.finding:
            assert verdict.outcome in FAILING, (entry.case, verdict)
            sig = _signature(entry.target, entry.case, verdict.outcome, verdict.detail)
            rel = f"findings/{n:05d}-{entry.target.name}-{verdict.outcome}"
            minimal = dict(
                make_record(
                    case=entry.case,
                    target=entry.target,
                    verdict=verdict,
                    spec=spec,
                    run_id=run_id,
                    minimal=True,
                    signature=sig,
                ),
                finding_dir=rel,
            )
            write_finding(
                folder / rel,
                case=entry.case,
                target=entry.target,
                record=minimal,
                command=f"python -m harness repro {writer.path} 0",
            )
            if verdict.outcome == "value_mismatch" and entry.arrays:
                _save_error_arrays(folder / rel, entry.target, entry.case)
            writer.write(minimal)
    for name, reason in (unavailable or {}).items():
        meta["targets"][name] = {"available": False, "reason": reason}
    writer.close()
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def buggy_entries(*, value: bool = True, shape: bool = True, error: bool = True) -> list[Entry]:
    """Passing, unsupported and (optionally) the three ThreeBugTarget findings."""
    bugs, ok = ThreeBugTarget(), CorrectTarget()
    out = [Entry(ok, c) for c in PASSING] + [Entry(ok, UNSUPPORTED), Entry(bugs, PASSING[0])]
    if value:
        out += [Entry(bugs, VALUE_BUG), Entry(bugs, VALUE_BUG.replace(seed=3)), Entry(bugs, VALUE_BUG, True)]
    if shape:
        out += [Entry(bugs, SHAPE_BUG), Entry(bugs, SHAPE_BUG, True)]
    if error:
        out += [Entry(bugs, ERROR_BUG), Entry(bugs, ERROR_BUG, True)]
    return out


def read_records(folder: Path) -> list[dict[str, Any]]:
    """The records as written, independent of the report code."""
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines() if line]


def strict_json(path: Path) -> Any:
    """Parse JSON refusing NaN/Infinity (what strict CI parsers do)."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


class Attributes(HTMLParser):
    """Collects tags and their attributes, and the text of <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse_html(path: Path) -> Attributes:
    """Parse a report page."""
    parser = Attributes()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def report_cli(argv: list[str]) -> int:
    """``python -m harness report`` with ``argv``, in this process; its exit status."""
    parser = argparse.ArgumentParser()
    add_report_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", *argv])
    return int(args.func(args))
