"""``python -m harness repro RESULTS LINE``: one recorded result run again, the new verdict beside
the recorded one, and a standalone snippet of the framework call."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from adapters.protocol import TargetRunner
from harness.errors import UnusablePath
from harness.model.case import Case
from harness.terminal import printable


def cmd_repro(args: argparse.Namespace) -> int:
    """Re-run one recorded result and print the new verdict and the framework snippet."""
    from adapters.registry import resolve
    from harness.engine.artefacts import save_arrays
    from harness.engine.records import CASE_PROBLEM, read_results_file
    from harness.engine.verdict import judge
    from harness.workers.client import isolated

    results = Path(args.results)
    if results.is_dir():
        raise UnusablePath(
            f"{results} is a folder: give the results file in it ({results / 'results.jsonl'})"
        )
    if not results.is_file():
        raise UnusablePath(f"{results}: no such results file (a run writes DIR/results.jsonl)")
    read = read_results_file(results)
    rec = {r.get("line"): r for r in read.records}.get(args.line)
    if rec is None:
        problem = dict(read.damaged).get(args.line)
        if problem is not None and problem.startswith(CASE_PROBLEM):  # e.g. recorded before a cap
            raise UnusablePath(
                f"{results}:{args.line}: the recorded case is not one the harness runs: "
                f"{problem.removeprefix(CASE_PROBLEM)}"
            )
        if problem is not None:
            raise UnusablePath(f"{results}: line {args.line} is damaged ({problem})")
        raise UnusablePath(f"{results}: no record on line {args.line}")
    case = Case.from_dict(rec["case"])
    try:
        cls = resolve(rec["target"])
    except ValueError:  # a module:Class target: its name is not registered
        if not rec.get("target_class"):
            raise
        cls = resolve(rec["target_class"])
    api = cls(args.device or str(rec.get("device") or "cpu"))
    target = isolated(api)
    if args.history:
        _replay_history(Path(args.results).parent, rec, target.runner)
    verdict = judge(case, target)
    print(f"case:     {case.short()}")
    print(printable(f"target:   {api.name} {api.framework_version()} on {api.device}"))
    print(printable(f"recorded: {rec.get('outcome')} — {rec.get('message', '')}", newlines=True))
    print(printable(f"now:      {verdict.outcome} — {verdict.message}", newlines=True))
    npz = Path(args.results).parent / f"repro-{args.line}.npz"
    save_arrays(case, npz)
    print(f"\nstandalone snippet (arrays written to {npz}):")
    print(api.snippet(case, str(npz)))
    return 0 if verdict.outcome == rec.get("outcome") else 1


def _replay_history(run_dir: Path, rec: dict[str, Any], runner: TargetRunner) -> None:
    """Run the cases a history-dependent finding's worker had run before it (its history.jsonl)."""
    from harness.engine.artefacts import HISTORY_FILE
    from harness.workers.client import WorkerRunner

    path = run_dir / str(rec.get("finding_dir", "")) / HISTORY_FILE
    if not rec.get("finding_dir") or not path.is_file():
        raise UnusablePath(
            f"line {rec.get('line')} has no case history ({HISTORY_FILE}): only the record of a "
            "history-dependent finding has one"
        )
    assert isinstance(runner, WorkerRunner)
    earlier = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][
        :-1
    ]
    for case in earlier:
        runner.replay(Case.from_dict(case))
    print(f"replayed: the {len(earlier)} case(s) its worker ran before it ({path})")


def add_repro_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``repro`` subcommand to ``python -m harness``'s subparsers."""
    parser = subparsers.add_parser("repro", help="re-run one recorded result")
    parser.add_argument("results", help="results.jsonl")
    parser.add_argument("line", type=int, help="line number of the record (1-based)")
    parser.add_argument("--device", help="override the recorded device")
    parser.add_argument(
        "--history",
        action="store_true",
        help="first run the cases the worker had run before (a history-dependent finding's history.jsonl)",
    )
    parser.set_defaults(func=cmd_repro)
    return parser
