"""The viewer with someone else editing the same video (another connection to the same file or
server): their edits appear, a conflicting edit asks whether to re-apply or drop it; the status
bar names the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import Database, open_database
from vru_desktop.store.models import Annotation
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.conflicts import ConflictDialog
from vru_desktop.ui.viewer.overlay import ANNOTATION

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def viewer(window, qtbot, make_video):  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [make_video("street.mp4", 20, size=(320, 240))])
    window.videoActivated.emit(outcome.video_id)
    qtbot.waitUntil(lambda: window.viewer.view.hasFocus())
    return window.viewer


@pytest.fixture
def other(database_target: str | Path):  # type: ignore[no-untyped-def]
    """Another person's connection to the same library."""
    database = open_database(database_target)
    yield database
    database.close()


def shown(viewer) -> list[tuple[float, ...]]:  # type: ignore[no-untyped-def]
    return [tuple(round(v) for v in box.box) for box in viewer.view.boxes(ANNOTATION)]


def stored(db: Database) -> list[tuple[float, ...]]:
    with db.session() as session:
        return [
            tuple(row.bounding_box) for row in session.scalars(select(Annotation).order_by(Annotation.id))
        ]


def answer(choice: str, seen: list[str]) -> None:
    """Click ``choice`` ("reapply" or "drop") on the conflict dialog once it shows."""

    def click() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ConflictDialog):
            QTimer.singleShot(20, click)
            return
        seen.append(f"{dialog.text()}\n{dialog.informativeText()}")
        (dialog.reapply_button if choice == "reapply" else dialog.drop_button).click()

    QTimer.singleShot(0, click)


def test_others_edits_appear_in_the_open_viewer(viewer, other, qtbot) -> None:  # type: ignore[no-untyped-def]
    theirs = AnnotationEditor(other, viewer.video.id)
    box = theirs.add_box(0, (10, 10, 50, 60), "pedestrian")
    qtbot.waitUntil(lambda: shown(viewer) == [(10, 10, 50, 60)], timeout=8000)
    theirs.frame_annotations(0)
    theirs.move_box(box, (100, 100, 150, 160))
    qtbot.waitUntil(lambda: shown(viewer) == [(100, 100, 150, 160)], timeout=8000)
    # What the viewer shows is what its next edit starts from: no conflict.
    viewer.view.select(ANNOTATION, [box])
    qtbot.keyClick(viewer.view, Qt.Key.Key_2)
    assert viewer.editor.frame_annotations(0)[0].vru_type == "cyclist"
    viewer.close_video()


def test_a_conflicting_edit_shows_their_change_and_can_be_dropped_or_reapplied(viewer, other, qtbot) -> None:  # type: ignore[no-untyped-def]
    box = viewer.editor.add_box(0, (10, 10, 50, 60), "pedestrian")
    qtbot.waitUntil(lambda: shown(viewer) == [(10, 10, 50, 60)])
    viewer.live.watch(None)  # their change comes before this viewer would have seen it
    theirs = AnnotationEditor(other, viewer.video.id)
    theirs.frame_annotations(0)
    theirs.move_box(box, (100, 100, 150, 160))

    seen: list[str] = []
    viewer.view.select(ANNOTATION, [box])
    answer("drop", seen)
    qtbot.keyClick(viewer.view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: len(seen) == 1)
    assert f"Box {box} on frame 0 was changed by " in seen[0]
    assert "now pedestrian at (100, 100)–(150, 160)" in seen[0]
    assert stored(other) == [(100, 100, 150, 160)]
    assert shown(viewer) == [(100, 100, 150, 160)]  # the frame was read again
    assert "dropped" in viewer.status_bar.status_label.text()

    theirs.frame_annotations(0)
    theirs.move_box(box, (20, 20, 30, 30))
    viewer.view.select(ANNOTATION, [box])
    answer("reapply", seen)
    # Delete (the window is not active again offscreen after a dialog)
    viewer.controls.delete_action.trigger()
    qtbot.waitUntil(lambda: len(seen) == 2)
    assert stored(other) == []  # the delete went through on top of their move
    assert shown(viewer) == []
    assert viewer.controls.undo_action.text() == "&Undo Delete box"


def test_the_status_bar_names_the_store(window, backend: str, database_target) -> None:  # type: ignore[no-untyped-def]
    text = window.store_label.text()
    if backend == "sqlite":
        assert text == f"SQLite: {database_target}"
    else:
        port = str(database_target).split(":")[-1].split("/")[0]
        assert text == f"PostgreSQL: vru@127.0.0.1:{port}/{str(database_target).rsplit('/', 1)[1]}"


def test_a_box_being_drawn_is_kept_while_others_edits_wait(viewer, other, qtbot) -> None:  # type: ignore[no-untyped-def]
    port = viewer.view.viewport()
    start, end = viewer.view.mapFromScene(200, 150), viewer.view.mapFromScene(260, 220)
    qtbot.mousePress(port, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(port, (start + end) / 2)
    AnnotationEditor(other, viewer.video.id).add_box(0, (10, 10, 50, 60), "pedestrian")
    qtbot.wait(3000)  # more than one poll
    assert shown(viewer) == []
    qtbot.mouseMove(port, end)
    qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, pos=end)
    qtbot.waitUntil(lambda: len(shown(viewer)) == 2, timeout=8000)
    assert (10, 10, 50, 60) in shown(viewer)
    assert len(stored(other)) == 2  # the drawn box was saved
    viewer.close_video()  # no summary update left to run once the server is gone
