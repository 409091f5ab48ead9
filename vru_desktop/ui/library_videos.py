"""The Library's actions on the selected videos (open, relink, move to another project, remove), the
video table's menu, and moving videos by dropping them on a project in the list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QDropEvent
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from vru_desktop.errors import VruError
from vru_desktop.jobs.operations import Operations
from vru_desktop.library.importer import relink, relink_search, remove_videos
from vru_desktop.library.projects import move_videos
from vru_desktop.library.views import project_view, project_views, video_details
from vru_desktop.ui.library_model import VIDEO_IDS_MIME

if TYPE_CHECKING:
    from vru_desktop.ui.library_view import LibraryView

VIDEO_FILTER = (
    "Videos (*.mp4 *.mov *.avi *.mkv *.m4v *.webm *.ts *.mts *.mpg *.mpeg *.wmv *.flv);;All files (*)"
)


class VideoActions(QObject):
    """Actions on ``library``'s selected videos; the window puts them in its menus."""

    def __init__(self, library: LibraryView) -> None:
        super().__init__(library)
        self.library = library
        self.db = library.db
        self._ops = Operations(self)
        self._relink_folder = ""
        self.open_video_action = QAction("&Open Video", library)
        self.open_video_action.triggered.connect(self._open_selected)
        self.relink_action = QAction("&Relink…", library)
        self.relink_action.triggered.connect(self.relink_selected)
        self.remove_action = QAction("Re&move from Library…", library)
        self.remove_action.triggered.connect(self.remove_selected)
        self.move_action = QAction("Mo&ve to Project…", library)
        self.move_action.triggered.connect(self.ask_move_selected)
        library.videos.customContextMenuRequested.connect(self._menu)

    def enable_for(self, video_ids: list[int]) -> None:
        for action in (self.open_video_action, self.relink_action, self.remove_action, self.move_action):
            action.setEnabled(bool(video_ids))

    def _menu(self, position: QPoint) -> None:
        library = self.library
        if not library.selected_video_ids():
            return
        menu = QMenu(library)
        menu.addActions([self.open_video_action, self.relink_action])
        move_menu = menu.addMenu("Mo&ve to Project")
        move_menu.setObjectName("moveToProjectMenu")
        for project in project_views(self.db):
            if project.id != library.current_project_id():
                move_menu.addAction(project.name).triggered.connect(
                    lambda _=False, p=project.id: self.move_selected_to(p)
                )
        menu.addSeparator()
        menu.addAction(self.remove_action)
        menu.exec(library.videos.viewport().mapToGlobal(position))

    def _open_selected(self) -> None:
        ids = self.library.selected_video_ids()
        if ids:
            self.library.videoActivated.emit(ids[0])

    # -- moving videos between projects -----------------------------------------------------------
    def ask_move_selected(self) -> None:
        library = self.library
        if not library.selected_video_ids():
            return
        others = [p for p in project_views(self.db) if p.id != library.current_project_id()]
        if not others:
            library.message.emit("There is no other project to move videos to: create one first.")
            return
        name, ok = QInputDialog.getItem(
            library, "Move to project", "Move the selected videos to:", [p.name for p in others], 0, False
        )
        if ok:
            self.move_selected_to(next(p.id for p in others if p.name == name))

    def move_selected_to(self, project_id: int, video_ids: list[int] | None = None) -> None:
        """Move videos (the selected ones by default) to ``project_id``."""
        library = self.library
        ids = library.selected_video_ids() if video_ids is None else video_ids
        try:
            moved = move_videos(self.db, ids, project_id)
        except VruError as exc:
            library.message.emit(str(exc))
            return
        library.changed.emit()
        library.message.emit(f"{moved} video(s) moved to project '{project_view(self.db, project_id).name}'.")

    def drop_on_project(self, event: QDropEvent) -> bool:
        """A drag over the project list: videos dropped on a project move to it (``False``: not videos,
        the window imports files)."""
        if not event.mimeData().hasFormat(VIDEO_IDS_MIME):
            return False  # files and other drops: the window imports them
        if event.type() == QEvent.Type.DragEnter:
            event.acceptProposedAction()
            return True
        item = self.library.projects.itemAt(event.position().toPoint())
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

    # -- removing -------------------------------------------------------------------------------
    def remove_selected(self) -> None:
        library = self.library
        ids = library.selected_video_ids()
        if not ids:
            return
        answer = QMessageBox.question(
            library,
            "Remove from library",
            f"Remove {len(ids)} video(s) from the library?\n\nThe files stay on disk. Detection runs, "
            "annotations and reviews of these videos are deleted from the library.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        db = self.db
        library.message.emit(f"Removing {len(ids)} video(s) from the library…")
        self._ops.run(
            lambda _task: remove_videos(db, ids), on_success=self._removed, on_failure=self._remove_failed
        )

    def _removed(self, count: int) -> None:
        self.library.changed.emit()
        self.library.message.emit(f"{count} video(s) removed from the library; the files are untouched.")

    def _remove_failed(self, message: str) -> None:
        self.library.changed.emit()
        QMessageBox.warning(self.library, "Remove from library", message)

    # -- relinking ------------------------------------------------------------------------------
    def relink_selected(self) -> None:
        library = self.library
        ids = library.selected_video_ids()
        if not ids:
            return
        video = video_details(self.db, ids[0])
        if video is None:
            return
        name, kind, old_path = video.filename, video.kind, video.file_path
        box = QMessageBox(library)
        box.setWindowTitle("Relink")
        box.setText(f"Where is '{name}' now?\nIt was at {old_path}.")
        choose = box.addButton("Choose File…", QMessageBox.ButtonRole.AcceptRole)
        search = box.addButton("Search a Folder…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is choose:
            if kind == "image_sequence":
                path = QFileDialog.getExistingDirectory(library, f"Frame folder of {name}")
            else:
                path, _ = QFileDialog.getOpenFileName(library, f"New place of {name}", "", VIDEO_FILTER)
            if path:
                self.relink_to(ids[0], path)
        elif box.clickedButton() is search:
            folder = QFileDialog.getExistingDirectory(library, "Search missing videos below")
            if folder:
                self.relink_search(folder)

    def relink_to(self, video_id: int, path: str) -> None:
        try:
            relink(self.db, video_id, path)
        except VruError as exc:
            QMessageBox.warning(self.library, "Relink", str(exc))
            return
        self.library.changed.emit()
        self.library.message.emit(f"Video {video_id} relinked to {path}.")

    def relink_search(self, folder: str) -> None:
        """Search ``folder`` for every missing video (by content fingerprint), off the UI thread."""
        db = self.db
        self._relink_folder = folder
        self.library.message.emit(f"Searching {folder} for missing videos…")
        self._ops.run(
            lambda _task: relink_search(db, folder),
            on_success=self._relink_found,
            on_failure=lambda message: QMessageBox.warning(self.library, "Relink", message),
        )

    def _relink_found(self, found: list[tuple[int, Path]]) -> None:
        self.library.changed.emit()
        if found:
            lines = "\n".join(f"video {video_id}: {path}" for video_id, path in found)
            QMessageBox.information(self.library, "Relink", f"Found {len(found)} missing video(s):\n{lines}")
        else:
            QMessageBox.information(
                self.library, "Relink", f"No missing video was found below {self._relink_folder}."
            )
