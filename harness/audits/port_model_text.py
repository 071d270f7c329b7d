"""How a model's port reads in the terminal: the layers, one table (target × layer), then the
emitted code per target with its weight layout and the defaults that differ from the source API."""

from __future__ import annotations

from typing import Any

from adapters.protocol import WEIGHT_LAYOUT
from harness.audits.port_model import cell
from harness.audits.port_text import PLAIN_WEIGHT, headline, state
from harness.terminal import printable

#: The table's short form of each state (the legend under the table spells them out).
SHORT = {
    "verified": "ok",
    "workaround": "alt",
    "not_expressible": "n/e",
    "not_run": "n/r",
    "not_verified": "FAIL",
}
LEGEND = (
    "ok R: verified, error/bound R · alt R: only another form verifies (a workaround, below) · "
    "n/e: not expressible · n/r: not run here · FAIL: no form verifies · —: layer not ported"
)


def _short(c: dict[str, Any]) -> str:
    text = SHORT[c["state"]]
    ratio = c.get("error_ratio")
    return f"{text} {ratio:.2g}" if ratio is not None else text


def table(result: dict[str, Any]) -> list[str]:
    """The target × layer table, one column per layer (``L1``…, named in the layer list)."""
    layers = result["layers"]
    heads = [f"L{i + 1}" for i in range(len(layers))]
    names = [printable(n) for n in result["targets"]]
    rows = []
    for index, name in enumerate(result["targets"]):
        cells = []
        for layer in layers:
            entries = layer["targets"]
            cells.append("—" if not entries else _short(cell(entries[index])))
        rows.append((printable(name), cells))
    first = max([len(n) for n in names] + [6])
    widths = [max([len(h)] + [len(r[1][i]) for r in rows]) for i, h in enumerate(heads)]
    lines = ["  ".join([f"{'target':{first}s}", *(f"{h:{w}s}" for h, w in zip(heads, widths, strict=True))])]
    for name, cells in rows:
        lines.append(
            "  ".join([f"{name:{first}s}", *(f"{c:{w}s}" for c, w in zip(cells, widths, strict=True))])
        )
    return [*lines, LEGEND]


def _layer_lines(index: int, layer: dict[str, Any]) -> list[str]:
    lines = [f"L{index + 1}  {layer['layer']}: {layer['source_call']}"]
    if layer.get("problem"):
        return [*lines, f"    not ported: {layer['problem']}"]
    lines.append(f"    canonical: {layer['case_short']}")
    lines.append(f"    source ({layer['source_target']}): {state(layer['source'])}")
    lines.append(f"    weights: the model's own (sha256 {layer['weight_sha256']}), x drawn from the seed")
    return lines + [f"    note: {n}" for n in layer.get("notes", [])]


def _code_lines(result: dict[str, Any], index: int) -> list[str]:
    """Every layer's call in one target, with what the reader must know to use it."""
    name = result["targets"][index]
    lines = [f"# {name}"]
    shared: set[str] = set()
    layouts: set[str] = set()
    for number, layer in enumerate(result["layers"]):
        if not layer["targets"]:
            continue
        entry = layer["targets"][index]
        c = cell(entry)
        label = f"L{number + 1} {layer['layer']}"
        if c["state"] == "not_expressible":
            lines.append(f"{label}: not expressible: {c['reason']}")
            continue
        if c["state"] == "workaround":
            found = entry["alternative"]["found"]
            lines.append(f"{label}: {found['call']}")
            lines.append(f"    (instead of {entry['call']}: {c['reason']})")
        else:
            lines.append(f"{label}: {entry['call']}")
            if c["state"] != "verified":
                lines.append(f"    {headline(entry)}")
        layout = entry.get("weight_layout")
        if layout:
            layouts.add(f"{layout[0]}, {layout[1]}")
        lines += [f"    note: {n}" for n in entry.get("notes", [])]
        shared.update(entry.get("defaults", []))
    plain = f"{WEIGHT_LAYOUT}, {PLAIN_WEIGHT}"
    lines += [f"weight: {w}" for w in sorted(layouts or {plain})]
    return lines + [f"default: {d}" for d in sorted(shared)]


def text_report(result: dict[str, Any]) -> str:
    """The model's port for a person: layers, table, emitted code per target."""
    lines = [f"model: {result['model']} ({result['kind']}, {len(result['layers'])} transposed convolutions)"]
    for index, layer in enumerate(result["layers"]):
        lines += _layer_lines(index, layer)
    lines += ["", *table(result), ""]
    for index in range(len(result["targets"])):
        lines += [*_code_lines(result, index), ""]
    lines.append(f"{result['seconds']} s")
    return printable("\n".join(lines), newlines=True)
