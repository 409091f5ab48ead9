"""Real data end to end: a MOT17 video with its imported ground truth, scored in the Evaluation tab.

The run is MOT17's own public FRCNN detections (det.txt) for the shipped frames, stored as a
detection run; clicking an error opens the real viewer on that frame.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.evaluation.run import evaluate_run
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import Database
from vru_desktop.store.models import DetectionEvent, TestSession
from vru_desktop.ui.main_window import MainWindow

SEQUENCE = "MOT17-04-FRCNN"


def _mot17_run(db: Database, shared_data: Path) -> tuple[int, int]:
    root = shared_data / "mot17_mini"
    (outcome,) = import_paths(db, [root / "videos" / f"{SEQUENCE}_first8.mp4"])
    assert outcome.ok, outcome.message
    video_id = outcome.video_id
    import_annotations(
        db, "mot", root / "train" / SEQUENCE, ImportOptions(video_id=video_id, unmapped="ignore")
    )
    rows = [
        line.split(",") for line in (root / "train" / SEQUENCE / "det" / "det.txt").read_text().splitlines()
    ]
    with db.transaction() as s:
        run = TestSession(
            video_id=video_id,
            config={"conf": 0.05},
            provenance={"model_name": "MOT17 public FRCNN detections"},
            status="completed",
        )
        s.add(run)
        s.flush()
        for frame, _, x, y, w, h, score, *_ in rows:
            if int(frame) > 8:  # det.txt covers the whole sequence; 8 frames are shipped
                continue
            x1, y1 = float(x), float(y)
            s.add(
                DetectionEvent(
                    session_id=run.id,
                    video_id=video_id,
                    frame_number=int(frame) - 1,  # MOT frames are 1-based
                    timestamp=(int(frame) - 1) / 30,
                    vru_type="pedestrian",
                    confidence=float(score),
                    x1=x1,
                    y1=y1,
                    x2=x1 + float(w),
                    y2=y1 + float(h),
                )
            )
        return video_id, run.id


def test_mot17_run_in_the_evaluation_tab(qtbot, db: Database, data_dir: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    video_id, run_id = _mot17_run(db, shared_data)
    core = evaluate_run(db, run_id)
    m = core.metrics()
    assert core.data.n_frames == 8 and m.overall.tp > 100  # FRCNN finds most of the crowd
    assert (
        m.overall.fp > 0 and m.overall.fn > 0 and sum(m.error_counts.values()) == m.overall.fp + m.overall.fn
    )
    assert 0.0 < core.coco.stats_dict()["AP50"] < 1.0

    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    window.show_workspace(window.evaluation)
    view = window.evaluation.view
    with qtbot.waitSignal(view.loaded, timeout=30_000):  # evaluated off the UI thread
        view.show_run(run_id)
    overall = view.table.rowCount() - 1
    assert [view.table.item(overall, c).text() for c in (1, 2, 3)] == [
        str(m.overall.tp),
        str(m.overall.fp),
        str(m.overall.fn),
    ]
    assert len(view.pr_plot.curves["pedestrian"]["recall"]) > 100
    assert view.confusion.matrix.sum() > 0
    assert view.errors.error_model.rowCount() == sum(m.error_counts.values())

    # A click on an error opens the real viewer on that frame with the box highlighted.
    index = view.errors.error_model.index(view.errors.error_model.rowCount() - 1, 0)
    error = view.errors.error_model.error(index.row())
    view.errors.error_view.scrollTo(index)
    rect = view.errors.error_view.visualRect(index)
    with qtbot.waitSignal(window.openVideoRequested, timeout=3000) as opened:
        qtbot.mouseClick(view.errors.error_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args[:2] == [video_id, error["frame"]]
    assert opened.args[2]["box"] == error["box"]
    viewer = getattr(window, "viewer", None)
    if viewer is not None:
        qtbot.waitUntil(lambda: window.tabs.currentWidget() is viewer, timeout=5000)
        assert viewer.current == error["frame"]
