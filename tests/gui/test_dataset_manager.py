"""The Datasets workspace in the real main window: table contents, filters, sorting, double-click,
selection, refresh on the window's signals, and the statistics panel's plotted data."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from vru_desktop.library.importer import Assignment, import_paths
from vru_desktop.library.projects import ProjectFields, create_project
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame, TestSession
from vru_desktop.ui.datasets.manager import COLUMNS, READINESS_COLOURS
from vru_desktop.ui.datasets.workspace import dataset_manager
from vru_desktop.ui.main_window import MainWindow


def _run(db, video_id: int, types: list[str]) -> None:
    with db.transaction() as session:
        run = TestSession(video_id=video_id, status="completed")
        session.add(run)
        session.flush()
        session.add_all(
            DetectionEvent(
                session_id=run.id, video_id=video_id, frame_number=k, timestamp=k / 25, vru_type=t,
                confidence=0.7, bounding_box=(0, 0, 10, 30),
            )
            for k, t in enumerate(types)
        )  # fmt: skip


def _boxes(
    db, video_id: int, boxes: list[tuple[int, str, bool, float]], reviewed: tuple[int, ...] = ()
) -> None:
    with db.transaction() as session:
        session.add_all(
            Annotation(
                video_id=video_id, frame_number=f, vru_type=t, validated=v, bounding_box=(2, 4, 20, 4 + h)
            )
            for f, t, v, h in boxes
        )  # fmt: skip
        session.add_all(ReviewedFrame(video_id=video_id, frame_number=f) for f in reviewed)


@pytest.fixture
def window(qtbot, db, data_dir, make_video):
    # Street counts a video's ground truth from 10 % of its frames reviewed.
    street = create_project(
        db,
        ProjectFields(
            name="Street", camera_model="AX", camera_view="front", signal_type="video", gt_coverage=0.1
        ),
    ).id
    depot = create_project(
        db, ProjectFields(name="Depot", camera_model="RX", camera_view="rear", signal_type="event")
    ).id
    ids = {}
    for name, frames, project in (
        ("alpha.mp4", 20, street),
        ("beta.mp4", 10, street),
        ("gamma.mp4", 8, depot),
    ):
        [outcome] = import_paths(
            db, [make_video(name, frames, size=(96, 64))], assignment=Assignment(explicit_project_id=project)
        )
        ids[name.split(".")[0]] = outcome.video_id
    _run(db, ids["alpha"], ["pedestrian", "pedestrian", "cyclist"])
    _boxes(
        db,
        ids["alpha"],
        [(0, "pedestrian", True, 40.0), (0, "cyclist", True, 70.0), (1, "pedestrian", True, 20.0)],
        reviewed=(0, 1),
    )
    _run(db, ids["beta"], ["wheelchair_user"])
    _boxes(db, ids["gamma"], [(3, "scooter_rider", False, 50.0)])
    win = MainWindow(db, resolve_locations(data_dir))
    qtbot.addWidget(win)
    win.show()
    win.ids = ids
    manager = dataset_manager(win)
    assert manager is not None
    win.show_workspace(manager)
    qtbot.waitUntil(lambda: manager.model.rowCount() == 3)
    return win


def cell(manager, row: int, key: str):
    model = manager.model
    return model.data(model.index(row, model.column_of(key)))


def names(manager) -> list[str]:
    return [cell(manager, r, "filename") for r in range(manager.model.rowCount())]


def test_table_shows_every_video_with_counts_and_coloured_readiness(window) -> None:
    manager = dataset_manager(window)
    assert window.tabs.tabText(window.tabs.indexOf(manager)) == "Datasets"
    assert manager.model.columnCount() == len(COLUMNS)
    assert names(manager) == ["alpha.mp4", "beta.mp4", "gamma.mp4"]
    assert [cell(manager, 0, k) for k in ("project", "camera_model", "camera_view", "detections")] == [
        "Street",
        "AX",
        "front",
        3,
    ]
    assert [cell(manager, 0, k) for k in ("det:pedestrian", "det:cyclist", "annotations", "validated")] == [
        2,
        1,
        3,
        3,
    ]
    assert cell(manager, 0, "ground_truth") == 3 and cell(manager, 0, "reviewed_frames") == 2
    assert cell(manager, 0, "coverage") == "10 %"
    assert [cell(manager, r, "readiness") for r in range(3)] == [
        "ready · 100",
        "partial · 60",
        "partial · 40",
    ]
    model = manager.model
    brush = model.data(model.index(0, model.column_of("readiness")), Qt.ItemDataRole.BackgroundRole)
    assert brush.color().name() == READINESS_COLOURS["ready"]
    tooltip = model.data(model.index(2, model.column_of("readiness")), Qt.ItemDataRole.ToolTipRole)
    assert "Missing: has detections" in tooltip
    assert manager.count_label.text() == "3 videos"


def test_filters_narrow_the_table(qtbot, window) -> None:
    manager = dataset_manager(window)
    manager.readiness_combo.setCurrentIndex(manager.readiness_combo.findData("ready"))
    qtbot.waitUntil(lambda: names(manager) == ["alpha.mp4"])
    assert manager.count_label.text() == "1 video (filtered)"
    manager.readiness_combo.setCurrentIndex(manager.readiness_combo.findData("partial"))
    qtbot.waitUntil(lambda: names(manager) == ["beta.mp4", "gamma.mp4"])
    manager.project_combo.setCurrentIndex(manager.project_combo.findText("Depot"))
    qtbot.waitUntil(lambda: names(manager) == ["gamma.mp4"])
    manager.clear_filters()
    assert manager.model.rowCount() == 3
    manager.vru_combo.setCurrentIndex(manager.vru_combo.findData("wheelchair_user"))
    qtbot.waitUntil(lambda: names(manager) == ["beta.mp4"])
    manager.clear_filters()
    manager.camera_combos["camera_view"].setCurrentIndex(
        manager.camera_combos["camera_view"].findData("rear")
    )
    qtbot.waitUntil(lambda: names(manager) == ["gamma.mp4"])
    manager.clear_filters()
    qtbot.keyClicks(manager.search, "ALP")
    qtbot.waitUntil(lambda: names(manager) == ["alpha.mp4"])
    manager.clear_filters()
    manager.to_check.setChecked(True)
    manager.to_date.setDate(manager.to_date.date().addYears(-5))
    qtbot.waitUntil(lambda: names(manager) == [])


def test_header_click_sorts_and_selection_follows_the_video(qtbot, window) -> None:
    manager = dataset_manager(window)
    table = manager.table
    manager.table.selectRow(1)  # beta
    assert manager.selected_video_ids() == [window.ids["beta"]]
    header = table.horizontalHeader()
    column = manager.model.column_of("annotations")
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    first_order = names(manager)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    second_order = names(manager)
    assert {tuple(first_order), tuple(second_order)} == {
        ("beta.mp4", "gamma.mp4", "alpha.mp4"),
        ("alpha.mp4", "gamma.mp4", "beta.mp4"),
    }
    assert manager.selected_video_ids() == [window.ids["beta"]]
    table.sortByColumn(manager.model.column_of("readiness"), Qt.SortOrder.AscendingOrder)
    assert names(manager) == ["gamma.mp4", "beta.mp4", "alpha.mp4"]
    # The sort stays after a refresh.
    with qtbot.waitSignal(manager.rowsChanged):  # the rows load off the UI thread
        manager.refresh()
    assert names(manager) == ["gamma.mp4", "beta.mp4", "alpha.mp4"]
    assert manager.selected_video_ids() == [window.ids["beta"]]
    table.selectAll()
    assert sorted(manager.selected_video_ids()) == sorted(window.ids.values())
    assert manager.visible_video_ids() == [window.ids[n] for n in ("gamma", "beta", "alpha")]


def test_double_click_emits_video_activated(qtbot, window) -> None:
    manager = dataset_manager(window)
    table = manager.table
    rect = table.visualRect(manager.model.index(2, 1))
    # A real double-click is a press/release followed by a double-click event.
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(window.videoActivated, timeout=2000) as blocker:
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [window.ids["gamma"]]


def test_window_signals_refresh_the_table_debounced(qtbot, window, db) -> None:
    manager = dataset_manager(window)
    _boxes(db, window.ids["beta"], [(2, "pedestrian", True, 30.0)], reviewed=(2,))
    for _ in range(3):
        window.annotationsChanged.emit(window.ids["beta"])
    qtbot.waitUntil(lambda: cell(manager, 1, "readiness") == "ready · 100", timeout=3000)
    _run(db, window.ids["gamma"], ["scooter_rider"])
    window.detectionsChanged.emit(window.ids["gamma"], 0)
    qtbot.waitUntil(lambda: cell(manager, 2, "detections") == 1, timeout=3000)


def test_stats_panel_plots_the_rows(qtbot, window) -> None:
    manager = dataset_manager(window)
    panel = manager.stats_panel
    qtbot.waitUntil(lambda: panel.statistics.videos == 3)  # computed off the UI thread
    classes = panel.class_names[:5]
    assert classes == ["pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider"]
    heights = {key: bars.opts["height"].tolist() for key, bars in panel.class_bars.items()}
    assert heights["annotations"] == [2, 1, 0, 0, 1]
    assert heights["validated"] == [2, 1, 0, 0, 0]
    assert heights["detections"] == [2, 1, 0, 1, 0]
    # Boxes per video 3, 0, 1: one video in each of the bins 0, 1 and 3.
    boxes = panel.boxes_bars.opts
    assert np.asarray(boxes["height"]).tolist() == [1, 1, 0, 1]
    assert np.asarray(boxes["x0"]).tolist() == [0, 1, 2, 3]
    # Heights 40, 70, 20, 50 px in 16 px bins.
    assert np.asarray(panel.height_bars.opts["height"]).tolist() == [0, 1, 1, 1, 1]
    assert np.asarray(panel.coverage_bars.opts["height"]).tolist()[:2] == [2, 1]
    assert "5.3% (2 of 38 frames)" in panel.coverage_plot.getPlotItem().titleLabel.text
    # The plots follow the filters.
    manager.project_combo.setCurrentIndex(manager.project_combo.findText("Depot"))
    with qtbot.waitSignal(manager.statisticsShown):
        qtbot.waitUntil(lambda: manager.model.rowCount() == 1)
    assert panel.statistics.videos == 1
    assert panel.class_bars["annotations"].opts["height"].tolist() == [0, 0, 0, 0, 1]
