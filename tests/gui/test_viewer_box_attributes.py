"""Visibility, occlusion level, truncation and ignore set by key on the selected boxes: one undo step
each, stored, and shown in the box label."""

from __future__ import annotations

from PySide6.QtCore import Qt
from sqlalchemy import select
from test_viewer_undo import draw_three, key, open_video, window  # noqa: F401 (window: fixture)

from vru_desktop.library.importer import import_paths
from vru_desktop.store.models import Annotation
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.box_attributes import next_step
from vru_desktop.ui.viewer.overlay import ANNOTATION

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def stored(main: MainWindow, video_id: int) -> list[tuple[float | None, int | None, float | None, bool]]:
    with main.db.session() as session:
        query = select(Annotation).where(Annotation.video_id == video_id).order_by(Annotation.id)
        return [(r.visibility, r.occlusion, r.truncation, r.ignore) for r in session.scalars(query)]


def labels(main: MainWindow) -> list[str]:
    return [item.label for item in main.viewer.view.overlay_boxes if item.kind == ANNOTATION]


def test_each_key_sets_every_selected_box_in_one_undo_step(window: MainWindow, qtbot, make_video) -> None:  # noqa: F811
    (outcome,) = import_paths(window.db, [make_video("crossing.mp4", 20, size=(320, 240))])
    video = outcome.video_id
    open_video(window, qtbot, video)
    viewer = window.viewer
    ids = draw_three(window, qtbot)
    assert stored(window, video) == [(None, None, None, False)] * 3

    key(qtbot, window, Qt.Key.Key_O, SHIFT)
    assert stored(window, video) == [(None, 0, None, False)] * 3
    key(qtbot, window, Qt.Key.Key_O, SHIFT)
    assert stored(window, video) == [(None, 1, None, False)] * 3
    assert viewer.controls.undo_action.text() == "&Undo Set occlusion of 3 boxes to partial"
    key(qtbot, window, Qt.Key.Key_V, SHIFT)
    key(qtbot, window, Qt.Key.Key_V, SHIFT)
    assert viewer.controls.undo_action.text() == "&Undo Set visibility of 3 boxes to 0.75"
    key(qtbot, window, Qt.Key.Key_U)
    key(qtbot, window, Qt.Key.Key_U)
    key(qtbot, window, Qt.Key.Key_I, SHIFT)
    assert viewer.controls.undo_action.text() == "&Undo Mark 3 boxes ignore"
    assert stored(window, video) == [(0.75, 1, 0.25, True)] * 3
    assert sorted(viewer.view.selected_ids(ANNOTATION)) == sorted(ids), "the selection stays"
    assert all(
        "occl partial" in t and "trunc 0.25" in t and "vis 0.75" in t and "ignore" in t
        for t in labels(window)
    )

    # One Ctrl+Z takes back one key on all three boxes.
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert stored(window, video) == [(0.75, 1, 0.25, False)] * 3
    assert not any(t.endswith("ignore") for t in labels(window))
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert stored(window, video) == [(0.75, 1, 0.0, False)] * 3
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert stored(window, video) == [(0.75, 1, None, False)] * 3
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert stored(window, video) == [(1.0, 1, None, False)] * 3
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert stored(window, video) == [(None, 1, None, False)] * 3
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert stored(window, video) == [(None, 0, None, False)] * 3
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert stored(window, video) == [(None, None, None, False)] * 3

    # Ignore on a mixed selection marks all; again, none.
    viewer.view.select(ANNOTATION, ids[:1])
    key(qtbot, window, Qt.Key.Key_I, SHIFT)
    viewer.view.select(ANNOTATION, ids)
    key(qtbot, window, Qt.Key.Key_I, SHIFT)
    assert [row[3] for row in stored(window, video)] == [True] * 3
    key(qtbot, window, Qt.Key.Key_I, SHIFT)
    assert [row[3] for row in stored(window, video)] == [False] * 3


def test_keys_are_in_the_edit_menu_and_steps_wrap_through_unknown(window: MainWindow) -> None:  # noqa: F811
    edit = window.menu("&Edit").actions()
    attributes = window.viewer.controls.box_attributes
    assert all(action in edit for action in attributes.actions())
    assert [a.shortcut().toString() for a in attributes.actions()] == ["Shift+V", "Shift+O", "U", "Shift+I"]
    assert next_step(None, (1.0, 0.75, 0.5, 0.25)) == 1.0
    assert next_step(0.25, (1.0, 0.75, 0.5, 0.25)) is None
    assert next_step(0.6, (1.0, 0.75, 0.5, 0.25)) == 0.5, "a value between presets goes to the next one"
    assert next_step(2, (0, 1, 2)) is None
