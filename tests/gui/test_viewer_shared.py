"""The viewer on a real MOT17 clip with its ground truth and public detections.

Frame identity on real data: each frame the viewer shows is closest, pixel for pixel, to the MOT17
image with the 1-based number ``index + 1``. Set ``VRU_VIEWER_SCREENSHOT=/path/viewer.png`` to save a
screenshot of the window.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame, TestSession
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.overlay import ANNOTATION, DETECTION

SEQUENCE = "MOT17-02-FRCNN"
#: MOT17 class → VRU type: 1 pedestrian, 2 person on vehicle, 7 static person; the rest are not VRUs.
MOT_CLASSES = {1: "pedestrian", 2: "cyclist", 7: "pedestrian"}


def load_mot_rows(path: Path, frames: int) -> list[list[float]]:
    rows = [[float(v) for v in line.split(",")] for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if 1 <= row[0] <= frames]


def as_array(image: QImage) -> np.ndarray:
    rgb = image.convertToFormat(QImage.Format.Format_BGR888)
    data = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    return data[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3)


@pytest.fixture
def mot_viewer(qtbot, db, data_dir: Path, shared_data: Path):  # type: ignore[no-untyped-def]
    root = shared_data / "mot17_mini"
    (outcome,) = import_paths(db, [root / "videos" / f"{SEQUENCE}_first4.mp4"])
    assert outcome.status == "imported", outcome.line()
    video_id = outcome.video_id
    gt = load_mot_rows(root / "train" / SEQUENCE / "gt" / "gt.txt", 4)
    det = load_mot_rows(root / "train" / SEQUENCE / "det" / "det.txt", 4)
    with db.transaction() as session:
        for frame, track, x, y, w, h, _consider, cls, visibility in gt:
            if int(cls) in MOT_CLASSES:
                session.add(
                    Annotation(
                        video_id=video_id,
                        frame_number=int(frame) - 1,  # MOT frames are 1-based
                        vru_type=MOT_CLASSES[int(cls)],
                        track_id=int(track),
                        x1=x,
                        y1=y,
                        x2=x + w,
                        y2=y + h,
                        validated=True,
                        occluded=visibility < 0.5,
                        source="import:mot",
                    )
                )
        run = TestSession(
            video_id=video_id, status="completed", provenance={"model_name": "MOT17 public FRCNN"}
        )
        session.add(run)
        session.flush()
        for frame, _track, x, y, w, h, score, *_ in det:
            session.add(
                DetectionEvent(
                    session_id=run.id,
                    video_id=video_id,
                    frame_number=int(frame) - 1,
                    timestamp=(frame - 1) / 30,
                    vru_type="pedestrian",
                    confidence=min(score, 1.0),
                    x1=x,
                    y1=y,
                    x2=x + w,
                    y2=y + h,
                )
            )
        session.add(ReviewedFrame(video_id=video_id, frame_number=0))
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.videoActivated.emit(video_id)
    return window, gt, det, root


def test_mot17_frames_and_boxes_line_up(mot_viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    window, gt, det, root = mot_viewer
    viewer = window.viewer
    images = [
        cv2.imread(str(root / "train" / SEQUENCE / "img1" / f"{number:06d}.jpg")).astype(np.int16)
        for number in range(1, 5)
    ]
    for index in range(4):
        if index:
            qtbot.keyClick(viewer.view, Qt.Key.Key_Right)
        qtbot.waitUntil(lambda: viewer.pending_frame() is None)  # decoded off the UI thread
        assert viewer.current == index
        shown = as_array(viewer.view.shown_image()).astype(np.int16)
        distances = [float(np.abs(shown - image).mean()) for image in images]
        assert int(np.argmin(distances)) == index, (
            f"frame {index} looks like MOT image {np.argmin(distances) + 1}"
        )
        expected_gt = sum(1 for row in gt if row[0] == index + 1 and int(row[7]) in MOT_CLASSES)
        assert len(viewer.view.boxes(ANNOTATION)) == expected_gt
        minimum = viewer.controls.confidence_spin.value()
        expected_det = sum(1 for row in det if row[0] == index + 1 and row[6] >= minimum)
        assert len(viewer.view.boxes(DETECTION)) == expected_det
    qtbot.keyClick(viewer.view, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: viewer.pending_frame() is None)
    assert viewer.current == 0 and viewer.controls.reviewed_action.isChecked()
    # The first ground-truth box of frame 1 in gt.txt, where the file puts it (top-left x, y, w, h).
    first = next(row for row in gt if row[0] == 1 and int(row[7]) in MOT_CLASSES)
    box = next(
        b for b in viewer.view.boxes(ANNOTATION) if b.label.startswith(f"pedestrian #{int(first[1])} ")
    )
    assert box.box == (first[2], first[3], first[2] + first[4], first[3] + first[5])

    # A cyclist selected, as a person would before pressing a key.
    cyclist = next(b for b in viewer.view.boxes(ANNOTATION) if b.label.startswith("cyclist"))
    viewer.view.select(ANNOTATION, [cyclist.item_id])
    qtbot.wait(100)
    screenshot = os.environ.get("VRU_VIEWER_SCREENSHOT")
    if screenshot:
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(screenshot)
