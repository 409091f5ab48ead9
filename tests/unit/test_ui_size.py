"""No class under ``vru_desktop/ui`` grows past 400 lines or 40 methods: a bigger one is split along its
seams into collaborating objects or widgets (the viewer's controls, frame fetching, edit commands…)."""

from __future__ import annotations

import ast

from conftest import REPO

MAX_LINES, MAX_METHODS = 400, 40
UI = REPO / "vru_desktop" / "ui"


def class_sizes(source: str) -> list[tuple[str, int, int]]:
    """``(name, lines, methods)`` of every class in ``source``, nested ones too; methods are the
    ``def`` and ``async def`` directly in the class body."""
    return [
        (
            node.name,
            node.end_lineno - node.lineno + 1,  # type: ignore[operator]
            sum(isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) for item in node.body),
        )
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef)
    ]


def test_the_measure_counts_the_class_lines_and_its_own_methods() -> None:
    methods = "".join(f"    def m{i}(self) -> None:\n        pass\n" for i in range(41))
    source = f"x = 1\n\n\nclass Big:\n{methods}    async def later(self) -> None: ...\n"
    source += "    class Inner:\n        def inner(self) -> None: ...\n"
    assert class_sizes(source) == [("Big", 1 + 82 + 1 + 2, 42), ("Inner", 2, 1)]


def test_no_ui_class_is_over_the_size_limit() -> None:
    sizes = [
        (f"{path.relative_to(REPO)}: {name}", lines, methods)
        for path in sorted(UI.rglob("*.py"))
        for name, lines, methods in class_sizes(path.read_text(encoding="utf-8"))
    ]
    assert len(sizes) > 30, "the ui classes were not found"
    for where, lines, methods in sorted(sizes, key=lambda size: -size[1])[:6]:
        print(f"{where} {lines} lines / {methods} methods")
    too_big = [
        f"{where} {lines} lines / {methods} methods"
        for where, lines, methods in sizes
        if lines > MAX_LINES or methods > MAX_METHODS
    ]
    assert too_big == [], f"over {MAX_LINES} lines or {MAX_METHODS} methods: split along its seams"
