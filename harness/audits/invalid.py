"""``python -m harness audit-invalid``: the canonical invalid and boundary configurations
(:mod:`harness.audits.invalid_configs`), sent raw to every target, and each response classified.

Each target's ``probe`` calls its framework with a configuration's parameters in the target's
worker; the response is

- ``error``: a clean exception, its message recorded;
- ``crash`` / ``hang``: the worker died or ran past the time limit (:class:`~harness.errors.RunFailure`);
- ``accepted``: an output, its shape recorded (and, for a canonically valid configuration the
  target supports, the values judged against the reference);
- ``not_applicable``: the API has no way to pass the parameters; ``not_run``: the target cannot run here.

The ``assessment`` is a verdict of :data:`~harness.audits.invalid_verdicts.VERDICTS` (the one
vocabulary, written into the file as ``verdicts``): it compares the response with what the
configuration says is acceptable (``expect``) and, for a refusal, judges the message and asks
whether the target's own documentation accepts the configuration. Written to
``DIR/invalid_inputs.json``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from adapters.protocol import TargetApi
from harness.audits.common import LoadedTarget, load_targets, make_command
from harness.audits.invalid_configs import CONFIGS, Config
from harness.audits.invalid_verdicts import PROBLEMS, VERDICTS, judge_message
from harness.engine.verdict import judge
from harness.errors import InvalidCase, NotExpressible, RemoteError, RunFailure
from harness.model.case import Case
from harness.model.outcomes import Outcome

INVALID_FILE = "invalid_inputs.json"
INVALID_SCHEMA = "convt-invalid-inputs/1"
MESSAGE_CHARS = 600
#: A probe running longer than this is a hang (configurable with --case-timeout).
DEFAULT_TIMEOUT = 60.0


def _message(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " …"


def documented_acceptance(pure: TargetApi, case: Case) -> str | None:
    """Why the target's own documentation accepts ``case`` — the adapter (which transcribes the
    documented limits) declares it expressible and the documented output-size formula gives a
    positive size — or None where it does not."""
    if pure.supports(case) is not None:
        return None
    formula = pure.explicit_formula(case.rank)
    size = case.output_size if formula is None else formula.size(case)
    if any(v < 1 for v in size):
        return None
    if formula is None:
        return f"the adapter declares it expressible; the canonical size {list(size)} (no documented formula)"
    return (
        f"the adapter declares it expressible; {formula.api}: {formula.formula} gives {list(size)} "
        f"({formula.source})"
    )


def _refusal(
    kind: str, detail: str, text: str, config: Config, canonical: Case | InvalidCase, loaded: LoadedTarget
) -> dict[str, Any]:
    out: dict[str, Any] = {"response": kind, "detail": detail, "message": _message(text)}
    if kind == "error":
        verdict, why = judge_message(text, config.subjects)
        out["message_verdict"], out["message_why"] = verdict, why
        if isinstance(canonical, Case) and loaded.pure is not None:
            accepted = documented_acceptance(loaded.pure, canonical)
            if accepted is not None:
                out["documented_valid"] = accepted
    return out


def _quantized(loaded: LoadedTarget) -> bool:
    return loaded.pure is not None and loaded.pure.capabilities().quantized is not None


def probe(loaded: LoadedTarget, config: Config) -> dict[str, Any]:
    """The response of one target to one configuration, classified (a refusal's message judged,
    and whether the target's documentation accepts the configuration)."""
    pure = loaded.pure
    if pure is None:
        return {"response": "not_run", "message": loaded.reason}
    canonical = config.canonical(quantized=_quantized(loaded))
    if loaded.target is None:
        out: dict[str, Any] = {"response": "not_run", "message": loaded.reason}
        if isinstance(canonical, Case):
            reason = pure.supports(canonical)
            out["documented"] = reason or "expressible: the target would be asked for the canonical case"
        return out
    runner = loaded.target.runner
    start = time.perf_counter()
    try:
        shape = runner.probe(asdict(config.params))
    except RunFailure as exc:
        kind = "hang" if exc.outcome == Outcome.TIMEOUT else "crash"
        out = _refusal(kind, exc.detail, str(exc), config, canonical, loaded)
    except RemoteError as exc:
        kind = "not_applicable" if exc.type_name == "NotExpressible" else "error"
        out = _refusal(kind, exc.type_name, exc.text, config, canonical, loaded)
    except Exception as exc:  # an in-process target (tests, --in-process): the same classification
        kind = "not_applicable" if isinstance(exc, NotExpressible) else "error"
        out = _refusal(kind, type(exc).__name__, str(exc), config, canonical, loaded)
    else:
        out = {"response": "accepted", "shape": [int(v) for v in shape]}
        if isinstance(canonical, Case):
            reason = pure.supports(canonical)
            if reason is None:
                verdict = judge(canonical, loaded.target)
                out["values"] = {"outcome": verdict.outcome, "message": _message(verdict.message)}
            else:
                out["adapter_declares_unsupported"] = reason
    out["seconds"] = round(time.perf_counter() - start, 3)
    return out


def assess(config: Config, response: dict[str, Any]) -> str:
    """The verdict (:data:`~harness.audits.invalid_verdicts.VERDICTS`) of one response: a refusal
    is ``refused_valid`` when the target's documentation accepts the configuration, else its
    message is ``clear`` or ``opaque``; an output is ``accepted`` where an error was expected,
    else ``ok``, ``wrong_shape`` or ``wrong_values``; ``crash``, ``hang``, ``not_run`` and
    ``not_applicable`` are the response itself."""
    kind = str(response["response"])
    if kind in ("crash", "hang", "not_run", "not_applicable"):
        return kind
    if kind == "error":
        if response.get("documented_valid"):
            return "refused_valid"
        verdict = response.get("message_verdict")
        if verdict is None:
            verdict = judge_message(str(response.get("message", "")), config.subjects)[0]
        return str(verdict)
    if config.expect == "error":
        return "accepted"
    expected = config.expected_shape()
    if expected is not None and response.get("shape") != expected:
        return "wrong_shape"
    values = response.get("values")
    if values is not None and values["outcome"] != "pass":
        return "wrong_values"
    return "ok"


def audit_invalid(
    target_names: list[str],
    profile: str = "dev",
    *,
    examples: int | None = None,
    device: str | None = None,
    progress: bool = False,
    configs: Sequence[Config] = CONFIGS,
) -> dict[str, Any]:
    """Every configuration (all of :data:`CONFIGS` unless ``configs`` says) on every target, as a
    JSON-ready dict (``profile``/``examples`` unused: the configurations are fixed)."""
    from harness.workers.worker import SETTINGS, configure

    if SETTINGS.case_timeout >= DEFAULT_TIMEOUT * 5:  # the run default: a probe hangs sooner
        configure(case_timeout=DEFAULT_TIMEOUT)
    start = time.monotonic()
    loaded = load_targets(target_names, device)
    rows: list[dict[str, Any]] = []
    for config in configs:
        canonical = config.canonical()
        row: dict[str, Any] = {
            "name": config.name,
            "rule": config.rule,
            "rank": config.rank,
            "category": config.category,
            "description": config.description,
            "expect": config.expect,
            "params": asdict(config.params),
            "canonical": (
                "valid" if isinstance(canonical, Case) else f"invalid ({canonical.rule}): {canonical}"
            ),
            "expected_shape": config.expected_shape(),
            "responses": {},
        }
        for lt in loaded:
            response = probe(lt, config)
            response["assessment"] = assess(config, response)
            row["responses"][lt.name] = response
        if progress:
            import sys

            summary = ", ".join(f"{t}={r['assessment']}" for t, r in row["responses"].items())
            print(f"  {config.name}: {summary}", file=sys.stderr)
        rows.append(row)
    return {
        "schema": INVALID_SCHEMA,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "seconds": round(time.monotonic() - start, 1),
        "targets": [lt.name for lt in loaded],
        "verdicts": {name: v.meaning for name, v in VERDICTS.items()},
        "not_run": {lt.name: lt.reason for lt in loaded if lt.reason},
        "configurations": rows,
        "counts": _counts(rows),
    }


def _counts(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        for target, response in row["responses"].items():
            tally = out.setdefault(target, {})
            tally[response["assessment"]] = tally.get(response["assessment"], 0) + 1
    return out


def summary_text(result: dict[str, Any]) -> str:
    """Counts per target, then every problem (opaque message, valid configuration refused, silent
    acceptance, wrong shape/values, crash, hang) with what decided it."""
    lines = [
        f"{len(result['configurations'])} configurations on {len(result['targets'])} targets "
        f"in {result['seconds']} s"
    ]
    for target, tally in result["counts"].items():
        lines.append(f"  {target:26s} " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    for row in result["configurations"]:
        for target, response in row["responses"].items():
            if response["assessment"] in PROBLEMS:
                what = (
                    response.get("documented_valid")
                    or response.get("message_why")
                    or response.get("shape")
                    or response.get("detail")
                    or ""
                )
                lines.append(
                    f"- {row['name']} on {target}: {response['assessment']} {what} "
                    f"(expected {row['expect']}, {row['expected_shape']})"
                )
    return "\n".join(lines)


cmd_audit_invalid = make_command(
    audit_invalid,
    INVALID_FILE,
    summary_text,
    lambda r: any(
        resp["assessment"] in PROBLEMS for row in r["configurations"] for resp in row["responses"].values()
    ),
)
