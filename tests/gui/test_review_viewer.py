"""The review loop in the real viewer: what counts as ground truth, labels, crowds, status, reopening."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import test_viewer_editing as editing
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QHelpEvent, QImage
from PySide6.QtWidgets import QApplication, QToolTip
from sqlalchemy import select
from test_viewer_editing import add_run, at, click, key, rows

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import ACCEPT_ALL_MARKS_REVIEWED, resolve_locations, set_setting
from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.overlay import ANNOTATION, DETECTION, place_labels

window, viewer = editing.window, editing.viewer  # the fixtures: a main window, a 40-frame video open in it


def _reviewed(db, video_id: int, frame: int) -> bool:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return session.get(ReviewedFrame, (video_id, frame)) is not None


def test_accept_all_marks_the_frame_reviewed_and_the_badge_says_so(window, viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    run_id, _events = add_run(window.db, viewer.video.id)
    window.detectionsChanged.emit(viewer.video.id, run_id)
    qtbot.waitUntil(lambda: len(viewer.view.boxes(DETECTION)) == 3)
    assert viewer.status_bar.gt_badge.text() == "Frame 0 · not reviewed — not ground truth"

    click(qtbot, viewer, 120, 70)  # one detection: accepted, but the frame is not reviewed by that
    key(qtbot, viewer, Qt.Key.Key_A)
    assert not _reviewed(window.db, viewer.video.id, 0)
    assert "not ground truth yet" in viewer.status_bar.status_label.text()

    key(qtbot, viewer, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    assert len(rows(window.db, 0)) == 3
    assert _reviewed(window.db, viewer.video.id, 0), "accepting all on a frame reviews it"
    assert viewer.controls.reviewed_action.isChecked()
    assert viewer.status_bar.gt_badge.text() == "Frame 0 · reviewed — counts as ground truth"

    # One undo step takes back both the boxes and the review.
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not _reviewed(window.db, viewer.video.id, 0) and len(rows(window.db, 0)) == 1
    assert "not reviewed" in viewer.status_bar.gt_badge.text()
    key(qtbot, viewer, Qt.Key.Key_Right)
    assert viewer.status_bar.gt_badge.text().startswith("Frame 1 · not reviewed")


def test_accept_all_leaves_the_frame_alone_when_the_setting_is_off(window, viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    set_setting(window.db, ACCEPT_ALL_MARKS_REVIEWED, False)
    run_id, _events = add_run(window.db, viewer.video.id)
    window.detectionsChanged.emit(viewer.video.id, run_id)
    qtbot.waitUntil(lambda: len(viewer.view.boxes(DETECTION)) == 3)
    key(qtbot, viewer, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    assert len(rows(window.db, 0)) == 3
    assert not _reviewed(window.db, viewer.video.id, 0)


def _grab(viewer) -> np.ndarray:  # type: ignore[no-untyped-def]
    viewer.view.viewport().repaint()
    image = viewer.view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows_ = data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
    return rows_.reshape(image.height(), image.width(), 3).copy()


def _crowd(db, video_id: int, run_id: int | None = None) -> None:  # type: ignore[no-untyped-def]
    """Thirty people standing close together, as ground truth and as detections."""
    with db.transaction() as session:
        for n in range(30):
            x, y = 20.0 + (n % 10) * 22, 40.0 + (n // 10) * 50
            session.add(
                Annotation(
                    video_id=video_id,
                    frame_number=0,
                    timestamp=0.0,
                    vru_type="pedestrian",
                    validated=True,
                    x1=x,
                    y1=y,
                    x2=x + 30,
                    y2=y + 70,
                )
            )
            if run_id is not None:
                session.add(
                    DetectionEvent(
                        session_id=run_id,
                        video_id=video_id,
                        frame_number=0,
                        timestamp=0.0,
                        vru_type="pedestrian",
                        confidence=0.8,
                        x1=x + 3,
                        y1=y + 2,
                        x2=x + 33,
                        y2=y + 72,
                    )
                )


def test_labels_key_changes_the_picture(window, viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    _crowd(window.db, viewer.video.id)
    viewer.refresh_overlay()
    with_labels = _grab(viewer)
    key(qtbot, viewer, Qt.Key.Key_L)
    assert not viewer.controls.show_labels_action.isChecked()
    without = _grab(viewer)
    assert (with_labels != without).any(axis=-1).sum() > 200, "the labels left the picture"
    key(qtbot, viewer, Qt.Key.Key_L)
    assert (_grab(viewer) == with_labels).all(), "the labels came back"


def test_crowd_labels_never_overlap_and_detections_look_different(window, viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    run_id, _events = add_run(window.db, viewer.video.id)
    _crowd(window.db, viewer.video.id, run_id)
    window.detectionsChanged.emit(viewer.video.id, run_id)
    viewer.controls.confidence_spin.setValue(0.5)
    qtbot.waitUntil(lambda: len(viewer.view.boxes(DETECTION)) == 32)
    layer = viewer.view.layer
    places = layer.label_places(viewer.view.viewportTransform())
    shown = [p for p in places if p is not None]
    assert len(shown) >= 8, "a crowd still gets some labels"
    assert all(not a.intersects(b) for i, a in enumerate(shown) for b in shown[i + 1 :])
    frame = viewer.view.viewportTransform().mapRect(viewer.view.frame_rect())
    assert all(frame.contains(p) for p in shown)

    # A box whose label was left out still tells its label when the mouse rests on it.
    hidden = next(i for i, p in enumerate(places) if p is None)
    rect = layer._labels[hidden][0]
    pos = at(viewer, rect.center().x(), rect.center().y())
    box = viewer.view.box_at(viewer.view.mapToScene(pos))
    assert box is not None
    event = QHelpEvent(QHelpEvent.Type.ToolTip, pos, viewer.view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(viewer.view.viewport(), event)
    assert QToolTip.text() == box.label

    gt = next(b for b in viewer.view.boxes(ANNOTATION) if b.label.startswith("pedestrian"))
    det = next(b for b in viewer.view.boxes(DETECTION) if b.label.startswith("pedestrian"))
    assert gt.color != det.color and gt.style != det.style


def test_place_labels_drops_what_does_not_fit() -> None:
    frame = QRectF(0, 0, 200, 100)
    same = [(QRectF(50, 30, 20, 40), 60.0)] * 6
    places = place_labels(same, frame, 14.0)
    assert sum(p is not None for p in places) == 4  # above, inside top, below, inside bottom
    assert places[4] is None and places[5] is None


def test_file_name_shown_and_status_message_clears(window, viewer, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert "street.mp4" in viewer.status_bar.name_label.text()
    viewer.go_to_text("nonsense")
    assert "neither a frame number" in viewer.status_bar.status_label.text()
    assert viewer.status_bar.status_clear.isVisible()
    qtbot.mouseClick(viewer.status_bar.status_clear, Qt.MouseButton.LeftButton)
    assert viewer.status_bar.status_label.text() == "" and not viewer.status_bar.status_clear.isVisible()
    viewer.status_bar._status_timer.setInterval(50)
    viewer.go_to_text("nonsense")
    qtbot.waitUntil(lambda: viewer.status_bar.status_label.text() == "", timeout=2000)


def test_last_video_and_frame_reopen_at_start(qtbot, db, data_dir: Path, make_video) -> None:  # type: ignore[no-untyped-def]
    locations = resolve_locations(data_dir).ensure()
    (outcome,) = import_paths(db, [make_video("kept.mp4", 20)])
    first = MainWindow(db, locations)
    qtbot.addWidget(first)
    first.videoActivated.emit(outcome.video_id)
    first.viewer.go_to(7)
    qtbot.waitUntil(lambda: first.viewer.current == 7)
    first.close()

    second = MainWindow(db, locations)
    qtbot.addWidget(second)
    assert second.viewer.video is not None and second.viewer.video.id == outcome.video_id
    qtbot.waitUntil(lambda: second.viewer.current == 7)
    assert "kept.mp4" in second.viewer.status_bar.name_label.text()
    with db.session() as session:
        assert session.scalars(select(Annotation)).all() == []
    second.viewer.close_video()
    second.close()
    third = MainWindow(db, locations)
    qtbot.addWidget(third)
    assert third.viewer.video is None, "closed before quitting: nothing to reopen"
