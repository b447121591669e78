"""Functions stay short: at most 50 lines in shared/, functions/ and app.py, and a handler (an API
route or a portal page) at most 15, its rules living in shared/. Ruff checks complexity
(C901, PLR0912, PLR0915) but has no line-count rule, hence this walk of the syntax trees."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES, MAX_HANDLER_LINES = 50, 15
HANDLER_DECORATORS = {"route", "page"}  # functions/api/http.py, functions/portal/web.py


def _sources() -> list[Path]:
    shared, functions = (sorted((ROOT / d).rglob("*.py")) for d in ("shared", "functions"))
    return [ROOT / "app.py", *shared, *functions]


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """From the ``def`` line to the last line of the body (decorators not counted)."""
    return (node.end_lineno or node.lineno) - node.lineno + 1


def _is_handler(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        called = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(called, ast.Name) and called.id in HANDLER_DECORATORS:
            return True
    return False


def _offenders() -> tuple[list[str], list[str]]:
    long, fat = [], []
    for path in _sources():
        where = path.relative_to(ROOT).as_posix()
        for node in _functions(path):
            lines = _length(node)
            if lines > MAX_LINES:
                long.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
            if _is_handler(node) and lines > MAX_HANDLER_LINES:
                fat.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return long, fat


def test_functions_are_at_most_50_lines() -> None:
    long, _ = _offenders()
    assert not long, "split these functions:\n" + "\n".join(long)


def test_handlers_are_at_most_15_lines() -> None:
    _, fat = _offenders()
    assert not fat, "move the rules of these handlers into shared/:\n" + "\n".join(fat)


def test_the_walk_sees_the_handlers() -> None:
    """The check is not vacuous: it finds the routes and pages it is meant to hold short."""
    handlers = {n.name for p in _sources() for n in _functions(p) if _is_handler(n)}
    assert len(handlers) > 50
    assert {"get_member", "voice_usage", "lookup_page", "intent"} <= handlers
