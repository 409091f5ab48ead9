"""The Evaluation tab in the real window: metrics, the confidence slider, the error browser, Recalculate.

The run: 10 reviewed frames; pedestrian box A on every frame, found at 0.9 on frames 2–9; a false
pedestrian at 0.4 on frame 6; a badly placed pedestrian at 0.3 on frame 1 (IoU 1/3 with A).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from sqlalchemy import select

from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    Annotation,
    DetectionEvent,
    Project,
    ReviewedFrame,
    SessionStatistics,
    TestSession,
    Video,
)
from vru_desktop.ui.main_window import MainWindow

A = (10.0, 10.0, 50.0, 110.0)


def _scene(db: Database, tmp_path: Path) -> tuple[int, int]:
    with db.transaction() as s:
        project = s.scalars(select(Project)).first()
        video = Video(
            project_id=project.id,
            filename="walk.mp4",
            file_path=str(tmp_path / "walk.mp4"),
            fps=10.0,
            frame_count=10,
            duration=1.0,
            width=320,
            height=240,
            fingerprint="walk-fingerprint",
        )
        s.add(video)
        s.flush()
        run = TestSession(video_id=video.id, config={"conf": 0.25}, status="completed")
        s.add(run)
        s.flush()

        def det(frame: int, box: tuple[float, ...], conf: float) -> None:
            s.add(
                DetectionEvent(
                    session_id=run.id,
                    video_id=video.id,
                    frame_number=frame,
                    timestamp=frame / 10,
                    vru_type="pedestrian",
                    confidence=conf,
                    x1=box[0],
                    y1=box[1],
                    x2=box[2],
                    y2=box[3],
                )
            )

        for f in range(10):
            s.add(ReviewedFrame(video_id=video.id, frame_number=f))
            s.add(
                Annotation(
                    video_id=video.id,
                    frame_number=f,
                    vru_type="pedestrian",
                    validated=True,
                    track_id=1,
                    x1=A[0],
                    y1=A[1],
                    x2=A[2],
                    y2=A[3],
                )
            )
        for f in range(2, 10):
            det(f, A, 0.9)
        det(6, (200, 100, 240, 200), 0.4)
        det(1, (30, 10, 70, 110), 0.3)
        return video.id, run.id


def _cell(view, row: int, column: int) -> str:  # type: ignore[no-untyped-def]
    return view.table.item(row, column).text()


def test_slider_error_browser_and_recalculate(qtbot, db: Database, data_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video_id, run_id = _scene(db, tmp_path)
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    workspace = window.evaluation
    window.show_workspace(workspace)
    view = workspace.view
    assert view.run_combo.findData(run_id) > 0
    with qtbot.waitSignal(view.loaded, timeout=30_000):  # evaluated off the UI thread
        view.show_run(run_id)
    assert view.conf_slider.value() == 25  # the run's own threshold
    overall = view.table.rowCount() - 1
    assert [_cell(view, overall, c) for c in range(4)] == ["overall", "8", "2", "2"]
    assert view.errors.error_model.rowCount() == 4  # localisation, background, 2 missed

    with qtbot.waitSignal(view.updated, timeout=2000) as blocker:
        view.conf_slider.setValue(35)
    assert blocker.args == [0.35]
    assert [_cell(view, overall, c) for c in range(4)] == ["overall", "8", "1", "2"]
    assert _cell(view, overall, 4) == f"{8 / 9:.3f}"
    view.conf_slider.setValue(95)
    assert [_cell(view, overall, c) for c in range(4)] == ["overall", "0", "0", "10"]
    view.conf_slider.setValue(25)
    assert view.confusion.matrix.sum() == 8 + 2 + 2  # TP, two false positives, two missed

    # The error browser: the localisation error on frame 1 opens the viewer there, highlighted.
    kinds = [view.errors.error_model.index(r, 0).data() for r in range(view.errors.error_model.rowCount())]
    row = kinds.index("localisation")
    index = view.errors.error_model.index(row, 1)
    assert index.data() == 1
    rect = view.errors.error_view.visualRect(index)
    with qtbot.waitSignal(window.openVideoRequested, timeout=2000) as opened:
        qtbot.mouseClick(view.errors.error_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args[0] == video_id and opened.args[1] == 1
    assert opened.args[2]["box"] == [30.0, 10.0, 70.0, 110.0]
    assert opened.args[2]["label"].startswith("localisation: pedestrian")

    view.errors.error_filter.setCurrentIndex(view.errors.error_filter.findText("missed"))
    assert view.errors.error_model.rowCount() == 2

    # Recalculate: links the 8 matching detections, stores fresh statistics.
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        qtbot.mouseClick(view.recalc_button, Qt.MouseButton.LeftButton)
    with db.session() as s:
        stats = s.get(SessionStatistics, run_id)
        assert stats is not None and not stats.stale
        assert stats.detection_accuracy == 16 / (16 + 2 + 2)
        linked = s.scalars(select(Annotation).where(Annotation.detection_event_id.is_not(None))).all()
        assert len(linked) == 8
    assert "linked 8 annotations" in view.statistics_label.text()

    # The report from the tab.
    out = tmp_path / "report.html"
    view.export_report(str(out))
    qtbot.waitUntil(lambda: view.statistics_label.text().startswith("Report written to"), timeout=10_000)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    # Annotations changed on this video: the tab re-evaluates.
    with db.transaction() as s:
        s.add(
            Annotation(
                video_id=video_id,
                frame_number=6,
                vru_type="pedestrian",
                validated=True,
                x1=200,
                y1=100,
                x2=240,
                y2=200,
            )
        )
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        window.annotationsChanged.emit(video_id)
    assert [_cell(view, overall, c) for c in range(4)] == ["overall", "9", "1", "2"]
    # The cached statistics were marked stale and recomputed for the view.
    with db.session() as s:
        stats = s.get(SessionStatistics, run_id)
        assert stats.total_annotations == 11 and not stats.stale
    assert "11 ground-truth boxes" in view.statistics_label.text()
