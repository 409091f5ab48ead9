"""The Runs workspace: every detection run with its state and live progress, and the buttons to steer it.

Above the runs: where they go (this process, or the Ray cluster with its nodes and the CPUs/GPUs in use,
asked off the UI thread every few seconds) and, when a run could not start, why the queue waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.detection.executor import LOCAL, cluster_choice, cluster_module
from vru_desktop.detection.pipeline import eta_text
from vru_desktop.detection.runs import RESUMABLE, RunRow, detection_counts, list_runs
from vru_desktop.errors import VruError
from vru_desktop.jobs.operations import Operations
from vru_desktop.jobs.queue import RunQueue
from vru_desktop.store.models import RunStatus

COLUMNS = (
    "Run",
    "Video",
    "Model",
    "State",
    "Progress",
    "Frames/s",
    "Time left",
    "Node",
    "Detections",
    "Message",
)
RUN, VIDEO, MODEL, STATE, PROGRESS, FPS, ETA, NODE, DETECTIONS, MESSAGE = range(len(COLUMNS))
#: How often the cluster line is asked again (milliseconds).
CLUSTER_REFRESH_MS = 3000
STATE_LABELS = {RunStatus.CREATED: "queued"}
STATE_COLOURS = {
    RunStatus.FAILED: "#c0392b",
    RunStatus.INTERRUPTED: "#b9770e",
    RunStatus.STOPPED: "#7f8c8d",
    RunStatus.RUNNING: "#1e8449",
}


class RunsPanel(QWidget):
    """Lists runs newest first; progress comes live from the queue's signals (no database query)."""

    openVideo = Signal(int)

    def __init__(self, queue: RunQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.rows: dict[int, RunRow] = {}
        self.items: dict[int, QTreeWidgetItem] = {}
        self.bars: dict[int, QProgressBar] = {}
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(self._open)
        for column, width in ((RUN, 50), (VIDEO, 220), (MODEL, 180), (STATE, 90), (PROGRESS, 140)):
            self.tree.setColumnWidth(column, width)
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        self.cancel_button = QPushButton("Cancel Queued")
        self.pause_button.clicked.connect(lambda: self._each(self.queue.pause, (RunStatus.RUNNING,)))
        self.resume_button.clicked.connect(self._resume)
        self.stop_button.clicked.connect(
            lambda: self._each(self.queue.stop, (RunStatus.RUNNING, RunStatus.PAUSED))
        )
        self.cancel_button.clicked.connect(lambda: self._each(self.queue.cancel, (RunStatus.CREATED,)))
        self.summary = QLabel()
        self.cluster_label = QLabel()
        self.cluster_label.setObjectName("clusterStatus")
        self.held_label = QLabel()
        self.held_label.setObjectName("queueHeld")
        self.held_label.setStyleSheet("color: #c0392b")
        self.held_label.setWordWrap(True)
        self.start_queue_button = QPushButton("Start Queue")
        self.start_queue_button.clicked.connect(lambda: self.queue.hold(False))
        held = QHBoxLayout()
        held.addWidget(self.held_label, 1)
        held.addWidget(self.start_queue_button)
        self._show_held("")
        buttons = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.stop_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.addWidget(self.cluster_label)
        layout.addLayout(held)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        queue.queueChanged.connect(self.refresh)
        queue.runStateChanged.connect(self._state_changed)
        queue.runProgress.connect(self.show_progress)
        queue.detectionsChanged.connect(self._committed)
        queue.runFinished.connect(lambda *_: self.refresh())
        queue.runPlaced.connect(self._placed)
        queue.queueHeld.connect(self._show_held)
        self._ops = Operations(self)
        self.cluster_timer = QTimer(self)
        self.cluster_timer.setInterval(CLUSTER_REFRESH_MS)
        self.cluster_timer.timeout.connect(self._poll_cluster)
        self.cluster_timer.start()
        self.refresh()
        self.refresh_cluster()

    # -- where runs go --------------------------------------------------------------------------
    def refresh_cluster(self) -> None:
        """Say where runs go; the setting and a cluster's nodes and resources are read off the UI
        thread."""
        db = self.queue.db

        def work(_task: object) -> str:
            where = cluster_choice(db)
            if where == LOCAL:
                return "Runs go in this process (detection.cluster = local)."
            try:
                return cluster_module().cluster_status(where).text()
            except VruError as exc:
                return f"Ray cluster {where}: {exc}"

        self._ops.run(
            work,
            on_success=self.cluster_label.setText,
            on_failure=self.cluster_label.setText,
            newest="cluster",
        )

    def _poll_cluster(self) -> None:
        if self.isVisible():
            self.refresh_cluster()

    def _show_held(self, message: str) -> None:
        self.held_label.setText(f"Queued runs wait: {message}" if message else "")
        self.held_label.setVisible(bool(message))
        self.start_queue_button.setVisible(bool(message))

    def _placed(self, session_id: int, where: str) -> None:
        item = self.items.get(session_id)
        if item is not None:
            item.setText(NODE, where)

    # -- content --------------------------------------------------------------------------------
    def refresh(self) -> None:
        selected = set(self.selected_ids())
        rows = list_runs(self.queue.db)
        self.rows = {r.id: r for r in rows}
        self.tree.clear()
        self.items.clear()
        self.bars.clear()
        for row in rows:
            item = QTreeWidgetItem()
            item.setData(RUN, Qt.ItemDataRole.UserRole, row.id)
            self.tree.addTopLevelItem(item)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            self.tree.setItemWidget(item, PROGRESS, bar)
            self.items[row.id] = item
            self.bars[row.id] = bar
            self._fill(item, row)
            item.setSelected(row.id in selected)
        self._update_summary()
        self._update_buttons()

    def _update_summary(self) -> None:
        """The header's counts, from the runs' states as they are now (kept current by state changes)."""
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.status] = counts.get(row.status, 0) + 1
        self.summary.setText(
            f"{counts.get(RunStatus.RUNNING, 0)} running, {counts.get(RunStatus.PAUSED, 0)} paused, "
            f"{counts.get(RunStatus.CREATED, 0)} queued, {counts.get(RunStatus.INTERRUPTED, 0)} interrupted"
        )

    def _fill(self, item: QTreeWidgetItem, row: RunRow) -> None:
        item.setText(RUN, str(row.id))
        item.setText(VIDEO, row.video_name)
        item.setText(MODEL, row.model_name)
        item.setText(STATE, STATE_LABELS.get(row.status, row.status))
        item.setForeground(STATE, QColor(STATE_COLOURS.get(row.status, "#000000")))
        item.setText(FPS, f"{row.frames_per_second:.1f}" if row.frames_per_second else "")
        item.setText(ETA, "paused" if row.status == RunStatus.PAUSED else "")
        item.setText(NODE, row.node or "")
        item.setText(DETECTIONS, "" if row.total_detections is None else str(row.total_detections))
        item.setText(MESSAGE, row.error_message or "")
        item.setToolTip(MESSAGE, row.error_message or "")
        self.bars[row.id].setValue(round(row.progress * 1000))
        self.bars[row.id].setFormat(f"{row.progress * 100:.1f}%")

    def show_progress(
        self, session_id: int, done: int, total: int, _frame: int, fps: float, eta: float
    ) -> None:
        item = self.items.get(session_id)
        if item is None or self.rows[session_id].status == RunStatus.PAUSED:
            return
        bar = self.bars[session_id]
        bar.setValue(round(1000 * done / total) if total else 0)
        bar.setFormat(f"{done}/{total}")
        item.setText(FPS, f"{fps:.1f}")
        item.setText(ETA, eta_text(None if eta < 0 else eta))

    def _state_changed(self, session_id: int, state: str) -> None:
        item = self.items.get(session_id)
        if item is None or session_id not in self.rows:
            self.refresh()
            return
        item.setText(STATE, STATE_LABELS.get(state, state))
        item.setForeground(STATE, QColor(STATE_COLOURS.get(state, "#000000")))
        if state == RunStatus.PAUSED:  # no time passes for a paused run: no speed and no time left to show
            item.setText(FPS, "")
            item.setText(ETA, "paused")
            (stored,) = list_runs(self.queue.db, ids=[session_id])  # what it committed on pausing
            self.bars[session_id].setValue(round(stored.progress * 1000))
            self.bars[session_id].setFormat(f"{stored.progress * 100:.1f}%")
            item.setText(DETECTIONS, str(stored.total_detections or 0))
        elif state == RunStatus.RUNNING:
            item.setText(ETA, eta_text(None))  # until the next progress report
        self.rows[session_id] = _with_status(self.rows[session_id], state)
        self._update_summary()
        self._update_buttons()

    def _committed(self, _video_id: int, session_id: int) -> None:
        """A run stored a batch: its Detections cell counts the events stored so far."""
        item = self.items.get(session_id)
        if item is not None:
            count = detection_counts(self.queue.db, [session_id])[session_id]
            item.setText(DETECTIONS, str(count))

    # -- selection and buttons ------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        return [int(item.data(RUN, Qt.ItemDataRole.UserRole)) for item in self.tree.selectedItems()]

    def select(self, session_id: int) -> None:
        self.tree.clearSelection()
        if session_id in self.items:
            self.items[session_id].setSelected(True)

    def _statuses(self) -> set[str]:
        return {self.rows[i].status for i in self.selected_ids() if i in self.rows}

    def _update_buttons(self) -> None:
        statuses = self._statuses()
        self.pause_button.setEnabled(RunStatus.RUNNING in statuses)
        self.resume_button.setEnabled(bool(statuses & {RunStatus.PAUSED, *RESUMABLE}))
        self.stop_button.setEnabled(bool(statuses & {RunStatus.RUNNING, RunStatus.PAUSED}))
        self.cancel_button.setEnabled(RunStatus.CREATED in statuses)

    def _each(self, action: Callable[[int], None], statuses: tuple[str, ...]) -> None:
        try:
            for session_id in self.selected_ids():
                if self.rows.get(session_id) and self.rows[session_id].status in statuses:
                    action(session_id)
        except VruError as exc:
            QMessageBox.warning(self, "Runs", str(exc))
        self._update_buttons()

    def _resume(self) -> None:
        try:
            for session_id in self.selected_ids():
                status = self.rows[session_id].status
                if status == RunStatus.PAUSED:
                    self.queue.resume(session_id)
                elif status in RESUMABLE:
                    self.queue.resume_run(session_id)
        except VruError as exc:
            QMessageBox.warning(self, "Runs", str(exc))
        self._update_buttons()

    def _open(self, item: QTreeWidgetItem) -> None:
        session_id = int(item.data(RUN, Qt.ItemDataRole.UserRole))
        if session_id in self.rows:
            self.openVideo.emit(self.rows[session_id].video_id)


def _with_status(row: RunRow, status: str) -> RunRow:
    return replace(row, status=status)
