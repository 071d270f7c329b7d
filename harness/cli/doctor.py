"""``python -m harness doctor``: the frameworks installed, the targets available, and why each
unavailable one is not."""

from __future__ import annotations

import argparse
import json

from harness.terminal import printable


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
            print(f"{printable(row['target']):24s} {printable(state + version, newlines=True)}")
    return 0


def add_doctor_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``doctor`` subcommand to ``python -m harness``'s subparsers."""
    parser = subparsers.add_parser("doctor", help="frameworks installed and targets available")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=cmd_doctor)
    return parser
