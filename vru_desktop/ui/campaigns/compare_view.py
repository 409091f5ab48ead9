"""Comparing two campaigns in the window: every metric with base, new, delta and the delta's 95 %
interval (better, worse, or inconclusive when the interval spans 0), the deltas and both pooled
precision–recall curves as charts, the videos that got better or worse, the tracks one campaign
finds and the other misses, and the false positives the new campaign adds. Clicking a video, track
or false positive opens the viewer there (``openRequested``, the window's ``openVideoRequested``).

The comparison runs off the UI thread (newest request only).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.campaigns.bootstrap import INTERVAL_METRICS
from vru_desktop.campaigns.compare import compare_campaigns
from vru_desktop.campaigns.curves import pooled_pr_curve
from vru_desktop.campaigns.definition import get_campaign
from vru_desktop.campaigns.requirements import METRICS
from vru_desktop.jobs.operations import Operations
from vru_desktop.store.db import Database
from vru_desktop.ui.campaigns.charts import LABELS, MetricBars, PrecisionRecallOverlay
from vru_desktop.ui.campaigns.tables import fill_table, make_table, row_data

VERDICT_COLOURS = {"better": "#1b7f3b", "worse": "#b3261e", "inconclusive": "#7a7a7a"}


def verdict(metric: str, interval: dict[str, Any] | None) -> str | None:
    """``better`` / ``worse`` when the delta's interval lies on one side of 0 (by whether higher is
    better for ``metric``), ``inconclusive`` when it spans 0; ``None`` without an interval."""
    if not interval or interval.get("low") is None or interval.get("high") is None:
        return None
    higher_better = METRICS.get(metric, ("", True))[1]
    if interval["low"] > 0:
        return "better" if higher_better else "worse"
    if interval["high"] < 0:
        return "worse" if higher_better else "better"
    return "inconclusive"


def compute_comparison(db: Database, base: str, new: str) -> dict[str, Any]:
    """:func:`compare_campaigns` plus both pooled curves, thresholds and each video's library id."""
    infos = {name: get_campaign(db, name) for name in (base, new)}
    return {
        "comparison": compare_campaigns(db, base, new),
        "curves": {name: pooled_pr_curve(db, name) for name in (base, new)},
        "thresholds": {name: float(info.config.get("conf", 0.25)) for name, info in infos.items()},
        "video_ids": {
            v.fingerprint: v.video_id
            for info in infos.values()
            for v in info.videos
            if v.video_id is not None
        },
    }


class CampaignComparison(QWidget):
    """Base and new campaign chosen in combo boxes; the comparison's tables and charts."""

    openRequested = Signal(int, int, object)
    message = Signal(str)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("campaignComparison")
        self.db = db
        self.result: dict[str, Any] | None = None
        self._ops = Operations(self)
        self.base_combo = QComboBox()
        self.base_combo.setObjectName("compareBase")
        self.new_combo = QComboBox()
        self.new_combo.setObjectName("compareNew")
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.compare)
        controls = QHBoxLayout()
        for widget in (QLabel("Base"), self.base_combo, QLabel("New"), self.new_combo, self.compare_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        self.summary = QLabel("Choose a base and a new campaign, then Compare.")
        self.summary.setWordWrap(True)

        self.metrics = make_table("compareMetrics")
        self.delta_chart = MetricBars("Delta new − base, 95 % interval")
        self.pr_chart = PrecisionRecallOverlay()
        charts = QSplitter()
        charts.addWidget(self.delta_chart)
        charts.addWidget(self.pr_chart)
        overview = QSplitter()
        overview.addWidget(self.metrics)
        overview.addWidget(charts)
        overview.setStretchFactor(1, 2)
        self.videos = make_table("compareVideos")
        self.tracks = make_table("compareTracks")
        self.false_positives = make_table("compareFalsePositives")
        for table in (self.videos, self.tracks, self.false_positives):
            table.cellClicked.connect(lambda row, _column, table=table: self._open(table, row))
        self.pages = QTabWidget()
        self.pages.setObjectName("comparePages")
        self.pages.addTab(overview, "Metrics")
        self.pages.addTab(self.videos, "Videos")
        self.pages.addTab(self.tracks, "Missed tracks")
        self.pages.addTab(self.false_positives, "Added false positives")
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.pages, 1)
        self._show()

    def set_campaigns(self, names: list[str]) -> None:
        """The campaigns to choose from (keeping the choices that still exist)."""
        for combo in (self.base_combo, self.new_combo):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            combo.setCurrentIndex(max(0, names.index(current) if current in names else 0))
            combo.blockSignals(False)
        if self.new_combo.currentText() == self.base_combo.currentText() and len(names) > 1:
            self.new_combo.setCurrentIndex(1 if self.base_combo.currentIndex() == 0 else 0)

    def set_pair(self, base: str, new: str | None = None) -> None:
        self.base_combo.setCurrentText(base)
        if new is not None:
            self.new_combo.setCurrentText(new)

    def compare(self) -> None:
        base, new = self.base_combo.currentText(), self.new_combo.currentText()
        if not base or not new:
            return
        if base == new:
            self.summary.setText("Choose two different campaigns.")
            return
        db = self.db
        self.summary.setText(f"Comparing {new} with {base}…")
        self._ops.run(
            lambda _task: compute_comparison(db, base, new),
            on_success=self._compared,
            on_failure=self.summary.setText,
            newest="compare",
        )

    def _compared(self, result: dict[str, Any]) -> None:
        self.result = result
        self._show()
        comparison = result["comparison"]
        self.message.emit(f"Compared {comparison['new']} with {comparison['base']}.")

    # -- showing --------------------------------------------------------------------------------
    def _show(self) -> None:
        result = self.result
        comparison = result["comparison"] if result is not None else None
        if comparison is None:
            for table in (self.metrics, self.videos, self.tracks, self.false_positives):
                fill_table(table, [], [])
            self.delta_chart.set_groups([], [])
            self.pr_chart.set_curves({}, {})
            return
        self._show_metrics(comparison)
        self.pr_chart.set_curves(result["curves"], result["thresholds"])
        ids = result["video_ids"]
        better, worse = comparison["videos_better"], comparison["videos_worse"]
        self.summary.setText(
            f"<b>{comparison['new']}</b> against <b>{comparison['base']}</b>: {len(better)} videos better, "
            f"{len(worse)} worse by F1, {len(comparison['videos_unchanged'])} unchanged · "
            + ("paired resamples (same videos)" if comparison["paired"] else "different videos, unpaired")
            + f" · {comparison['bootstrap']['resamples']} resamples · click a row to open it in the viewer"
        )
        fill_table(
            self.videos,
            ["", "video", "F1 base", "F1 new", "recall base", "recall new"],
            [
                [kind, v["filename"], *(v[m][side] for m in ("f1", "recall") for side in ("base", "new"))]
                for kind, rows in (("better", better), ("worse", worse))
                for v in rows
            ],
            [(ids.get(v["fingerprint"]), 0, None) for rows in (better, worse) for v in rows],
        )
        for r in range(self.videos.rowCount()):
            self._colour(self.videos, r, 0, self.videos.item(r, 0).text())
        self._show_tracks(comparison.get("tracks"))
        self._show_false_positives(comparison.get("false_positives_added"))

    def _show_metrics(self, comparison: dict[str, Any]) -> None:
        rows, verdicts = [], []
        for name, m in comparison["metrics"].items():
            interval = m.get("delta_interval") or {}
            verdicts.append(verdict(name, interval))
            low, high = interval.get("low"), interval.get("high")
            rows.append([name, m["base"], m["new"], m["delta"], low, high, verdicts[-1] or ""])
        fill_table(self.metrics, ["metric", "base", "new", "delta", "low", "high", "verdict"], rows)
        self.metrics.setMinimumWidth(self.metrics.horizontalHeader().length() + 24)
        for r, kind in enumerate(verdicts):
            if kind is not None:
                for column in (3, 4, 5, 6):
                    self._colour(self.metrics, r, column, kind)
        shown = [n for n in INTERVAL_METRICS if n in comparison["metrics"]]
        metrics = comparison["metrics"]
        intervals = [metrics[n].get("delta_interval") or {} for n in shown]
        self.delta_chart.set_groups(
            [LABELS.get(n, n) for n in shown],
            [
                (
                    "delta",
                    [metrics[n]["delta"] for n in shown],
                    [(i.get("low"), i.get("high")) for i in intervals],
                )
            ],
            colours=[
                [
                    VERDICT_COLOURS[verdict(n, i) or "inconclusive"]
                    for n, i in zip(shown, intervals, strict=True)
                ]
            ],
            zero_line=True,
        )

    def _show_tracks(self, tracks: dict[str, list[dict[str, Any]]] | None) -> None:
        self._page_visible(self.tracks, tracks is not None)
        items = [
            (who, t)
            for who, key in (("missed by new", "missed_by_new"), ("missed by base", "missed_by_base"))
            for t in (tracks or {}).get(key, [])
        ]
        fill_table(
            self.tracks,
            ["", "video", "track", "class", "first frame", "frames"],
            [
                [who, t["filename"], t["track_id"], t["class"], t["first_frame"], t["frames"]]
                for who, t in items
            ],
            [(t["video_id"], t["first_frame"], None) for _who, t in items],
        )

    def _show_false_positives(self, added: dict[str, Any] | None) -> None:
        self._page_visible(self.false_positives, added is not None)
        items = (added or {}).get("items", [])
        if added is not None:
            self.pages.setTabText(
                self.pages.indexOf(self.false_positives), f"Added false positives ({added['count']})"
            )
        fill_table(
            self.false_positives,
            ["video", "frame", "confidence", "box x, y, w, h"],
            [[f["filename"], f["frame"], f["score"], ", ".join(f"{v:.0f}" for v in f["box"])] for f in items],
            [(f["video_id"], f["frame"], _highlight(f)) for f in items],
        )

    def _page_visible(self, page: QWidget, visible: bool) -> None:
        self.pages.setTabVisible(self.pages.indexOf(page), visible)

    @staticmethod
    def _colour(table: QTableWidget, row: int, column: int, kind: str) -> None:
        item = table.item(row, column)
        if item is not None and kind in VERDICT_COLOURS:
            item.setForeground(QColor(VERDICT_COLOURS[kind]))

    def _open(self, table: QTableWidget, row: int) -> None:
        target = row_data(table, row)
        if target is None or target[0] is None:
            self.message.emit("That video is no longer in the library.")
            return
        video_id, frame, highlight = target
        self.openRequested.emit(int(video_id), int(frame), highlight)


def _highlight(false_positive: dict[str, Any]) -> dict[str, Any]:
    x, y, w, h = false_positive["box"]
    return {"box": [x, y, x + w, y + h], "label": f"added false positive {false_positive['score']:.2f}"}
