"""Importing videos into the Library: the File menu's dialogs and files dropped on the window, found
and imported off the UI thread with progress, cancel and a summary at the end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from vru_desktop.jobs.operations import Operations
from vru_desktop.library.importer import (
    Assignment,
    ImportOutcome,
    ImportStatus,
    project_id_by_name,
    sequences_needing_fps,
)
from vru_desktop.library.views import project_view
from vru_desktop.ui.library_videos import VIDEO_FILTER

if TYPE_CHECKING:
    from vru_desktop.ui.import_dialog import ImportRunner
    from vru_desktop.ui.library_view import LibraryView


class LibraryImporter(QObject):
    """Imports into ``library``: into its selected project, unless that is the system default."""

    def __init__(self, library: LibraryView) -> None:
        super().__init__(library)
        self.library = library
        self.db = library.db
        self._ops = Operations(self)
        #: The latest import batch (its progress dialog and summary).
        self.last_import: ImportRunner | None = None

    def import_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self.library, "Import videos", "", VIDEO_FILTER)
        if files:
            self.import_paths(files)

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.library, "Import a folder of videos or frames")
        if folder:
            self.import_paths([folder])

    def import_assignment(self) -> Assignment:
        """The selected project counts as the user's choice, unless it is the system default project:
        then the user's default project and the file and folder names decide."""
        project_id = self.library.current_project_id()
        if project_id is not None and project_view(self.db, project_id).is_default:
            project_id = None
        return Assignment(active_project_id=project_id)

    def ask_fps(self, folder: Path) -> float | None:
        value, ok = QInputDialog.getDouble(
            self.library,
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
        self.library.message.emit("Looking for videos…")
        self._ops.run(
            lambda _task: sequences_needing_fps(paths),
            on_success=lambda folders: self._import_with_fps(paths, folders),
            on_failure=lambda message: QMessageBox.warning(self.library, "Import", message),
        )

    def _import_with_fps(self, paths: list[str], folders: list[Path]) -> None:
        """Ask the frame rate of each frame folder that does not give it, then import."""
        from vru_desktop.ui.import_dialog import ImportRunner

        sequence_fps = {}
        for folder in folders:
            fps = self.ask_fps(folder)
            if fps is not None:
                sequence_fps[folder] = fps
        runner = ImportRunner(self.db, paths, self.import_assignment(), sequence_fps, self.library)
        runner.finished.connect(self._import_finished)
        self.last_import = runner
        runner.start(self._ops)

    def _import_finished(self, outcomes: list[ImportOutcome]) -> None:
        library = self.library
        library.changed.emit()
        projects = {o.project for o in outcomes if o.status == ImportStatus.IMPORTED and o.project}
        if len(projects) == 1:  # show where the videos went
            library.select_project(project_id_by_name(self.db, projects.pop()))
        imported = sum(o.status == ImportStatus.IMPORTED for o in outcomes)
        refused = sum(o.status == ImportStatus.REFUSED for o in outcomes)
        library.message.emit(f"Import finished: {imported} imported, {refused} refused.")
