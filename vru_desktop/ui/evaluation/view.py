"""The test-session view: a run's metrics against ground truth, plots, the error browser, comparison.

The run is evaluated off the UI thread and matched once per IoU threshold
(:class:`~vru_desktop.evaluation.metrics.OperatingPoints`); the confidence slider then recomputes
tables, plots and the error list from the stored detections with no re-matching and no
re-inference. Clicking an error emits :attr:`EvaluationView.openRequested`
``(video_id, frame, {"box": …, "label": …})``; the workspace forwards it to the window's
``openVideoRequested``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.detection.runs import list_runs
from vru_desktop.errors import VruError
from vru_desktop.evaluation.metrics import ThresholdMetrics
from vru_desktop.evaluation.report import report_events, write_report
from vru_desktop.evaluation.run import RunEvaluation, evaluate_run
from vru_desktop.evaluation.statistics import compute_statistics, get_statistics, link_detection_events
from vru_desktop.evaluation.tracks import summarize_tracks
from vru_desktop.jobs.operations import Operations
from vru_desktop.store.db import Database
from vru_desktop.store.models import RunStatus
from vru_desktop.ui.evaluation.compare_panel import ComparePanel
from vru_desktop.ui.evaluation.errors import ErrorBrowser
from vru_desktop.ui.evaluation.plots import (
    ConfidenceHistogram,
    ConfusionPlot,
    PrecisionRecallPlot,
    TimelinePlot,
)
from vru_desktop.ui.evaluation.protocol_menu import ProtocolMenu
from vru_desktop.ui.evaluation.tag_choice import TagChoice

SLIDER_STEPS = 100


def _f(value: float | None) -> str:
    return "–" if value is None or value < 0 else f"{value:.3f}"


class EvaluationView(QWidget):
    """Pick a run; see its metrics, plots, errors; move the confidence; compare with another run."""

    openRequested = Signal(int, int, object)
    #: A run's evaluation is shown (argument: the run id).
    loaded = Signal(int)
    #: After the threshold changed and everything was redrawn (argument: the confidence).
    updated = Signal(float)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluationView")
        self.db = db
        self.result: RunEvaluation | None = None
        self.metrics: ThresholdMetrics | None = None
        self._times = np.zeros(0)
        self._run_summary: list[str] = []
        self._ops = Operations(self)
        self._note = ""
        self._build()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.statistics_label = QLabel()
        self.statistics_label.setWordWrap(True)
        self.run_combo = QComboBox()
        self.run_combo.setMinimumWidth(320)
        self.run_combo.currentIndexChanged.connect(self._run_chosen)
        self.tag_combo = TagChoice(self.db)
        self.tag_combo.currentIndexChanged.connect(self._run_chosen)
        self.iou_spin = QDoubleSpinBox()
        self.iou_spin.setRange(0.05, 0.95)
        self.iou_spin.setSingleStep(0.05)
        self.iou_spin.setValue(0.5)
        self.iou_spin.setToolTip("IoU a detection needs with a ground-truth box to match it")
        self.iou_spin.editingFinished.connect(self._iou_changed)
        self.conf_slider = QSlider(Qt.Orientation.Horizontal)
        self.conf_slider.setRange(0, SLIDER_STEPS)
        self.conf_slider.setMinimumWidth(220)
        self.conf_slider.setToolTip("Confidence threshold: recomputed from the stored detections")
        self.conf_slider.valueChanged.connect(lambda v: self.set_conf(v / SLIDER_STEPS))
        self.conf_label = QLabel("conf ≥ 0.25")
        self.recalc_button = QPushButton("Recalculate")
        self.recalc_button.setToolTip("Link detections to matching annotations and recompute the statistics")
        self.recalc_button.clicked.connect(self.recalculate)
        self.report_button = QPushButton("Report…")
        self.report_button.clicked.connect(self.export_report)
        self.protocol_button = QToolButton()
        self.protocol_button.setText("Protocols")
        self.protocol_button.setToolTip("Log-average miss rate under pedestrian-detection protocols")
        self.protocol_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.protocol_menu = ProtocolMenu(self.db, self.protocol_button)
        self.protocol_menu.changed.connect(self._protocols_changed)
        self.protocol_menu.failed.connect(self.statistics_label.setText)
        self.protocol_button.setMenu(self.protocol_menu)

        top = QHBoxLayout()
        labelled = (("Run", self.run_combo), ("Tag", self.tag_combo), ("IoU", self.iou_spin))
        for label, widget in labelled:
            top.addWidget(QLabel(label))
            top.addWidget(widget)
        top.addWidget(QLabel("Confidence"))
        top.addWidget(self.conf_slider, 1)
        for widget in (self.conf_label, self.protocol_button, self.recalc_button, self.report_button):
            top.addWidget(widget)

        self.summary = QLabel("Choose a detection run.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(["Class", "TP", "FP", "FN", "Precision", "Recall", "F1"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 2)
        left_layout.addWidget(self.summary, 3)
        left_layout.addWidget(self.statistics_label, 1)

        self.pr_plot = PrecisionRecallPlot()
        self.histogram = ConfidenceHistogram()
        self.timeline = TimelinePlot()
        self.confusion = ConfusionPlot()
        plots = QWidget()
        grid = QGridLayout(plots)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.pr_plot, 0, 0)
        grid.addWidget(self.histogram, 0, 1)
        grid.addWidget(self.timeline, 1, 0)
        grid.addWidget(self.confusion, 1, 1)

        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(left)
        upper.addWidget(plots)
        upper.setStretchFactor(0, 2)
        upper.setStretchFactor(1, 5)
        upper.setSizes([430, 1100])

        self.errors = ErrorBrowser()
        self.errors.openRequested.connect(self.openRequested)
        self.compare = ComparePanel(self.db)
        self.compare.openRequested.connect(self.openRequested)

        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.addTab(self.errors, "Errors")
        self.bottom_tabs.addTab(self.compare, "Compare runs")

        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(upper)
        body.addWidget(self.bottom_tabs)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        body.setSizes([600, 330])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(body, 1)
        self._set_enabled(False)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.iou_spin,
            self.conf_slider,
            self.recalc_button,
            self.report_button,
            self.compare.compare_combo,
        ):
            widget.setEnabled(enabled)

    # -- runs -------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Fill the run list (runs that produced detections), keeping the current choice."""
        current = self.current_run_id()
        rows = [r for r in list_runs(self.db) if r.status != RunStatus.CREATED]
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        self.run_combo.addItem("(choose a run)", None)
        self.tag_combo.set_runs(rows)
        for r in rows:
            self.run_combo.addItem(f"#{r.id}  {r.video_name}  —  {r.model_name}  ({r.status})", r.id)
        index = self.run_combo.findData(current)
        self.run_combo.setCurrentIndex(max(index, 0))
        self.run_combo.blockSignals(False)

    def current_run_id(self) -> int | None:
        return self.run_combo.currentData()

    def show_run(self, run_id: int) -> None:
        """Select and evaluate ``run_id``."""
        if self.run_combo.findData(run_id) < 0:
            self.refresh_runs()
        index = self.run_combo.findData(run_id)
        if index == self.run_combo.currentIndex():
            self.load(run_id)
        else:
            self.run_combo.setCurrentIndex(index)

    def _run_chosen(self) -> None:
        run_id = self.current_run_id()
        self.tag_combo.fill(run_id)
        if run_id is not None:
            self.load(run_id)

    def _protocols_changed(self) -> None:
        """Re-evaluate the run shown with the protocols now chosen."""
        if self.result is not None:
            self.load(self.result.data.session_id, conf=self.conf_slider.value() / SLIDER_STEPS)

    def _iou_changed(self) -> None:
        if self.result is not None and abs(self.iou_spin.value() - self.result.iou) > 1e-9:
            self.load(self.result.data.session_id, conf=self.conf_slider.value() / SLIDER_STEPS)

    def load(self, run_id: int, *, conf: float | None = None) -> None:
        """Evaluate ``run_id`` at the chosen IoU in the background (matching once), then show it at
        ``conf``. Only the newest request's result is shown; :attr:`loaded` follows."""
        db, iou, tag = self.db, round(self.iou_spin.value(), 4), self.tag_combo.current()

        protocols = self.protocol_menu.selected()

        def work(_task: object) -> RunEvaluation:
            result = evaluate_run(db, run_id, iou=iou, conf=conf, protocols=protocols, tag=tag)
            # the matching happens here, off the UI thread
            _ = result.points, result.coco, result.tracks, result.tracking, result.protocol_results
            return result

        self.summary.setText(f"Evaluating run {run_id} …")
        self._ops.run(
            work,
            on_success=self._loaded,
            on_failure=lambda message: self._load_failed(run_id, message),
            newest="evaluate",
        )

    def _load_failed(self, run_id: int, message: str) -> None:
        self.result = self.errors.video_id = None
        self.compare.set_run(None)
        self.summary.setText(f"<b>Cannot evaluate run {run_id}:</b> {message}")
        self._set_enabled(False)

    def busy(self) -> bool:
        return self._ops.busy()

    def _loaded(self, result: RunEvaluation) -> None:
        self.result = result
        self._times = result.data.frame_times if len(result.data.frame_times) else np.zeros(0)
        self.pr_plot.set_points(result.points)
        self.histogram.set_points(result.points)
        self.timeline.set_times(result.data.time_of(result.data.reviewed_frames))
        self._summarize_run()
        self.compare.set_run(result)
        self._show_statistics()
        if self._note:
            self.statistics_label.setText(f"{self.statistics_label.text()} ({self._note}.)")
            self._note = ""
        self._set_enabled(True)
        self.conf_slider.blockSignals(True)
        self.conf_slider.setValue(round(result.conf * SLIDER_STEPS))
        self.conf_slider.blockSignals(False)
        self.set_conf(result.conf)
        self.loaded.emit(result.data.session_id)

    # -- the threshold ----------------------------------------------------------------------------
    def set_conf(self, conf: float) -> None:
        """Recompute everything shown at confidence ``conf`` from the precomputed matching."""
        if self.result is None:
            return
        points = self.result.points
        self.metrics = points.at(conf)
        self.conf_label.setText(f"conf ≥ {conf:.2f}")
        self._fill_table(self.metrics)
        self.pr_plot.set_conf(conf)
        self.histogram.set_conf(conf)
        self.timeline.set_line(points.timeline(conf))
        self.confusion.set_matrix(self.metrics.confusion_labels, self.metrics.confusion)
        data = self.result.data
        self.errors.set_errors(data.video_id, points.errors(conf), data.classes, self._frame_times())
        self._show_summary(conf)
        self.compare.set_conf(self.conf_slider.value() / SLIDER_STEPS)
        self.updated.emit(conf)

    def _frame_times(self) -> np.ndarray:
        if len(self._times):
            return self._times
        assert self.result is not None
        frames = np.arange(max(int(self.result.data.video.get("frame_count") or 0), 1))
        return self.result.data.time_of(frames)

    def _fill_table(self, m: ThresholdMetrics) -> None:
        rows = [*m.per_class.items(), ("overall", m.overall)]
        self.table.setRowCount(len(rows))
        for r, (name, c) in enumerate(rows):
            values = [name, c.tp, c.fp, c.fn, _f(c.precision), _f(c.recall), _f(c.f1)]
            for col, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if name == "overall":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, col, item)

    def _summarize_run(self) -> None:
        """The threshold-free part of the summary (COCO, miss rates, tracks), computed once per load."""
        assert self.result is not None
        r = self.result
        stats = r.coco.stats_dict()
        lamr = r.miss_rates()
        tracks = summarize_tracks(r.tracks)
        best_conf, best_f1 = r.points.best_f1()
        lines = [
            f"<b>COCO</b>: AP {_f(stats['AP'])}, AP50 {_f(stats['AP50'])}, AP75 {_f(stats['AP75'])}, "
            f"AR100 {_f(stats['AR100'])}. Best F1 {best_f1:.3f} at conf {best_conf:.2f}.",
            "<b>Log-average miss rate</b>: " + ", ".join(f"{k} {_f(v)}" for k, v in lamr.items()) + ".",
        ]
        if r.protocol_results:
            lines.append(
                "<b>Log-average miss rate by protocol</b>: "
                + ", ".join(
                    f"{p.protocol.title or p.protocol.name} "
                    + ("–" if p.log_average_miss_rate is None else f"{100 * p.log_average_miss_rate:.2f} %")
                    for p in r.protocol_results
                )
                + "."
            )
        if tracks["tracks"]:
            lines.append(
                f"<b>Tracks</b> (at {r.conf:.2f}): {tracks['tracks']}, "
                f"never detected {tracks['never_detected']}, "
                f"mean time to first detection {_f(tracks['mean_time_to_first_detection'])} s, "
                f"longest miss streak {tracks['max_miss_streak']} frames, "
                f"mean time to stable detection {_f(tracks['mean_time_to_stable_detection'])} s, "
                f"mean longest gap {_f(tracks['mean_longest_gap_s'])} s."
            )
        if r.tracking is not None:
            h, c, i = r.tracking.hota, r.tracking.clear, r.tracking.identity
            lines.append(
                f"<b>Tracking</b> (at {r.conf:.2f}): HOTA {h['HOTA']:.3f} (DetA {h['DetA']:.3f}, "
                f"AssA {h['AssA']:.3f}), MOTA {c['MOTA']:.3f}, IDF1 {i['IDF1']:.3f}, "
                f"ID switches {c['IDSW']}, fragmentations {c['Frag']}."
            )
        self._run_summary = lines

    def _show_summary(self, conf: float) -> None:
        assert self.result is not None and self.metrics is not None
        r, d = self.result, self.result.data
        errors = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.metrics.error_counts.items())
        lines = [
            f"<b>{d.video['filename']}</b> — {d.n_frames} reviewed frames, "
            f"{int(r.points.n_pos.sum())} ground-truth boxes, {len(d.dt)} detections evaluated "
            f"(of {d.total_detections}).",
            f"<b>Errors</b> at {conf:.2f}: {errors}.",
            *self._run_summary,
        ]
        self.summary.setText("<br>".join(lines))

    def _show_statistics(self) -> None:
        assert self.result is not None
        try:
            stats = get_statistics(self.db, self.result.data.session_id)
        except VruError as exc:
            self.statistics_label.setText(str(exc))
            return
        accuracy = "–" if stats.detection_accuracy is None else f"{stats.detection_accuracy:.3f}"
        self.statistics_label.setText(
            f"Session statistics: {stats.total_detections} detections, {stats.total_annotations} "
            f"ground-truth boxes, accuracy (F1) {accuracy}, {stats.processing_time_seconds:.1f} s "
            f"({stats.frames_per_second:.1f} frames/s)."
        )

    # -- actions ----------------------------------------------------------------------------------
    def recalculate(self) -> None:
        if self.result is None:
            return
        run_id, db = self.result.data.session_id, self.db

        def work(_task: object) -> str:
            link = link_detection_events(db, run_id)
            compute_statistics(db, run_id)
            return link.line()

        self.recalc_button.setEnabled(False)
        self._ops.run(
            work,
            on_success=lambda note: self._recalculated(run_id, note),
            on_failure=self._recalculate_failed,
            newest="recalculate",
        )

    def _recalculated(self, run_id: int, note: str) -> None:
        self._note = note
        self.load(run_id, conf=self.conf_slider.value() / SLIDER_STEPS)

    def _recalculate_failed(self, message: str) -> None:
        self.recalc_button.setEnabled(self.result is not None)
        QMessageBox.warning(self, "Recalculate", message)

    def export_report(self, path: str | None = None) -> None:
        if self.result is None:
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Save validation report",
                f"run-{self.result.data.session_id}-report.html",
                "HTML (*.html)",
            )
            if not path:
                return
        result, conf, db, out = self.result, self.conf_slider.value() / SLIDER_STEPS, self.db, path

        def work(_task: object) -> Path:
            events = report_events(db, result)
            try:
                return write_report(result.with_conf(conf), out, events)
            except OSError as exc:
                raise VruError(str(exc)) from exc

        self._ops.run(
            work,
            on_success=lambda written: self.statistics_label.setText(f"Report written to {written}."),
            on_failure=lambda message: QMessageBox.warning(self, "Report", message),
            newest="report",
        )
