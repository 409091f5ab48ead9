"""Campaign charts (pyqtgraph): grouped bars with 95 % interval whiskers, and precision–recall
curves of campaigns overlaid.

:class:`ScoreCharts` shows one scored campaign: its pooled metrics with their bootstrap intervals,
or one breakdown (per class, per camera field, per condition tag). Each has its own intervals
where it has two or more videos.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from vru_desktop.campaigns.scoring import SLICE_FIELDS
from vru_desktop.ui.plotting import EmptyMessage, legend_below

#: Bar colours of the series (base, new; or one colour per metric of a breakdown).
SERIES_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
#: What a breakdown's bars show, with the key of the per-class result where it differs.
BREAKDOWN_METRICS = ("recall", "precision", "f1", "ap50")
POOLED_METRICS = ("recall", "precision", "f1", "ap", "ap50", "mr")
#: How a metric is named under its bars.
LABELS = {"f1": "F1", "ap": "AP", "ap50": "AP50", "mr": "MR⁻²"}
POOLED = "pooled (95 % intervals)"
PER_CLASS = "per class"
PER_TAG = "per condition tag"


class MetricBars(pg.PlotWidget):
    """Groups of bars (one group per label, one bar per series) with optional interval whiskers."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background="w")
        self.setObjectName("metricBars")
        self.setTitle(title, color="#222", size="10pt")
        self.showGrid(y=True, alpha=0.2)
        self.setMouseEnabled(x=False, y=False)
        self.legend = legend_below(self.getPlotItem(), columns=4)
        self.empty = EmptyMessage(self)
        self.bars: list[pg.BarGraphItem] = []

    def set_groups(
        self,
        labels: list[str],
        series: list[tuple[str, list[float | None], list[tuple[float | None, float | None]] | None]],
        *,
        colours: list[list[str]] | None = None,
        zero_line: bool = False,
    ) -> None:
        """``series``: (name, one value per label, optional (low, high) per label). ``colours``: a
        colour per bar of each series instead of the series' colour."""
        self.clear()
        self.legend.clear()
        self.bars = []
        width = 0.8 / max(len(series), 1)
        for s, (name, heights, whiskers) in enumerate(series):
            x = np.arange(len(labels)) - 0.4 + width * (s + 0.5)
            y = np.array([np.nan if v is None else v for v in heights], dtype=float)
            shown = ~np.isnan(y)
            each = (
                {"brushes": [pg.mkBrush(c) for c, ok in zip(colours[s], shown, strict=True) if ok]}
                if colours
                else {}
            )
            bar = pg.BarGraphItem(
                x=x[shown],
                height=y[shown],
                width=width * 0.9,
                brush=pg.mkBrush(SERIES_COLOURS[s % len(SERIES_COLOURS)]),  # also the legend's swatch
                pen=pg.mkPen("#333", width=0.5),
                name=name,
                **each,
            )
            self.addItem(bar)
            self.bars.append(bar)
            if len(series) > 1:
                self.legend.addItem(bar, name)
            if whiskers is not None:
                low = np.array([np.nan if w[0] is None else w[0] for w in whiskers], dtype=float)
                high = np.array([np.nan if w[1] is None else w[1] for w in whiskers], dtype=float)
                ok = shown & ~np.isnan(low) & ~np.isnan(high)
                self.addItem(
                    pg.ErrorBarItem(
                        x=x[ok],
                        y=y[ok],
                        top=high[ok] - y[ok],
                        bottom=y[ok] - low[ok],
                        beam=width * 0.4,
                        pen=pg.mkPen("#000", width=1.5),
                    )
                )
        if zero_line:
            self.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#666")))
        self.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.setXRange(-0.6, len(labels) - 0.4, padding=0)
        self.enableAutoRange(axis="y")
        self.empty.show_message(None if labels and series else "Nothing scored yet.")


class PrecisionRecallOverlay(pg.PlotWidget):
    """The pooled precision–recall curve of each campaign, with a dot at its confidence threshold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background="w")
        self.setObjectName("campaignPrCurves")
        self.setTitle("Pooled precision–recall (IoU 0.5)", color="#222", size="10pt")
        self.setLabel("bottom", "recall")
        self.setLabel("left", "precision")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.legend = legend_below(self.getPlotItem(), columns=2)
        self.empty = EmptyMessage(self)
        self.curves: dict[str, dict[str, list[float]]] = {}

    def set_curves(self, curves: dict[str, dict[str, list[float]]], thresholds: dict[str, float]) -> None:
        self.clear()
        self.legend.clear()
        self.curves = {name: c for name, c in curves.items() if c["recall"]}
        for i, (name, curve) in enumerate(self.curves.items()):
            colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            line = self.plot(curve["recall"], curve["precision"], pen=pg.mkPen(colour, width=2))
            self.legend.addItem(line, name)
            n = int(np.count_nonzero(np.array(curve["score"]) >= thresholds.get(name, 0.0)))
            if n:
                self.plot(
                    [curve["recall"][n - 1]],
                    [curve["precision"][n - 1]],
                    pen=None,
                    symbol="o",
                    symbolBrush=colour,
                    symbolPen="#000",
                )
        self.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        self.empty.show_message(None if self.curves else "No curve: neither campaign has scored videos.")


class ScoreCharts(QWidget):
    """One scored campaign: pooled metrics with intervals, or a breakdown chosen in the combo box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: dict[str, Any] | None = None
        self.view = QComboBox()
        self.view.setObjectName("campaignChartView")
        self.view.addItems(
            [POOLED, PER_CLASS, *(f"per {f.replace('_', ' ')}" for f in SLICE_FIELDS), PER_TAG]
        )
        self.view.currentIndexChanged.connect(self.redraw)
        self.bars = MetricBars("Pooled metrics")
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        row.addWidget(self.view, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.bars, 1)
        self.redraw()

    def set_result(self, result: dict[str, Any] | None) -> None:
        """The primary protocol's result of ``score_campaign`` (``None``: nothing scored)."""
        self.result = result
        self.redraw()

    def breakdown(self) -> dict[str, dict[str, Any]]:
        """The chosen breakdown's groups (value → metrics); empty for the pooled view."""
        if self.result is None:
            return {}
        index = self.view.currentIndex()
        if index == 1:
            return {
                name: row | {"ap50": row.get("AP50")}
                for name, row in self.result.get("per_class", {}).items()
            }
        slices = self.result.get("slices", {})
        if index == len(SLICE_FIELDS) + 2:
            return slices.get("tag", {})
        return slices.get(SLICE_FIELDS[index - 2], {}) if index >= 2 else {}

    def redraw(self) -> None:
        result = self.result
        if result is None or not result.get("metrics"):
            self.bars.setTitle("Pooled metrics", color="#222", size="10pt")
            self.bars.set_groups([], [])
            return
        if self.view.currentIndex() == 0:
            metrics, ci = result["metrics"], result.get("intervals") or {}
            self.bars.setTitle(
                "Pooled over all videos, 95 % bootstrap interval (MR⁻²: lower is better)",
                color="#222",
                size="10pt",
            )
            self.bars.set_groups(
                [LABELS.get(m, m) for m in POOLED_METRICS],
                [
                    (
                        "pooled",
                        [metrics.get(m) for m in POOLED_METRICS],
                        [_whisker(ci, m) for m in POOLED_METRICS],
                    )
                ],
            )
            return
        groups = self.breakdown()
        with_intervals = any(row.get("intervals") for row in groups.values())
        note = "95 % bootstrap interval over videos" if with_intervals else "no intervals"
        self.bars.setTitle(f"{self.view.currentText().capitalize()} ({note})", color="#222", size="10pt")
        labels = [str(value) or "(empty)" for value in groups]
        self.bars.set_groups(
            labels if groups else [],
            [
                (
                    LABELS.get(m, m),
                    [row.get(m) for row in groups.values()],
                    [_whisker(row.get("intervals") or {}, m) for row in groups.values()]
                    if with_intervals
                    else None,
                )
                for m in BREAKDOWN_METRICS
            ]
            if groups
            else [],
        )


def _whisker(intervals: dict[str, Any], metric: str) -> tuple[float | None, float | None]:
    """(low, high) of one metric's interval; (None, None) where it has none."""
    found = intervals.get(metric) or {}
    return found.get("low"), found.get("high")
