"""The Campaigns tab: campaigns with their status, one created from the current project, its runs'
progress across videos, and its pooled metrics (with intervals) and per-video table.

Runs go through the window's run queue (the Runs tab shows them too); scoring runs off the UI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.campaigns.definition import (
    CampaignInfo,
    create_campaign,
    delete_campaign,
    get_campaign,
    launch_campaign,
    list_campaigns,
)
from vru_desktop.campaigns.scoring import score_campaign
from vru_desktop.errors import VruError
from vru_desktop.jobs.operations import Operations
from vru_desktop.library.views import project_summary
from vru_desktop.store.models import RunStatus
from vru_desktop.ui.runs.config_dialog import RunConfigDialog

if TYPE_CHECKING:
    from vru_desktop.ui.main_window import MainWindow

SHOWN_METRICS = ("recall", "precision", "f1", "ap", "ap50", "mr", "mota", "idf1", "hota")


def _f(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _fill(table: QTableWidget, headers: list[str], rows: list[list[Any]]) -> None:
    table.clear()
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(_f(value))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(r, c, item)


def _table(name: str) -> QTableWidget:
    table = QTableWidget()
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setSortingEnabled(False)
    return table


class CampaignsPanel(QWidget):
    """List of campaigns on the left; the selected one's videos, pooled metrics and per-video table."""

    message = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.setObjectName("campaignsPanel")
        self.window = window
        self.db = window.db
        self.campaigns: list[CampaignInfo] = []
        self.scores: dict[str, Any] | None = None
        self._ops = Operations(self)

        self.list = _table("campaignList")
        self.list.itemSelectionChanged.connect(self.show_selected)
        self.new_button = QPushButton("New from Current Project…")
        self.new_button.clicked.connect(self.create_from_project)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run_selected)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.clicked.connect(self.evaluate_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.run_button, self.evaluate_button, self.delete_button):
            buttons.addWidget(button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.list)

        self.header = QLabel()
        self.header.setWordWrap(True)
        self.videos = _table("campaignVideos")
        self.metrics = _table("campaignMetrics")
        self.per_video = _table("campaignPerVideo")
        self.per_video.setSortingEnabled(True)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.header)
        right_layout.addWidget(QLabel("Videos and their runs"))
        right_layout.addWidget(self.videos)
        right_layout.addWidget(QLabel("Pooled over all videos (95 % bootstrap interval over videos)"))
        right_layout.addWidget(self.metrics)
        right_layout.addWidget(QLabel("Per video (worst recall first)"))
        right_layout.addWidget(self.per_video)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.refresh()

    # -- reading --------------------------------------------------------------------------------
    def selected_name(self) -> str | None:
        rows = self.list.selectionModel().selectedRows()
        return self.campaigns[rows[0].row()].name if rows else None

    def refresh(self) -> None:
        """Reload the list (keeping the selection) and the selected campaign's videos."""
        name = self.selected_name()
        self.campaigns = list_campaigns(self.db)
        self.list.blockSignals(True)
        _fill(
            self.list,
            ["campaign", "status", "progress", "videos", "model"],
            [
                [c.name, c.status, f"{c.progress * 100:.0f} %", len(c.videos), c.model_name]
                for c in self.campaigns
            ],
        )
        names = [c.name for c in self.campaigns]
        if name in names:
            self.list.selectRow(names.index(name))
        self.list.blockSignals(False)
        self._show_videos()

    def show_selected(self) -> None:
        self.scores = None
        self._fill_scores()
        self._show_videos()

    def _show_videos(self) -> None:
        name = self.selected_name()
        if name is None:
            self.header.setText("Select a campaign, or create one from the current project.")
            _fill(self.videos, [], [])
            return
        info = get_campaign(self.db, name)
        self.header.setText(
            f"<b>{info.name}</b>: {info.status}, {info.progress * 100:.0f} % · model {info.model_name} "
            f"({info.model_sha256[:12]}) · confidence {info.config.get('conf')} · protocols "
            f"{', '.join(info.protocols)}"
            + (f" · requirements {', '.join(info.requirements)}" if info.requirements else "")
        )
        _fill(
            self.videos,
            ["video", "reviewed frames", "run", "status", "progress", "reused"],
            [
                [
                    v.filename,
                    v.reviewed_frames,
                    v.run_id,
                    v.run_status or "not launched",
                    f"{(1.0 if v.run_status == RunStatus.COMPLETED else v.progress) * 100:.0f} %",
                    "yes" if v.reused else "",
                ]
                for v in info.videos
            ],
        )

    def _fill_scores(self) -> None:
        if self.scores is None:
            _fill(self.metrics, [], [])
            _fill(self.per_video, [], [])
            return
        result = self.scores["protocols"][self.scores["primary"]]
        m, ci = result["metrics"], result["intervals"]
        _fill(
            self.metrics,
            ["metric", "value", "low", "high"],
            [
                [k, m.get(k), (ci.get(k) or {}).get("low"), (ci.get(k) or {}).get("high")]
                for k in SHOWN_METRICS
            ],
        )
        self.per_video.setSortingEnabled(False)
        _fill(
            self.per_video,
            ["video", "frames", "recall", "precision", "F1", "AP50", "MR⁻²", "reused run"],
            [
                [
                    v["filename"],
                    v["reviewed_frames"],
                    v["recall"],
                    v["precision"],
                    v["f1"],
                    v["ap50"],
                    v["mr"],
                    "yes" if v["reused"] else "",
                ]
                for v in result["per_video"]
            ]
            + [
                [e["filename"], "left out", e["reason"], None, None, None, None, ""]
                for e in result["excluded"]
            ],
        )
        self.per_video.setSortingEnabled(True)

    # -- actions --------------------------------------------------------------------------------
    def create_from_project(self) -> None:
        project_id = self.window.current_project_id()
        if project_id is None:
            QMessageBox.information(self, "New campaign", "Select a project in the Library first.")
            return
        project = project_summary(self.db, project_id)
        project_name = project.name if project is not None else ""
        count = project.video_count if project is not None else 0
        dialog = RunConfigDialog(self.db, self.window.locations, count, self)
        if dialog.exec() != RunConfigDialog.DialogCode.Accepted or dialog.model_id is None:
            return
        name, ok = QInputDialog.getText(self, "New campaign", "Campaign name:", text=project_name)
        if not ok:
            return
        self.create(name, dialog.model_id, dialog.config(), project_name)

    def create(self, name: str, model_id: int, config: Any, project_name: str) -> None:
        try:
            create_campaign(self.db, name, model_id, config, projects=[project_name])
        except VruError as exc:
            QMessageBox.warning(self, "New campaign", str(exc))
            return
        self.refresh()
        self.list.selectRow([c.name for c in self.campaigns].index(name.strip()))

    def run_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        try:
            queued = launch_campaign(self.db, name)
        except VruError as exc:
            QMessageBox.warning(self, "Run campaign", str(exc))
            return
        queue = self.window.detection.queue  # type: ignore[attr-defined]
        queue.queueChanged.emit()
        queue.start_next()
        reused = sum(v.reused for v in get_campaign(self.db, name).videos)
        self.message.emit(f"Campaign {name}: {len(queued)} runs queued, {reused} finished runs reused.")
        self.refresh()

    def evaluate_selected(self) -> None:
        name = self.selected_name()
        if name is None or self._ops.busy():
            return
        db = self.db
        self.evaluate_button.setEnabled(False)
        self.message.emit(f"Scoring campaign {name}…")
        self._ops.run(
            lambda _task: score_campaign(db, name),
            on_success=lambda scores: self._scored(name, scores),
            on_failure=lambda message: QMessageBox.warning(self, "Evaluate campaign", message),
            on_done=lambda: self.evaluate_button.setEnabled(True),
        )

    def _scored(self, name: str, scores: dict[str, Any]) -> None:
        if self.selected_name() == name:
            self.scores = scores
            self._fill_scores()
        self.message.emit(f"Campaign {name} scored.")

    def delete_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        answer = QMessageBox.question(
            self, "Delete campaign", f"Delete campaign {name}? Its runs stay in the Runs tab."
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        delete_campaign(self.db, name)
        self.scores = None
        self.refresh()


def install(window: MainWindow) -> None:
    panel = CampaignsPanel(window)
    window.campaigns = panel  # type: ignore[attr-defined]
    window.add_workspace(panel, "Campaigns")
    panel.message.connect(lambda text: window.statusBar().showMessage(text, 10_000))
    queue = window.detection.queue  # type: ignore[attr-defined]
    queue.runFinished.connect(lambda _run, _status: panel.refresh())
    queue.runStarted.connect(lambda _run: panel.refresh())
    # progress of a running run: at most one refresh a second, and only while the tab is shown
    ticker = QTimer(panel)
    ticker.setSingleShot(True)
    ticker.setInterval(1000)
    ticker.timeout.connect(panel.refresh)

    def progressed(*_: object) -> None:
        if panel.isVisible() and not ticker.isActive():
            ticker.start()

    queue.runProgress.connect(progressed)
    window.libraryChanged.connect(panel.refresh)
