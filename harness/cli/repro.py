"""``python -m harness repro RESULTS LINE``: one recorded result run again, the new verdict beside
the recorded one, and a standalone snippet of the framework call."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_repro(args: argparse.Namespace) -> int:
    """Re-run one recorded result and print the new verdict and the framework snippet."""
    from adapters.registry import resolve
    from harness.engine.artefacts import save_arrays
    from harness.engine.results import read_results
    from harness.engine.verdict import judge
    from harness.errors import InvalidCase
    from harness.model.case import Case
    from harness.workers.client import isolated

    records = {r.get("line"): r for r in read_results(Path(args.results))}
    rec = records.get(args.line)
    if rec is None:
        print(f"{args.results}: no record on line {args.line}", file=sys.stderr)
        return 2
    try:
        case = Case.from_dict(rec["case"])
    except InvalidCase as exc:  # e.g. recorded before a cap of harness.model.limits
        print(
            f"{args.results}:{args.line}: the recorded case is not one the harness runs: {exc}",
            file=sys.stderr,
        )
        return 2
    try:
        cls = resolve(rec["target"])
    except ValueError:  # a module:Class target: its name is not registered
        if not rec.get("target_class"):
            raise
        cls = resolve(rec["target_class"])
    api = cls(args.device or rec["device"])
    verdict = judge(case, isolated(api))
    print(f"case:     {case.short()}")
    print(f"target:   {api.name} {api.framework_version()} on {api.device}")
    print(f"recorded: {rec['outcome']} — {rec['message']}")
    print(f"now:      {verdict.outcome} — {verdict.message}")
    npz = Path(args.results).parent / f"repro-{args.line}.npz"
    save_arrays(case, npz)
    print(f"\nstandalone snippet (arrays written to {npz}):")
    print(api.snippet(case, str(npz)))
    return 0 if verdict.outcome == rec["outcome"] else 1


def add_repro_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``repro`` subcommand to ``python -m harness``'s subparsers."""
    parser = subparsers.add_parser("repro", help="re-run one recorded result")
    parser.add_argument("results", help="results.jsonl")
    parser.add_argument("line", type=int, help="line number of the record (1-based)")
    parser.add_argument("--device", help="override the recorded device")
    parser.set_defaults(func=cmd_repro)
    return parser
