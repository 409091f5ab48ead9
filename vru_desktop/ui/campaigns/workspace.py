"""The Campaigns tab: campaigns with their status, one created from the current project, the
Library's selected videos or the videos the Datasets tab's filter shows; its runs' progress across
videos with the time left, its pooled metrics (with intervals), charts and per-video table (a click
opens that video's run in the Evaluation tab), and the comparison of two campaigns.

Runs go through the window's run queue (the Runs tab shows them too); scoring runs off the UI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
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
from vru_desktop.ui.campaigns.charts import ScoreCharts
from vru_desktop.ui.campaigns.compare_view import CampaignComparison
from vru_desktop.ui.campaigns.progress import ProgressTracker
from vru_desktop.ui.campaigns.tables import fill_table, make_table, row_data
from vru_desktop.ui.datasets.workspace import dataset_manager
from vru_desktop.ui.runs.config_dialog import RunConfigDialog

if TYPE_CHECKING:
    from vru_desktop.ui.main_window import MainWindow

#: Where a new campaign's videos come from: the menu entry, and what to say when it has none.
SOURCES = {
    "project": ("From Current Project…", "Select a project in the Library first."),
    "library": ("From Library Selection…", "Select videos in the Library first."),
    "datasets": ("From Datasets Filter…", "The Datasets tab's filter shows no videos."),
}
SHOWN_METRICS = ("recall", "precision", "f1", "ap", "ap50", "mr", "mota", "idf1", "hota")


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
        self.tracker = ProgressTracker(self.db)

        self.list = make_table("campaignList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self.show_selected)
        self.new_button = QPushButton("New Campaign")
        new_menu = QMenu(self.new_button)
        for source, (text, _none) in SOURCES.items():
            new_menu.addAction(text, lambda source=source: self.create_from(source))
        self.new_button.setMenu(new_menu)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setToolTip("Compare two campaigns (select both in the list)")
        self.compare_button.clicked.connect(self.compare_selected)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run_selected)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.clicked.connect(self.evaluate_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        buttons = QHBoxLayout()
        for b in (
            self.new_button,
            self.run_button,
            self.evaluate_button,
            self.compare_button,
            self.delete_button,
        ):
            buttons.addWidget(b)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.list)

        self.header = QLabel()
        self.header.setWordWrap(True)
        self.progress = QLabel()
        self.progress.setObjectName("campaignProgress")
        self.videos = make_table("campaignVideos")
        self.metrics = make_table("campaignMetrics")
        self.per_video = make_table("campaignPerVideo")
        self.per_video.setSortingEnabled(True)
        self.per_video.setToolTip("Click a video to open its run in the Evaluation tab")
        self.per_video.cellClicked.connect(self.open_run)
        details = QWidget()
        right_layout = QVBoxLayout(details)
        right_layout.addWidget(self.header)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(QLabel("Videos and their runs"))
        right_layout.addWidget(self.videos)
        right_layout.addWidget(QLabel("Pooled over all videos (95 % bootstrap interval over videos)"))
        right_layout.addWidget(self.metrics)
        right_layout.addWidget(QLabel("Per video (worst recall first)"))
        right_layout.addWidget(self.per_video)

        self.charts = ScoreCharts()
        self.comparison = CampaignComparison(self.db)
        self.comparison.message.connect(self.message)
        self.pages = QTabWidget()
        self.pages.setObjectName("campaignPages")
        self.pages.addTab(details, "Campaign")
        self.pages.addTab(self.charts, "Charts")
        self.pages.addTab(self.comparison, "Compare")
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.refresh()

    # -- reading --------------------------------------------------------------------------------
    def selected_names(self) -> list[str]:
        return [
            self.campaigns[r].name for r in sorted(i.row() for i in self.list.selectionModel().selectedRows())
        ]

    def selected_name(self) -> str | None:
        names = self.selected_names()
        return names[0] if names else None

    def refresh(self) -> None:
        """Reload the list (keeping the selection) and the selected campaign's videos."""
        name = self.selected_name()
        self.campaigns = list_campaigns(self.db)
        self.list.blockSignals(True)
        fill_table(
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
        self.comparison.set_campaigns(names)
        self._show_videos()

    def show_selected(self) -> None:
        self.scores = None
        self._fill_scores()
        self._show_videos()

    def _show_videos(self) -> None:
        name = self.selected_name()
        if name is None:
            self.header.setText("Select a campaign, or create one with New Campaign.")
            self.progress.clear()
            fill_table(self.videos, [], [])
            return
        info = get_campaign(self.db, name)
        self.header.setText(
            f"<b>{info.name}</b>: {info.status}, {info.progress * 100:.0f} % · model {info.model_name} "
            f"({info.model_sha256[:12]}) · confidence {info.config.get('conf')} · protocols "
            f"{', '.join(info.protocols)}"
            + (f" · requirements {', '.join(info.requirements)}" if info.requirements else "")
        )
        self.progress.setText(self.tracker.line(info))
        fill_table(
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
            fill_table(self.metrics, [], [])
            fill_table(self.per_video, [], [])
            self.charts.set_result(None)
            return
        result = self.scores["protocols"][self.scores["primary"]]
        self.charts.set_result(result)
        m, ci = result["metrics"], result["intervals"]
        fill_table(
            self.metrics,
            ["metric", "value", "low", "high"],
            [
                [k, m.get(k), (ci.get(k) or {}).get("low"), (ci.get(k) or {}).get("high")]
                for k in SHOWN_METRICS
            ],
        )
        fill_table(
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
            [v["run_id"] for v in result["per_video"]] + [e["run_id"] for e in result["excluded"]],
        )

    def open_run(self, row: int) -> None:
        """Show the run of the per-video table's ``row`` in the Evaluation tab."""
        run_id = row_data(self.per_video, row)
        if run_id is None:
            self.message.emit("That video has no run to evaluate.")
            return
        evaluation = self.window.evaluation
        self.window.show_workspace(evaluation)
        evaluation.view.show_run(int(run_id))

    # -- actions --------------------------------------------------------------------------------
    def create_from(self, source: str) -> None:
        """Ask for the model, settings and name of a campaign over the current project
        (``project``), the Library's selected videos (``library``) or the videos the Datasets tab's
        filter shows (``datasets``)."""
        project, video_ids = None, None
        if source == "project":
            project_id = self.window.current_project_id()
            project = project_summary(self.db, project_id) if project_id is not None else None
        elif source == "library":
            video_ids = self.window.selected_video_ids()
        else:
            manager = dataset_manager(self.window)
            video_ids = manager.visible_video_ids() if manager is not None else []
        if project is None and not video_ids:
            QMessageBox.information(self, "New campaign", SOURCES[source][1])
            return
        count = project.video_count if project is not None else len(video_ids or [])
        dialog = RunConfigDialog(self.db, self.window.locations, count, self)
        if dialog.exec() != RunConfigDialog.DialogCode.Accepted or dialog.model_id is None:
            return
        project_name = project.name if project is not None else None
        name, ok = QInputDialog.getText(self, "New campaign", "Campaign name:", text=project_name or "")
        if ok:
            self.create(name, dialog.model_id, dialog.config(), project_name, video_ids=video_ids)

    def create(
        self,
        name: str,
        model_id: int,
        config: Any,
        project_name: str | None = None,
        *,
        video_ids: list[int] | None = None,
    ) -> None:
        """Create the campaign over the project ``project_name`` or the videos ``video_ids``."""
        projects = [project_name] if project_name is not None else None
        try:
            create_campaign(self.db, name, model_id, config, projects=projects, video_ids=video_ids)
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

    def compare_selected(self) -> None:
        """Show the Compare page; with two campaigns selected, compare them (the older as base)."""
        names = self.selected_names()
        if names:
            self.comparison.set_pair(names[0], names[1] if len(names) > 1 else None)
        self.pages.setCurrentWidget(self.comparison)
        if len(names) == 2:
            self.comparison.compare()

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
    panel.comparison.openRequested.connect(window.openVideoRequested)
    queue = window.detection.queue  # type: ignore[attr-defined]

    def finished(run_id: int, _status: str) -> None:
        panel.tracker.finished(run_id)
        panel.refresh()

    queue.runFinished.connect(finished)
    queue.runStarted.connect(lambda _run: panel.refresh())
    # progress of a running run: at most one refresh a second, and only while the tab is shown
    ticker = QTimer(panel)
    ticker.setSingleShot(True)
    ticker.setInterval(1000)
    ticker.timeout.connect(panel.refresh)

    def progressed(*args: Any) -> None:
        panel.tracker.progressed(*args)
        if panel.isVisible() and not ticker.isActive():
            ticker.start()

    queue.runProgress.connect(progressed)
    window.libraryChanged.connect(panel.refresh)
