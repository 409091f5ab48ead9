"""Undo in the viewer: an action on selected boxes is one step named by what it did, and each video
keeps its history when another video is opened and this one again."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from sqlalchemy import select

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Annotation
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.overlay import ANNOTATION


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def open_video(window: MainWindow, qtbot, video_id: int) -> None:  # type: ignore[no-untyped-def]
    window.videoActivated.emit(video_id)
    qtbot.waitUntil(lambda: window.viewer.view.hasFocus() and window.viewer.pending_frame() is None)


def key(qtbot, window: MainWindow, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window.viewer.view, key, modifier)


def boxes(window: MainWindow, video_id: int) -> list[tuple[str, bool]]:
    with window.db.session() as session:
        query = select(Annotation).where(Annotation.video_id == video_id).order_by(Annotation.id)
        return [(row.vru_type, row.occluded) for row in session.scalars(query)]


def draw_three(window: MainWindow, qtbot) -> list[int]:  # type: ignore[no-untyped-def]
    viewer = window.viewer
    port = viewer.view.viewport()
    ids = []
    for left in (20, 100, 180):
        start = viewer.view.mapFromScene(QPointF(left, 40))
        end = viewer.view.mapFromScene(QPointF(left + 60, 140))
        qtbot.mousePress(port, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(port, (start + end) / 2)
        qtbot.mouseMove(port, end)
        qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, pos=end)
        ids.extend(viewer.view.selected_ids(ANNOTATION))
    for annotation_id in ids[:-1]:  # the last one drawn is selected; Ctrl+click adds the others
        item = next(
            i for i in viewer.view.overlay_boxes if i.kind == ANNOTATION and i.item_id == annotation_id
        )
        centre = viewer.view.mapFromScene(
            QPointF((item.box[0] + item.box[2]) / 2, (item.box[1] + item.box[3]) / 2)
        )
        qtbot.mouseClick(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, pos=centre)
    assert sorted(viewer.view.selected_ids(ANNOTATION)) == sorted(ids)
    return ids


def test_actions_on_a_selection_are_one_step_each(window: MainWindow, qtbot, make_video) -> None:  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [make_video("street.mp4", 20, size=(320, 240))])
    open_video(window, qtbot, outcome.video_id)
    viewer = window.viewer
    draw_three(window, qtbot)

    key(qtbot, window, Qt.Key.Key_2)
    assert boxes(window, outcome.video_id) == [("cyclist", False)] * 3
    assert viewer.controls.undo_action.text() == "&Undo Change 3 boxes to cyclist"
    key(qtbot, window, Qt.Key.Key_O)
    assert viewer.controls.undo_action.text() == "&Undo Mark 3 boxes occluded"
    key(qtbot, window, Qt.Key.Key_Delete)
    assert boxes(window, outcome.video_id) == []
    assert viewer.controls.undo_action.text() == "&Undo Delete 3 boxes"
    assert viewer.controls.undo_action in window.menu("&Edit").actions()

    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(window, outcome.video_id) == [("cyclist", True)] * 3
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(window, outcome.video_id) == [("cyclist", False)] * 3
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(window, outcome.video_id) == [("pedestrian", False)] * 3
    assert viewer.controls.undo_action.text() == "&Undo Add box"
    assert viewer.controls.redo_action.text() == "&Redo Change 3 boxes to cyclist"


def test_each_video_keeps_its_history(window: MainWindow, qtbot, make_video) -> None:  # type: ignore[no-untyped-def]
    first, second = import_paths(
        window.db,
        [make_video("north.mp4", 20, size=(320, 240)), make_video("south.mp4", 24, size=(320, 240))],
    )
    viewer = window.viewer
    open_video(window, qtbot, first.video_id)
    draw_three(window, qtbot)
    key(qtbot, window, Qt.Key.Key_Delete)
    assert viewer.controls.undo_action.text() == "&Undo Delete 3 boxes"

    open_video(window, qtbot, second.video_id)
    assert not viewer.controls.undo_action.isEnabled(), "the other video has its own, empty history"
    draw_three(window, qtbot)
    assert viewer.controls.undo_action.text() == "&Undo Add box"

    open_video(window, qtbot, first.video_id)
    assert viewer.controls.undo_action.text() == "&Undo Delete 3 boxes"
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(boxes(window, first.video_id)) == 3
    assert len(boxes(window, second.video_id)) == 3, "undo acts on the video shown only"
