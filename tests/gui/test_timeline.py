"""The timeline widget driven with the mouse (pytest-qt, offscreen), on small and 100 000-frame videos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import QApplication

from vru_desktop.annotations.colors import VRU_COLORS
from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.annotations.views import TimelineSummary
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.ui.viewer.timeline import (
    CURRENT_COLOR,
    REVIEWED_LABEL,
    TimelineWidget,
    lane_order,
    merged_ranges,
    occupied_runs,
)

BIG = 100_000


@pytest.fixture
def timeline(qtbot) -> TimelineWidget:  # type: ignore[no-untyped-def]
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(1000, 140)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def big_summary(seed: int = 1) -> TimelineSummary:
    rng = np.random.default_rng(seed)
    return TimelineSummary(
        BIG,
        {
            "pedestrian": np.unique(rng.integers(0, BIG, 80_000)),
            "cyclist": np.arange(0, BIG, 2),
            "wheelchair_user": np.array([12_345]),
        },
        {"pedestrian": np.unique(rng.integers(0, BIG, 40_000)), "motorcyclist": np.arange(50_000, 50_100)},
        [(int(s), int(s) + 40) for s in range(0, BIG, 97)],
    )


def click(widget: TimelineWidget, point: QPointF, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(widget.viewport(), Qt.MouseButton.LeftButton, pos=point.toPoint())


def send_mouse(widget: TimelineWidget, kind: QEvent.Type, point: QPoint, buttons: Qt.MouseButton) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    global_point = QPointF(widget.viewport().mapToGlobal(point))
    event = QMouseEvent(kind, QPointF(point), global_point, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget.viewport(), event)


# -- binning helpers -------------------------------------------------------------------------------
@pytest.mark.parametrize("bin_size", [1, 3, 17, 250])
def test_occupied_runs_cover_exactly_the_occupied_bins(bin_size: int) -> None:
    rng = np.random.default_rng(bin_size)
    frames = np.unique(rng.integers(0, 5000, 700))
    first, last = 123, 4321
    runs = occupied_runs(frames, first, last, bin_size)
    drawn = np.zeros(5000 + bin_size, dtype=bool)
    for start, end in runs:
        assert start % bin_size == 0 and (end + 1) % bin_size == 0
        drawn[start : end + 1] = True
    visible = frames[(frames >= first) & (frames <= last)]
    expected_bins = set((visible // bin_size).tolist())
    drawn_bins = {b for b in range(len(drawn) // bin_size) if drawn[b * bin_size]}
    assert drawn_bins == expected_bins
    assert all(runs[i + 1, 0] > runs[i, 1] + 1 for i in range(len(runs) - 1))  # merged, not touching
    assert occupied_runs(np.empty(0, dtype=np.int64), 0, 10, 1).shape == (0, 2)


def test_merged_ranges_clip_widen_and_merge() -> None:
    ranges = [(0, 4), (5, 9), (20, 20), (40, 60), (100, 200)]
    assert merged_ranges(ranges, 0, 1000, 1).tolist() == [[0, 9], [20, 20], [40, 60], [100, 200]]
    assert merged_ranges(ranges, 15, 70, 1).tolist() == [[20, 20], [40, 60]]
    assert merged_ranges(ranges, 0, 1000, 10).tolist() == [[0, 9], [20, 29], [40, 69], [100, 209]]
    assert merged_ranges(ranges, 0, 1000, 20).tolist() == [[0, 79], [100, 219]]
    assert merged_ranges([], 0, 10, 1).shape == (0, 2)


def test_lanes_follow_the_colour_table_then_other_types() -> None:
    summary = TimelineSummary(
        10, {"zebra": np.array([1]), "cyclist": np.array([2])}, {"pedestrian": np.array([3])}, []
    )
    assert lane_order(summary) == ["pedestrian", "cyclist", "zebra"]
    assert lane_order(None) == []


# -- the widget ------------------------------------------------------------------------------------
@pytest.mark.parametrize("frames", [100, BIG])
def test_click_requests_the_frame_under_the_mouse(timeline: TimelineWidget, qtbot, frames: int) -> None:  # type: ignore[no-untyped-def]
    timeline.set_video(frames, 25.0)
    for target in (0, frames // 3, frames - 1):
        point = timeline.viewport_point(target)
        with qtbot.waitSignal(timeline.frameRequested, timeout=2000) as blocker:
            click(timeline, point, qtbot)
        pixel_frames = frames / timeline.viewport().width()  # one pixel of error at most
        assert abs(blocker.args[0] - target) <= max(pixel_frames, 0.5)
        assert 0 <= blocker.args[0] < frames
    timeline.set_current_frame(frames // 2)  # showing a frame never asks for one
    with qtbot.assertNotEmitted(timeline.frameRequested, wait=50):
        timeline.set_current_frame(frames // 4)


def test_click_on_a_zoomed_timeline_is_exact(timeline: TimelineWidget, qtbot) -> None:  # type: ignore[no-untyped-def]
    timeline.set_video(BIG, 25.0)
    timeline.getPlotItem().getViewBox().setXRange(41_000 - 0.5, 41_100 - 0.5, padding=0)
    for target in (41_000, 41_037, 41_099):
        with qtbot.waitSignal(timeline.frameRequested, timeout=2000) as blocker:
            click(timeline, timeline.viewport_point(target), qtbot)
        assert blocker.args == [target]


def test_drag_seeks_along_the_way(timeline: TimelineWidget, qtbot) -> None:  # type: ignore[no-untyped-def]
    timeline.set_video(200, 25.0)
    requested: list[int] = []
    timeline.frameRequested.connect(requested.append)
    points = [timeline.viewport_point(frame).toPoint() for frame in (20, 60, 100, 150)]
    send_mouse(timeline, QEvent.Type.MouseButtonPress, points[0], Qt.MouseButton.LeftButton)
    for point in points[1:]:
        qtbot.wait(40)  # pyqtgraph rate-limits mouse moves
        send_mouse(timeline, QEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
    send_mouse(timeline, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)
    assert len(requested) >= 3
    assert requested == sorted(requested)  # dragging right moves forward
    assert len(set(requested)) == len(requested)  # no repeats while dragging
    assert requested[-1] == 150


def test_a_100000_frame_summary_renders_as_few_rectangles(timeline: TimelineWidget, qtbot) -> None:  # type: ignore[no-untyped-def]
    timeline.set_video(BIG, 30.0)
    summary = big_summary()
    timeline.set_summary(summary)
    timeline.set_current_frame(70_000)
    assert timeline.lanes() == ["pedestrian", "cyclist", "motorcyclist", "wheelchair_user", REVIEWED_LABEL]
    width = timeline.viewport().width()
    assert 0 < timeline.drawn_rectangles() <= 9 * width  # bounded by pixels, not by frames or boxes
    image = timeline.grab().toImage()

    def has_colour(colour: str, x: int) -> bool:
        wanted = QColor(colour)
        return any(
            abs(image.pixelColor(x, y).red() - wanted.red()) < 8
            and abs(image.pixelColor(x, y).green() - wanted.green()) < 8
            and abs(image.pixelColor(x, y).blue() - wanted.blue()) < 8
            for y in range(image.height())
        )

    middle = timeline.viewport_point(30_000).toPoint().x()
    assert has_colour(VRU_COLORS["pedestrian"], middle)
    assert has_colour(VRU_COLORS["cyclist"], middle)
    lone = timeline.viewport_point(12_345).toPoint().x()  # one frame in 100 000 is still drawn
    assert has_colour(VRU_COLORS["wheelchair_user"], lone)
    assert not has_colour(VRU_COLORS["wheelchair_user"], middle)
    assert has_colour(CURRENT_COLOR, timeline.viewport_point(70_000).toPoint().x())


def test_zooming_in_shows_single_frames(timeline: TimelineWidget, qtbot) -> None:  # type: ignore[no-untyped-def]
    timeline.set_video(BIG, 30.0)
    timeline.set_summary(
        TimelineSummary(BIG, {"pedestrian": np.array([10, 11, 12, 20, 22, 90_000])}, {}, [(15, 16)])
    )
    view = timeline.getPlotItem().getViewBox()
    view.setXRange(-0.5, 39.5, padding=0)
    # pedestrian: 10–12, 20, 22; reviewed: 15–16
    assert timeline.drawn_rectangles() == 4
    timeline.set_current_frame(50_000)  # outside the zoomed range: the view follows
    left, right = view.viewRange()[0]
    assert left <= 50_000 <= right and right - left == pytest.approx(40, abs=1)
    with qtbot.waitSignal(timeline.frameRequested, timeout=2000) as blocker:
        click(timeline, timeline.viewport_point(50_010), qtbot)
    assert blocker.args == [50_010]
    timeline.show_all()
    assert view.viewRange()[0] == pytest.approx([-0.5, BIG - 0.5], abs=1)


def test_timeline_shows_the_editor_summary(
    timeline: TimelineWidget, db: Database, make_video: Callable[..., Path]
) -> None:
    video_id = import_paths(db, [make_video("clip.mp4", 40)])[0].video_id
    assert video_id is not None
    editor = AnnotationEditor(db, video_id)
    editor.add_box(5, (0, 0, 10, 10), "scooter_rider", track_id=1)
    editor.add_box(15, (0, 0, 10, 10), "scooter_rider", track_id=1)
    editor.set_reviewed(5)
    timeline.set_video(editor.frame_count, editor.fps)
    timeline.set_summary(editor.timeline_summary(None))
    assert timeline.lanes() == ["scooter_rider", REVIEWED_LABEL]
    assert timeline.drawn_rectangles() == 2  # frames 5–15 as one run, frame 5 reviewed
    editor.set_outside(editor.frame_annotations(10)[0].id)
    timeline.set_summary(editor.timeline_summary(None))
    assert timeline.drawn_rectangles() == 3  # 5–9 and 15, reviewed 5
