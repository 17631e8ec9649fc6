"""The house rules of STYLE.md that a parser can check: UI functions read in one screen, modules in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[2] / "studio"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400


def long_functions(folder: Path) -> list[str]:
    """``path:name (n lines)`` for every function or method under ``folder`` longer than ``MAX_FUNCTION_LINES``."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(STUDIO)}:{node.name} ({lines} lines)")
    return found


def long_modules(paths: list[Path]) -> list[str]:
    """``path (n lines)`` for every module of ``paths`` longer than ``MAX_MODULE_LINES``."""
    counts = {p: len(p.read_text().splitlines()) for p in paths}
    return [f"{p.relative_to(STUDIO)} ({n} lines)" for p, n in counts.items() if n > MAX_MODULE_LINES]


def test_no_ui_function_is_over_80_lines():
    assert long_functions(STUDIO / "ui") == []


def test_no_module_in_studio_is_over_400_lines():
    assert long_modules(sorted(STUDIO.rglob("*.py"))) == []
