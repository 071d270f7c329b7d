"""How a port reads to a person: the terminal report, the exit decision, and the defaults that
differ between the source API and a target (:mod:`harness.audits.port` builds the result)."""

from __future__ import annotations

from typing import Any

from adapters.protocol import DEFAULT_TOPICS, WEIGHT_LAYOUT, TargetApi
from harness.terminal import printable

#: How a target that takes the weight unchanged says so (:meth:`TargetApi.weight_layout`'s default).
PLAIN_WEIGHT = "the weight as the case holds it"


def differing_defaults(source: TargetApi | None, target: TargetApi) -> list[str]:
    """One line per default whose meaning differs between the source API and the target's."""
    if source is None:
        return []
    theirs, ours = source.call_defaults(), target.call_defaults()
    lines = []
    for topic in DEFAULT_TOPICS:
        if topic in theirs and topic in ours and theirs[topic][0] != ours[topic][0]:
            (s_means, s_spelled), (t_means, t_spelled) = theirs[topic], ours[topic]
            lines.append(
                f"{topic}: {source.name} {s_means} by default ({s_spelled}), "
                f"{target.name} {t_means} ({t_spelled})"
            )
    return lines


def working_call(entry: dict[str, Any]) -> str | None:
    """The call that verified for a target: the direct one, or the alternative form offered."""
    if entry.get("verified"):
        return str(entry.get("call"))
    found = (entry.get("alternative") or {}).get("found")
    return None if found is None else str(found["call"])


def failed(result: dict[str, Any]) -> bool:
    """True when the source itself failed, or a target's call ran and did not verify and no other
    form of it did either (a divergence with a working alternative is reported, not failed)."""
    if result["source"].get("verified") is False and not result["source"].get("not_run"):
        return True
    return any(t.get("call") and not t.get("not_run") and working_call(t) is None for t in result["targets"])


def text_report(result: dict[str, Any]) -> str:
    """The human-readable form of a port."""
    src = result["source"]
    lines = [
        f"call:      {printable(result['call'])}",
        f"api:       {result['api']} ({printable(result['source_target'])})",
        f"canonical: {result['case_short']}",
    ]
    if result["source_mode"]:
        lines.append(f"mode:      {result['source_mode']!r} pinned to explicit crops ({result['basis']})")
    lines.append(f"source:    {state(src)}")
    lines.append(f"weights:   {_weights_line(result)}")
    lines += [f"note:      {n}" for n in result["notes"]]
    lines.append("")
    names = {t["target"]: printable(t["target"]) for t in result["targets"]}
    width = max([len(n) for n in names.values()] + [8])
    pad = " " * (width + 4)
    for t in result["targets"]:
        if t.get("call") is None:
            lines.append(f"{names[t['target']]:{width}s}  not expressible: {t['reason']}")
            continue
        lines.append(f"{names[t['target']]:{width}s}  {headline(t)}")
        lines.append(f"{pad}{t['call']}")
        lines += _alternative_lines(t, pad)
        layout = t.get("weight_layout")
        if layout and tuple(layout) != (WEIGHT_LAYOUT, PLAIN_WEIGHT):  # the weights: line says the rest
            lines.append(f"{pad}weight: {layout[0]}, {layout[1]}")
        lines += [f"{pad}default: {d}" for d in t.get("defaults", [])]
        lines += [f"{pad}note: {n}" for n in t.get("notes", [])]
        named = t.get("named_mode")
        if named:
            same = {True: "computes the same here", False: "computes something else here", None: "not run"}[
                named.get("equivalent")
            ]
            lines.append(f"{pad}its own {named['api_value']!r}: {same}")
    # reasons, notes and framework messages may span lines; nothing else in them reaches the terminal
    return printable("\n".join(lines), newlines=True)


def _weights_line(result: dict[str, Any]) -> str:
    """Whether every emitted call takes the weight in the source's layout, and which do not."""
    other = [
        f"{t['target']} holds {t['weight_layout'][0]}"
        for t in result["targets"]
        if t.get("weight_layout") and t["weight_layout"][0] != WEIGHT_LAYOUT
    ]
    text = f"{WEIGHT_LAYOUT} in the source and in every emitted call"
    return text if not other else f"{text}, except: {'; '.join(other)}"


def headline(entry: dict[str, Any]) -> str:
    """The target's state in one line; a framework that raises or crashes on the direct call is named so."""
    alternative = entry.get("alternative")
    if alternative is None or entry.get("outcome") not in ("error", "crash"):
        return state(entry)
    found = alternative.get("found")
    closest = (
        f"closest alternative: {found['description']} ({state(found)})"
        if found
        else f"no alternative verifies ({len(alternative['tried'])} other form(s) tried)"
    )
    return f"no working call in {entry['target']}: {alternative['works_around']} (finding), {closest}"


def _alternative_lines(entry: dict[str, Any], pad: str) -> list[str]:
    alternative = entry.get("alternative")
    if alternative is None:
        return []
    found = alternative.get("found")
    if found is None:
        if entry.get("outcome") in ("error", "crash"):
            return []  # said in the headline
        return [f"{pad}no other form verifies ({len(alternative['tried'])} tried)"]
    lines = [f"{pad}works instead: {found['call']}"]
    detail = f"{found['description']}: {state(found)}"
    if found["target"] != entry["target"]:
        detail = f"target {found['target']}, {detail}"
    lines.append(f"{pad}  ({detail}; works around the finding: {alternative['works_around']})")
    return lines


def state(entry: dict[str, Any]) -> str:
    """A verification in one line: verified or not, the output shape, the error and its bound."""
    if entry.get("not_run"):
        return f"not run: {entry['not_run']}"
    stats = entry.get("stats") or {}
    shape = entry.get("output_shape")
    detail = ""
    if stats:
        detail = (
            f", max |error| {stats.get('max_abs_error', 0):.3g}, "
            f"error/bound {stats.get('error_ratio', 0):.3g}"
        )
    if entry.get("verified"):
        return f"verified, output {shape}{detail}"
    outcome = entry.get("outcome", "failed")
    return f"NOT verified ({outcome}), output {shape}{detail}: {entry.get('message', '')}"
