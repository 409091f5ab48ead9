"""The evaluation plots (pyqtgraph): precision–recall per class, confidence histograms of TP vs FP,
detections and misses along the video, and the confusion matrix.

Each plot keeps its items and only updates data when the confidence threshold moves. Counts have
whole-number axes, legends sit under the plots, and a plot with nothing to draw says why.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from vru_desktop.evaluation.metrics import OperatingPoints
from vru_desktop.ui.plotting import CountPlot, EmptyMessage, legend_below

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
TP_COLOR, FP_COLOR, FN_COLOR = "#2ca02c", "#d62728", "#ff7f0e"
#: Curves are drawn with at most this many points (a repaint must stay cheap with 100 000 detections).
MAX_CURVE_POINTS = 1500


def _thin(*arrays: np.ndarray) -> list[np.ndarray]:
    n = len(arrays[0])
    if n <= MAX_CURVE_POINTS:
        return list(arrays)
    pick = np.unique(np.linspace(0, n - 1, MAX_CURVE_POINTS).astype(np.int64))
    return [a[pick] for a in arrays]


def _count_range(plot: pg.PlotWidget, top: float) -> None:
    """A count axis from 0 to a little above ``top`` (at least 1), room left for the 0 and top labels."""
    span = max(top, 1.0)
    plot.setYRange(-0.06 * span, 1.15 * span, padding=0)


class PrecisionRecallPlot(pg.PlotWidget):
    """One curve per class and "all" (dashed); a dot marks each curve at the current threshold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background="w")
        self.setTitle("Precision–recall", color="#222", size="10pt")
        self.setLabel("bottom", "recall")
        self.setLabel("left", "precision")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        self.legend = legend_below(self.getPlotItem(), columns=4)
        self.empty = EmptyMessage(self)
        self.markers = pg.ScatterPlotItem(size=9, pen=pg.mkPen("#000"), brush=pg.mkBrush("#ffffffc0"))
        self.curves: dict[str, dict[str, np.ndarray]] = {}

    def set_points(self, points: OperatingPoints) -> None:
        self.clear()
        self.legend.clear()
        self.curves = points.curves
        for i, (name, curve) in enumerate(self.curves.items()):
            style = pg.mkPen("#000", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
            pen = style if name == "all" else pg.mkPen(COLORS[i % len(COLORS)], width=2)
            self.legend.addItem(self.plot(*_thin(curve["recall"], curve["precision"]), pen=pen), name)
        self.addItem(self.markers)
        self.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        self.empty.show_message(
            None if self.curves else "No data: no ground-truth boxes on the reviewed frames to find."
        )

    def set_conf(self, conf: float) -> None:
        spots = []
        for curve in self.curves.values():
            n = int(np.searchsorted(-curve["score"], -conf, side="right"))
            if n:
                spots.append((curve["recall"][n - 1], curve["precision"][n - 1]))
        self.markers.setData(pos=np.array(spots).reshape(-1, 2))


class ConfidenceHistogram(CountPlot):
    """Confidence of true positives (green) and false positives (red); a line at the threshold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Confidence: TP vs FP", color="#222", size="10pt")
        self.setLabel("bottom", "confidence")
        self.setLabel("left", "detections")
        self.showGrid(x=False, y=True, alpha=0.2)
        self.legend = legend_below(self.getPlotItem())
        self.line = pg.InfiniteLine(
            angle=90, pen=pg.mkPen("#000", width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)
        )
        self.tp_bars: pg.BarGraphItem | None = None
        self.fp_bars: pg.BarGraphItem | None = None

    def set_points(self, points: OperatingPoints) -> None:
        self.clear()
        self.legend.clear()
        hist = points.score_histograms(20)
        edges = hist["edges"]
        width = (edges[1] - edges[0]) / 2
        self.tp_bars = pg.BarGraphItem(x0=edges[:-1], width=width * 0.95, height=hist["tp"], brush=TP_COLOR)
        self.fp_bars = pg.BarGraphItem(
            x0=edges[:-1] + width, width=width * 0.95, height=hist["fp"], brush=FP_COLOR
        )
        self.addItem(self.tp_bars)
        self.addItem(self.fp_bars)
        self.legend.addItem(self.tp_bars, "true positives")
        self.legend.addItem(self.fp_bars, "false positives")
        self.addItem(self.line)
        self.setXRange(0, 1, padding=0.02)
        top = float(max(hist["tp"].max(initial=0), hist["fp"].max(initial=0)))
        _count_range(self, top)
        self.empty.show_message(None if top > 0 else "No data: no detections on the reviewed frames.")

    def set_conf(self, conf: float) -> None:
        self.line.setValue(conf)


class TimelinePlot(CountPlot):
    """True positives, false positives and misses per reviewed frame, against video time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Along the video", color="#222", size="10pt")
        self.setLabel("bottom", "time (s)")
        self.setLabel("left", "boxes per frame")
        self.getAxis("bottom").enableAutoSIPrefix(False)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setMouseEnabled(x=True, y=False)
        self.setDownsampling(auto=True, mode="peak")
        self.setClipToView(True)
        self.legend = legend_below(self.getPlotItem())
        self.tp = self.plot([], [], pen=pg.mkPen(TP_COLOR, width=1.5))
        self.fp = self.plot([], [], pen=pg.mkPen(FP_COLOR, width=1.5))
        self.fn = self.plot([], [], pen=pg.mkPen(FN_COLOR, width=1.5))
        for curve, name in ((self.tp, "detected (TP)"), (self.fp, "false (FP)"), (self.fn, "missed (FN)")):
            self.legend.addItem(curve, name)
        self.times = np.zeros(0)

    def set_times(self, times: np.ndarray) -> None:
        self.times = np.asarray(times, dtype=float)

    def set_line(self, line: dict[str, np.ndarray]) -> None:
        for key in ("tp", "fp", "fn"):
            getattr(self, key).setData(self.times, line[key].astype(float))
        top = max((float(line[key].max(initial=0)) for key in ("tp", "fp", "fn")), default=0.0)
        _count_range(self, top)
        if not len(self.times):
            self.setXRange(0, 1, padding=0)
        self.empty.show_message(None if len(self.times) else "No data: no reviewed frames in this video.")


class ConfusionPlot(pg.PlotWidget):
    """The confusion matrix as a heat map with counts; rows truth, columns prediction."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background="w")
        self.setTitle("Confusion (truth ↓, predicted →)", color="#222", size="10pt")
        self.setMouseEnabled(x=False, y=False)
        self.getViewBox().invertY(True)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("CET-L18"))
        self.addItem(self.image)
        self.labels: list[pg.TextItem] = []
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.names: list[str] = []
        self.empty = EmptyMessage(self)

    def set_matrix(self, names: list[str], matrix: np.ndarray) -> None:
        used = [i for i in range(len(names)) if matrix[i].any() or matrix[:, i].any()]
        self.names = [names[i] for i in used]
        self.matrix = matrix[np.ix_(used, used)]
        n = len(used)
        if len(self.labels) != n * n:  # the cell texts are kept while the classes stay the same
            for item in self.labels:
                self.removeItem(item)
            self.labels = []
            for i in range(n):
                for j in range(n):
                    text = pg.TextItem("", anchor=(0.5, 0.5))
                    text.setPos(j + 0.5, i + 0.5)
                    self.addItem(text)
                    self.labels.append(text)
        self.empty.show_message(None if n else "No data: no boxes or detections on the reviewed frames.")
        for axis in ("bottom", "left"):
            self.getAxis(axis).setStyle(showValues=n > 0)
        if n == 0:
            self.image.clear()
            self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            return
        shown = np.log1p(self.matrix.astype(float))
        self.image.setImage(shown.T, levels=(0, max(float(shown.max()), 1.0)))
        self.image.setRect(0, 0, n, n)
        peak = max(float(shown.max()), 1.0)
        for i in range(n):
            for j in range(n):
                self.labels[i * n + j].setText(
                    str(int(self.matrix[i, j])), color="#fff" if shown[i, j] > 0.6 * peak else "#000"
                )
        ticks = [[(k + 0.5, name) for k, name in enumerate(self.names)]]
        self.getAxis("bottom").setTicks(ticks)
        self.getAxis("left").setTicks(ticks)
        self.setRange(xRange=(0, n), yRange=(0, n), padding=0)
