"""Screenshots of the Campaigns tab for the release notes, taken on a real X server.

The seven shared MOT17 clips with their ground truth, in two projects (static and moving cameras),
scored in two campaigns by the two shared detectors (YOLOv8n as TFLite, the base; YOLO11n as
OpenVINO, the new one); the runs are real, made by ``campaign run``. Then the window shows the first
campaign's charts and the comparison of the two, and each view is saved as a PNG.

Usage (an X display with a window manager, e.g. ``Xvfb :5 & openbox &``)::

    DISPLAY=:5 QT_QPA_PLATFORM=xcb PYTHONPATH=. python tests/gui/campaign_screenshots.py OUT_DIR [WORK_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CLIPS = SHARED / "data" / "mot17_mini"
#: MOT17's sequences by camera: 02, 04 and 09 are filmed from a standing point, the others moving.
PROJECTS = {
    "Static cameras": ("static", ("02", "04", "09")),
    "Moving cameras": ("vehicle", ("05", "10", "11", "13")),
}
RUNNING = "yolo11n openvino conf 0.5"
CAMPAIGNS = {
    "yolov8n tflite": SHARED / "models" / "yolov8n_int8.tflite",
    "yolo11n openvino": SHARED / "models" / "yolo11n_int8_openvino_model",
}


def prepare(data_dir: Path) -> None:
    """The library, ground truth and both campaigns with their finished runs."""
    from vru_desktop.cli import main
    from vru_desktop.datasets.importer import ImportOptions, import_annotations
    from vru_desktop.library.importer import Assignment, import_paths
    from vru_desktop.library.projects import ProjectFields, create_project, ensure_default_project
    from vru_desktop.settings import resolve_locations
    from vru_desktop.store.db import open_database

    db = open_database(resolve_locations(str(data_dir)).ensure().database)
    ensure_default_project(db)
    for name, (view, sequences) in PROJECTS.items():
        fields = ProjectFields(name=name, camera_model="MOT17", camera_view=view, signal_type="video")
        project = create_project(db, fields).id
        for number in sequences:
            (video,) = CLIPS.joinpath("videos").glob(f"MOT17-{number}-FRCNN_first*.mp4")
            (outcome,) = import_paths(db, [video], assignment=Assignment(explicit_project_id=project))
            sequence = CLIPS / "train" / f"MOT17-{number}-FRCNN"
            import_annotations(
                db, "mot", sequence, ImportOptions(video_id=outcome.video_id, unmapped="ignore")
            )
    db.close()
    for name, model in CAMPAIGNS.items():
        common = ["--data-dir", str(data_dir), "campaign"]
        options = ["--model", str(model), "--imgsz", "640", "--conf", "0.25"]
        projects = [arg for project in PROJECTS for arg in ("--project", project)]
        assert main([*common, "create", name, *projects, *options]) == 0
        assert main([*common, "run", name]) == 0
    # launched in the window, for the progress line
    assert main([*common, "create", RUNNING, *projects, *options[:-1], "0.5"]) == 0


def wait(until: Callable[[], bool], seconds: float = 120) -> None:
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + seconds
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        QTest.qWait(50)


def shoot(data_dir: Path, out: Path) -> list[Path]:
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtTest import QTest

    from vru_desktop.settings import resolve_locations
    from vru_desktop.store.db import open_database
    from vru_desktop.ui.app import build_window

    locations = resolve_locations(str(data_dir)).ensure()
    db = open_database(locations.database)
    window = build_window(db, locations)
    window.resize(1600, 960)
    window.show()
    panel = window.campaigns  # type: ignore[attr-defined]
    window.show_workspace(panel)
    saved: list[Path] = []

    def save(name: str) -> None:
        QTest.qWait(400)
        path = out / f"{name}.png"
        assert window.grab().save(str(path)), path
        saved.append(path)

    panel.refresh()
    panel.list.selectRow(1)
    panel.evaluate_selected()
    wait(lambda: panel.scores is not None)
    save("campaign_scored")
    panel.pages.setCurrentWidget(panel.charts)
    save("campaign_charts_pooled")
    panel.charts.view.setCurrentText("per camera view")
    save("campaign_charts_per_camera_view")

    selection = panel.list.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    selection.clearSelection()
    for row in (0, 1):
        selection.select(panel.list.model().index(row, 0), flags)
    panel.compare_button.click()
    wait(lambda: panel.comparison.result is not None)
    save("compare_metrics")
    view = panel.comparison
    view.pages.setCurrentWidget(view.videos)
    save("compare_videos")
    for page, name in ((view.tracks, "compare_missed_tracks"), (view.false_positives, "compare_added_fps")):
        if view.pages.isTabVisible(view.pages.indexOf(page)):  # once compare_campaigns gives them
            view.pages.setCurrentWidget(page)
            save(name)

    panel.pages.setCurrentIndex(0)
    panel.list.selectRow(2)
    panel.run_selected()
    wait(lambda: "left" in panel.progress.text() and "unknown" not in panel.progress.text())
    save("campaign_running")
    wait(lambda: panel.campaigns[2].status == "completed", seconds=300)
    window.close()
    db.close()
    return saved


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="vru-shots-"))
    data_dir = work / "data"
    if not data_dir.exists():
        prepare(data_dir)
    for path in shoot(data_dir, out):
        print(path)


if __name__ == "__main__":
    main()
