"""Code compares a state with its StrEnum member (``RunStatus.COMPLETED``), never with a bare string: a
misspelt string compares unequal without a word, a member that does not exist fails at once."""

from __future__ import annotations

import ast

from conftest import REPO

from vru_desktop.campaigns.definition import CampaignStatus
from vru_desktop.library.importer import ImportStatus
from vru_desktop.store.models import ProcessingStatus, ProjectStatus, Review, RunStatus, VideoStatus

STATES = {
    str(member)
    for enum in (
        RunStatus,
        VideoStatus,
        ProcessingStatus,
        ProjectStatus,
        Review,
        ImportStatus,
        CampaignStatus,
    )
    for member in enum
}
#: Where the enums are defined, and the migrations, which spell the stored values as they were.
LEFT_OUT = ("vru_desktop/store/models.py", "vru_desktop/store/migrations/")


def _is_state_name(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name == "status" or name.endswith("_status") or name in ("state", "states", "s")


def _strings(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for item in node.elts for s in _strings(item)]
    return []


def bare_state_comparisons(source: str) -> list[int]:
    """Lines where a state (a name ending in ``status``) is compared with a state's bare string."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_state_name(side) for side in sides) and any(
                text in STATES for side in sides for text in _strings(side)
            ):
                found.append(node.lineno)
    return found


def test_the_check_finds_a_bare_state_string() -> None:
    source = 'if run.status == "completed":\n    pass\n'
    source += 'ready = video_status in ("ok", "missing")\n'
    source += 'if run.status == RunStatus.COMPLETED and kind == "completed":\n    pass\n'
    assert bare_state_comparisons(source) == [1, 3]


def test_states_are_compared_with_their_enum_members() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}"
        for path in sorted((REPO / "vru_desktop").rglob("*.py"))
        if not str(path.relative_to(REPO)).startswith(LEFT_OUT)
        for line in bare_state_comparisons(path.read_text(encoding="utf-8"))
    ]
    assert found == []
