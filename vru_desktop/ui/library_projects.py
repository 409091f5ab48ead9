"""The Library's project actions (new, edit, delete, my default project) and the project list's menu."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox

from vru_desktop.errors import VruError
from vru_desktop.library.projects import delete_project
from vru_desktop.library.views import project_view
from vru_desktop.settings import USER_DEFAULT_PROJECT, get_setting, set_setting

if TYPE_CHECKING:
    from vru_desktop.ui.library_view import LibraryView


class ProjectActions(QObject):
    """Actions on ``library``'s current project; the window puts them in its menus."""

    def __init__(self, library: LibraryView) -> None:
        super().__init__(library)
        self.library = library
        self.db = library.db
        self.new_project_action = QAction("&New Project…", library)
        self.new_project_action.triggered.connect(self.new_project)
        self.edit_project_action = QAction("&Edit Project…", library)
        self.edit_project_action.triggered.connect(self.edit_project)
        self.delete_project_action = QAction("&Delete Project…", library)
        self.delete_project_action.triggered.connect(self.delete_project)
        self.user_default_action = QAction("Set as &My Default Project", library)
        self.user_default_action.setCheckable(True)
        self.user_default_action.triggered.connect(self.toggle_user_default)
        library.projects.customContextMenuRequested.connect(self._menu)
        library.projects.itemDoubleClicked.connect(lambda _item: self.edit_project())

    def enable_for(self, project_id: int | None) -> None:
        """Enable what applies to ``project_id`` (the current project)."""
        is_system_default = project_id is not None and project_view(self.db, project_id).is_default
        self.edit_project_action.setEnabled(project_id is not None)
        self.delete_project_action.setEnabled(project_id is not None and not is_system_default)
        self.user_default_action.setEnabled(project_id is not None)
        self.user_default_action.setChecked(
            project_id is not None and get_setting(self.db, USER_DEFAULT_PROJECT) == project_id
        )

    def _menu(self, position: QPoint) -> None:
        projects = self.library.projects
        menu = QMenu(self.library)
        menu.addAction(self.new_project_action)
        if projects.itemAt(position) is not None:
            menu.addActions([self.edit_project_action, self.user_default_action, self.delete_project_action])
        menu.exec(projects.viewport().mapToGlobal(position))

    def new_project(self) -> None:
        from vru_desktop.ui.project_dialog import edit_project

        project = edit_project(self.db, None, self.library)
        if project is not None:
            self.library.changed.emit()
            self.library.select_project(project.id)
            self.library.message.emit(f"Project '{project.name}' created.")

    def edit_project(self) -> None:
        from vru_desktop.ui.project_dialog import edit_project

        project_id = self.library.current_project_id()
        if project_id is not None and edit_project(self.db, project_id, self.library) is not None:
            self.library.changed.emit()

    def delete_project(self) -> None:
        library = self.library
        project_id = library.current_project_id()
        if project_id is None:
            return
        project = project_view(self.db, project_id)
        answer = QMessageBox.question(
            library,
            "Delete project",
            f"Delete the project '{project.name}'?\nIts videos move to the default project; "
            "no video, run or box is deleted.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            moved = delete_project(self.db, project_id)
        except VruError as exc:
            QMessageBox.warning(library, "Delete project", str(exc))
            return
        library.projects.setCurrentItem(None)
        library.changed.emit()
        library.message.emit(
            f"Project '{project.name}' deleted; {moved} video(s) moved to the default project."
        )

    def toggle_user_default(self) -> None:
        project_id = self.library.current_project_id()
        if project_id is None:
            return
        mine = get_setting(self.db, USER_DEFAULT_PROJECT) == project_id
        set_setting(self.db, USER_DEFAULT_PROJECT, None if mine else project_id)
        name = project_view(self.db, project_id).name
        self.library.changed.emit()
        self.library.message.emit(
            f"'{name}' is no longer my default project." if mine else f"My default project: '{name}'."
        )
