"""The viewer as people coming from CVAT and X-AnyLabeling use it: the objects panel beside the
picture (hide, lock, selection both ways), ignore regions drawn as polygons, brightness and contrast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select

from vru_desktop.library.importer import import_paths
from vru_desktop.library.projects import (
    ProjectFields,
    create_project,
    get_project,
    move_videos,
    parse_ignore_regions,
    update_project,
)
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Annotation, DetectionEvent, TestSession, Video
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.objects import HIDE_COLUMN, LOCK_COLUMN
from vru_desktop.ui.viewer.overlay import ANNOTATION, DETECTION


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.resize(1200, 720)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def open_video(window, qtbot, path: Path):  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [path])
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.view.hasFocus() and viewer.video.id == outcome.video_id)
    return viewer


@pytest.fixture
def viewer(window, qtbot, make_video):  # type: ignore[no-untyped-def]
    return open_video(window, qtbot, make_video("street.mp4", 20, size=(320, 240)))


def at(viewer, x: float, y: float) -> QPoint:  # type: ignore[no-untyped-def]
    return viewer.view.mapFromScene(QPointF(x, y))


def click(qtbot, viewer, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=at(viewer, x, y))


def drag(qtbot, viewer, start: tuple[float, float], end: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    port = viewer.view.viewport()
    a, b = at(viewer, *start), at(viewer, *end)
    qtbot.mousePress(port, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(port, (a + b) / 2)
    qtbot.mouseMove(port, b)
    qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, pos=b)
    QCoreApplication.processEvents()


def boxes(db) -> list[Annotation]:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return list(
            session.scalars(select(Annotation).where(Annotation.outside.is_(False)).order_by(Annotation.id))
        )


def add_detection(db, video_id: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        run = TestSession(video_id=video_id, status="completed", config={"conf": 0.25})
        session.add(run)
        session.flush()
        event = DetectionEvent(
            session_id=run.id,
            video_id=video_id,
            frame_number=0,
            timestamp=0.0,
            vru_type="cyclist",
            confidence=0.87,
            x1=220.0,
            y1=30.0,
            x2=300.0,
            y2=200.0,
        )
        session.add(event)
        session.flush()
        return run.id, event.id


def table_text(viewer) -> list[list[str]]:  # type: ignore[no-untyped-def]
    table = viewer.objects.table
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def click_cell(qtbot, viewer, row: int, column: int = 0) -> None:  # type: ignore[no-untyped-def]
    table = viewer.objects.table
    rect = table.visualRect(table.model().index(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def toggle_check(qtbot, viewer, row: int, column: int) -> None:  # type: ignore[no-untyped-def]
    """Click the check box of a cell (at the left of the cell, where the style draws it)."""
    table = viewer.objects.table
    item = table.item(row, column)
    before = item.checkState()
    rect = table.visualRect(table.model().index(row, column))
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.left() + 10, rect.center().y())
    )
    if table.item(row, column).checkState() == before:  # the style puts it elsewhere: use the keyboard
        table.setCurrentCell(row, column)
        qtbot.keyClick(table, Qt.Key.Key_Space)
    assert table.item(row, column).checkState() != before
    QCoreApplication.processEvents()  # the viewer redraws just after the table's own change


def test_objects_panel_lists_selects_hides_and_locks(window, viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    run_id, event_id = add_detection(window.db, viewer.video.id)
    window.detectionsChanged.emit(viewer.video.id, run_id)
    qtbot.waitUntil(lambda: len(viewer.view.boxes(DETECTION)) == 1)
    drag(qtbot, viewer, (20, 20), (80, 120))
    drag(qtbot, viewer, (100, 40), (160, 200))
    first, second = boxes(window.db)
    assert viewer.objects.isVisible()
    texts = table_text(viewer)
    assert [row[:6] for row in texts] == [
        [f"det. {event_id}", "cyclist", "", "", "detection", "0.87"],
        [f"box {first.id}", "pedestrian", "", "✓", "manual", ""],
        [f"box {second.id}", "pedestrian", "", "✓", "manual", ""],
    ]

    # Picture -> panel: the box drawn last is selected, and so is its row; a click on another box too.
    assert viewer.objects.selected_keys() == {(ANNOTATION, second.id)}
    click(qtbot, viewer, 50, 70)
    assert viewer.view.selected_ids(ANNOTATION) == [first.id]
    assert viewer.objects.table.selectionModel().selectedRows()[0].row() == 1
    # Panel -> picture.
    click_cell(qtbot, viewer, 0)
    assert viewer.view.selected_ids(DETECTION) == [event_id] and viewer.view.selected_ids(ANNOTATION) == []
    click_cell(qtbot, viewer, 2)
    assert viewer.view.selected_ids(ANNOTATION) == [second.id]
    # After an edit the rows follow: V (validated off) and 2 (second class) on the selected box.
    viewer.view.setFocus()
    qtbot.keyClick(viewer.view, Qt.Key.Key_V)
    qtbot.keyClick(viewer.view, Qt.Key.Key_2)
    assert table_text(viewer)[2][1:4] == ["cyclist", "", ""]
    assert viewer.objects.selected_keys() == {(ANNOTATION, second.id)}

    # Hide: not drawn, still listed (to show it again).
    toggle_check(qtbot, viewer, 0, HIDE_COLUMN)
    assert viewer.view.boxes(DETECTION) == [] and viewer.objects.table.rowCount() == 3
    toggle_check(qtbot, viewer, 0, HIDE_COLUMN)
    assert len(viewer.view.boxes(DETECTION)) == 1

    # Lock: the mouse can neither select, move nor delete the box.
    toggle_check(qtbot, viewer, 1, LOCK_COLUMN)
    viewer.view.setFocus()
    click(qtbot, viewer, 50, 70)
    assert viewer.view.selected_ids(ANNOTATION) == []
    drag(qtbot, viewer, (50, 70), (70, 90))  # draws a new box instead of moving the locked one
    assert (boxes(window.db)[0].x1, boxes(window.db)[0].y1) == (first.x1, first.y1)
    third = boxes(window.db)[2]
    click_cell(qtbot, viewer, 1)  # the locked row cannot select its box either
    assert viewer.view.selected_ids(ANNOTATION) == [] and viewer.objects.selected_keys() == set()
    viewer.view.select(ANNOTATION, [first.id, third.id])
    qtbot.keyClick(viewer.view, Qt.Key.Key_Delete)
    assert [row.id for row in boxes(window.db)] == [first.id, second.id]

    # Frame change and the View menu.
    qtbot.keyClick(viewer.view, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: viewer.current == 1)
    assert viewer.objects.table.rowCount() == 0
    qtbot.keyClick(viewer.view, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: viewer.current == 0 and viewer.objects.table.rowCount() == 3)
    # Playing, the rows are left out (they would cost the playback time); paused, they are back.
    qtbot.keyClick(viewer.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: viewer.current >= 2, timeout=10_000)
    assert viewer.objects.title.text() == "Objects: shown when paused"
    if viewer.playback.is_playing():
        qtbot.keyClick(viewer.view, Qt.Key.Key_Space)
    qtbot.keyClick(viewer.view, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: viewer.current == 0 and viewer.objects.table.rowCount() == 3)
    action = next(a for a in window.menu("&View").actions() if a.text() == "&Objects Panel")
    action.trigger()
    assert not viewer.objects.isVisible()
    action.trigger()
    assert viewer.objects.isVisible()


def test_ignore_regions_drawn_as_polygons(window, viewer, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    view = viewer.view
    with window.db.session() as session:
        project_id = session.get(Video, viewer.video.id).project_id
    assert project_id is not None
    qtbot.keyClick(view, Qt.Key.Key_I)
    assert viewer.controls.region_action.isChecked() and view.regions.polygon_mode
    for x, y in ((10, 10), (150, 10), (150, 90), (10, 90)):
        click(qtbot, viewer, x, y)
    assert boxes(window.db) == [], "clicks in polygon mode draw no boxes"
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert not view.regions.polygon_mode and not viewer.controls.region_action.isChecked()
    (stored,) = get_project(window.db, project_id).ignore_regions
    assert np.allclose(stored, [[10, 10], [150, 10], [150, 90], [10, 90]], atol=1.5)
    # The same storage as the project form's JSON: it reads back as valid regions.
    assert parse_ignore_regions(json.dumps([stored])) == [stored]
    ProjectFields.of(get_project(window.db, project_id)).validate()
    (item,) = view.regions.items
    assert 0 < item.brush().color().alpha() < 255, "drawn translucent"

    # A triangle closed by a double-click; Esc drops one in progress.
    qtbot.keyClick(view, Qt.Key.Key_I)
    for x, y in ((200, 150), (300, 150), (250, 230)):
        click(qtbot, viewer, x, y)
    # Qt sends a double-click after the press and release of its first click (placed just above).
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at(viewer, 250, 230))
    assert len(get_project(window.db, project_id).ignore_regions) == 2
    qtbot.keyClick(view, Qt.Key.Key_I)
    for x, y in ((20, 200), (60, 200), (60, 230)):
        click(qtbot, viewer, x, y)
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(at(viewer, 100, 235)),
        view.viewport().mapToGlobal(QPointF(at(viewer, 100, 235))),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QCoreApplication.sendEvent(view.viewport(), move)  # the edge on to the mouse follows it
    assert view.regions.polygon_item.path().boundingRect().right() == pytest.approx(100, abs=1.5)
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not view.regions.polygon_mode and len(get_project(window.db, project_id).ignore_regions) == 2
    assert len(view.regions.items) == 2
    assert [row[:2] for row in table_text(viewer)] == [["region 1", "ignore"], ["region 2", "ignore"]]

    # Select a region's row, Delete removes it; Clear removes the rest.
    click_cell(qtbot, viewer, 0)
    assert view.regions.selected == 0
    click(qtbot, viewer, 300, 60)  # a click on the picture leaves the region
    assert view.regions.selected is None and viewer.objects.selected_keys() == set()
    click_cell(qtbot, viewer, 0)
    assert view.regions.selected == 0
    qtbot.keyClick(viewer.objects.table, Qt.Key.Key_Delete)
    (left,) = get_project(window.db, project_id).ignore_regions
    assert len(left) == 3 and len(view.regions.items) == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Yes)
    viewer.controls.clear_regions_action.trigger()
    assert get_project(window.db, project_id).ignore_regions == [] and view.regions.items == []

    # Regions set as JSON in the project form show on the picture once the window refreshes.
    data = ProjectFields.of(get_project(window.db, project_id))
    data.ignore_regions = parse_ignore_regions("[[[0, 0], [50, 0], [50, 50]]]")
    update_project(window.db, project_id, data)
    window.refresh()
    assert (
        viewer.regions.polygons == [[(0.0, 0.0), (50.0, 0.0), (50.0, 50.0)]] and len(view.regions.items) == 1
    )

    # Moved to another project, the video shows (and draws into) that project's regions.
    other = create_project(
        window.db,
        ProjectFields(name="Gate", camera_model="M", camera_view="front", signal_type="video"),
    )
    move_videos(window.db, [viewer.video.id], other.id)
    window.refresh()
    assert viewer.regions.polygons == [] and view.regions.items == []
    qtbot.keyClick(view, Qt.Key.Key_I)
    for x, y in ((10, 10), (90, 10), (90, 90)):
        click(qtbot, viewer, x, y)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert len(get_project(window.db, other.id).ignore_regions) == 1
    assert len(get_project(window.db, project_id).ignore_regions) == 1, "the first project keeps its own"


def test_brightness_contrast_change_only_the_picture(window, qtbot, make_video) -> None:  # type: ignore[no-untyped-def]
    def grey(image: np.ndarray, _index: int) -> None:
        image[:] = 60

    viewer = open_video(window, qtbot, make_video("night.mp4", 10, size=(160, 120), draw=grey))
    decoded = viewer.view.shown_image()

    def mean(image: QImage) -> float:
        rgb = image.convertToFormat(QImage.Format.Format_RGB888)
        return float(np.frombuffer(rgb.constBits(), np.uint8).mean())

    base = mean(decoded)
    viewer.controls.brightness_slider.setValue(60)
    assert mean(viewer.view.shown_image()) == pytest.approx(base + 60, abs=2)
    viewer.controls.contrast_slider.setValue(200)  # (v - 128) * 2 + 128 + 60
    assert mean(viewer.view.shown_image()) == pytest.approx((base - 128) * 2 + 188, abs=3)
    # Display only: the decoded frame is the same.
    assert np.abs(viewer.reader.read(0).astype(int).mean() - base) < 2
    qtbot.keyClick(viewer.view, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: viewer.current == 1)
    assert mean(viewer.view.shown_image()) == pytest.approx((base - 128) * 2 + 188, abs=3)
    # Kept for the session: another video is shown with the same adjustment.
    other = open_video(window, qtbot, make_video("night2.mp4", 5, size=(160, 120), draw=grey))
    assert other.controls.brightness_slider.value() == 60
    assert mean(other.view.shown_image()) == pytest.approx((base - 128) * 2 + 188, abs=3)
    other.controls.display_reset.click()
    assert mean(other.view.shown_image()) == pytest.approx(base, abs=1)


def test_a_video_opened_from_the_library_lists_its_first_frame(window, qtbot, make_video) -> None:  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [make_video("first.mp4", 5, size=(320, 240))])
    add_detection(window.db, outcome.video_id)
    window.tabs.setCurrentIndex(0)  # the Library: the viewer is built while its tab is not shown
    assert not window.viewer.objects.isVisible()
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.video is not None and viewer.video.id == outcome.video_id)
    qtbot.waitUntil(lambda: viewer.objects.isVisible())
    assert [row[1] for row in table_text(viewer)] == ["cyclist"]
