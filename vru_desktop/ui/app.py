"""Starting the window: fast, without torch or ultralytics."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vru_desktop.settings import (
    Locations,
    configure_logging,
    resolve_database,
    resolve_locations,
    trace_crashes,
)

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from vru_desktop.store.db import Database
    from vru_desktop.ui.main_window import MainWindow

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def application() -> QApplication:
    """The QApplication with the program's name, icon and style sheet (created once)."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    if not isinstance(existing, QApplication):
        # QtMultimedia probes for PipeWire on every start and warns when the desktop has none.
        quiet = "qt.multimedia.symbolsresolver=false"
        rules = os.environ.get("QT_LOGGING_RULES", "")
        os.environ["QT_LOGGING_RULES"] = f"{rules};{quiet}" if rules else quiet
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("VRU Desktop")
    app.setOrganizationName("vru_desktop")
    app.setDesktopFileName("vru-desktop")
    app.setWindowIcon(QIcon(str(RESOURCES / "icon.svg")))
    style = RESOURCES / "style.qss"
    if style.is_file() and app.styleSheet() != (text := style.read_text(encoding="utf-8")):
        app.setStyleSheet(text)  # re-polishes every widget there is: only when it changes
    return app


def build_window(db: Database, locations: Locations) -> MainWindow:
    from vru_desktop.ui.main_window import MainWindow

    application()
    return MainWindow(db, locations)


def run_gui(data_dir: str | None = None, *, database: str | None = None, verbose: bool = False) -> int:
    from PySide6.QtWidgets import QMessageBox

    from vru_desktop.errors import VruError
    from vru_desktop.library.projects import ensure_default_project
    from vru_desktop.store.db import open_database
    from vru_desktop.ui import errors

    app = application()
    try:
        locations = resolve_locations(data_dir).ensure()
        configure_logging(locations, verbose=verbose)
        trace_crashes()
        db = open_database(resolve_database(locations, database))
        ensure_default_project(db)
    except VruError as exc:
        QMessageBox.critical(None, "VRU Desktop", str(exc))
        return 1
    window = build_window(db, locations)
    errors.install(window)
    window.show()
    code = app.exec()
    db.close()
    return int(code)
