"""The Library workspace: projects on the left, the project's videos in the middle, details on the right.

Its parts: :mod:`~vru_desktop.ui.library_projects` (project actions), :mod:`~vru_desktop.ui.library_videos`
(actions on the selected videos, moving them by drag and drop), :mod:`~vru_desktop.ui.library_import`
(importing), :mod:`~vru_desktop.ui.library_details` (the details panel) and
:mod:`~vru_desktop.ui.library_thumbnails` (thumbnails decoded off the UI thread).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QDropEvent, QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.jobs.operations import Operations
from vru_desktop.library.importer import refresh_status
from vru_desktop.library.projects import video_counts
from vru_desktop.library.views import project_views, video_rows
from vru_desktop.settings import USER_DEFAULT_PROJECT, Locations, get_setting
from vru_desktop.store.db import Database
from vru_desktop.ui.library_details import DetailsPanel
from vru_desktop.ui.library_import import LibraryImporter
from vru_desktop.ui.library_model import (
    NAME_COLUMN,
    THUMB_COLUMN,
    THUMB_SIZE,
    VIDEO_COLUMNS,
    VideoTableModel,
    cell_text,
)
from vru_desktop.ui.library_projects import ProjectActions
from vru_desktop.ui.library_thumbnails import ThumbnailLoader
from vru_desktop.ui.library_videos import VideoActions

EMPTY_TEXT = "Drop videos here or File → Import"
#: Widths of the columns after the name (which takes the rest); fixed, so a long library loads fast.
COLUMN_WIDTHS = {2: 80, 3: 64, 4: 96, 5: 70, 6: 82, 7: 72}


class LibraryView(QWidget):
    """Lists projects and videos. ``project_actions``, ``video_actions`` and ``importer`` run the
    library's actions (the window puts them in its menus); ``thumbnails`` fills the table's pictures."""

    videoActivated = Signal(int)
    projectChanged = Signal(int)
    #: The library's contents changed (import, removal, project edit); the window refreshes.
    changed = Signal()
    #: A one-line message for the status bar.
    message = Signal(str)

    def __init__(self, db: Database, locations: Locations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.locations = locations
        self._ops = Operations(self)
        self.thumbnails = ThumbnailLoader(locations.cache_dir, self)
        self._wanted_project: int | None = None
        self._missing: list[int] | None = None  # as the last file check found them

        self.projects = QListWidget()
        self.projects.setObjectName("projectList")
        self.projects.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.projects.currentItemChanged.connect(self._project_selected)
        self.projects.viewport().setAcceptDrops(True)  # videos dragged from the table move there
        self.projects.viewport().installEventFilter(self)

        self.video_model = VideoTableModel(locations.cache_dir, self.thumbnails.want, self)
        self.thumbnails.ready.connect(self.video_model.thumbnail_ready)
        self.videos = QTableView()
        self.videos.setObjectName("videoTable")
        self.videos.setModel(self.video_model)
        self.videos.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.videos.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.videos.setSortingEnabled(True)
        self.videos.sortByColumn(NAME_COLUMN, Qt.SortOrder.AscendingOrder)
        self.videos.setIconSize(THUMB_SIZE)
        self.videos.setAlternatingRowColors(True)
        self.videos.setDragEnabled(True)
        self.videos.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.videos.verticalHeader().hide()
        self.videos.verticalHeader().setDefaultSectionSize(THUMB_SIZE.height() + 6)
        header = self.videos.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(THUMB_COLUMN, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(NAME_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(THUMB_COLUMN, THUMB_SIZE.width() + 8)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        self.videos.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.videos.activated.connect(lambda index: self.videoActivated.emit(self._video_id(index.row())))
        self.videos.selectionModel().selectionChanged.connect(self._show_details)
        self.video_model.modelReset.connect(self._show_details)

        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("emptyLibraryLabel")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.middle = QStackedWidget()
        self.middle.addWidget(self.empty_label)
        self.middle.addWidget(self.videos)

        self.details = DetailsPanel(db)

        self.splitter = QSplitter()
        self.splitter.addWidget(self.projects)
        self.splitter.addWidget(self.middle)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 820, 330])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.project_actions = ProjectActions(self)
        self.video_actions = VideoActions(self)
        self.importer = LibraryImporter(self)
        self._videos_stale = False
        self._update_actions()

    # -- queries --------------------------------------------------------------------------------
    def current_project_id(self) -> int | None:
        item = self.projects.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def selected_video_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.videos.selectionModel().selectedRows()})
        return [self._video_id(row) for row in rows]

    def video_rows(self) -> list[dict[str, str]]:
        """The table as shown, one dict per row (column title → text)."""
        return [
            {VIDEO_COLUMNS[column]: cell_text(row, column) for column in range(1, len(VIDEO_COLUMNS))}
            for row in self.video_model.rows
        ]

    def _video_id(self, row: int) -> int:
        return self.video_model.video_id(row)

    # -- loading --------------------------------------------------------------------------------
    def refresh(self, *, check_files: bool = False) -> None:
        """Reload projects and videos; ``check_files`` also marks moved or deleted files as missing, off
        the UI thread, and reloads again if that changed anything."""
        if check_files:
            db = self.db
            self._ops.run(lambda _task: refresh_status(db), on_success=self._files_checked, newest="check")
        current = self.current_project_id()
        counts = video_counts(self.db)
        user_default = get_setting(self.db, USER_DEFAULT_PROJECT)
        self.projects.blockSignals(True)
        self.projects.clear()
        default_item: QListWidgetItem | None = None
        for project in project_views(self.db):
            item = QListWidgetItem(f"{project.name}  ({counts.get(project.id, 0)})")
            item.setData(Qt.ItemDataRole.UserRole, project.id)
            notes = [f"{project.camera_model} · {project.camera_view} · {project.signal_type}"]
            if project.is_default:
                notes.append("system default project")
            if project.id == user_default:
                notes.append("my default project: imports go here when no other project is selected")
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            item.setToolTip("\n".join(notes))
            self.projects.addItem(item)
            if project.id == (current or self._wanted_project):
                self.projects.setCurrentItem(item)
            if project.is_default:
                default_item = item
        if self.projects.currentItem() is None and default_item is not None:
            self.projects.setCurrentItem(default_item)
        self._wanted_project = None  # restored once, at start-up
        self.projects.blockSignals(False)
        self._load_videos()

    def _files_checked(self, missing: list[int]) -> None:
        if missing != self._missing:
            self._missing = missing
            self.changed.emit()

    def select_project(self, project_id: int) -> None:
        for row in range(self.projects.count()):
            if self.projects.item(row).data(Qt.ItemDataRole.UserRole) == project_id:
                self.projects.setCurrentRow(row)
                return

    def _project_selected(self) -> None:
        self._load_videos()
        project_id = self.current_project_id()
        if project_id is not None:
            self.projectChanged.emit(project_id)

    def _load_videos(self) -> None:
        rows = video_rows(self.db, self.current_project_id())
        self.video_model.set_rows(rows)
        self.middle.setCurrentWidget(self.videos if rows else self.empty_label)
        self._update_actions()

    def _show_details(self) -> None:
        self._update_actions()
        self.details.show_selection(self.selected_video_ids(), self.current_project_id())

    def _update_actions(self) -> None:
        self.project_actions.enable_for(self.current_project_id())
        self.video_actions.enable_for(self.selected_video_ids())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Videos dropped on a project in the list move to that project (``video_actions``). The filter
        is this widget: a child QObject filtering the viewport crashed the interpreter at exit."""
        kinds = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
        if watched is not self.projects.viewport() or event.type() not in kinds:
            return super().eventFilter(watched, event)
        assert isinstance(event, QDropEvent)
        return self.video_actions.drop_on_project(event)

    def annotations_changed(self) -> None:
        """Reviewed coverage may have changed: reload the videos when the Library is next shown."""
        self._videos_stale = True
        if self.isVisible():
            self._reload_videos_keeping_selection()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._videos_stale:
            self._reload_videos_keeping_selection()

    def _reload_videos_keeping_selection(self) -> None:
        self._videos_stale = False
        selected = set(self.selected_video_ids())
        self._load_videos()
        for row, video in enumerate(self.video_model.rows):
            if video.id in selected:
                self.videos.selectionModel().select(
                    self.video_model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
                )

    # -- state ----------------------------------------------------------------------------------
    def save_state(self, settings: QSettings) -> None:
        settings.setValue("library/splitter", self.splitter.saveState())
        settings.setValue("library/header", self.videos.horizontalHeader().saveState())
        settings.setValue("library/project", self.current_project_id())

    def restore_state(self, settings: QSettings) -> None:
        for key, target in (
            ("library/splitter", self.splitter),
            ("library/header", self.videos.horizontalHeader()),
        ):
            state = settings.value(key)
            if state is not None:
                target.restoreState(state)
        project = settings.value("library/project")
        self._wanted_project = int(project) if project else None
