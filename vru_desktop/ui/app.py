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


def open_library(locations: Locations, database: str | None = None) -> Database | None:
    """The library the window opens. When a team server cannot be opened, the person may open the
    local library instead; ``None`` when they decline. Other failures raise StoreError."""
    from vru_desktop.errors import StoreError
    from vru_desktop.store.db import open_database
    from vru_desktop.store.server import is_server_url

    target = resolve_database(locations, database)
    try:
        return open_database(target)
    except StoreError as exc:
        if not is_server_url(target):
            raise
        if not ask_open_local(str(exc), locations.database):
            return None
    return open_database(locations.database)


def ask_open_local(error: str, path: Path) -> bool:
    """Whether to open the local library at ``path`` after the team server failed with ``error``."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Critical, "VRU Desktop", error)
    box.setInformativeText(
        f"Open the local library ({path}) instead? What you change there stays on this computer."
    )
    local = box.addButton("Open the Local Library", QMessageBox.ButtonRole.AcceptRole)
    box.setEscapeButton(box.addButton("Quit", QMessageBox.ButtonRole.RejectRole))
    box.exec()
    return box.clickedButton() is local


def run_gui(data_dir: str | None = None, *, database: str | None = None, verbose: bool = False) -> int:
    from PySide6.QtWidgets import QMessageBox

    from vru_desktop.errors import VruError
    from vru_desktop.library.projects import ensure_default_project
    from vru_desktop.ui import errors

    app = application()
    try:
        locations = resolve_locations(data_dir).ensure()
        configure_logging(locations, verbose=verbose)
        trace_crashes()
        db = open_library(locations, database)
        if db is None:
            return 1
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
