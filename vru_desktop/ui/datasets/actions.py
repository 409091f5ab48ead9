"""The Dataset menu's exchange actions: Export…, Import Annotations… and Annotation Imports…."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence

from vru_desktop.datasets.importer import ImportResult
from vru_desktop.ui.datasets.export_dialog import ExportDialog
from vru_desktop.ui.datasets.import_dialog import ImportAnnotationsDialog, ImportsDialog

if TYPE_CHECKING:
    from vru_desktop.ui.main_window import MainWindow


def selected_videos(window: MainWindow) -> list[int]:
    """The videos selected in the Datasets tab when it is shown, else in the Library."""
    from vru_desktop.ui.datasets.workspace import dataset_manager

    manager = dataset_manager(window)
    if manager is not None and window.tabs.currentWidget() is manager:
        return manager.selected_video_ids()
    return window.selected_video_ids()


def open_export(window: MainWindow) -> ExportDialog:
    dialog = ExportDialog(window.db, selected_videos(window), window.current_project_id(), window)
    dialog.show()
    return dialog


def open_import(window: MainWindow) -> ImportAnnotationsDialog:
    selected = selected_videos(window)
    dialog = ImportAnnotationsDialog(window.db, selected[0] if len(selected) == 1 else None, window)

    def announce(result: ImportResult) -> None:
        for video in result.videos:
            window.annotationsChanged.emit(video.video_id)
        window.refresh()

    dialog.imported.connect(announce)
    dialog.show()
    return dialog


def open_imports(window: MainWindow) -> ImportsDialog:
    dialog = ImportsDialog(window.db, window)

    def announce(video_ids: list[int]) -> None:
        for video_id in video_ids:
            window.annotationsChanged.emit(video_id)
        window.refresh()

    dialog.removed.connect(announce)
    dialog.show()
    return dialog


def install(window: MainWindow) -> None:
    menu = window.menu("&Dataset")
    export = QAction("&Export…", window)
    export.setObjectName("datasetExport")
    export.setShortcut(QKeySequence("Ctrl+Shift+E"))
    export.triggered.connect(lambda: open_export(window))
    menu.addAction(export)
    import_action = QAction("&Import Annotations…", window)
    import_action.setObjectName("datasetImportAnnotations")
    import_action.setShortcut(QKeySequence("Ctrl+Shift+I"))
    import_action.triggered.connect(lambda: open_import(window))
    menu.addAction(import_action)
    imports_action = QAction("Annotation Im&ports…", window)
    imports_action.setObjectName("datasetImports")
    imports_action.triggered.connect(lambda: open_imports(window))
    menu.addAction(imports_action)
