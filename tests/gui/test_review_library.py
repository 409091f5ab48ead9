"""Reviewed coverage in the Library and Datasets tables; moving videos between projects in the Library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QInputDialog

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.library.importer import Assignment, import_paths
from vru_desktop.library.projects import ProjectFields, create_project, project_by_name
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Video
from vru_desktop.ui.datasets.workspace import dataset_manager
from vru_desktop.ui.library_model import COVERAGE_COLUMN, VIDEO_IDS_MIME
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.project_dialog import ProjectDialog


@pytest.fixture
def window(qtbot, db, data_dir: Path, make_video) -> MainWindow:  # type: ignore[no-untyped-def]
    street = create_project(
        db, ProjectFields(name="Street", camera_model="AX", camera_view="front", signal_type="video")
    ).id
    create_project(
        db, ProjectFields(name="Depot", camera_model="RX", camera_view="rear", signal_type="video")
    )
    for name, frames in (("long.mp4", 40), ("short.mp4", 10)):
        import_paths(db, [make_video(name, frames)], assignment=Assignment(explicit_project_id=street))
    win = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    qtbot.waitExposed(win)
    win.library.select_project(street)
    return win


def _video_id(db, name: str) -> int:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return session.query(Video).filter(Video.filename == name).one().id


def _project_of(db, video_id: int) -> str:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return session.get(Video, video_id).project.name


def test_coverage_shows_as_a_percentage_in_library_and_datasets(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    long_id = _video_id(window.db, "long.mp4")
    editor = AnnotationEditor(window.db, long_id)
    editor.set_reviewed(0)
    window.annotationsChanged.emit(long_id)  # as the viewer does after an edit
    rows = {row["Name"]: row for row in window.library.video_rows()}
    assert rows["long.mp4"]["Reviewed"] == "2.5 %" and rows["short.mp4"]["Reviewed"] == "0 %"
    model = window.library.video_model
    row = next(i for i, r in enumerate(model.rows) if r.id == long_id)
    assert model.data(model.index(row, COVERAGE_COLUMN), Qt.ItemDataRole.ToolTipRole) == (
        "1 of 40 frames reviewed (ground-truth coverage)"
    )

    for frame in range(1, 36):
        editor.set_reviewed(frame)
    window.annotationsChanged.emit(long_id)
    manager = dataset_manager(window)
    window.show_workspace(manager)
    qtbot.waitUntil(lambda: manager.model.rowCount() == 2)
    column = manager.model.column_of("coverage")
    cells = {
        manager.model.data(manager.model.index(r, manager.model.column_of("filename"))): r
        for r in range(manager.model.rowCount())
    }
    long_row = cells["long.mp4"]
    qtbot.waitUntil(lambda: manager.model.data(manager.model.index(long_row, column)) == "90 %")
    assert manager.model.headerData(column, Qt.Orientation.Horizontal) == "Coverage"
    tip = manager.model.data(manager.model.index(long_row, column), Qt.ItemDataRole.ToolTipRole)
    assert tip == "36 of 40 frames reviewed; the project asks 90% for its ground truth to count"
    short_row = cells["short.mp4"]
    readiness = manager.model.column_of("readiness")
    tip = manager.model.data(manager.model.index(short_row, readiness), Qt.ItemDataRole.ToolTipRole)
    assert "ground truth: 0 of 10 frames reviewed (0 %); the project asks 90%" in tip

    window.show_workspace(window.library)  # the Library reads the coverage again when shown
    rows = {row["Name"]: row for row in window.library.video_rows()}
    assert rows["long.mp4"]["Reviewed"] == "90 %"


def _select(window, name: str) -> None:  # type: ignore[no-untyped-def]
    library = window.library
    row = next(i for i, r in enumerate(library.video_model.rows) if r.filename == name)
    library.videos.selectRow(row)


def test_move_to_project_action_and_context_menu(window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    library = window.library
    short_id = _video_id(window.db, "short.mp4")
    _select(window, "short.mp4")
    assert library.video_actions.move_action.isEnabled()
    assert library.video_actions.move_action in window.menu("&Video").actions()
    offered: list[list[str]] = []

    def choose(_parent, _title, _label, items, *_args):  # type: ignore[no-untyped-def]
        offered.append(list(items))
        return "Depot", True

    monkeypatch.setattr(QInputDialog, "getItem", choose)
    library.video_actions.move_action.trigger()
    assert offered == [["Default", "Depot"]], "every project but the one shown"
    assert _project_of(window.db, short_id) == "Depot"
    assert [r["Name"] for r in library.video_rows()] == ["long.mp4"]
    assert "1 video(s) moved to project 'Depot'" in window.statusBar().currentMessage()


def test_dropping_videos_on_a_project_moves_them(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    library = window.library
    long_id = _video_id(window.db, "long.mp4")
    _select(window, "long.mp4")
    mime = library.video_model.mimeData(library.videos.selectionModel().selectedRows())
    assert json.loads(bytes(mime.data(VIDEO_IDS_MIME).data()).decode()) == [long_id]

    target = next(
        library.projects.item(i)
        for i in range(library.projects.count())
        if library.projects.item(i).text().startswith("Depot")
    )
    port = library.projects.viewport()
    pos = library.projects.visualItemRect(target).center()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, Qt.DropAction.MoveAction, mime, buttons, mods)
    QApplication.sendEvent(port, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(pos, Qt.DropAction.MoveAction, mime, buttons, mods)
    QApplication.sendEvent(port, move)
    assert move.isAccepted()
    drop = QDropEvent(QPointF(pos), Qt.DropAction.MoveAction, mime, buttons, mods)
    QApplication.sendEvent(port, drop)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: _project_of(window.db, long_id) == "Depot")
    qtbot.waitUntil(lambda: [r["Name"] for r in library.video_rows()] == ["short.mp4"])


def test_project_dialog_sets_the_ground_truth_coverage(db, qtbot) -> None:  # type: ignore[no-untyped-def]

    street = create_project(
        db, ProjectFields(name="Street", camera_model="m", camera_view="front", signal_type="video")
    )
    dialog = ProjectDialog(db, street.id)
    qtbot.addWidget(dialog)
    assert dialog.gt_coverage.value() == 90  # the default, in percent of frames
    dialog.gt_coverage.setValue(25)
    save = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert project_by_name(db, "Street").gt_coverage == 0.25
    again = ProjectDialog(db, street.id)
    qtbot.addWidget(again)
    assert again.gt_coverage.value() == 25
