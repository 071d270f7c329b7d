"""What the audits and the port share: targets in their workers, generated cases, one guarded run,
and :func:`infer_explicit`, which names the explicit crops a target's output actually corresponds to.

The output of a transposed convolution depends only on the begin crop ``cb`` and the output size
(``harness.model.case``), so an output of a given shape is one of a few candidate crops. Trying each
candidate's reference under the target's declared tolerance tells what a named mode really did,
independently of what any documentation says.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adapters.protocol import Handle, Target, TargetApi, api_of, handle
from harness.engine.profiles import EXAMPLES, PROFILES
from harness.errors import InvalidCase, RemoteError, RunFailure
from harness.files import writable_folder, write_text_atomic
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.oracle.compare import compare
from harness.oracle.tolerance import ReferenceResult
from harness.terminal import printable
from harness.workers.worker import limit_problem

#: Generated cases per spec for each profile (the conformance run's ``dev``/``ci``/``nightly`` counts).
#: At most this many crop combinations are tried when inferring what a target did.
MAX_CROP_CANDIDATES = 128


@dataclass
class LoadedTarget:
    """A registered target name, its (isolated) instance, or why it cannot run here."""

    name: str
    target: Handle | None
    reason: str | None
    pure: TargetApi | None = None

    @property
    def runnable(self) -> bool:
        """True when the target can run here."""
        return self.target is not None


def load_targets(names: Iterable[str], device: str | None = None) -> list[LoadedTarget]:
    """Resolve names; each runnable one wrapped by :func:`harness.workers.client.isolated`.

    ``pure`` keeps the plain instance even when the framework is missing (its pure translation —
    supports, snippet, equivalent_call — still answers).
    """
    from adapters.registry import resolve
    from harness.workers.client import isolated

    out: list[LoadedTarget] = []
    for name in names:
        cls = resolve(name)  # a name that is not a target is bad input (UnknownTarget), not "not run"
        pure = cls(device) if device else cls()
        reason = cls.unavailable_reason()
        if reason is None and pure.device.split(":")[0] not in pure.capabilities().devices:
            reason = f"{name} does not run on device {pure.device!r}"
        out.append(LoadedTarget(name, None if reason else isolated(pure), reason, pure))
    return out


def one_line_call(target: TargetApi, case: Case) -> str | None:
    """The target's one-line equivalent call for ``case``, or None for a target that describes no
    call plan."""
    try:
        return target.equivalent_call(case)
    except NotImplementedError:
        return None


@dataclass
class RunResult:
    """What one guarded run gave: an output, or an error/crash/timeout with its message."""

    kind: str  # "ok", "error", "crash", "timeout"
    output: np.ndarray | None = None
    message: str = ""
    detail: str = ""

    @property
    def shape(self) -> list[int] | None:
        """The output shape, if there is an output."""
        return None if self.output is None else list(self.output.shape)


def guarded_run(target: Target | Handle, case: Case, arrays: CaseArrays | None = None) -> RunResult:
    """Run ``case`` on ``target``; an exception, crash or timeout becomes the result."""
    try:
        output = handle(target).runner.run(case, arrays if arrays is not None else make_arrays(case))
    except RunFailure as exc:
        return RunResult(exc.outcome, message=str(exc), detail=exc.detail)
    except RemoteError as exc:
        return RunResult("error", message=exc.text, detail=exc.type_name)
    except Exception as exc:  # an in-process target's own failure is the result as well
        return RunResult("error", message=f"{type(exc).__name__}: {exc}", detail=type(exc).__name__)
    return RunResult("ok", np.asarray(output))


def explicit_with(case: Case, begin: Sequence[int], size: Sequence[int]) -> Case | None:
    """The explicit case with begin crops ``begin`` and output size ``size`` (None if invalid)."""
    ends, extras = [], []
    for full, cb, out in zip(case.full_size, begin, size, strict=True):
        rest = full - cb - out
        ends.append(max(rest, 0))
        extras.append(max(-rest, 0))
    try:
        return case.replace(
            padding_mode="explicit",
            pads_begin=tuple(begin),
            pads_end=tuple(ends),
            output_padding=tuple(extras),
        )
    except InvalidCase:
        return None


def _from_centre(centre: float, value: int) -> tuple[float, int]:
    return abs(value - centre), value


def crop_candidates(case: Case, size: Sequence[int]) -> list[tuple[int, ...]]:
    """Begin crops worth trying for an output of ``size``: from 0 to the whole crop ``F − O`` (at
    least 0..K−1 when the output extends past ``F``), nearest the centre first, capped."""
    per_dim = []
    for full, out, kernel in zip(case.full_size, size, case.dilated_kernel, strict=True):
        top = max(full - out, kernel - 1, 0)
        centre = max(full - out, 0) / 2
        # The candidates nearest the centre lie within MAX_CROP_CANDIDATES of it, and no more of one
        # dimension's are reached: the range is never built whole (the full size may be 2**28).
        near = range(
            max(0, int(centre) - MAX_CROP_CANDIDATES), min(top, int(centre) + MAX_CROP_CANDIDATES + 1) + 1
        )
        per_dim.append(sorted(near, key=functools.partial(_from_centre, centre))[:MAX_CROP_CANDIDATES])
    combos = itertools.product(*per_dim)
    return list(itertools.islice(combos, MAX_CROP_CANDIDATES))


def infer_explicit(
    case: Case, actual: np.ndarray, arrays: CaseArrays, target: TargetApi | Handle, prefer: Case | None = None
) -> Case | None:
    """The explicit case whose reference ``actual`` matches under the target's declared tolerance.

    ``prefer`` (e.g. what the documentation implies) is tried first. None when no crop of the
    transposed convolution reproduces the output (or the batch/channel dimensions differ).
    """
    shape = tuple(actual.shape)
    if len(shape) != case.rank + 2 or shape[:2] != (case.batch, case.out_channels):
        return None
    size = shape[2:]
    if any(v < 1 for v in size):
        return None
    model = api_of(target).accumulation(case.dtype)
    dtype = api_of(target).output_dtype(case)
    tried: list[Case] = []
    if prefer is not None and tuple(prefer.output_size) == size:
        tried.append(prefer)
    for begin in crop_candidates(case, size):
        candidate = explicit_with(case, begin, size)
        if candidate is not None and candidate not in tried:
            tried.append(candidate)
    for candidate in tried:
        if compare(actual, ReferenceResult.for_case(candidate, arrays), dtype, model).passed:
            return candidate
    return None


def explain_output(
    case: Case, actual: np.ndarray, arrays: CaseArrays, target: TargetApi | Handle, prefer: Case | None = None
) -> tuple[Case | None, str, Case | None]:
    """:func:`infer_explicit`, and where no crop reproduces the output, whether the same case without
    dilation does (an API that ignores dilation in a mode).

    Returns (the explicit case, a note, the explicit case the output equals instead — the case
    with dilation 1 — or None).
    """
    found = infer_explicit(case, actual, arrays, target, prefer)
    if found is not None:
        return found, "", None
    if any(d > 1 for d in case.dilation):
        plain = infer_explicit(case.replace(dilation=(1,) * case.rank), actual, arrays, target)
        if plain is not None:
            return (
                None,
                (
                    f"no crop reproduces the output; it equals crops {list(plain.pads_begin)}/"
                    f"{list(plain.pads_end)} of the same case with dilation 1: the dilation "
                    f"{list(case.dilation)} is ignored"
                ),
                plain,
            )
    return None, "no crop of the transposed convolution reproduces the output", None


def generated_cases(
    profile: str, ranks: Iterable[int] = (1, 2, 3), examples: int | None = None
) -> list[Case]:
    """Cases drawn deterministically from the default float specs (``examples`` per spec, else the
    profile's count), in float32 with normal values: every target runs float32, and sizes and crop
    splits do not depend on the dtype."""
    from harness.spec.loader import load_default_float_specs
    from harness.spec.strategies import cases

    count = examples if examples is not None else EXAMPLES[profile]
    wanted = set(ranks)
    out: list[Case] = []
    seen: set[Case] = set()
    for spec in load_default_float_specs():
        if spec.rank not in wanted:
            continue
        for case in _draw(cases(spec), count):
            plain = case.replace(dtype="float32", distribution="normal")
            if plain not in seen:
                seen.add(plain)
                out.append(plain)
    return out


def _draw(strategy: Any, count: int) -> list[Case]:
    """``count`` examples of a strategy, the same on every call (derandomized, no database)."""
    from hypothesis import HealthCheck, Phase, given, settings

    drawn: list[Case] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Case) -> None:
        drawn.append(case)

    collect()
    return drawn


def mode_variants(case: Case, modes: Iterable[str]) -> list[Case]:
    """The case under each named mode (crops and output padding cleared)."""
    zero = (0,) * case.rank
    return [case.replace(padding_mode=m, pads_begin=zero, pads_end=zero, output_padding=zero) for m in modes]


def size_key(case: Case) -> tuple[Any, ...]:
    """Order by simplicity: lowest rank (the shrinker keeps the rank), fewest output and input
    elements, smallest parameters."""
    return (
        case.rank,
        math.prod(case.output_shape),
        math.prod(case.input_shape),
        case.in_channels * case.out_channels,
        sum(case.kernel_size),
        sum(case.stride),
        sum(case.dilation),
        case.bias,
        case.layout != "channels_first",
        case.seed,
    )


def shape_text(values: Sequence[int] | None) -> str:
    """``[2, 3]`` or ``—``."""
    return "—" if values is None else str(list(values))


def make_command(
    audit: Callable[..., dict[str, Any]],
    file_name: str,
    summary: Callable[[dict[str, Any]], str],
    failing: Callable[[dict[str, Any]], bool],
) -> Callable[[argparse.Namespace], int]:
    """A ``func`` for an audit subcommand: run, write ``DIR/file_name``, print the summary."""

    def command(args: argparse.Namespace) -> int:
        from adapters.registry import known_names, resolve
        from harness.engine.profiles import active_profile_name
        from harness.workers.worker import configure, shutdown_all

        if args.case_timeout:
            configure(case_timeout=args.case_timeout)
        names = [n.strip() for n in args.targets.split(",") if n.strip()] if args.targets else known_names()
        for name in names:
            resolve(name)  # a mistyped target is bad input before any folder is made
        out = writable_folder(Path(args.out) if args.out else Path("reports") / "audit", "--out")
        try:
            result = audit(
                names,
                args.profile or active_profile_name(),
                examples=args.examples,
                device=args.device,
                progress=not args.quiet,
            )
        finally:
            shutdown_all()
        path = out / file_name
        write_text_atomic(path, json.dumps(result, indent=2, default=str) + "\n")
        print(printable(summary(result), newlines=True))
        print(f"written: {printable(path)}")
        return 1 if failing(result) else 0

    return command


def seconds_option(text: str) -> float:
    """The argparse type of ``--case-timeout``: a finite number of seconds above 0 (argparse prints
    the reason and exits 2 otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    problem = limit_problem(case_timeout=value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def megabytes_option(text: str) -> int:
    """The argparse type of ``--worker-memory-mb``: a whole number of MiB above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of MiB") from None
    problem = limit_problem(memory_limit_mb=value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by the audit subcommands."""
    parser.add_argument("--targets", help="comma-separated target names (default: every registered target)")
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        help="how many cases to generate per spec ("
        + ", ".join(f"{k} {v}" for k, v in EXAMPLES.items())
        + ")",
    )
    parser.add_argument("--examples", type=int, help="cases per spec, overriding the profile's count")
    parser.add_argument("--device", help="device for every target (default: each target's own)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default reports/audit)")
    parser.add_argument(
        "--case-timeout", type=seconds_option, metavar="S", help="seconds one call may take (> 0)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
