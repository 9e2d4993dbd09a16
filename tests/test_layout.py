"""The engine's shape, as docs/architecture.md describes it: modules a reader can hold in their
head, no import cycle (deferred imports inside functions count too), and reading an export back
independent of how one is written."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "exporter"
MAX_LINES = 400


def module_name(path: Path) -> str:
    """``exporter/readback/source.py`` -> ``exporter.readback.source``; a package is its folder."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def engine_modules() -> dict[str, Path]:
    """Every module of the engine, by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The engine modules ``path`` imports anywhere in its body, top level or deferred."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # "from exporter.readback import source" imports the module exporter.readback.source.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    """Engine module -> the engine modules it imports."""
    modules = engine_modules()
    return {name: imported_modules(path, set(modules)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_is_over_400_lines():
    long = {
        name: count
        for name, path in engine_modules().items()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (lines): {long}"


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_reading_back_imports_nothing_of_the_export_run_or_the_commands():
    graph = import_graph()
    crossing = {
        name: sorted(m for m in imports if m.startswith(("exporter.export", "exporter.management")))
        for name, imports in graph.items()
        if name.startswith("exporter.readback")
    }
    assert {name: found for name, found in crossing.items() if found} == {}


def test_the_graph_is_read():
    # The checks above must not pass on a graph the parser failed to build.
    graph = import_graph()
    assert "exporter.readback.source" in graph["exporter.readback.opening"]
    assert "exporter.readback.s3_source" in graph["exporter.readback.opening"]  # deferred import
    assert "exporter.plan" in graph["exporter.paperless"]
    assert len(graph) > 60


def test_a_cycle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]
