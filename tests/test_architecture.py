"""The house rules a parser can check: no import circle between studio's modules, no arrow that runs back up (a wing
of studio/generators/ imports only the shared base, params and fingerprint, and never another wing), generators never
import gradio, the UI never imports torch."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WINGS = ("text", "image", "music", "terrain")
SHARED = ("studio.generators.base", "studio.params", "studio.fingerprint", "studio.uploads")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every studio module and what it imports (anywhere in it, function bodies too): studio modules and the
    top-level names of other packages."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "studio").rglob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[module_name(path)] = found
    return graph


def studio_edges() -> dict[str, set[str]]:
    graph = imports()
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def test_no_import_circle():
    edges = studio_edges()
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(edges[m]):
            if state.get(d) == 1:
                circles.append([*path[path.index(d) :], d])
            elif d not in state:
                visit(d, [*path, d])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    # A package's __init__ is imported by its submodules' own imports; that is not a circle of code.
    circles = [c for c in circles if not all(x == c[0] or x.startswith(c[0] + ".") for x in c)]
    assert circles == []


def test_wings_import_only_their_own_stages_and_the_shared_base():
    for m, deps in studio_edges().items():
        if not m.startswith("studio.generators."):
            continue
        wing = m.split(".")[2]
        for d in deps:
            allowed = d in SHARED or d == "studio.generators" or d.startswith(f"studio.generators.{wing}")
            assert allowed, f"{m} imports {d}"


def test_generators_never_import_gradio_and_the_ui_never_imports_torch():
    for m, deps in imports().items():
        tops = {d.split(".")[0] for d in deps}
        if m.startswith("studio.generators") or m.startswith("studio.training"):
            assert "gradio" not in tops, m
        if m.startswith("studio.ui"):
            assert not tops & {"torch", "diffusers", "transformers"}, m
