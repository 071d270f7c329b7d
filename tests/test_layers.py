"""The layout's rules, checked on the source: every module imports only from its own layer or the
layers below it (docs/architecture.md), no import cycle between modules, no module over ~400
lines, and nothing outside ``adapters/`` imports a concrete framework adapter."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Bottom to top; a module may import from its own layer and the ones before it.
LAYERS = (
    ("harness.errors", "harness.process", "harness.files", "harness.terminal"),
    ("harness.model",),
    ("harness.oracle",),
    ("harness.spec",),
    ("adapters",),
    ("harness.workers",),
    ("harness.engine",),
    ("harness.audits",),
    ("harness.report",),
    ("harness.cli",),
    ("harness.pytest_plugin", "harness.__main__"),
)
#: The protocol, registry and shared support of the adapters: what the harness may import.
ADAPTER_SUPPORT = (
    "adapters.protocol",
    "adapters.registry",
    "adapters.reading",
    "adapters.call_text",
    "adapters.probing",
    "adapters.plan",
)
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for package in ("harness", "adapters"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module of the project a module imports, at top level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in MODULES}


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _layer(name: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{name} belongs to no layer of LAYERS")


def test_every_module_imports_only_from_its_layer_or_below() -> None:
    upward = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name != "harness"  # the package itself only applies harness.process on import
        for target in targets
        if _layer(target) > _layer(name)
    ]
    assert upward == []


def test_no_import_cycle_between_modules() -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                return [*path, name, target]
            if target not in state:
                cycle = visit(target, [*path, name])
                if cycle:
                    return cycle
        state[name] = 2
        return None

    for name in sorted(GRAPH):
        if name not in state:
            assert visit(name, []) is None


def test_the_harness_reaches_adapters_only_through_the_protocol() -> None:
    concrete = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name.startswith("harness.")
        for target in targets
        if target.startswith("adapters.") and not target.startswith(ADAPTER_SUPPORT)
    ]
    assert concrete == []


def test_no_module_is_over_the_size_limit() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_citations_point_inside_the_repository_or_at_public_pages() -> None:
    # the documents a session started from are not in the repository: cite their public pages
    outside = ("seeds" + "/0", "/work/" + "shared", "fact " + "sheet")
    offending = [
        f"{path.relative_to(ROOT)}: {needle}"
        for folder in ("harness", "adapters", "specs", "docs", "tests", "benchmarks")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".md", ".yaml", ".j2"}
        for needle in outside
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offending == []


def test_the_checks_see_the_whole_tree() -> None:
    # a rule that silently checks nothing is a bug: the graph holds the layers' known edges
    assert "adapters.protocol" in GRAPH["harness.engine.verdict"]
    assert "harness.model.case" in GRAPH["adapters.protocol"]
    assert len(MODULES) > 80
