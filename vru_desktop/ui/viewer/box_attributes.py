"""Keys that set what pedestrian protocols read of the selected boxes: visibility, occlusion level,
truncation and *ignore*. Each key on a selection is one undo step; the box label shows the values.

Cycling keys step every selected box to the value after the first selected box's value
(``None``: unknown, after the last preset), so a mixed selection ends up alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction

from vru_desktop.annotations.editor import counted
from vru_desktop.annotations.views import AnnotationView
from vru_desktop.evaluation.protocols import OCCLUSION_LEVELS
from vru_desktop.ui.viewer.overlay import ANNOTATION

if TYPE_CHECKING:
    from vru_desktop.ui.viewer.controls import ViewerControls

#: Presets in the order the keys step through them; unknown (``None``) follows the last.
VISIBILITY_STEPS = (1.0, 0.75, 0.5, 0.25)
OCCLUSION_STEPS = (0, 1, 2)
TRUNCATION_STEPS = (0.0, 0.25, 0.5, 0.75)


def next_step(value: float | None, steps: tuple[float, ...]) -> float | None:
    """The preset after ``value`` in ``steps`` (monotone), ``None`` after the last, the first after
    ``None``; a value between presets goes to the next one beyond it."""
    if value is None:
        return steps[0]
    rising = steps[-1] > steps[0]
    beyond = [s for s in steps if (s > value if rising else s < value)]
    return beyond[0] if beyond else None


class BoxAttributes:
    """The four actions, made by the viewer's controls and acting through its edit commands."""

    def __init__(self, controls: ViewerControls) -> None:
        self.workspace = controls.viewer
        a = controls._action
        self.visibility_action = a(
            "Cycle &Visibility (1, .75, .5, .25, unknown)",
            "Shift+V",
            lambda: self.cycle("visibility", VISIBILITY_STEPS),
        )
        self.occlusion_action = a(
            "Cycle Occlusion &Level (none, partial, heavy, unknown)",
            "Shift+O",
            lambda: self.cycle("occlusion", OCCLUSION_STEPS),
        )
        self.truncation_action = a(
            "Cycle Tr&uncation (0, .25, .5, .75, unknown)",
            "U",
            lambda: self.cycle("truncation", TRUNCATION_STEPS),
        )
        self.ignore_action = a("Toggle I&gnore Box", "Shift+I", self.toggle_ignore)

    def actions(self) -> list[QAction]:
        return [self.visibility_action, self.occlusion_action, self.truncation_action, self.ignore_action]

    def _shown_selection(self) -> tuple[list[int], dict[int, AnnotationView]]:
        """The selected boxes on the current frame, in selection order, with their views."""
        workspace = self.workspace
        if workspace.editor is None:
            return [], {}
        views = {view.id: view for view in workspace.editor.frame_annotations(workspace.current)}
        return [i for i in workspace.view.selected_ids(ANNOTATION) if i in views], views

    def cycle(self, name: str, steps: tuple[float, ...]) -> None:
        shown, views = self._shown_selection()
        if not shown:
            return
        value = next_step(getattr(views[shown[0]], name), steps)
        if value is None:
            text = "unknown"
        elif name == "occlusion":
            text = OCCLUSION_LEVELS[int(value)]
        else:
            text = f"{value:g}"
        self._apply(f"Set {name} of {_boxes(shown)} to {text}", shown, {name: value})

    def toggle_ignore(self) -> None:
        shown, views = self._shown_selection()
        if not shown:
            return
        ignore = not all(views[i].ignore for i in shown)
        self._apply(f"Mark {_boxes(shown)} {'' if ignore else 'not '}ignore", shown, {"ignore": ignore})

    def _apply(self, label: str, ids: list[int], values: dict[str, object]) -> None:
        selected = self.workspace.view.selected_ids(ANNOTATION)
        self.workspace.edits.edit_each(label, ids, lambda editor, i: editor.set_conditions(i, **values))
        self.workspace.view.select(ANNOTATION, selected)


def _boxes(ids: list[int]) -> str:
    return counted(len(ids), "box", "boxes")
