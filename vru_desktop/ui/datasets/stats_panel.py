"""The statistics panel: four pyqtgraph plots of the rows the dataset table shows.

Class distribution (boxes, validated boxes, latest-run detections per VRU type), boxes per video,
box height histogram, and ground-truth coverage (videos per reviewed-share decile, with the
overall share of reviewed frames in the title).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from vru_desktop.datasets.statistics import COVERAGE_BINS, DatasetStatistics
from vru_desktop.ui.plotting import CountPlot, legend_below

#: Series of the class distribution chart: (key, legend name, colour).
CLASS_SERIES: tuple[tuple[str, str, str], ...] = (
    ("annotations", "boxes", "#5b8def"),
    ("validated", "validated", "#3caa5a"),
    ("detections", "detections", "#f0a030"),
)
SHORT_NAMES = {
    "pedestrian": "ped.",
    "cyclist": "cyclist",
    "motorcyclist": "motorcyc.",
    "wheelchair_user": "wheelch.",
    "scooter_rider": "scooter",
}


def _plot(title: str, x_label: str, y_label: str) -> CountPlot:
    widget = CountPlot()
    item = widget.getPlotItem()
    item.setTitle(title, color="#222", size="10pt")
    item.setLabel("bottom", x_label)
    item.setLabel("left", y_label)
    item.showGrid(y=True, alpha=0.25)
    item.setMenuEnabled(False)
    widget.setMouseEnabled(x=False, y=False)
    widget.setMinimumSize(220, 180)
    return widget


class StatsPanel(QWidget):
    """Plots of a :class:`DatasetStatistics`; the plotted arrays stay readable as attributes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetStatsPanel")
        self.class_plot = _plot("Class distribution", "VRU type", "boxes")
        self.boxes_plot = _plot("Boxes per video", "boxes in a video", "videos")
        self.height_plot = _plot("Box height", "height (px)", "boxes")
        self.coverage_plot = _plot("Ground-truth coverage", "reviewed frames (%)", "videos")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for plot in (self.class_plot, self.boxes_plot, self.height_plot, self.coverage_plot):
            layout.addWidget(plot)
        self.legend = legend_below(self.class_plot.getPlotItem())
        #: The bars drawn, by series, for the class chart; and one bar item each for the histograms.
        self.class_bars: dict[str, pg.BarGraphItem] = {}
        self.class_names: list[str] = []
        self.boxes_bars: pg.BarGraphItem | None = None
        self.height_bars: pg.BarGraphItem | None = None
        self.coverage_bars: pg.BarGraphItem | None = None
        self.statistics = DatasetStatistics()

    def show_statistics(self, stats: DatasetStatistics) -> None:
        self.statistics = stats
        self._draw_classes(stats)
        self.boxes_bars = self._draw_histogram(
            self.boxes_plot, stats.boxes_per_video_counts, stats.boxes_per_video_edges, "#5b8def"
        )
        self.height_bars = self._draw_histogram(
            self.height_plot, stats.height_counts, stats.height_edges, "#8a63d2"
        )
        self.coverage_bars = self._draw_histogram(
            self.coverage_plot, stats.coverage_counts, COVERAGE_BINS * 100, "#3caa5a"
        )
        self.coverage_plot.getPlotItem().setTitle(
            f"Ground-truth coverage {stats.coverage:.1%} ({stats.reviewed_frames} of {stats.frames} frames)",
            color="#222",
            size="10pt",
        )
        self.class_plot.getPlotItem().setTitle(
            f"Class distribution ({stats.videos} videos)", color="#222", size="10pt"
        )

    def show_message(self, message: str) -> None:
        """Say why there are no statistics (in the class chart's title)."""
        self.class_plot.getPlotItem().setTitle(message, color="#a00", size="10pt")

    def _draw_classes(self, stats: DatasetStatistics) -> None:
        plot = self.class_plot.getPlotItem()
        plot.clear()
        self.legend.clear()
        names = stats.class_names()
        self.class_names = names
        values = {
            "annotations": stats.annotations_by_type,
            "validated": stats.validated_by_type,
            "detections": stats.detections_by_type,
        }
        width = 0.8 / len(CLASS_SERIES)
        x = np.arange(len(names), dtype=float)
        self.class_bars = {}
        for number, (key, label, colour) in enumerate(CLASS_SERIES):
            heights = np.array([values[key].get(name, 0) for name in names], dtype=float)
            bars = pg.BarGraphItem(
                x=x - 0.4 + width * (number + 0.5), height=heights, width=width, brush=colour, pen=None
            )
            plot.addItem(bars)
            self.legend.addItem(bars, label)
            self.class_bars[key] = bars
        plot.getAxis("bottom").setTicks([[(i, SHORT_NAMES.get(n, n)) for i, n in enumerate(names)]])
        plot.setXRange(-0.6, len(names) - 0.4, padding=0)
        top = max((max(v.values(), default=0) for v in values.values()), default=0)
        self.class_plot.empty.show_message(None if top else "No boxes or detections in the videos shown.")
        plot.setYRange(0, max(top, 1) * 1.25, padding=0)

    @staticmethod
    def _draw_histogram(
        widget: CountPlot, counts: np.ndarray, edges: np.ndarray, colour: str
    ) -> pg.BarGraphItem | None:
        plot = widget.getPlotItem()
        plot.clear()
        empty = len(counts) == 0 or not counts.any()
        widget.empty.show_message("No data in the videos shown." if empty else None)
        if len(counts) == 0:
            return None
        bars = pg.BarGraphItem(
            x0=edges[:-1], x1=edges[1:], height=counts.astype(float), brush=colour, pen=pg.mkPen("w")
        )
        plot.addItem(bars)
        plot.setXRange(float(edges[0]), float(edges[-1]), padding=0.02)
        plot.setYRange(0, max(float(counts.max()), 1.0) * 1.1, padding=0)
        return bars
