"""Editing on the real viewer: mouse drags on the overlay, the annotation keys, detections, undo/redo."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QInputDialog
from sqlalchemy import select

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame, TestSession
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.overlay import ANNOTATION, DETECTION, HIGHLIGHT


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


@pytest.fixture
def viewer(window, qtbot, make_video):  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [make_video("street.mp4", 40, size=(320, 240))])
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.view.hasFocus())
    return viewer


def at(viewer, x: float, y: float) -> QPoint:  # type: ignore[no-untyped-def]
    """The viewport position of frame pixel (x, y)."""
    return viewer.view.mapFromScene(QPointF(x, y))


def drag(qtbot, viewer, start: tuple[float, float], end: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    port = viewer.view.viewport()
    a, b = at(viewer, *start), at(viewer, *end)
    qtbot.mousePress(port, Qt.MouseButton.LeftButton, pos=a)
    middle = (a + b) / 2
    qtbot.mouseMove(port, middle)
    qtbot.mouseMove(port, b)
    qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, pos=b)
    QCoreApplication.processEvents()  # a moved box is saved just after the mouse event returns


def rows(db, frame: int | None = None) -> list[Annotation]:  # type: ignore[no-untyped-def]
    with db.session() as session:
        query = select(Annotation).where(Annotation.outside.is_(False)).order_by(Annotation.id)
        if frame is not None:
            query = query.where(Annotation.frame_number == frame)
        return list(session.scalars(query))


def key(qtbot, viewer, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    """Press ``key``; a frame it asked for is decoded off the UI thread: wait until it is shown."""
    qtbot.keyClick(viewer.view, key, modifier)
    qtbot.waitUntil(lambda: viewer.pending_frame() is None)


def test_draw_move_resize_classify_flag_delete_undo(window, viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    changed: list[int] = []
    window.annotationsChanged.connect(changed.append)
    key(qtbot, viewer, Qt.Key.Key_Right)
    drag(qtbot, viewer, (40, 50), (120, 170))
    (row,) = rows(window.db)
    assert row.frame_number == 1 and row.vru_type == "pedestrian" and row.validated
    assert row.x1 == pytest.approx(40, abs=2) and row.y2 == pytest.approx(170, abs=2)
    assert changed == [viewer.video.id]
    assert viewer.view.selected_ids(ANNOTATION) == [row.id], "a new box is selected, ready for keys"

    drag(qtbot, viewer, (80, 110), (100, 120))  # move by (+20, +10)
    (row,) = rows(window.db)
    assert (row.x1, row.y1) == (pytest.approx(60, abs=2), pytest.approx(60, abs=2))
    assert row.x2 - row.x1 == pytest.approx(80, abs=2)
    drag(qtbot, viewer, (row.x2, row.y2), (row.x2 + 30, row.y2 + 20))  # bottom-right handle
    (resized,) = rows(window.db)
    assert resized.x1 == pytest.approx(row.x1, abs=0.5) and resized.x2 == pytest.approx(row.x2 + 30, abs=2)
    assert resized.y2 == pytest.approx(min(row.y2 + 20, 240), abs=2)

    key(qtbot, viewer, Qt.Key.Key_2)
    assert rows(window.db)[0].vru_type == "cyclist"
    (box,) = viewer.view.boxes(ANNOTATION)
    assert box.label == "cyclist ✓"
    assert box.color == "#56b4e9" and box.style == Qt.PenStyle.SolidLine
    key(qtbot, viewer, Qt.Key.Key_5)
    assert rows(window.db)[0].vru_type == "scooter_rider"
    key(qtbot, viewer, Qt.Key.Key_O)
    key(qtbot, viewer, Qt.Key.Key_T)
    key(qtbot, viewer, Qt.Key.Key_V)
    (row,) = rows(window.db)
    assert row.occluded and row.truncated and not row.validated

    key(qtbot, viewer, Qt.Key.Key_Delete)
    assert rows(window.db) == []
    assert viewer.controls.undo_action.text() == "&Undo Delete box"
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    (row,) = rows(window.db)
    assert row.vru_type == "scooter_rider" and row.occluded
    assert [b.kind for b in viewer.view.overlay_boxes] == [ANNOTATION]
    for _ in range(3):
        key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not rows(window.db)[0].occluded
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert rows(window.db)[0].occluded

    # An unselected box is selected and moved by one drag.
    viewer.view.clear_selection()
    before = rows(window.db)[0]
    drag(qtbot, viewer, (before.x1 + 10, before.y1 + 10), (before.x1 + 5, before.y1 + 30))
    moved = rows(window.db)[0]
    assert (moved.x1, moved.y1) == (pytest.approx(before.x1 - 5, abs=2), pytest.approx(before.y1 + 20, abs=2))

    # With nothing selected, a class key picks the class of the next box drawn.
    viewer.view.clear_selection()
    key(qtbot, viewer, Qt.Key.Key_3)
    drag(qtbot, viewer, (200, 20), (260, 90))
    assert rows(window.db)[-1].vru_type == "motorcyclist"


def test_tracks_copy_propagate_outside_and_reviewed(window, viewer, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    drag(qtbot, viewer, (10, 10), (60, 100))
    key(qtbot, viewer, Qt.Key.Key_C)  # copy to the next frame and go there
    assert viewer.current == 1
    (first,) = rows(window.db, 0)
    (second,) = rows(window.db, 1)
    assert first.track_id is not None and second.track_id == first.track_id

    assert viewer.view.selected_ids(ANNOTATION) == []
    click(qtbot, viewer, 30, 50)
    assert viewer.view.selected_ids(ANNOTATION) == [second.id]
    monkeypatch.setattr(QInputDialog, "getInt", lambda *args, **kwargs: (5, True))
    key(qtbot, viewer, Qt.Key.Key_P)
    assert sorted(r.frame_number for r in rows(window.db) if r.track_id == first.track_id) == list(range(7))

    key(qtbot, viewer, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # frame 11: past the track
    assert not viewer.view.boxes(ANNOTATION)
    viewer.go_to_text("4")
    qtbot.waitUntil(lambda: viewer.pending_frame() is None)
    assert viewer.current == 4
    (on_four,) = viewer.view.boxes(ANNOTATION)
    assert on_four.label.endswith("(interp.)")
    click(qtbot, viewer, 30, 50)
    key(qtbot, viewer, Qt.Key.Key_X)  # the track ends here (and resumes at its next keyframe, 6)
    assert sorted(r.frame_number for r in rows(window.db)) == [0, 1, 2, 3, 6]
    assert not viewer.view.boxes(ANNOTATION)

    key(qtbot, viewer, Qt.Key.Key_F)
    assert viewer.controls.reviewed_action.isChecked()
    with window.db.session() as session:
        assert session.get(ReviewedFrame, (viewer.video.id, 4)) is not None
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not viewer.controls.reviewed_action.isChecked()


def add_run(db, video_id: int) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        run = TestSession(video_id=video_id, status="completed", config={"conf": 0.25})
        session.add(run)
        session.flush()
        events = [
            DetectionEvent(
                session_id=run.id,
                video_id=video_id,
                frame_number=0,
                timestamp=0.0,
                vru_type=vru_type,
                confidence=confidence,
                x1=x,
                y1=20.0,
                x2=x + 40,
                y2=120.0,
            )
            for vru_type, confidence, x in (
                ("pedestrian", 0.9, 10.0),
                ("cyclist", 0.6, 100.0),
                ("pedestrian", 0.3, 200.0),
                ("pedestrian", 0.1, 260.0),
            )
        ]
        session.add_all(events)
        session.flush()
        return run.id, [e.id for e in events]


def click(qtbot, viewer, x: float, y: float, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(viewer.view.viewport(), Qt.MouseButton.LeftButton, modifier, at(viewer, x, y))


def test_detections_accept_reject_filter_and_live_refresh(window, viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    run_id, events = add_run(window.db, viewer.video.id)
    window.detectionsChanged.emit(viewer.video.id, run_id)
    assert viewer.runs.session_id == run_id
    qtbot.waitUntil(lambda: len(viewer.view.boxes(DETECTION)) == 3)
    detections = viewer.view.boxes(DETECTION)
    assert detections[0].style == Qt.PenStyle.DashLine
    assert detections[0].label == "pedestrian 0.90"

    viewer.controls.confidence_spin.setValue(0.5)
    assert len(viewer.view.boxes(DETECTION)) == 2
    viewer.controls.confidence_spin.setValue(0.0)
    assert len(viewer.view.boxes(DETECTION)) == 4

    click(qtbot, viewer, 120, 70)  # the cyclist
    key(qtbot, viewer, Qt.Key.Key_A)
    (accepted,) = rows(window.db)
    assert accepted.detection_event_id == events[1] and accepted.vru_type == "cyclist"
    click(qtbot, viewer, 280, 70)
    assert viewer.view.selected_ids(DETECTION) == [events[3]]
    key(qtbot, viewer, Qt.Key.Key_R)
    with window.db.session() as session:
        assert session.get(DetectionEvent, events[3]).review == "rejected"
    rejected = next(b for b in viewer.view.boxes(DETECTION) if b.item_id == events[3])
    assert rejected.faded and rejected.label.endswith("rejected")
    key(qtbot, viewer, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)  # the open ones left
    assert sorted(r.detection_event_id for r in rows(window.db)) == sorted([events[0], events[1], events[2]])

    viewer.controls.show_det_action.trigger()
    assert not viewer.view.boxes(DETECTION)
    viewer.controls.show_gt_action.trigger()
    assert viewer.view.overlay_boxes == []
    viewer.controls.show_gt_action.trigger()
    viewer.controls.show_det_action.trigger()

    # A run still writing: new events appear after the throttled refresh.
    with window.db.transaction() as session:
        session.add(
            DetectionEvent(
                session_id=run_id,
                video_id=viewer.video.id,
                frame_number=0,
                timestamp=0.0,
                vru_type="wheelchair_user",
                confidence=0.8,
                x1=150.0,
                y1=150.0,
                x2=190.0,
                y2=230.0,
            )
        )
    window.detectionsChanged.emit(viewer.video.id, run_id)
    qtbot.waitUntil(lambda: len(viewer.view.boxes(DETECTION)) == 5)


def test_open_video_requested_highlights_a_box(window, qtbot, make_video) -> None:  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [make_video("other.mp4", 20)])
    window.openVideoRequested.emit(outcome.video_id, 7, {"box": [10, 20, 60, 90], "label": "missed: person"})
    viewer = window.viewer
    assert window.tabs.currentWidget() is viewer and viewer.current == 7
    (highlight,) = viewer.view.boxes(HIGHLIGHT)
    assert highlight.box == (10, 20, 60, 90) and highlight.label == "missed: person"
    assert highlight.style == Qt.PenStyle.DashDotLine
    key(qtbot, viewer, Qt.Key.Key_Right)
    assert viewer.current == 8 and not viewer.view.boxes(HIGHLIGHT)


def test_zoom_fit_actual_wheel_and_pan(window, viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    view = viewer.view
    viewer.controls.actual_action.trigger()
    assert view.zoom() == pytest.approx(1.0)
    viewer.controls.zoom_in_action.trigger()
    viewer.controls.zoom_in_action.trigger()
    assert view.zoom() == pytest.approx(1.5625)
    viewer.controls.fit_action.trigger()
    fit = view.zoom()
    port = view.viewport().rect()
    assert min(port.width() / 320, port.height() / 240) == pytest.approx(fit, rel=0.05)
    # The wheel zooms around the mouse: the frame pixel under it stays under it.
    view.zoom_by(3)
    view.centerOn(160, 120)
    zoom = view.zoom()
    mouse = QPointF(at(viewer, 175, 140))
    wheel = QWheelEvent(
        mouse,
        view.viewport().mapToGlobal(mouse),
        QPoint(),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() == pytest.approx(zoom * 1.25**2)
    under = view.mapToScene(mouse.toPoint())
    assert (under.x(), under.y()) == (pytest.approx(175, abs=2), pytest.approx(140, abs=2))
    assert not view.fit_mode
    view.zoom_by(4)
    before = view.mapToScene(view.viewport().rect().center())
    qtbot.mousePress(view.viewport(), Qt.MouseButton.MiddleButton, pos=QPoint(200, 200))
    qtbot.mouseMove(view.viewport(), QPoint(150, 170))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.MiddleButton, pos=QPoint(150, 170))
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() > before.x() and after.y() > before.y()
    assert rows(window.db) == [], "panning draws no box"
