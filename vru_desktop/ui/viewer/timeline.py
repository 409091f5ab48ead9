"""The timeline under the video (pyqtgraph): where the boxes are, what is reviewed, where we are.

One lane per VRU type: annotations as solid bars on the upper half, the chosen run's detections as
lighter bars on the lower half; a band of reviewed frames at the bottom; the current frame as a
line. Click or drag (left button) to seek, wheel to zoom, double-click to see the whole video.

Frame ``f`` covers ``[f - 0.5, f + 0.5)`` on the x axis. Presence is drawn per pixel column: the
visible frames are binned so that one bin is at least one pixel wide, occupied bins are merged into
runs and each lane is one item painting its runs, so a 100 000-frame video costs a few thousand
rectangles whatever its number of boxes.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent, MouseDragEvent
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from vru_desktop.annotations.colors import VRU_COLORS, color_of
from vru_desktop.annotations.views import TimelineSummary
from vru_desktop.ui.plotting import IntegerAxis

#: Alpha of detection bars (annotation bars are opaque).
DETECTION_ALPHA = 110
REVIEWED_COLOR = "#43a047"
CURRENT_COLOR = "#e53935"
REVIEWED_LABEL = "reviewed"


def occupied_runs(frames: np.ndarray, first: int, last: int, bin_size: int) -> np.ndarray:
    """Runs of occupied bins of ``bin_size`` frames among sorted ``frames`` within ``first``–``last``.

    Bins are aligned to multiples of ``bin_size`` (stable while panning). Returns an ``(n, 2)`` array
    of inclusive frame ranges ``[start, end]`` covering whole bins.
    """
    lo = int(np.searchsorted(frames, first, side="left"))
    hi = int(np.searchsorted(frames, last, side="right"))
    bins = frames[lo:hi] // bin_size
    if not len(bins):
        return np.empty((0, 2), dtype=np.int64)
    breaks = np.flatnonzero(np.diff(bins) > 1)
    starts = bins[np.r_[0, breaks + 1]]
    ends = bins[np.r_[breaks, len(bins) - 1]]
    return np.column_stack([starts * bin_size, (ends + 1) * bin_size - 1])


def merged_ranges(ranges: list[tuple[int, int]], first: int, last: int, bin_size: int) -> np.ndarray:
    """Inclusive ranges clipped to ``first``–``last``, widened to whole bins and merged where they touch."""
    if not ranges:
        return np.empty((0, 2), dtype=np.int64)
    spans = np.asarray(ranges, dtype=np.int64).reshape(-1, 2)
    spans = spans[(spans[:, 1] >= first) & (spans[:, 0] <= last)]
    if not len(spans):
        return np.empty((0, 2), dtype=np.int64)
    spans = spans[np.argsort(spans[:, 0], kind="stable")]
    start_bins = spans[:, 0] // bin_size
    end_bins = np.maximum.accumulate(spans[:, 1] // bin_size)
    new_group = np.r_[True, start_bins[1:] > end_bins[:-1] + 1]
    group_starts = start_bins[new_group]
    group_ends = end_bins[np.r_[np.flatnonzero(new_group)[1:] - 1, len(spans) - 1]]
    return np.column_stack([group_starts * bin_size, (group_ends + 1) * bin_size - 1])


def lane_order(summary: TimelineSummary | None) -> list[str]:
    """VRU types with boxes, in the colour table's order, then any others alphabetically."""
    if summary is None:
        return []
    present = set(summary.vru_types())
    known = [name for name in VRU_COLORS if name in present]
    return known + sorted(present - set(known))


class _RunsItem(pg.GraphicsObject):
    """One lane row: filled rectangles ``[start - 0.5, end + 0.5] × [top, top + height]`` in frames."""

    def __init__(self, color: QColor, top: float, height: float) -> None:
        super().__init__()
        self._brush = QBrush(color)
        self._top = top
        self._height = height
        self._rects: list[QRectF] = []
        self._bounds = QRectF()

    def set_runs(self, runs: np.ndarray) -> None:
        self.prepareGeometryChange()
        self._rects = [
            QRectF(start - 0.5, self._top, end - start + 1.0, self._height) for start, end in runs.tolist()
        ]
        if self._rects:
            left, right = float(runs[0, 0]) - 0.5, float(runs[-1, 1]) + 0.5
            self._bounds = QRectF(left, self._top, right - left, self._height)
        else:
            self._bounds = QRectF()
        self.update()

    def run_count(self) -> int:
        return len(self._rects)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._brush)
        painter.drawRects(self._rects)


class _SeekViewBox(pg.ViewBox):
    """A view box whose left click and left drag seek, double-click shows all; the wheel zooms."""

    #: x in frame coordinates, and whether it comes from a drag (repeats are then dropped).
    seekRequested = Signal(float, bool)
    resetRequested = Signal()

    def mouseClickEvent(self, ev: MouseClickEvent) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.double():
            self.resetRequested.emit()
        else:
            self.seekRequested.emit(self.mapSceneToView(ev.scenePos()).x(), False)

    def mouseDragEvent(self, ev: MouseDragEvent, axis: int | None = None) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.seekRequested.emit(self.mapSceneToView(ev.scenePos()).x(), True)
        else:
            super().mouseDragEvent(ev, axis)


class TimelineWidget(pg.PlotWidget):
    """The timeline. API: :meth:`set_video`, :meth:`set_summary`, :meth:`set_current_frame`,
    signal :attr:`frameRequested` (a click or drag asks to show that frame)."""

    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        self._view = _SeekViewBox(enableMenu=False)
        # Frame numbers are whole: a 4-frame clip reads 0 1 2 3, not -0.5 … 3.5.
        super().__init__(parent, viewBox=self._view, axisItems={"bottom": IntegerAxis("bottom")})
        self.setObjectName("timeline")
        self.frame_count = 0
        self.fps = 0.0
        self.current_frame = 0
        self._summary: TimelineSummary | None = None
        self._lanes: list[str] = []
        self._items: list[tuple[_RunsItem, np.ndarray | list[tuple[int, int]]]] = []
        self._last_requested: int | None = None
        self._stripes: list[_RunsItem] = []

        palette = self.palette()
        self.setBackground(palette.color(QPalette.ColorRole.Base))
        text_pen = pg.mkPen(palette.color(QPalette.ColorRole.Text))
        plot = self.getPlotItem()
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.showGrid(x=False, y=False)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() - 1.5, 6.0))
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(text_pen)
            axis.setTextPen(text_pen)
            axis.setStyle(tickFont=font, hideOverlappingLabels=False)
        plot.getAxis("left").setWidth(104)
        plot.getAxis("bottom").setHeight(22)
        self._view.setMouseEnabled(x=True, y=False)
        self._view.invertY(True)
        self._view.setDefaultPadding(0.0)
        self._cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(CURRENT_COLOR, width=2), movable=False)
        self._cursor.setZValue(10)
        self._view.addItem(self._cursor, ignoreBounds=True)
        self._view.seekRequested.connect(self._seek_to)
        self._view.resetRequested.connect(self.show_all)
        self._view.sigXRangeChanged.connect(self._redraw)
        self._view.sigResized.connect(self._redraw)
        self.setMinimumHeight(60)
        self._build_lanes()

    # -- API ---------------------------------------------------------------------------------------
    def set_video(self, frame_count: int, fps: float) -> None:
        """A new video: its number of frames (the x axis) and frame rate; shows it whole."""
        self.frame_count = max(int(frame_count), 0)
        self.fps = float(fps)
        self.current_frame = 0
        self._summary = None
        self._cursor.setValue(0)
        right = max(self.frame_count, 1) - 0.5
        self._view.setLimits(xMin=-0.5, xMax=right, minXRange=min(10.0, right + 0.5))
        self._build_lanes()
        self.show_all()

    def set_summary(self, summary: TimelineSummary) -> None:
        """Draw where annotations, detections and reviewed frames are."""
        if summary.frame_count and summary.frame_count != self.frame_count:
            self.set_video(summary.frame_count, self.fps)
        self._summary = summary
        if lane_order(summary) != self._lanes or not self._items:
            self._build_lanes()
        else:
            self._bind_data()
        self._redraw()

    def set_current_frame(self, frame: int) -> None:
        """Move the current-frame line; when zoomed in, keep it in view."""
        self.current_frame = int(frame)
        self._cursor.setValue(self.current_frame)
        (left, right), _ = self._view.viewRange()
        if not left <= self.current_frame <= right:
            width = right - left
            start = min(max(self.current_frame - width / 2, -0.5), max(self.frame_count - 0.5 - width, -0.5))
            self._view.setXRange(start, start + width, padding=0)

    # -- more --------------------------------------------------------------------------------------
    def show_all(self) -> None:
        self._view.setXRange(-0.5, max(self.frame_count, 1) - 0.5, padding=0)

    def lanes(self) -> list[str]:
        """The lane labels from top to bottom (VRU types, then the reviewed band)."""
        return [*self._lanes, REVIEWED_LABEL]

    def drawn_rectangles(self) -> int:
        """How many rectangles the lanes paint now (for tests and benchmarks)."""
        return sum(item.run_count() for item, _data in self._items)

    def frame_at(self, x: float) -> int:
        """The frame under x (frame coordinates), clamped to the video."""
        return min(max(round(x), 0), max(self.frame_count - 1, 0))

    # -- internals ---------------------------------------------------------------------------------
    def _seek_to(self, x: float, dragging: bool) -> None:
        if self.frame_count <= 0:
            return
        frame = self.frame_at(x)
        if dragging and frame == self._last_requested:
            return
        self._last_requested = frame
        self.frameRequested.emit(frame)

    def _build_lanes(self) -> None:
        for item, _data in self._items:
            self._view.removeItem(item)
        self._items = []
        self._lanes = lane_order(self._summary)
        self._build_stripes(len(self._lanes) + 1)
        for row, vru_type in enumerate(self._lanes):
            solid = QColor(color_of(vru_type))
            light = QColor(solid)
            light.setAlpha(DETECTION_ALPHA)
            self._items.append((_RunsItem(solid, row + 0.08, 0.42), np.empty(0, dtype=np.int64)))
            self._items.append((_RunsItem(light, row + 0.5, 0.42), np.empty(0, dtype=np.int64)))
        reviewed_row = len(self._lanes)
        self._items.append((_RunsItem(QColor(REVIEWED_COLOR), reviewed_row + 0.3, 0.4), []))
        for item, _data in self._items:
            self._view.addItem(item)
        self._bind_data()
        ticks = [(row + 0.5, name.replace("_", " ")) for row, name in enumerate(self.lanes())]
        self.getPlotItem().getAxis("left").setTicks([ticks, []])
        self._view.setYRange(0, reviewed_row + 1, padding=0)

    def _build_stripes(self, rows: int) -> None:
        """A faint band behind every other lane, so a bar is read against the right label."""
        for stripe in self._stripes:
            self._view.removeItem(stripe)
        shade = QColor(self.palette().color(QPalette.ColorRole.Text))
        shade.setAlpha(14)
        self._stripes = [_RunsItem(shade, float(row), 1.0) for row in range(1, rows, 2)]
        for stripe in self._stripes:
            stripe.setZValue(-10)
            stripe.set_runs(np.array([[0, max(self.frame_count - 1, 0)]], dtype=np.int64))
            self._view.addItem(stripe, ignoreBounds=True)

    def _bind_data(self) -> None:
        """Attach the summary's arrays to the lane items (same order as :meth:`_build_lanes`)."""
        summary = self._summary
        empty = np.empty(0, dtype=np.int64)
        data: list[np.ndarray | list[tuple[int, int]]] = []
        for vru_type in self._lanes:
            data.append(summary.annotations.get(vru_type, empty) if summary else empty)
            data.append(summary.detections.get(vru_type, empty) if summary else empty)
        data.append(summary.reviewed if summary else [])
        self._items = [(item, values) for (item, _old), values in zip(self._items, data, strict=True)]

    def _bin_size(self) -> tuple[int, int, int]:
        """(first visible frame, last visible frame, frames per bin of at least one pixel)."""
        (left, right), _ = self._view.viewRange()
        first = max(math.floor(left), 0)
        last = min(math.ceil(right), max(self.frame_count - 1, 0))
        pixels = max(self._view.width(), 1.0)
        return first, last, max(1, math.ceil((right - left) / pixels))

    def _redraw(self) -> None:
        if not self._items:
            return
        first, last, bin_size = self._bin_size()
        for item, values in self._items:
            if isinstance(values, np.ndarray):
                item.set_runs(occupied_runs(values, first, last, bin_size))
            else:
                item.set_runs(merged_ranges(values, first, last, bin_size))

    def viewport_point(self, frame: float, lane: float = 0.5) -> QPointF:
        """Where frame ``frame`` of lane row ``lane`` is in viewport pixels (for tests and tooltips)."""
        scene = self._view.mapViewToScene(QPointF(frame, lane))
        return QPointF(self.mapFromScene(scene))
