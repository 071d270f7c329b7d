"""``python -m harness port CALL``: a transposed-convolution call emitted in every other target's API
and verified (the porting itself is :mod:`harness.audits.port`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adapters.reading import Shapes, parse_shape
from harness.audits.common import seconds_option
from harness.audits.port import PORT_FILE, failed, port, save_port, text_report
from harness.errors import PortError
from harness.model.dtypes import DATA_DTYPES


def cmd_port(args: argparse.Namespace) -> int:
    """Entry point of ``python -m harness port``: 0 every call verified (as emitted, or in another form
    of the same case that works around a divergence) or could not run here, 1 a target has no
    working call (or the source call fails), 2 unreadable."""
    from adapters.registry import known_names
    from harness.workers.worker import configure, shutdown_all

    if args.case_timeout:
        configure(case_timeout=args.case_timeout)
    try:
        shapes = Shapes(
            input_shape=parse_shape(args.input_shape),
            weight_shape=parse_shape(args.weight_shape),
            output_size=parse_shape(args.output_size),
            dtype=args.dtype,
            seed=args.seed,
        )
        names = [n.strip() for n in args.to.split(",") if n.strip()] if args.to else known_names()
        result = port(args.call, shapes, names, device=args.device, verify=not args.no_verify)
    except PortError as exc:
        print(f"port: {exc}", file=sys.stderr)
        return 2
    finally:
        shutdown_all(kill=True)  # the workers hold nothing the port needs: no wait for their teardown
    if args.out:
        save_port(result, Path(args.out))
    print(json.dumps(result, indent=2, default=str) if args.json else text_report(result))
    return 1 if failed(result) else 0


def add_port_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``port`` subcommand to ``python -m harness``'s subparsers."""
    parser = subparsers.add_parser(
        "port", help="translate a transposed-convolution call into other frameworks' APIs and verify it"
    )
    parser.add_argument("call", help='the call, e.g. "torch.nn.ConvTranspose2d(16, 33, 3, stride=2)"')
    parser.add_argument(
        "--input-shape",
        help="input shape N,C,… in the call's data format "
        "(read from the call when it creates the input, e.g. torch.randn(…))",
    )
    parser.add_argument("--weight-shape", help="weight shape for functional calls: C_in,C_out/groups,k…")
    parser.add_argument("--output-size", help="forward(output_size=…) of a module call: spatial sizes")
    parser.add_argument(
        "--dtype",
        choices=DATA_DTYPES,
        help="data type where the call does not name one (default float32)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated inputs")
    parser.add_argument("--to", help="comma-separated target names (default: every registered target)")
    parser.add_argument("--device", help="device for every target (default: each target's own)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--out", metavar="DIR", help=f"add the result to DIR/{PORT_FILE}")
    parser.add_argument("--no-verify", action="store_true", help="emit the calls without running them")
    parser.add_argument(
        "--case-timeout", type=seconds_option, metavar="S", help="seconds a verification may take (> 0)"
    )
    parser.set_defaults(func=cmd_port)
    return parser
