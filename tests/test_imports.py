"""Layers point one way: bench's import graph - every import of every module, at module level or inside a
function, relative ones resolved - has no cycle."""
from __future__ import annotations

import ast
from pathlib import Path

import bench

PACKAGE = Path(bench.__file__).parent


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, package: Path, modules: set[str]) -> set[str]:
    """The modules of `modules` that the file imports anywhere in it: `from . import x` names the module x
    where x is one, else the package it comes from."""
    name = module_name(path, package)
    here = (name if path.name == "__init__.py" else name.rpartition(".")[0]).split(".")
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            out.update(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                       for alias in node.names)
    return {m for m in out if m in modules and m != name}


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    files = {module_name(path, package): path for path in package.rglob("*.py")}
    return {name: imported(path, package, set(files)) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """Per strongly connected component of more than one module (Tarjan): a shortest cycle in it, as a path
    back to its start, and every module of the component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append((path_within(graph, set(component), node), sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def path_within(graph: dict[str, set[str]], component: set[str], start: str) -> list[str]:
    """A shortest cycle through `start` inside `component` (breadth first)."""
    previous = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & component):
            if nxt == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"{start} is on no cycle")


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 50 and "bench.samplers.registry" in graph["bench.methods"]   # the walk sees the package
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(f"{' -> '.join(cycle)} (all of {', '.join(component)})"
                                                    for cycle, component in found)


def test_the_walk_sees_imports_inside_functions_and_relative_ones(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import json\n\n\ndef later():\n    from .sub import b\n")
    (package / "sub" / "__init__.py").write_text("from .. import c\n")
    (package / "sub" / "b.py").write_text("from ..c import thing\n")
    (package / "c.py").write_text("import pkg.a\n")
    graph = import_graph(package)
    assert graph == {"pkg": set(), "pkg.a": {"pkg.sub.b"}, "pkg.sub": {"pkg.c"}, "pkg.sub.b": {"pkg.c"},
                     "pkg.c": {"pkg.a"}}
    assert cycles(graph) == [(["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"], ["pkg.a", "pkg.c", "pkg.sub.b"])]


def test_extension_loading_is_a_leaf_below_both_registries():
    graph = import_graph()
    registries = {"bench.samplers.registry", "bench.classifiers"}
    assert not graph["bench.extensions"] & (registries | {"bench.methods", "bench.samplers"})
    assert "bench.samplers.registry" not in graph["bench.classifiers"]   # the registries know nothing of each other
    assert not graph["bench.samplers.registry"] & {"bench.classifiers", "bench.methods"}
    assert registries <= graph["bench.methods"]
