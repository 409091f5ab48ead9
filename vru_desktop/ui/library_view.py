"""The Library workspace: projects on the left, the project's videos in the middle, details on the right."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select

from vru_desktop.library.projects import list_projects, video_counts
from vru_desktop.store.db import Database
from vru_desktop.store.models import Video

EMPTY_TEXT = "Drop videos here or File → Import"
VIDEO_COLUMNS = ("Name", "Duration", "FPS", "Resolution", "Frames", "Size", "Status")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def human_duration(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:05.2f}" if hours else f"{minutes}:{secs:05.2f}"


class LibraryView(QWidget):
    videoActivated = Signal(int)
    projectChanged = Signal(int)

    def __init__(self, db: Database, window: QWidget) -> None:
        super().__init__()
        self.db = db
        self.window_ = window
        self.projects = QListWidget()
        self.projects.setObjectName("projectList")
        self.projects.currentItemChanged.connect(self._project_selected)
        self.video_model = QStandardItemModel(0, len(VIDEO_COLUMNS))
        self.video_model.setHorizontalHeaderLabels(VIDEO_COLUMNS)
        self.videos = QTableView()
        self.videos.setObjectName("videoTable")
        self.videos.setModel(self.video_model)
        self.videos.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.videos.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.videos.setSortingEnabled(True)
        self.videos.verticalHeader().hide()
        self.videos.horizontalHeader().setStretchLastSection(True)
        self.videos.doubleClicked.connect(lambda index: self._activate(index.row()))
        self.videos.selectionModel().selectionChanged.connect(self._show_details)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("emptyLibraryLabel")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("font-size: 16pt; color: palette(mid);")
        self.middle = QStackedWidget()
        self.middle.addWidget(self.empty_label)
        self.middle.addWidget(self.videos)
        self.details = QTextBrowser()
        self.details.setObjectName("videoDetails")
        self.splitter = QSplitter()
        self.splitter.addWidget(self.projects)
        self.splitter.addWidget(self.middle)
        self.splitter.addWidget(self.details)
        self.splitter.setSizes([220, 800, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # -- queries --------------------------------------------------------------------------------
    def current_project_id(self) -> int | None:
        item = self.projects.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def selected_video_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.videos.selectionModel().selectedRows()})
        return [int(self.video_model.item(row, 0).data(Qt.ItemDataRole.UserRole)) for row in rows]

    def refresh(self) -> None:
        current = self.current_project_id()
        counts = video_counts(self.db)
        self.projects.blockSignals(True)
        self.projects.clear()
        for project in list_projects(self.db):
            label = f"{project.name} ({counts.get(project.id, 0)})"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, project.id)
            item.setToolTip(f"{project.camera_model} · {project.camera_view} · {project.signal_type}")
            self.projects.addItem(item)
            if project.id == current or (current is None and project.is_default):
                self.projects.setCurrentItem(item)
        self.projects.blockSignals(False)
        self._load_videos()

    def _project_selected(self) -> None:
        self._load_videos()
        project_id = self.current_project_id()
        if project_id is not None:
            self.projectChanged.emit(project_id)

    def _load_videos(self) -> None:
        project_id = self.current_project_id()
        with self.db.session() as session:
            videos = list(
                session.scalars(select(Video).where(Video.project_id == project_id).order_by(Video.id))
            )
        self.video_model.setRowCount(0)
        for video in videos:
            cells = (
                video.filename,
                human_duration(video.duration),
                f"{video.fps:g}",
                video.resolution,
                str(video.frame_count),
                human_size(video.file_size),
                video.status,
            )
            items = [QStandardItem(text) for text in cells]
            items[0].setData(video.id, Qt.ItemDataRole.UserRole)
            items[0].setToolTip(video.file_path)
            self.video_model.appendRow(items)
        self.middle.setCurrentWidget(self.videos if videos else self.empty_label)
        self.details.setHtml("")

    def _show_details(self) -> None:
        ids = self.selected_video_ids()
        if len(ids) != 1:
            self.details.setHtml(f"<p>{len(ids)} videos selected</p>" if ids else "")
            return
        with self.db.session() as session:
            video = session.get(Video, ids[0])
            if video is None:
                return
            rows = [
                ("File", video.file_path),
                ("Kind", video.kind.replace("_", " ")),
                ("Duration", human_duration(video.duration)),
                ("Frame rate", f"{video.fps:g} fps"),
                ("Frames", str(video.frame_count)),
                ("Resolution", video.resolution),
                ("Codec", video.codec),
                ("Start time", f"{video.start_time:g} s"),
                ("Size", human_size(video.file_size)),
                ("Status", video.status),
                ("Metadata from", video.metadata_source),
                ("Fingerprint", video.fingerprint[:16] + "…"),
            ]
        body = "".join(f"<tr><th align='left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        self.details.setHtml(f"<h3>{video.filename}</h3><table cellspacing='4'>{body}</table>")

    def _activate(self, row: int) -> None:
        self.videoActivated.emit(int(self.video_model.item(row, 0).data(Qt.ItemDataRole.UserRole)))

    # -- import ---------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Import videos", "", "Videos (*.mp4 *.mov *.avi *.mkv *.m4v *.webm *.ts);;All files (*)"
        )
        if files:
            self.import_paths(files)

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of videos or frames")
        if folder:
            self.import_paths([folder])

    def import_paths(self, paths: list[str]) -> None:
        from vru_desktop.ui.import_dialog import ImportRunner

        runner = ImportRunner(self.db, paths, self.current_project_id(), self)
        runner.finished.connect(lambda _outcomes: self.window_.refresh())  # type: ignore[attr-defined]
        runner.start()

    def new_project(self) -> None:
        from vru_desktop.ui.project_dialog import edit_project

        if edit_project(self.db, None, self) is not None:
            self.window_.refresh()  # type: ignore[attr-defined]

    # -- state ----------------------------------------------------------------------------------
    def save_state(self, settings: QSettings) -> None:
        settings.setValue("library/splitter", self.splitter.saveState())
        settings.setValue("library/project", self.current_project_id())

    def restore_state(self, settings: QSettings) -> None:
        state = settings.value("library/splitter")
        if state is not None:
            self.splitter.restoreState(state)
        project = settings.value("library/project")
        if project is not None:
            self.refresh()
            for row in range(self.projects.count()):
                if str(self.projects.item(row).data(Qt.ItemDataRole.UserRole)) == str(project):
                    self.projects.setCurrentRow(row)
