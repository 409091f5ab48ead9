"""Plugs the Evaluation tab and the "&Evaluation" menu into the main window.

The tab follows the window's signals: new detection runs refresh its run list; changed annotations
of the shown run's video re-evaluate it (when the tab is next shown, so edits stay fast). An error
clicked in the tab opens the viewer through ``window.openVideoRequested``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QVBoxLayout, QWidget

from vru_desktop.errors import VruError
from vru_desktop.evaluation.events import evaluate_events, import_device_events
from vru_desktop.evaluation.statistics import mark_stale
from vru_desktop.ui.evaluation.view import SLIDER_STEPS, EvaluationView

if TYPE_CHECKING:
    from vru_desktop.ui.main_window import MainWindow

TAB_TITLE = "Evaluation"


class EvaluationWorkspace(QWidget):
    """The tab: the view, plus re-evaluation when the ground truth of the shown video changes."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("evaluationWorkspace")
        self.window_ = window
        self.view = EvaluationView(window.db, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view)
        self._outdated = False
        self.view.openRequested.connect(window.openVideoRequested)
        window.detectionsChanged.connect(lambda _video, _run: self._runs_changed())
        window.libraryChanged.connect(self._runs_changed)
        window.annotationsChanged.connect(self._annotations_changed)

    def _runs_changed(self) -> None:
        if self.isVisible():
            self.view.refresh_runs()
        else:
            self._outdated = True

    def _annotations_changed(self, video_id: int) -> None:
        mark_stale(self.window_.db, video_id)  # whoever changed them: cached statistics are out of date
        result = self.view.result
        if result is not None and result.data.video_id == video_id:
            self._outdated = True
            if self.isVisible():
                self.reload()

    def reload(self) -> None:
        self._outdated = False
        self.view.refresh_runs()
        if self.view.result is not None:
            self.view.load(
                self.view.result.data.session_id, conf=self.view.conf_slider.value() / SLIDER_STEPS
            )

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().showEvent(event)
        if self._outdated or self.view.run_combo.count() == 0:
            self.reload()

    def import_device_events(self) -> None:
        """Ask for an event log for the shown run's video, import it and show the event validation."""
        result = self.view.result
        if result is None:
            QMessageBox.information(self, "Device events", "Choose a run first: events belong to its video.")
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Import device event log", "", "Event logs (*.csv *.json *.txt);;All files (*)"
        )
        if not path:
            return
        try:
            count = import_device_events(self.window_.db, result.data.video_id, path)
            validation = evaluate_events(self.window_.db, result.data.video_id).to_dict()
        except VruError as exc:
            QMessageBox.warning(self, "Device events", str(exc))
            return
        latency = validation["latency_s"]
        latency_text = "–" if not latency else f"median {latency['median']:.2f} s, max {latency['max']:.2f} s"
        per_hour = validation["false_alarms_per_hour"]
        QMessageBox.information(
            self,
            "Device events",
            f"Imported {count} events.\n\nPresences: {validation['episodes']}, hit {validation['hits']} "
            f"(hit rate {_pct(validation['hit_rate'])}).\nLatency: {latency_text}.\n"
            f"False alarms: {validation['false_alarms']} ({'–' if per_hour is None else f'{per_hour:.1f}'} "
            "per hour). Tolerance 1 s.",
        )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def install(window: MainWindow) -> None:
    workspace = EvaluationWorkspace(window)
    window.evaluation = workspace
    window.add_workspace(workspace, TAB_TITLE)
    menu = window.menu("&Evaluation")

    def action(text: str, slot: object, shortcut: str | None = None, name: str = "") -> QAction:
        item = QAction(text, window)
        item.setObjectName(name)
        if shortcut:
            item.setShortcut(QKeySequence(shortcut))
        item.triggered.connect(slot)
        menu.addAction(item)
        return item

    action("&Evaluate Run", lambda: window.show_workspace(workspace), "Ctrl+Alt+E", "showEvaluation")
    action("&Recalculate Statistics", workspace.view.recalculate, None, "recalculateStatistics")
    action("Validation &Report…", lambda: workspace.view.export_report(), None, "exportReport")
    menu.addSeparator()
    action("Import &Device Events…", workspace.import_device_events, None, "importDeviceEvents")
