"""The main window: projects | videos | details in the Library tab, further workspaces as tabs.

Integration contract for the other areas (viewer, detection, evaluation, datasets):

* ``window.add_workspace(widget, title)`` adds a tab; ``window.show_workspace(widget)`` raises it.
* ``window.menu(name)`` returns the menu of that name ("&File", "&Edit", "&View", "&Video",
  "&Detection", "&Evaluation", "&Dataset", "&Tools", "&Help"), so areas add their actions with
  shortcuts. Library actions that act on the selection (Delete, Ctrl+E, Ctrl+L …) are active only
  while the Library tab has focus, so other workspaces may bind the same keys.
* Signals: ``videoActivated(video_id)`` (double-click or Enter on a video), ``projectChanged(project_id)``,
  ``libraryChanged()`` (after imports and edits; areas refresh their views),
  ``detectionsChanged(video_id, session_id)`` (a run wrote new detection events),
  ``annotationsChanged(video_id)`` (boxes or reviewed frames changed),
  ``openVideoRequested(video_id, frame, highlight)`` (open the viewer on that frame; ``highlight`` is
  ``None`` or a dict ``{"box": [x1, y1, x2, y2], "label": str}`` drawn over the frame).
* ``window.current_project_id()``, ``window.selected_video_ids()``, ``window.db``, ``window.locations``;
  ``window.viewer``, ``window.detection``, ``window.evaluation`` (the workspaces, once installed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMessageBox, QTabWidget, QWidget

from vru_desktop.jobs.operations import wait_for_all
from vru_desktop.settings import Locations
from vru_desktop.store.db import Database

if TYPE_CHECKING:
    from vru_desktop.ui.evaluation.workspace import EvaluationWorkspace
    from vru_desktop.ui.runs.workspace import DetectionWorkspace
    from vru_desktop.ui.viewer.workspace import ViewerWorkspace

MENU_NAMES = (
    "&File",
    "&Edit",
    "&View",
    "&Video",
    "&Detection",
    "&Evaluation",
    "&Dataset",
    "&Tools",
    "&Help",
)


class MainWindow(QMainWindow):
    videoActivated = Signal(int)
    projectChanged = Signal(int)
    libraryChanged = Signal()
    detectionsChanged = Signal(int, int)
    annotationsChanged = Signal(int)
    openVideoRequested = Signal(int, int, object)

    # The areas' workspaces, set by their ``install`` functions (:mod:`vru_desktop.ui.workspaces`).
    viewer: ViewerWorkspace
    detection: DetectionWorkspace
    evaluation: EvaluationWorkspace

    def __init__(self, db: Database, locations: Locations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.locations = locations
        self.setObjectName("mainWindow")
        self.setWindowTitle("VRU Desktop")
        self.setAcceptDrops(True)
        self.resize(1400, 860)
        self._menus: dict[str, QMenu] = {name: self.menuBar().addMenu(name) for name in MENU_NAMES}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        from vru_desktop.ui.library_view import LibraryView

        self.library = LibraryView(db, locations, self)
        self.add_workspace(self.library, "Library")
        self.library.videoActivated.connect(self.videoActivated)
        self.library.projectChanged.connect(self.projectChanged)
        self.library.changed.connect(self.refresh)
        self.annotationsChanged.connect(self.library.annotations_changed)
        self.library.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.status_label = QLabel()
        self.status_label.setObjectName("libraryStatus")
        self.status_label.setToolTip(f"Data folder: {locations.data_dir}")
        self.statusBar().addPermanentWidget(self.status_label)
        self.store_label = QLabel(db.location())  # which library: the file, or the team server
        self.store_label.setObjectName("storeLocation")
        self.statusBar().addPermanentWidget(self.store_label)
        self._build_actions()
        self._install_workspaces()
        self._settings = QSettings(str(locations.data_dir / "window.ini"), QSettings.Format.IniFormat)
        self._restore_state()
        self.refresh(check_files=True)

    # -- the contract ---------------------------------------------------------------------------
    def menu(self, name: str) -> QMenu:
        return self._menus[name]

    def add_workspace(self, widget: QWidget, title: str) -> int:
        return self.tabs.addTab(widget, title)

    def show_workspace(self, widget: QWidget) -> None:
        self.tabs.setCurrentWidget(widget)

    def current_project_id(self) -> int | None:
        return self.library.current_project_id()

    def selected_video_ids(self) -> list[int]:
        return self.library.selected_video_ids()

    def refresh(self, *, check_files: bool = False) -> None:
        """Reload the library (``check_files``: first mark moved or deleted files as missing)."""
        self.library.refresh(check_files=check_files)
        self._update_status()
        self.libraryChanged.emit()

    # -- set-up ---------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        library = self.library
        file_menu = self.menu("&File")
        self.import_action = self._action(
            file_menu, "&Import Videos…", QKeySequence.StandardKey.Open, library.importer.import_dialog
        )
        self.import_folder_action = self._action(
            file_menu, "Import &Folder…", "Ctrl+Shift+O", library.importer.import_folder_dialog
        )
        file_menu.addSeparator()
        self._add(
            file_menu, library.project_actions.new_project_action, QKeySequence.StandardKey.New, local=False
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        edit_menu = self.menu("&Edit")
        self._add(edit_menu, library.project_actions.edit_project_action, "Ctrl+E")
        self._add(edit_menu, library.project_actions.user_default_action, "Ctrl+Shift+D")
        self._add(edit_menu, library.project_actions.delete_project_action, "Ctrl+Shift+Delete")
        edit_menu.addSeparator()

        video_menu = self.menu("&Video")
        self._add(video_menu, library.video_actions.open_video_action, "Ctrl+Return")
        self._add(video_menu, library.video_actions.relink_action, "Ctrl+L")
        self._add(video_menu, library.video_actions.move_action, "Ctrl+Shift+M")
        self._add(video_menu, library.video_actions.remove_action, QKeySequence.StandardKey.Delete)
        video_menu.addSeparator()

        self._action(
            self.menu("&View"),
            "&Refresh",
            QKeySequence.StandardKey.Refresh,
            lambda: self.refresh(check_files=True),
        )
        self.doctor_action = self._action(
            self.menu("&Tools"), "&Check and Repair Library (Doctor)", "Ctrl+Shift+K", self.run_doctor
        )
        self.preferences_action = self._action(
            self.menu("&Tools"), "&Preferences…", "Ctrl+,", self.preferences
        )
        self.shortcuts_action = self._action(
            self.menu("&Help"),
            "&Keyboard Shortcuts",
            QKeySequence.StandardKey.HelpContents,
            self.show_shortcuts,
        )
        self._action(self.menu("&Help"), "&About VRU Desktop", None, self._about)

    def _action(self, menu: QMenu, text: str, shortcut: object, slot: object) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut if not isinstance(shortcut, str) else QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _add(self, menu: QMenu, action: QAction, shortcut: object, *, local: bool = True) -> None:
        """Put a library action in a menu; ``local`` ones only fire while the Library tab has focus."""
        action.setShortcut(shortcut if not isinstance(shortcut, str) else QKeySequence(shortcut))
        if local:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.library.addAction(action)
        menu.addAction(action)

    def _install_workspaces(self) -> None:
        """Other areas add their tabs and menu actions here (each through its own ``install`` function)."""
        from vru_desktop.ui import workspaces

        workspaces.install_all(self)

    def _update_status(self) -> None:
        from vru_desktop.library.views import library_counts

        counts = library_counts(self.db)
        text = f"{_count(counts.projects, 'project')} · {_count(counts.videos, 'video')}"
        self.status_label.setText(text + (f" · {counts.missing} missing" if counts.missing else ""))

    def run_doctor(self) -> None:
        from vru_desktop.library.doctor import run_doctor

        report = run_doctor(self.db)
        self.refresh()
        QMessageBox.information(self, "Library doctor", "\n".join(report.lines()))

    def preferences(self) -> None:
        from vru_desktop.ui.preferences_dialog import PreferencesDialog

        PreferencesDialog(self.db, self).exec()

    def show_shortcuts(self) -> None:
        from vru_desktop.ui.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self).open()

    def _about(self) -> None:
        from vru_desktop import __version__

        QMessageBox.about(
            self,
            "About VRU Desktop",
            f"VRU Desktop {__version__}\nValidating vulnerable-road-user detection on camera video.\n"
            f"Data folder: {self.locations.data_dir}\nLicence: AGPL-3.0",
        )

    # -- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.show_workspace(self.library)
            self.library.importer.import_paths(paths)

    # -- state ----------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self._settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self._settings.value("state")
        if state is not None:
            self.restoreState(state)
        for widget in self._stateful_widgets():
            widget.restore_state(self._settings)  # type: ignore[attr-defined]
        tab = self._settings.value("tab")
        if tab is not None and 0 <= int(tab) < self.tabs.count():
            self.tabs.setCurrentIndex(int(tab))

    def _stateful_widgets(self) -> list[QWidget]:
        """The tabs that keep state across starts (``save_state`` / ``restore_state`` with QSettings)."""
        tabs = [self.tabs.widget(i) for i in range(self.tabs.count())]
        return [tab for tab in tabs if hasattr(tab, "save_state") and hasattr(tab, "restore_state")]

    def closeEvent(self, event: QCloseEvent) -> None:
        self.library.thumbnails.shutdown()
        wait_for_all()
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("state", self.saveState())
        self._settings.setValue("tab", self.tabs.currentIndex())
        for widget in self._stateful_widgets():
            widget.save_state(self._settings)  # type: ignore[attr-defined]
        self._settings.sync()
        super().closeEvent(event)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
