"""Plots say what they show: whole-number count and frame axes, legends under the data, a message
instead of an empty plot; the error list is taller and sorts by any column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from sqlalchemy import select
from test_evaluation_view import _scene

from vru_desktop.datasets.statistics import DatasetStatistics
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import ReviewedFrame
from vru_desktop.ui.datasets.stats_panel import StatsPanel
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.timeline import TimelineWidget


def _ticks(plot, axis: str) -> list[float]:  # type: ignore[no-untyped-def]
    """The tick values an axis shows for its current range and size."""
    item = plot.getPlotItem().getAxis(axis)
    low, high = item.range
    size = item.geometry().height() if axis in ("left", "right") else item.geometry().width()
    return [v for _spacing, values in item.tickValues(low, high, size) for v in values]


def _evaluated(qtbot, db, data_dir: Path, tmp_path: Path, keep_frames: int | None):  # type: ignore[no-untyped-def]
    """The Evaluation tab on the test scene, with only the first ``keep_frames`` frames reviewed."""
    _video_id, run_id = _scene(db, tmp_path)
    if keep_frames is not None:
        with db.transaction() as session:
            for row in session.scalars(
                select(ReviewedFrame).where(ReviewedFrame.frame_number >= keep_frames)
            ):
                session.delete(row)
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    window.show_workspace(window.evaluation)
    view = window.evaluation.view
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        view.show_run(run_id)
    qtbot.wait(50)
    return view


def test_counts_are_whole_numbers_and_legends_stay_off_the_data(qtbot, db, data_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    view = _evaluated(qtbot, db, data_dir, tmp_path, keep_frames=4)
    for plot in (view.histogram, view.timeline):
        ticks = _ticks(plot, "left")
        assert ticks and all(float(v).is_integer() for v in ticks), ticks
        assert not plot.empty.isVisible()
    assert {0.0, 1.0, 2.0} <= set(_ticks(view.histogram, "left"))
    for plot in (view.pr_plot, view.histogram, view.timeline):
        item = plot.getPlotItem()
        assert plot.legend.items, "the legend lists the curves"
        legend, data = plot.legend.sceneBoundingRect(), item.getViewBox().sceneBoundingRect()
        assert legend.top() >= data.bottom() and not legend.intersects(data)


def test_empty_plots_say_so(qtbot, db, data_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    view = _evaluated(qtbot, db, data_dir, tmp_path, keep_frames=0)
    for plot in (view.pr_plot, view.histogram, view.timeline, view.confusion):
        assert plot.empty.isVisible() and plot.empty.text().startswith("No data"), type(plot).__name__
        assert plot.empty.geometry().intersects(plot.rect())
    low, high = view.timeline.getPlotItem().getViewBox().viewRange()[0]
    assert (low, high) == (0.0, 1.0)


def test_error_list_is_taller_and_sorts(qtbot, db, data_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    view = _evaluated(qtbot, db, data_dir, tmp_path, keep_frames=None)
    table = view.errors.error_view
    model = view.errors.error_model
    view.conf_slider.setValue(0)  # every detection counts: more errors than fit in four rows
    qtbot.waitUntil(lambda: model.rowCount() >= 4)
    assert table.viewport().height() >= 8 * table.rowHeight(0)

    def column(number: int) -> list[object]:
        return [model.index(r, number).data() for r in range(model.rowCount())]

    header = table.horizontalHeader()

    def click_header(section: int) -> None:  # as a person clicks a column title
        where = QPoint(header.sectionViewportPosition(section) + 5, header.height() // 2)
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)

    click_header(1)  # Frame
    frames = column(1)
    assert frames == sorted(frames) and model.error(0)["frame"] == frames[0]
    click_header(1)
    assert column(1) == sorted(frames, reverse=True)
    assert model.error(0)["frame"] == max(frames), "a click opens the error shown in that row"
    click_header(4)  # Score: missed boxes (no score) first
    scores = column(4)
    assert scores == sorted(scores, key=lambda v: -1.0 if v == "" else float(v)) and scores[0] == ""
    view.errors.error_filter.setCurrentIndex(view.errors.error_filter.findText("missed"))
    assert column(0) == ["missed"] * model.rowCount() and model.rowCount() == 2


@pytest.mark.parametrize("frames", [4, 7])
def test_viewer_timeline_numbers_whole_frames(qtbot, frames: int) -> None:  # type: ignore[no-untyped-def]
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(600, 120)
    timeline.show()
    timeline.set_video(frames, 25.0)
    ticks = _ticks(timeline, "bottom")
    assert ticks and all(float(v).is_integer() and 0 <= v < frames for v in ticks), ticks


def test_dataset_statistics_plots_count_in_whole_numbers_and_say_when_empty(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = StatsPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 240)
    panel.show()
    panel.show_statistics(DatasetStatistics())
    assert panel.boxes_plot.empty.isVisible() and panel.class_plot.empty.isVisible()
    data = panel.class_plot.getPlotItem().getViewBox().sceneBoundingRect()
    assert not panel.legend.sceneBoundingRect().intersects(data)
    assert np.all([float(v).is_integer() for v in _ticks(panel.class_plot, "left")])
