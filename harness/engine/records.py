"""Reading ``results.jsonl`` record by record: what a record must look like, and which lines do not.

A results file may be damaged (a disk error, an edit, a killed run's half-written last line). A
damaged line must cost only itself: :func:`read_results_file` returns the records that pass
:func:`record_problem` and names every other line with its problem. ``report`` and ``run --resume``
both read through it, so they agree on what is a record. :func:`finding_folder` is the one rule
for the folder a record's ``finding_dir`` may name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UnusablePath
from harness.files import contained
from harness.model.case import Case
from harness.model.outcomes import OUTCOMES

#: Keys every record has, with their types.
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "target": str,
    "spec": str,
    "outcome": str,
    "case": dict,
    "minimal": bool,
}
#: Keys a record may have, with their types when present (None is allowed for each).
OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "run_id": str,
    "target_class": str,
    "framework": str,
    "framework_version": str,
    "device": str,
    "environment": dict,
    "detail": str,
    "message": str,
    "features": list,
    "expected_shape": list,
    "actual_shape": list,
    "accumulation": str,
    "stats": dict,
    "seconds": (int, float),
    "run_info": dict,
    "signature": str,
    "finding_dir": str,
    "line": int,
    "repro": str,
    "ran": bool,
    "observed_detail": str,
    "mechanism": str,
    "history_cases": int,
}
#: How :func:`record_problem` begins the problem of a record whose case cannot be built (a damaged
#: case, or one a newer version refuses, e.g. over a cap of :mod:`harness.model.limits`).
CASE_PROBLEM = "case: "
#: Deepest nesting of lists and objects a record may have (records are a few levels deep).
MAX_DEPTH = 16


@dataclass
class ResultsFile:
    """The records of a results file, and its damaged lines as (1-based line number, problem)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[tuple[int, str]] = field(default_factory=list)


def _depth(value: Any) -> int:
    """Nesting depth of lists and dicts in ``value`` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def _types(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {"dict": "object", "list": "array", "str": "string"}
    return " or ".join(names.get(t.__name__, t.__name__) for t in _types(expected))


def _is(value: Any, expected: type | tuple[type, ...]) -> bool:
    types = _types(expected)
    # bool is an int to isinstance; a record's numbers are never booleans
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def record_problem(record: Any) -> str | None:
    """What is wrong with a parsed results line, or None for a well-formed record.

    The rule: a JSON object no deeper than :data:`MAX_DEPTH`, with every :data:`REQUIRED` key of
    its type, every :data:`OPTIONAL` key present of its type (or null), a known outcome, and a case
    this version can read (:meth:`harness.model.case.Case.from_dict`).
    """
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    if _depth(record) > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    for key, expected in REQUIRED.items():
        if key not in record:
            return f"missing key {key!r}"
        if not _is(record[key], expected):
            return f"key {key!r} is {type(record[key]).__name__}, not {_type_name(expected)}"
    for key, expected in OPTIONAL.items():
        value = record.get(key)
        if value is not None and not _is(value, expected):
            return f"key {key!r} is {type(value).__name__}, not {_type_name(expected)}"
    if record["outcome"] not in OUTCOMES:
        return f"unknown outcome {record['outcome']!r}"
    if not all(isinstance(f, str) for f in record.get("features") or []):
        return "key 'features' holds a value that is not a string"
    try:
        Case.from_dict(record["case"])
    except Exception as exc:  # any way a damaged case fails to build
        return f"{CASE_PROBLEM}{exc}"
    return None


def finding_folder(run_folder: Path, finding_dir: str) -> Path | None:
    """The folder a record's ``finding_dir`` names, resolved, if it is ``findings/<name>`` inside
    ``run_folder`` (symbolic links followed); None for any other path."""
    folder = contained(run_folder, finding_dir)
    findings = contained(run_folder, "findings")
    if folder is None or findings is None or folder.parent != findings:
        return None
    return folder


def read_results_file(path: Path) -> ResultsFile:
    """Every well-formed record of ``path``, and each damaged line with its problem.

    A half-written last line (a killed run's) counts as damaged like any other. A file that cannot
    be read is :class:`~harness.errors.UnusablePath`.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnusablePath(f"{path}: cannot read the results file ({exc.strerror or exc})") from None
    out = ResultsFile()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.damaged.append((number, "not UTF-8 text"))
            continue
        except RecursionError:
            out.damaged.append((number, f"nested deeper than {MAX_DEPTH} levels"))
            continue
        except ValueError:
            out.damaged.append((number, "not JSON"))
            continue
        problem = record_problem(record)
        if problem is None:
            out.records.append(record)
        else:
            out.damaged.append((number, problem))
    return out


def damaged_summary(damaged: list[tuple[int, str]], limit: int = 10) -> str:
    """One line naming the damaged lines: how many, and the first ``limit`` with their problems."""
    shown = ", ".join(f"{number} ({problem})" for number, problem in damaged[:limit])
    more = f", and {len(damaged) - limit} more" if len(damaged) > limit else ""
    plural = "" if len(damaged) == 1 else "s"
    return f"{len(damaged)} damaged line{plural} skipped: line{plural} {shown}{more}"
