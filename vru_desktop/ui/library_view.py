"""The Library workspace: projects on the left, the project's videos in the middle, details on the right."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QObject,
    QPoint,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QDropEvent, QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.errors import VruError
from vru_desktop.jobs.operations import Operations
from vru_desktop.library.importer import (
    Assignment,
    ImportOutcome,
    ImportStatus,
    project_id_by_name,
    refresh_status,
    relink,
    relink_search,
    remove_videos,
    sequences_needing_fps,
)
from vru_desktop.library.projects import (
    delete_project,
    move_videos,
    video_counts,
)
from vru_desktop.library.thumbnails import ThumbnailRequest, make_thumbnails
from vru_desktop.library.views import ProjectView, project_view, project_views, video_details, video_rows
from vru_desktop.settings import USER_DEFAULT_PROJECT, Locations, get_setting, set_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import VideoStatus
from vru_desktop.ui.library_model import (
    NAME_COLUMN,
    THUMB_COLUMN,
    THUMB_SIZE,
    VIDEO_COLUMNS,
    VIDEO_IDS_MIME,
    VideoTableModel,
    cell_text,
    human_duration,
    human_size,
)

if TYPE_CHECKING:
    from vru_desktop.ui.import_dialog import ImportRunner

EMPTY_TEXT = "Drop videos here or File → Import"
#: Widths of the columns after the name (which takes the rest); fixed, so a long library loads fast.
COLUMN_WIDTHS = {2: 80, 3: 64, 4: 96, 5: 70, 6: 82, 7: 72}
VIDEO_FILTER = (
    "Videos (*.mp4 *.mov *.avi *.mkv *.m4v *.webm *.ts *.mts *.mpg *.mpeg *.wmv *.flv);;All files (*)"
)


def _details_table(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><th align='left' valign='top'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<h3>{html.escape(title)}</h3><table cellspacing='4'>{body}</table>"


class LibraryView(QWidget):
    """Lists projects and videos, and runs the library's actions (import, relink, remove, projects)."""

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
        self._thumb_queue: list[ThumbnailRequest] = []
        self._thumb_busy = False
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.timeout.connect(self._next_thumbnails)
        #: The latest import batch (its progress dialog and summary).
        self.last_import: ImportRunner | None = None
        self._wanted_project: int | None = None
        self._relink_folder = ""
        self._missing: list[int] | None = None  # as the last file check found them

        self.projects = QListWidget()
        self.projects.setObjectName("projectList")
        self.projects.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.projects.customContextMenuRequested.connect(self._project_menu)
        self.projects.currentItemChanged.connect(self._project_selected)
        self.projects.itemDoubleClicked.connect(lambda _item: self.edit_project())
        self.projects.viewport().setAcceptDrops(True)  # videos dragged from the table move there
        self.projects.viewport().installEventFilter(self)

        self.video_model = VideoTableModel(locations.cache_dir, self._want_thumbnail, self)
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
        self.videos.customContextMenuRequested.connect(self._video_menu)
        self.videos.activated.connect(lambda index: self._activate(index.row()))
        self.videos.selectionModel().selectionChanged.connect(self._show_details)
        self.video_model.modelReset.connect(self._show_details)

        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("emptyLibraryLabel")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.middle = QStackedWidget()
        self.middle.addWidget(self.empty_label)
        self.middle.addWidget(self.videos)

        self.details = QTextBrowser()
        self.details.setObjectName("videoDetails")
        self.details.setAcceptDrops(False)  # drops go to the window, which imports them
        self.details.setOpenLinks(False)

        self.splitter = QSplitter()
        self.splitter.addWidget(self.projects)
        self.splitter.addWidget(self.middle)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 820, 330])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        # Actions the window puts in its menus; the context menus reuse them.
        self.new_project_action = QAction("&New Project…", self)
        self.new_project_action.triggered.connect(self.new_project)
        self.edit_project_action = QAction("&Edit Project…", self)
        self.edit_project_action.triggered.connect(self.edit_project)
        self.delete_project_action = QAction("&Delete Project…", self)
        self.delete_project_action.triggered.connect(self.delete_project)
        self.user_default_action = QAction("Set as &My Default Project", self)
        self.user_default_action.setCheckable(True)
        self.user_default_action.triggered.connect(self.toggle_user_default)
        self.open_video_action = QAction("&Open Video", self)
        self.open_video_action.triggered.connect(self._activate_selected)
        self.relink_action = QAction("&Relink…", self)
        self.relink_action.triggered.connect(self.relink_selected)
        self.remove_action = QAction("Re&move from Library…", self)
        self.remove_action.triggered.connect(self.remove_selected)
        self.move_action = QAction("Mo&ve to Project…", self)
        self.move_action.triggered.connect(self.ask_move_selected)
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

    # -- thumbnails (decoded off the UI thread, for the rows the table paints) -------------------
    def _want_thumbnail(self, request: ThumbnailRequest) -> None:
        self._thumb_queue.append(request)
        if not self._thumb_busy:
            self._thumb_timer.start(0)  # after this paint: one worker for all rows asked for

    def _next_thumbnails(self) -> None:
        batch, self._thumb_queue = self._thumb_queue, []
        if not batch:
            self._thumb_busy = False
            return
        self._thumb_busy = True
        cache_dir = self.locations.cache_dir

        self._ops.run(
            lambda task: make_thumbnails(
                batch, cache_dir, progress=task.progress, should_cancel=task.cancelled
            ),
            on_progress=self._thumbnail_made,
            on_done=self._next_thumbnails,
        )

    def _thumbnail_made(self, _done: int, _total: int, fingerprint: str) -> None:
        self.video_model.thumbnail_ready(fingerprint)

    def thumbnails_pending(self) -> bool:
        return self._thumb_busy or bool(self._thumb_queue) or self._thumb_timer.isActive()

    def shutdown(self) -> None:
        """Ask for no more thumbnails (the window closes and waits for the work under way)."""
        self._thumb_queue.clear()
        self._thumb_timer.stop()

    # -- details --------------------------------------------------------------------------------
    def _show_details(self) -> None:
        ids = self.selected_video_ids()
        self._update_actions()
        if len(ids) > 1:
            self.details.setHtml(f"<p>{len(ids)} videos selected</p>")
            return
        if not ids:
            project_id = self.current_project_id()
            if project_id is not None:
                self.details.setHtml(self._project_details(project_view(self.db, project_id)))
            return
        video = video_details(self.db, ids[0])
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
            ("Processing", video.processing_status),
            ("Metadata from", video.metadata_source),
            ("Imported", video.imported_at.strftime("%Y-%m-%d %H:%M")),
            ("Fingerprint", video.fingerprint[:16] + "…"),
        ]
        text = _details_table(video.filename, rows)
        if video.status == VideoStatus.MISSING:
            text += "<p><b>The file is missing.</b> Use Video → Relink to find it again.</p>"
        self.details.setHtml(text)

    def _project_details(self, project: ProjectView) -> str:
        rows = [
            ("Camera model", project.camera_model),
            ("Camera view", project.camera_view),
            ("Lens type", project.lens_type or "–"),
            ("Resolution", project.resolution or "–"),
            ("Frame rate", f"{project.frame_rate:g} fps" if project.frame_rate else "–"),
            ("Signal type", project.signal_type),
            ("Status", project.status),
            ("VRU classes", ", ".join(project.vru_classes)),
        ]
        if project.is_default:
            rows.append(("", "system default project"))
        if project.id == get_setting(self.db, USER_DEFAULT_PROJECT):
            rows.append(("", "my default project"))
        text = _details_table(project.name, rows)
        return text + (f"<p>{html.escape(project.description)}</p>" if project.description else "")

    # -- actions --------------------------------------------------------------------------------
    def _update_actions(self) -> None:
        project_id = self.current_project_id()
        is_system_default = False
        if project_id is not None:
            is_system_default = project_view(self.db, project_id).is_default
        self.edit_project_action.setEnabled(project_id is not None)
        self.delete_project_action.setEnabled(project_id is not None and not is_system_default)
        self.user_default_action.setEnabled(project_id is not None)
        self.user_default_action.setChecked(
            project_id is not None and get_setting(self.db, USER_DEFAULT_PROJECT) == project_id
        )
        has_videos = bool(self.selected_video_ids())
        for action in (self.open_video_action, self.relink_action, self.remove_action, self.move_action):
            action.setEnabled(has_videos)

    def _project_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction(self.new_project_action)
        if self.projects.itemAt(position) is not None:
            menu.addActions([self.edit_project_action, self.user_default_action, self.delete_project_action])
        menu.exec(self.projects.viewport().mapToGlobal(position))

    def _video_menu(self, position: QPoint) -> None:
        if not self.selected_video_ids():
            return
        menu = QMenu(self)
        menu.addActions([self.open_video_action, self.relink_action])
        move_menu = menu.addMenu("Mo&ve to Project")
        move_menu.setObjectName("moveToProjectMenu")
        for project in project_views(self.db):
            if project.id != self.current_project_id():
                move_menu.addAction(project.name).triggered.connect(
                    lambda _=False, p=project.id: self.move_selected_to(p)
                )
        menu.addSeparator()
        menu.addAction(self.remove_action)
        menu.exec(self.videos.viewport().mapToGlobal(position))

    # -- moving videos between projects -----------------------------------------------------------
    def ask_move_selected(self) -> None:
        if not self.selected_video_ids():
            return
        others = [p for p in project_views(self.db) if p.id != self.current_project_id()]
        if not others:
            self.message.emit("There is no other project to move videos to: create one first.")
            return
        name, ok = QInputDialog.getItem(
            self, "Move to project", "Move the selected videos to:", [p.name for p in others], 0, False
        )
        if ok:
            self.move_selected_to(next(p.id for p in others if p.name == name))

    def move_selected_to(self, project_id: int, video_ids: list[int] | None = None) -> None:
        """Move videos (the selected ones by default) to ``project_id``."""
        ids = self.selected_video_ids() if video_ids is None else video_ids
        try:
            moved = move_videos(self.db, ids, project_id)
        except VruError as exc:
            self.message.emit(str(exc))
            return
        self.changed.emit()
        self.message.emit(f"{moved} video(s) moved to project '{project_view(self.db, project_id).name}'.")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Videos dropped on a project in the list move to that project."""
        kinds = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
        if watched is not self.projects.viewport() or event.type() not in kinds:
            return super().eventFilter(watched, event)
        assert isinstance(event, QDropEvent)
        if not event.mimeData().hasFormat(VIDEO_IDS_MIME):
            return False  # files and other drops: the window imports them
        if event.type() == QEvent.Type.DragEnter:
            event.acceptProposedAction()
            return True
        item = self.projects.itemAt(event.position().toPoint())
        if item is None:
            event.ignore()
            return True
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()
        if event.type() == QEvent.Type.Drop:
            target = int(item.data(Qt.ItemDataRole.UserRole))
            ids = json.loads(bytes(event.mimeData().data(VIDEO_IDS_MIME).data()).decode())
            QTimer.singleShot(0, lambda: self.move_selected_to(target, ids))  # once the drag has ended
        return True

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

    def _activate(self, row: int) -> None:
        self.videoActivated.emit(self._video_id(row))

    def _activate_selected(self) -> None:
        ids = self.selected_video_ids()
        if ids:
            self.videoActivated.emit(ids[0])

    def new_project(self) -> None:
        from vru_desktop.ui.project_dialog import edit_project

        project = edit_project(self.db, None, self)
        if project is not None:
            self.changed.emit()
            self.select_project(project.id)
            self.message.emit(f"Project '{project.name}' created.")

    def edit_project(self) -> None:
        from vru_desktop.ui.project_dialog import edit_project

        project_id = self.current_project_id()
        if project_id is not None and edit_project(self.db, project_id, self) is not None:
            self.changed.emit()

    def delete_project(self) -> None:
        project_id = self.current_project_id()
        if project_id is None:
            return
        project = project_view(self.db, project_id)
        answer = QMessageBox.question(
            self,
            "Delete project",
            f"Delete the project '{project.name}'?\nIts videos move to the default project; "
            "no video, run or box is deleted.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            moved = delete_project(self.db, project_id)
        except VruError as exc:
            QMessageBox.warning(self, "Delete project", str(exc))
            return
        self.projects.setCurrentItem(None)
        self.changed.emit()
        self.message.emit(f"Project '{project.name}' deleted; {moved} video(s) moved to the default project.")

    def toggle_user_default(self) -> None:
        project_id = self.current_project_id()
        if project_id is None:
            return
        mine = get_setting(self.db, USER_DEFAULT_PROJECT) == project_id
        set_setting(self.db, USER_DEFAULT_PROJECT, None if mine else project_id)
        name = project_view(self.db, project_id).name
        self.changed.emit()
        self.message.emit(
            f"'{name}' is no longer my default project." if mine else f"My default project: '{name}'."
        )

    def remove_selected(self) -> None:
        ids = self.selected_video_ids()
        if not ids:
            return
        answer = QMessageBox.question(
            self,
            "Remove from library",
            f"Remove {len(ids)} video(s) from the library?\n\nThe files stay on disk. Detection runs, "
            "annotations and reviews of these videos are deleted from the library.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        db = self.db
        self.message.emit(f"Removing {len(ids)} video(s) from the library…")
        self._ops.run(
            lambda _task: remove_videos(db, ids), on_success=self._removed, on_failure=self._remove_failed
        )

    def _removed(self, count: int) -> None:
        self.changed.emit()
        self.message.emit(f"{count} video(s) removed from the library; the files are untouched.")

    def _remove_failed(self, message: str) -> None:
        self.changed.emit()
        QMessageBox.warning(self, "Remove from library", message)

    def relink_selected(self) -> None:
        ids = self.selected_video_ids()
        if not ids:
            return
        video = video_details(self.db, ids[0])
        if video is None:
            return
        name, kind, old_path = video.filename, video.kind, video.file_path
        box = QMessageBox(self)
        box.setWindowTitle("Relink")
        box.setText(f"Where is '{name}' now?\nIt was at {old_path}.")
        choose = box.addButton("Choose File…", QMessageBox.ButtonRole.AcceptRole)
        search = box.addButton("Search a Folder…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is choose:
            if kind == "image_sequence":
                path = QFileDialog.getExistingDirectory(self, f"Frame folder of {name}")
            else:
                path, _ = QFileDialog.getOpenFileName(self, f"New place of {name}", "", VIDEO_FILTER)
            if path:
                self.relink_to(ids[0], path)
        elif box.clickedButton() is search:
            folder = QFileDialog.getExistingDirectory(self, "Search missing videos below")
            if folder:
                self.relink_search(folder)

    def relink_to(self, video_id: int, path: str) -> None:
        try:
            relink(self.db, video_id, path)
        except VruError as exc:
            QMessageBox.warning(self, "Relink", str(exc))
            return
        self.changed.emit()
        self.message.emit(f"Video {video_id} relinked to {path}.")

    def relink_search(self, folder: str) -> None:
        """Search ``folder`` for every missing video (by content fingerprint), off the UI thread."""
        db = self.db
        self._relink_folder = folder
        self.message.emit(f"Searching {folder} for missing videos…")
        self._ops.run(
            lambda _task: relink_search(db, folder),
            on_success=self._relink_found,
            on_failure=self._relink_failed,
        )

    def _relink_found(self, found: list[tuple[int, Path]]) -> None:
        self.changed.emit()
        if found:
            lines = "\n".join(f"video {video_id}: {path}" for video_id, path in found)
            QMessageBox.information(self, "Relink", f"Found {len(found)} missing video(s):\n{lines}")
        else:
            QMessageBox.information(
                self, "Relink", f"No missing video was found below {self._relink_folder}."
            )

    def _relink_failed(self, message: str) -> None:
        QMessageBox.warning(self, "Relink", message)

    # -- import ---------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import videos", "", VIDEO_FILTER)
        if files:
            self.import_paths(files)

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of videos or frames")
        if folder:
            self.import_paths([folder])

    def import_assignment(self) -> Assignment:
        """The selected project counts as the user's choice, unless it is the system default project:
        then the user's default project and the file and folder names decide."""
        project_id = self.current_project_id()
        if project_id is not None and project_view(self.db, project_id).is_default:
            project_id = None
        return Assignment(active_project_id=project_id)

    def ask_fps(self, folder: Path) -> float | None:
        value, ok = QInputDialog.getDouble(
            self,
            "Frame rate of an image sequence",
            f"{folder}\nhas no seqinfo.ini giving its frame rate.\nFrames per second:",
            30.0,
            0.01,
            240.0,
            3,
        )
        return value if ok else None

    def import_paths(self, paths: list[str]) -> None:
        """Import files and folders off the UI thread, with progress, cancel and a summary at the end."""
        self.message.emit("Looking for videos…")
        self._ops.run(
            lambda _task: sequences_needing_fps(paths),
            on_success=lambda folders: self._import_with_fps(paths, folders),
            on_failure=lambda message: QMessageBox.warning(self, "Import", message),
        )

    def _import_with_fps(self, paths: list[str], folders: list[Path]) -> None:
        """Ask the frame rate of each frame folder that does not give it, then import."""
        from vru_desktop.ui.import_dialog import ImportRunner

        sequence_fps = {}
        for folder in folders:
            fps = self.ask_fps(folder)
            if fps is not None:
                sequence_fps[folder] = fps
        runner = ImportRunner(self.db, paths, self.import_assignment(), sequence_fps, self)
        runner.finished.connect(self._import_finished)
        self.last_import = runner
        runner.start(self._ops)

    def _import_finished(self, outcomes: list[ImportOutcome]) -> None:
        self.changed.emit()
        projects = {o.project for o in outcomes if o.status == ImportStatus.IMPORTED and o.project}
        if len(projects) == 1:  # show where the videos went
            self.select_project(project_id_by_name(self.db, projects.pop()))
        imported = sum(o.status == ImportStatus.IMPORTED for o in outcomes)
        refused = sum(o.status == ImportStatus.REFUSED for o in outcomes)
        self.message.emit(f"Import finished: {imported} imported, {refused} refused.")

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
