"""Command line: ``python -m harness run | doctor | repro | report | port | audit-docs | audit-modes |
audit-invalid | audit``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import RunInterrupted, UsageError
from harness.process import tune_allocator


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


@contextmanager
def _sigterm_interrupts() -> Iterator[list[int]]:
    """While inside, SIGTERM (what CI systems send to cancel a job) stops a run as Ctrl-C does.

    Yields a list that receives the signal's number, for the exit status. A SIGTERM that is ignored
    or already handled is left alone; the previous handling is restored on exit.
    """
    received: list[int] = []

    def stop(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, stop)
    try:
        yield received
    finally:
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: conformance run, summary, path of the results."""
    from harness.engine.profiles import active_profile_name
    from harness.engine.run import resume, run, summary_text
    from harness.spec.loader import default_spec_paths

    if args.resume:
        given = [
            flag
            for flag in ("targets", "spec", "profile", "out", "seed", "case_timeout", "worker_memory_mb")
            if getattr(args, flag)
        ]
        if given or args.in_process or args.device != "cpu":
            print(
                "--resume continues a run with the settings it was started with; it takes no "
                f"other run option (got {', '.join('--' + g.replace('_', '-') for g in given) or 'one'})",
                file=sys.stderr,
            )
            return 2
    try:
        with _sigterm_interrupts() as terminated:
            if args.resume:
                report = resume(Path(args.resume), progress=not args.quiet)
            else:
                specs = [Path(p) for p in args.spec] if args.spec else default_spec_paths()
                report = run(
                    spec_paths=specs,
                    target_names=_split(args.targets),
                    profile=args.profile or active_profile_name(),
                    device=args.device,
                    out_dir=Path(args.out) if args.out else None,
                    progress=not args.quiet,
                    isolate=not args.in_process,
                    case_timeout=args.case_timeout,
                    memory_limit_mb=args.worker_memory_mb,
                    seed=args.seed,
                )
    except RunInterrupted as stop:
        print(
            f"\n{stop}\n  continue it:  python -m harness run --resume {stop.out_dir}\n"
            f"  report so far:  python -m harness report {stop.out_dir}",
            file=sys.stderr,
        )
        return 128 + (terminated[0] if terminated else signal.SIGINT)  # the shell's code for the signal
    print(summary_text(report))
    from harness.report.write import write_report

    print(f"report: {write_report([report.out_dir])}")
    return 1 if report.failed else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Frameworks installed, targets available, and why each unavailable one is not."""
    from adapters.registry import availability, resolve
    from harness.workers.client import isolated
    from harness.workers.worker import shutdown_all

    rows = []
    for name, reason in availability().items():
        row: dict[str, object] = {"target": name, "available": reason is None}
        if reason is None:
            target = resolve(name)(args.device)
            row["framework_version"] = target.framework_version()
            if args.device.split(":")[0] not in target.capabilities().devices:
                row["available"] = False
                row["reason"] = f"{name} does not run on device {args.device!r}"
            else:
                # loaded in its worker, as a run would: a framework that fails to load says so here
                env = isolated(target).runner.environment()
                row["environment"] = env
                if "worker_error" in env:
                    row["available"] = False
                    row["reason"] = f"installed but failed to load: {env['worker_error']}"
        else:
            row["reason"] = reason
        rows.append(row)
    shutdown_all()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        for row in rows:
            state = "available" if row["available"] else f"unavailable: {row['reason']}"
            version = f" ({row['framework_version']})" if "framework_version" in row else ""
            print(f"{row['target']:24s} {state}{version}")
    return 0


def cmd_repro(args: argparse.Namespace) -> int:
    """Re-run one recorded result and print the new verdict and the framework snippet."""
    from adapters.registry import resolve
    from harness.engine.artefacts import save_arrays
    from harness.engine.results import read_results
    from harness.engine.verdict import judge
    from harness.model.case import Case
    from harness.workers.client import isolated

    records = {r.get("line"): r for r in read_results(Path(args.results))}
    rec = records.get(args.line)
    if rec is None:
        print(f"{args.results}: no record on line {args.line}", file=sys.stderr)
        return 2
    case = Case.from_dict(rec["case"])
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m harness``."""
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="conformance run over specs and targets")
    p_run.add_argument("--targets", help="comma-separated target names or module:Class (default: installed)")
    p_run.add_argument("--spec", action="append", help="spec file (repeatable; default: specs/*.yaml)")
    p_run.add_argument("--profile", choices=["dev", "ci", "nightly"], help="default: ci if $CI else dev")
    p_run.add_argument("--device", default="cpu")
    p_run.add_argument("--out", help="output folder (default reports/<run-id>/)")
    p_run.add_argument("--quiet", action="store_true", help="no progress display")
    p_run.add_argument("--resume", metavar="DIR", help="continue the killed run in DIR (no other options)")
    p_run.add_argument(
        "--case-timeout",
        type=float,
        metavar="S",
        help="seconds a case may take before it is a timeout (default 300)",
    )
    p_run.add_argument(
        "--worker-memory-mb",
        type=int,
        metavar="MB",
        help="a worker past this resident size is killed: crash (default: half the RAM)",
    )
    p_run.add_argument("--seed", type=int, help="Hypothesis seed of the run (default: random, recorded)")
    p_run.add_argument(
        "--in-process",
        action="store_true",
        help="run targets in this process, not in workers (debugging only)",
    )
    p_run.set_defaults(func=cmd_run)
    p_doc = sub.add_parser("doctor", help="frameworks installed and targets available")
    p_doc.add_argument("--device", default="cpu")
    p_doc.add_argument("--json", action="store_true")
    p_doc.set_defaults(func=cmd_doctor)
    p_rep = sub.add_parser("repro", help="re-run one recorded result")
    p_rep.add_argument("results", help="results.jsonl")
    p_rep.add_argument("line", type=int, help="line number of the record (1-based)")
    p_rep.add_argument("--device", help="override the recorded device")
    p_rep.set_defaults(func=cmd_repro)
    from harness.audits.port import add_port_parser
    from harness.cli.audit import add_audit_parser
    from harness.cli.report import add_report_parser

    add_report_parser(sub)
    add_port_parser(sub)
    add_audit_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""

    args = build_parser().parse_args(argv)
    tune_allocator()
    try:
        return int(args.func(args))
    except UsageError as exc:  # bad input: the message says where and which rule
        print(f"error: {exc}", file=sys.stderr)
        return 2
