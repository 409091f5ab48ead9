"""Starting the window: fast, without torch or ultralytics."""

from __future__ import annotations

import sys

from vru_desktop.settings import configure_logging, resolve_locations


def run_gui(data_dir: str | None = None, *, verbose: bool = False) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from vru_desktop.errors import VruError
    from vru_desktop.library.projects import ensure_default_project
    from vru_desktop.store.db import open_database
    from vru_desktop.ui.main_window import MainWindow

    locations = resolve_locations(data_dir).ensure()
    configure_logging(locations, verbose=verbose)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("VRU Desktop")
    app.setOrganizationName("vru_desktop")
    try:
        db = open_database(locations.database)
        ensure_default_project(db)
    except VruError as exc:
        QMessageBox.critical(None, "VRU Desktop", str(exc))
        return 1
    window = MainWindow(db, locations)
    window.show()
    code = app.exec()
    db.close()
    return int(code)
