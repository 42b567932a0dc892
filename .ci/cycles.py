"""Fail when the packages of ``core/`` import each other in a cycle.

    python3 .ci/cycles.py [ROOT]

A node is a package directly under ``core/`` (``core.store`` stands for everything below
it) or a top-level module (``core.agent``). An edge is any import between two nodes,
lazy ones inside functions and those under ``if TYPE_CHECKING:`` included (a type is a
dependency too). Prints one cycle per group of nodes that all reach each other, and
exits 1. Stdlib only.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path


def node_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "core" or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, module: str) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph(root: Path) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in sorted((root / "core").rglob("*.py")):
        module = module_name(path, root)
        source = node_of(module)
        if source is None:
            continue
        targets = edges.setdefault(source, set())
        for name in imports(path, module):
            target = node_of(name)
            if target is not None and target != source and \
                    ((root / Path(*target.split("."))).is_dir() or
                     (root / Path(*target.split("."))).with_suffix(".py").is_file()):
                targets.add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[tuple[list[str], set[str]]]:
    """One cycle through each strongly connected group of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [(_path(group, edges), group) for group in groups]


def _path(group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the group's first node (breadth first)."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(edges.get(node, set()) & group):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return sorted(group)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = cycles(graph(root))
    for cycle, group in found:
        print("import cycle in core/: " + " → ".join(cycle)
              + f"  (all of {', '.join(sorted(group))} reach each other)")
    if not found:
        print(f"core/: no package-level import cycle ({len(graph(root))} packages and modules)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
