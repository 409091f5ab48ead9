"""The Datasets workspace on the shared real data: the seven MOT17 mini clips imported, the MOT17
ground truth of two of them added as validated boxes on reviewed frames, and the MOT17 public
detections (det.txt) of four of them added as detection runs.

Set ``VRU_DATASETS_SCREENSHOT=/path/datasets.png`` to save a screenshot of the window.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from vru_desktop.library.importer import Assignment, import_paths
from vru_desktop.library.projects import ProjectFields, create_project
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame, TestSession
from vru_desktop.ui.datasets.workspace import dataset_manager
from vru_desktop.ui.main_window import MainWindow

STATIC = ("MOT17-02-FRCNN", "MOT17-04-FRCNN", "MOT17-09-FRCNN")
WITH_GROUND_TRUTH = ("MOT17-02-FRCNN", "MOT17-04-FRCNN")
WITH_DETECTIONS = ("MOT17-02-FRCNN", "MOT17-04-FRCNN", "MOT17-05-FRCNN", "MOT17-10-FRCNN")
MIN_DETECTION_SCORE = 0.5


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return [row for row in csv.reader(handle) if row]


def add_ground_truth(db, video_id: int, sequence: Path, frames: int) -> int:
    """MOT17 gt.txt pedestrians (class 1, considered) as validated boxes; every frame reviewed.

    gt.txt frame k+1 is decode index k; boxes are top-left x, y, width, height in pixels.
    """
    added = 0
    with db.transaction() as session:
        for frame, track, x, y, w, h, consider, klass, _visibility in _rows(sequence / "gt" / "gt.txt"):
            index = int(frame) - 1
            if index >= frames or klass != "1" or consider != "1":
                continue
            session.add(
                Annotation(
                    video_id=video_id, frame_number=index, vru_type="pedestrian", validated=True,
                    track_id=int(track), source="import:mot",
                    bounding_box=(float(x), float(y), float(x) + float(w), float(y) + float(h)),
                )
            )  # fmt: skip
            added += 1
        session.add_all(ReviewedFrame(video_id=video_id, frame_number=k) for k in range(frames))
    return added


def add_public_detections(db, video_id: int, sequence: Path, frames: int, fps: float) -> int:
    """MOT17 det.txt (Faster R-CNN person detections) on the shipped frames as one completed run."""
    added = 0
    with db.transaction() as session:
        run = TestSession(video_id=video_id, status="completed", config={"source": "MOT17 det.txt"})
        session.add(run)
        session.flush()
        for frame, _id, x, y, w, h, score, *_rest in _rows(sequence / "det" / "det.txt"):
            index = int(frame) - 1
            if index >= frames or float(score) < MIN_DETECTION_SCORE:
                continue
            session.add(
                DetectionEvent(
                    session_id=run.id, video_id=video_id, frame_number=index, timestamp=index / fps,
                    vru_type="pedestrian", class_name="person", confidence=float(score),
                    bounding_box=(float(x), float(y), float(x) + float(w), float(y) + float(h)),
                )
            )  # fmt: skip
            added += 1
    return added


@pytest.fixture
def mot_window(qtbot, db, data_dir, shared_data):
    mot = shared_data / "mot17_mini"
    static = create_project(
        db,
        ProjectFields(
            name="MOT17 static", camera_model="unspecified (MOT17)", camera_view="overhead",
            lens_type="standard", signal_type="video", resolution="1920x1080",
        ),
    ).id  # fmt: skip
    moving = create_project(
        db,
        ProjectFields(
            name="MOT17 moving", camera_model="unspecified (MOT17)", camera_view="front", signal_type="video"
        ),
    ).id
    expected: dict[str, dict[str, int]] = {}
    for clip in sorted((mot / "videos").glob("*.mp4")):
        sequence = clip.name.split("_first")[0]
        project = static if sequence in STATIC else moving
        [outcome] = import_paths(db, [clip], assignment=Assignment(explicit_project_id=project))
        assert outcome.status == "imported", outcome.message
        frames = int(clip.stem.split("_first")[1])
        counts = {"video_id": outcome.video_id, "frames": frames, "boxes": 0, "detections": 0}
        if sequence in WITH_GROUND_TRUTH:
            counts["boxes"] = add_ground_truth(db, outcome.video_id, mot / "train" / sequence, frames)
        if sequence in WITH_DETECTIONS:
            fps = 14.0 if sequence == "MOT17-05-FRCNN" else 30.0
            counts["detections"] = add_public_detections(
                db, outcome.video_id, mot / "train" / sequence, frames, fps
            )
        expected[sequence] = counts
    win = MainWindow(db, resolve_locations(data_dir))
    qtbot.addWidget(win)
    win.resize(1760, 920)
    win.show()
    manager = dataset_manager(win)
    win.show_workspace(manager)
    qtbot.waitUntil(lambda: manager.model.rowCount() == 7)
    win.expected = expected
    return win


def test_shared_mot17_data_in_the_table_and_the_statistics(qtbot, mot_window) -> None:
    manager = dataset_manager(mot_window)
    expected = mot_window.expected
    # The pedestrian counts of SOURCES.txt: MOT17-02 has 88 pedestrian rows, MOT17-04 336.
    assert expected["MOT17-02-FRCNN"]["boxes"] == 88 and expected["MOT17-04-FRCNN"]["boxes"] == 336
    rows = {row.filename.split("_first")[0]: row for row in manager.model.rows}
    assert len(rows) == 7
    for sequence, row in rows.items():
        counts = expected[sequence]
        assert row.frame_count == counts["frames"] and row.file_healthy
        assert (row.annotations, row.validated, row.ground_truth) == (counts["boxes"],) * 3
        assert row.detection_total == counts["detections"]
        assert row.reviewed_frames == (counts["frames"] if sequence in WITH_GROUND_TRUTH else 0)
        score = 40 + 20 * (counts["detections"] > 0) + 40 * (sequence in WITH_GROUND_TRUTH)
        assert row.score == score, sequence
    assert (
        rows["MOT17-02-FRCNN"].project_name == "MOT17 static"
        and rows["MOT17-13-FRCNN"].camera_view == "front"
    )
    qtbot.waitUntil(lambda: manager.stats_panel.statistics.videos == 7)
    stats = manager.stats_panel.statistics
    boxes = expected["MOT17-02-FRCNN"]["boxes"] + expected["MOT17-04-FRCNN"]["boxes"]
    assert stats.annotations_by_type == {"pedestrian": boxes}
    assert stats.detections_by_type == {"pedestrian": sum(c["detections"] for c in expected.values())}
    assert int(stats.height_counts.sum()) == boxes
    assert stats.reviewed_frames == 4 + 8 and stats.frames == sum(c["frames"] for c in expected.values())
    heights = manager.stats_panel.class_bars["annotations"].opts["height"]
    assert heights[0] == boxes and np.count_nonzero(heights) == 1
    manager.readiness_combo.setCurrentIndex(manager.readiness_combo.findData("ready"))
    qtbot.waitUntil(lambda: manager.model.rowCount() == 2)
    assert sorted(r.filename for r in manager.model.rows) == [
        "MOT17-02-FRCNN_first4.mp4",
        "MOT17-04-FRCNN_first8.mp4",
    ]
    manager.clear_filters()
    screenshot = os.environ.get("VRU_DATASETS_SCREENSHOT")
    if screenshot:
        qtbot.waitUntil(lambda: manager.stats_panel.statistics.videos == 7)
        qtbot.wait(200)
        assert mot_window.grab().save(screenshot)
