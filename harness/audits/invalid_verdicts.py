"""The verdicts of ``audit-invalid``, in one place, and the judgement of a refusal's message.

:data:`VERDICTS` is the whole vocabulary: what each verdict means, whether it is a problem, and the
report's cell class. A refusal is judged by :func:`judge_message`: ``clear`` when the message names
a parameter or rule the configuration breaks (:data:`SUBJECT_TERMS`), ``opaque`` otherwise, with
why (internal kernel or primitive names, a sentinel size such as −2, or wording about something
else). ``refused_valid`` is decided before the message is read: the target's own documentation
accepts the configuration (:func:`harness.audits.invalid.documented_acceptance`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """One verdict: its meaning, whether the audit reports it as a problem, the report's cell class."""

    meaning: str
    problem: bool
    cls: str


VERDICTS: dict[str, Verdict] = {
    "ok": Verdict(
        "an output of the canonical shape (and values, where judged) where one is allowed", False, "pass"
    ),
    "clear": Verdict("refused with a message that names the parameter or the rule it breaks", False, "pass"),
    "opaque": Verdict(
        "refused, but the message names neither the parameter nor the rule: internal kernel or "
        "primitive names, a sentinel size such as -2, or wording about something else",
        True,
        "warn",
    ),
    "refused_valid": Verdict(
        "refused a configuration the target's own documentation accepts: the adapter, which "
        "transcribes the documented limits, declares it expressible and the documented output-size "
        "formula gives a positive size",
        True,
        "fail",
    ),
    "accepted": Verdict("an output for a configuration that should have been refused", True, "fail"),
    "wrong_shape": Verdict("an output of another shape than the size formula gives", True, "fail"),
    "wrong_values": Verdict(
        "an output of the right shape whose values differ from the reference", True, "fail"
    ),
    "crash": Verdict("the worker process died", True, "fail"),
    "hang": Verdict("the call ran past the time limit", True, "fail"),
    "not_applicable": Verdict("the API has no way to pass these parameters", False, "unsup"),
    "not_run": Verdict("the target cannot run here", False, "none"),
}

#: Verdicts of files written before the vocabulary above (read by the report).
LEGACY = {"silently_accepted": "accepted"}

#: Verdicts that are problems (the command exits 1 on one).
PROBLEMS = tuple(name for name, v in VERDICTS.items() if v.problem)


def verdict(name: str) -> Verdict | None:
    """The verdict called ``name`` (a legacy name maps to its successor); None if unknown."""
    return VERDICTS.get(LEGACY.get(name, name))


#: What a message may call each subject a configuration breaks (case-insensitive regexes).
SUBJECT_TERMS: dict[str, str] = {
    "groups": r"group",
    "channels": r"channel",
    "weight": r"weight|filter|kernel",
    "kernel_size": r"kernel|filter|weight",
    "stride": r"stride",
    "dilation": r"dilat",
    "padding": r"padding|\bpads?\b|crop",
    "output_padding": r"output[_ ]?padding",
    "output_size": r"output[_ ]?(size|shape|dim)|too small",
    "batch": r"batch",
    "input_size": r"input[_ ]?(size|shape|dim)|spatial|empty|zero[- ]size|numel",
    "scale": r"scale",
    "zero_point": r"zero[_ ]?point",
    "per_channel": r"scale|zero[_ ]?point|per[_ ]?channel|axis",
}

#: Names of a framework's internals: kernels, primitives, libraries, namespaces, source files.
_INTERNAL = re.compile(
    r"primitive|\bdnnl\w*|mkldnn|onednn|cudnn|\bxnnpack|\bfbgemm\w*|\b(?:at|aten|c10|phi|mshadow)::\w*"
    r"|\w+\.(?:cc|cpp|cu|h|hpp)\b|\w+_kernel\b",
    re.IGNORECASE,
)
#: A source file or a C++ qualified name: a term inside one is not the message naming it.
_NOT_WORDS = re.compile(r"\S+\.(?:cc|cpp|cu|h|hpp|py)(?::\d+)?|\S*::\S*")
_SENTINEL = re.compile(r"(?<![\w.])-[1-9]\d*(?![\w.])")


def judge_message(message: str, subjects: Iterable[str]) -> tuple[str, str]:
    """``("clear", the term named)`` when ``message`` names one of ``subjects`` (keys of
    :data:`SUBJECT_TERMS`), else ``("opaque", why)``."""
    words = _NOT_WORDS.sub(" ", message)
    wanted = list(subjects)
    for subject in wanted:
        found = re.search(SUBJECT_TERMS[subject], words, re.IGNORECASE)
        if found:
            return "clear", f"names {subject} ({found.group(0)!r})"
    reasons = []
    internal = sorted({m.group(0) for m in _INTERNAL.finditer(message)})
    if internal:
        reasons.append("internal names " + ", ".join(internal[:4]))
    sentinels = sorted({m.group(0) for m in _SENTINEL.finditer(words)})
    if sentinels:
        reasons.append("sentinel sizes " + ", ".join(sentinels[:4]))
    if not reasons:
        reasons.append("wording about something else")
    return "opaque", "; ".join(reasons) + f" (names none of: {', '.join(wanted)})"
