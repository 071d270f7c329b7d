"""``python -m harness port-model MODEL``: every transposed convolution of a model ported to the
requested targets and verified with the model's own weights (the porting is
:mod:`harness.audits.port_model`)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from harness.audits.common import seconds_option
from harness.audits.model_layers import ModelLayer
from harness.audits.port_model import PORT_MODEL_FILE, model_failed, port_model, save_port_model
from harness.audits.port_model_text import text_report
from harness.cli.exitcodes import ExitCode
from harness.errors import PortError
from harness.files import write_text_atomic

_SHAPE = re.compile(r"^\s*([^=\s]+)\s*=\s*(\d+(?:\s*[x,]\s*\d+)*)\s*$")


def input_shape_option(text: str) -> tuple[str, tuple[int, ...]]:
    """The argparse type of ``--input-shape NAME=1x3x8x8`` (argparse exits 2 with the reason)."""
    match = _SHAPE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=N x C x … (e.g. x=1x3x8x8)")
    shape = tuple(int(v) for v in re.split(r"\s*[x,]\s*", match.group(2)))
    if any(v <= 0 for v in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be above 0")
    return match.group(1), shape


def read_model(args: argparse.Namespace) -> tuple[str, list[ModelLayer]]:
    """The model's kind and layers (PortError for what cannot be read)."""
    shapes: list[tuple[str, tuple[int, ...]]] = args.input_shape or []
    path = Path(args.model)
    if path.suffix == ".onnx" or path.is_file():
        if args.state_dict:
            raise PortError("--state-dict goes with a PyTorch module (package.module:factory)")
        if not path.is_file():
            raise PortError(f"{path}: no such file")
        from harness.audits.model_onnx import read_onnx

        return "onnx", read_onnx(path, dict(shapes), args.seed)
    from harness.audits.model_torch import read_torch

    state = Path(args.state_dict) if args.state_dict else None
    if state is not None and not state.is_file():
        raise PortError(f"{state}: no such file")
    return "torch", read_torch(args.model, state, [s for _, s in shapes], args.seed)


def cmd_port_model(args: argparse.Namespace) -> int:
    """Entry point of ``python -m harness port-model``: 0 every pair verified (directly or in another
    form) or could not run here, 1 a pair has no working call (or a layer's source fails), 2 an
    unreadable model, option or target."""
    from adapters.registry import known_names
    from harness.workers.worker import configure, shutdown_all

    if args.case_timeout:
        configure(case_timeout=args.case_timeout)
    try:
        kind, layers = read_model(args)
        names = [n.strip() for n in args.to.split(",") if n.strip()] if args.to else known_names()
        result = port_model(args.model, kind, layers, names, device=args.device, verify=not args.no_verify)
    except PortError as exc:
        print(f"port-model: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    finally:
        shutdown_all(kill=True)
    if args.json:
        write_text_atomic(Path(args.json), json.dumps(result, indent=2, default=str) + "\n")
    if args.report:
        save_port_model(result, Path(args.report))
    print(text_report(result))
    return ExitCode.NEW_FINDINGS if model_failed(result) else ExitCode.OK


def add_port_model_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``port-model`` subcommand to ``python -m harness``'s subparsers."""
    parser = subparsers.add_parser(
        "port-model",
        help="port every transposed convolution of a model (ONNX file or PyTorch module) and verify "
        "it with the model's weights",
    )
    parser.add_argument("model", help="an .onnx file, or a PyTorch module as package.module:factory")
    parser.add_argument(
        "--input-shape",
        action="append",
        type=input_shape_option,
        metavar="NAME=1x3x8x8",
        help="ONNX: the shape of a graph input (or of any tensor); PyTorch: the forward's inputs, "
        "in order (repeatable)",
    )
    parser.add_argument("--state-dict", metavar="FILE.pt", help="weights for the PyTorch module")
    parser.add_argument("--to", help="comma-separated target names (default: every registered target)")
    parser.add_argument("--target", dest="to", help="the same as --to")
    parser.add_argument("--device", help="device for every target (default: each target's own)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated inputs")
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON to FILE")
    parser.add_argument(
        "--report", metavar="DIR", help=f"add the result to DIR/{PORT_MODEL_FILE} (HTML report)"
    )
    parser.add_argument("--no-verify", action="store_true", help="emit the calls without running them")
    parser.add_argument(
        "--case-timeout", type=seconds_option, metavar="S", help="seconds a verification may take (> 0)"
    )
    parser.set_defaults(func=cmd_port_model)
    return parser
