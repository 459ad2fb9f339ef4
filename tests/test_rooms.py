"""The house's rooms and the arrows between them (DESIGN.md, docs/architecture.md).

Every import of every module is read from its source — top-level, inside functions and under
``if TYPE_CHECKING`` alike — so no arrow can hide in a function body. The test fails on an
arrow from a room to one it may not import (``tickets`` imports no other room) and on any
cycle between modules, whichever rooms they are in.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# room → the rooms it may import (DESIGN.md's layout table; composition imports everything)
MAY_IMPORT: dict[str, frozenset[str]] = {
    "tickets": frozenset(),
    "router": frozenset({"tickets"}),
    "delivery": frozenset({"tickets"}),
    "channels": frozenset({"tickets"}),
    "transcription": frozenset({"tickets"}),
    "ivr": frozenset({"tickets", "transcription"}),
    "console": frozenset({"tickets", "router", "ivr"}),
    "hotline": frozenset({"tickets", "router", "delivery", "channels", "transcription", "ivr",
                          "console"}),
}
ROOMS = frozenset(MAY_IMPORT)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for room in sorted(ROOMS):
        for path in sorted((REPO / room).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _targets(node: ast.AST, package: str) -> list[str]:
    """The names an import statement asks for (modules, or the names inside them)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = package.split(".")
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    # `from pkg import mod` imports the module pkg.mod when there is one
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names]


def _resolve(target: str) -> str:
    """The project module a dotted name lies in ('' for a name outside the project)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target


def _package(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """The project modules ``name`` imports, each with the line that imports it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        for target in map(_resolve, _targets(node, _package(name, path))):
            if target and target != name:
                yield target, getattr(node, "lineno", 0)


GRAPH: dict[str, dict[str, int]] = {
    name: dict(_imports(name, path)) for name, path in MODULES.items()}


def room_of(module: str) -> str:
    return module.split(".")[0]


def test_the_rooms_are_the_layout() -> None:
    on_disk = {p.name for p in REPO.iterdir() if (p / "__init__.py").exists()}
    assert on_disk - {"tests", "bench"} == ROOMS


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_a_room_imports_only_the_rooms_it_may(room: str) -> None:
    wrong = sorted(
        f"{name}:{line} imports {target}"
        for name, targets in GRAPH.items() if room_of(name) == room
        for target, line in targets.items()
        if room_of(target) != room and room_of(target) not in MAY_IMPORT[room])
    assert wrong == []


def _cycle() -> list[str] | None:
    """One import cycle between modules, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(GRAPH):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(GRAPH[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(GRAPH[nxt])))
    return None


def test_no_module_imports_itself_round_a_cycle() -> None:
    cycle = _cycle()
    assert cycle is None, " → ".join(cycle or [])


def test_the_checker_sees_imports_inside_functions() -> None:
    """The graph holds function-level imports too (there are some: the CLI's lazy imports)."""
    lazy = [
        (name, target) for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        for target in map(_resolve, _targets(inner, _package(name, path)))
        if target and target != name]
    assert lazy, "no function-level import of a project module found to check"
    for name, target in lazy:
        assert target in GRAPH[name]
