"""Plugs the Datasets tab into the main window (listed in :mod:`vru_desktop.ui.workspaces`).

The tab refreshes after imports, runs and annotation edits (debounced, and only while shown;
otherwise when next shown). Other parts reach it with :func:`dataset_manager`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vru_desktop.ui.datasets.manager import DatasetManager

if TYPE_CHECKING:
    from vru_desktop.ui.main_window import MainWindow

TAB_TITLE = "Datasets"


def install(window: MainWindow) -> None:
    manager = DatasetManager(window.db, window)
    window.add_workspace(manager, TAB_TITLE)
    manager.videoActivated.connect(window.videoActivated)
    window.libraryChanged.connect(manager.schedule_refresh)
    window.annotationsChanged.connect(lambda _video_id: manager.schedule_refresh())
    window.detectionsChanged.connect(lambda _video_id, _session_id: manager.schedule_refresh())
    action = window.menu("&View").addAction("&Datasets")
    action.setObjectName("showDatasets")
    action.triggered.connect(lambda: window.show_workspace(manager))


def dataset_manager(window: MainWindow) -> DatasetManager | None:
    """The window's Datasets tab (for the export dialog: ``selected_video_ids()``), if installed."""
    return window.findChild(DatasetManager, "datasetManager")
