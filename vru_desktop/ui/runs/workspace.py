"""Detection in the window: the Runs tab, the &Detection menu, the run queue and its start-up recovery.

``install(window)`` marks runs left by a crash interrupted and offers to resume them, adds the Runs
tab and the actions (Detect Selected Videos…, Detect All Videos in This Project…, Models…), relays
each commit of a run as ``window.detectionsChanged(video_id, session_id)`` (the viewer draws the new
boxes), starts queued runs once the window is up, and on close stops running runs and queues them
again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from vru_desktop.detection.models import ensure_model_file, register_model
from vru_desktop.detection.runs import list_runs, saved_frames
from vru_desktop.errors import VruError
from vru_desktop.jobs.operations import Operations
from vru_desktop.jobs.queue import RunQueue
from vru_desktop.library.views import available_video_count
from vru_desktop.settings import log_file
from vru_desktop.store.models import RunStatus
from vru_desktop.ui.runs.config_dialog import RunConfigDialog, choose_model_file
from vru_desktop.ui.runs.models_dialog import ModelManagerDialog
from vru_desktop.ui.runs.panel import RunsPanel

if TYPE_CHECKING:
    from vru_desktop.detection.pipeline import RunConfig
    from vru_desktop.ui.main_window import MainWindow


class DetectionWorkspace(QObject):
    """Owns the run queue and the Runs panel of one window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.queue = RunQueue(window.db, window.locations, self)
        self.recovered = self.queue.recover()
        self.panel = RunsPanel(self.queue)
        self.queue.detectionsChanged.connect(window.detectionsChanged)
        self.queue.runFinished.connect(self._finished)
        self.queue.runFailed.connect(self._failed)
        self.panel.openVideo.connect(lambda video_id: window.openVideoRequested.emit(video_id, 0, None))
        self._ops = Operations(self)
        self.resume_dialog: QMessageBox | None = None
        self.detect_selected_action: QAction | None = None
        self.detect_project_action: QAction | None = None
        window.installEventFilter(self)

    # -- actions --------------------------------------------------------------------------------
    def detect_selected(self) -> None:
        video_ids = self.window.selected_video_ids()
        if not video_ids:
            QMessageBox.information(self.window, "Detect", "Select one or more videos in the Library first.")
            return
        self._ask_and_queue(video_ids=video_ids)

    def detect_project(self) -> None:
        project_id = self.window.current_project_id()
        if project_id is None:
            QMessageBox.information(self.window, "Detect", "Select a project in the Library first.")
            return
        count = available_video_count(self.window.db, project_id)
        if not count:
            QMessageBox.information(self.window, "Detect", "This project has no videos to process.")
            return
        self._ask_and_queue(project_id=project_id, count=count)

    def _ask_and_queue(
        self, *, video_ids: list[int] | None = None, project_id: int | None = None, count: int = 0
    ) -> None:
        dialog = RunConfigDialog(
            self.window.db, self.window.locations, len(video_ids) if video_ids else count, self.window
        )
        if dialog.exec() != RunConfigDialog.DialogCode.Accepted:
            return
        config = dialog.config()
        if dialog.model_id is not None:
            self.queue_runs(dialog.model_id, config, video_ids=video_ids, project_id=project_id)
        elif dialog.download_spec is not None:
            self._download_then_queue(dialog.download_spec, config, video_ids, project_id)

    def queue_runs(
        self,
        model_id: int,
        config: RunConfig,
        *,
        video_ids: list[int] | None = None,
        project_id: int | None = None,
    ) -> list[int]:
        """Queue runs for videos or a whole project and show them in the Runs tab."""
        try:
            if project_id is not None:
                ids = self.queue.enqueue_project(project_id, model_id, config)
            else:
                ids = self.queue.enqueue_videos(video_ids or [], model_id, config)
        except VruError as exc:
            QMessageBox.warning(self.window, "Detect", str(exc))
            return []
        self.window.show_workspace(self.panel)
        if not ids:
            message = "Nothing queued: those videos already have a run waiting."
            self.window.statusBar().showMessage(message, 5000)
        return ids

    def _download_then_queue(
        self, spec: str, config: RunConfig, video_ids: list[int] | None, project_id: int | None
    ) -> None:
        """Fetch the default model off the UI thread (only offered where a network exists), then queue."""
        locations, db = self.window.locations, self.window.db

        def queue(model_id: int) -> None:
            self.queue_runs(model_id, config, video_ids=video_ids, project_id=project_id)

        def failed(message: str) -> None:
            box = QMessageBox(QMessageBox.Icon.Warning, "Model not available", message, parent=self.window)
            choose = box.addButton("Choose model file…", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() is choose:
                choose_model_file(self.window, db, self._ops, queue)

        self.window.statusBar().showMessage(f"Downloading {spec}…")
        self._ops.run(
            lambda _task: register_model(db, ensure_model_file(spec, locations)).id,
            on_success=queue,
            on_failure=failed,
        )

    def manage_models(self) -> None:
        ModelManagerDialog(self.window.db, self.window.locations, self.window).exec()

    # -- notifications --------------------------------------------------------------------------
    def offer_resume(self) -> None:
        """Say which runs the last session left unfinished when it stopped, and offer to resume them."""
        rows = list_runs(self.window.db, ids=self.recovered)
        lines = [f"run {r.id} on {r.video_name}: {saved_frames(r.last_committed_frame)}" for r in rows]
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Interrupted detection runs",
            f"VRU Desktop stopped unexpectedly while {len(rows)} detection run(s) were going:\n"
            + "\n".join(lines),
            parent=self.window,
        )
        box.setObjectName("interruptedRunsDialog")
        where = log_file()
        box.setInformativeText(
            "Resume continues each run after its last saved frame; they also stay in the Runs tab."
            + (f" What happened is in the log file {where}." if where is not None else "")
        )
        resume = box.addButton("Resume", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.finished.connect(lambda _code: self._closed_resume_dialog(box.clickedButton() is resume))
        self.resume_dialog = box
        box.open()

    def _closed_resume_dialog(self, resume: bool) -> None:
        if not resume:
            return
        for session_id in self.recovered:
            try:
                self.queue.resume_run(session_id)
            except VruError as exc:  # resumed or removed from the Runs tab meanwhile
                self.window.statusBar().showMessage(str(exc), 10000)
        self.window.show_workspace(self.panel)

    def _finished(self, session_id: int, status: str) -> None:
        if status == RunStatus.COMPLETED:
            self.window.statusBar().showMessage(f"Run {session_id} completed.", 5000)
        self.window.libraryChanged.emit()

    def _failed(self, session_id: int, message: str) -> None:
        self.window.statusBar().showMessage(f"Run {session_id} failed: {message}", 15000)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.queue.shutdown()
        return False


def _add_action(window: MainWindow, text: str, shortcut: str | None, slot: Callable[[], object]) -> QAction:
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    window.menu("&Detection").addAction(action)
    return action


def install(window: MainWindow) -> None:
    workspace = DetectionWorkspace(window)
    window.detection = workspace
    window.add_workspace(workspace.panel, "Runs")
    workspace.detect_selected_action = _add_action(
        window, "&Detect Selected Videos…", "Ctrl+D", workspace.detect_selected
    )
    workspace.detect_project_action = _add_action(
        window, "Detect &All Videos in This Project…", "Ctrl+Alt+D", workspace.detect_project
    )
    window.menu("&Detection").addSeparator()
    _add_action(window, "&Models and Class Maps…", None, workspace.manage_models)
    _add_action(window, "Show &Runs", "Ctrl+Shift+R", lambda: window.show_workspace(workspace.panel))
    if workspace.recovered:
        QTimer.singleShot(0, workspace.offer_resume)
    QTimer.singleShot(0, workspace.queue.start_next)
