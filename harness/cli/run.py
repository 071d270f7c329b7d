"""``python -m harness run``: a conformance run over specs and targets (or the continuation of a
killed one), its summary table and report, and the exit status."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.audits.common import megabytes_option, seconds_option
from harness.cli.exitcodes import ExitCode
from harness.cli.verdict import add_known_options, print_triage, read_acceptance, run_status
from harness.engine.profiles import PROFILES
from harness.engine.shard import Shard, parse_shard
from harness.errors import BadShard, RunAborted, RunInterrupted


def _shard_option(text: str) -> Shard:
    try:
        return parse_shard(text)
    except BadShard as exc:  # argparse prints the rule and exits 2
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    from harness.engine.run import resume, run
    from harness.engine.tally import summary_text
    from harness.spec.loader import default_spec_paths

    if args.resume:
        given = [
            flag
            for flag in (
                "targets",
                "spec",
                "profile",
                "out",
                "seed",
                "case_timeout",
                "worker_memory_mb",
                "memory_mb",
                "replay",
                "shard",
            )
            if getattr(args, flag)
        ]
        if given or args.in_process or args.device != "cpu":
            print(
                "--resume continues a run with the settings it was started with; it takes no "
                f"other run option (got {', '.join('--' + g.replace('_', '-') for g in given) or 'one'})",
                file=sys.stderr,
            )
            return ExitCode.USAGE
    if args.shard is not None and args.seed is None and not args.resume:
        print(
            "--shard needs --seed: every shard of a run must draw from the same seed "
            "(e.g. --seed $GITHUB_RUN_ID)",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    known, baseline = read_acceptance(args)  # checked before anything runs or is written
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
                    main_memory_mb=args.memory_mb,
                    seed=args.seed,
                    replay_findings=args.replay,
                    shard=args.shard,
                )
    except RunInterrupted as stop:
        print(
            f"\n{stop}\n  continue it:  python -m harness run --resume {stop.out_dir}\n"
            f"  report so far:  python -m harness report {stop.out_dir}",
            file=sys.stderr,
        )
        return 128 + (terminated[0] if terminated else signal.SIGINT)  # the shell's code for the signal
    print(summary_text(report))
    from harness.report.model import load_report
    from harness.report.write import save_report

    try:
        full = load_report([report.out_dir], baseline, known)
        html = save_report(full, report.out_dir)
    except OSError as exc:  # a full disk, say: the results are complete, only the report is missing
        recorded = sum(report.counts.values()) + len(report.findings)
        raise RunAborted(report.out_dir, recorded, complete=True) from exc
    print_triage(full)
    print(f"report: {html}")
    meta = full.runs[0].meta
    return run_status(
        report,
        full,
        requested=list(meta.get("target_names") or []),
        named=bool(meta.get("targets_named")),
        allow_unavailable=args.allow_unavailable,
    )


def add_run_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``run`` subcommand to ``python -m harness``'s subparsers."""
    parser = subparsers.add_parser("run", help="conformance run over specs and targets")
    parser.add_argument("--targets", help="comma-separated target names or module:Class (default: installed)")
    parser.add_argument("--spec", action="append", help="spec file (repeatable; default: specs/**/*.yaml)")
    parser.add_argument("--profile", choices=PROFILES, help="default: ci if $CI else dev")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", help="output folder (default reports/<run-id>/)")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.add_argument("--resume", metavar="DIR", help="continue the killed run in DIR (no other options)")
    parser.add_argument(
        "--case-timeout",
        type=seconds_option,
        metavar="S",
        help="seconds a case may take before it is a timeout (> 0; default 300)",
    )
    parser.add_argument(
        "--worker-memory-mb",
        type=megabytes_option,
        metavar="MB",
        help="a worker past this resident size is killed: crash (> 0; default: half the RAM)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        metavar="MB",
        help="a case that would take this process past this resident size is not judged: "
        "unsupported, detail memory_limit (default: half the RAM)",
    )
    parser.add_argument("--seed", type=int, help="Hypothesis seed of the run (default: random, recorded)")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="replay past findings of the local findings store ($CONVT_FINDINGS_DB) first (recorded in "
        "run.json); off by default, so that a run does not depend on what earlier runs found",
    )
    add_known_options(parser, baseline=True)
    parser.add_argument(
        "--allow-unavailable",
        action="store_true",
        help="an unavailable target (named in --targets, or every one) does not make the run exit 4",
    )
    parser.add_argument(
        "--shard",
        type=_shard_option,
        metavar="K/N",
        help="run shard K of N (whole (target, spec) explorations; needs --seed; docs/nightly.md)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run targets in this process, not in workers (debugging only)",
    )
    parser.set_defaults(func=cmd_run)
    return parser
