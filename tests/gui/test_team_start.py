"""Starting the window on a team server that cannot be reached: a clear message and the choice to
open the local library instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from vru_desktop.errors import StoreError
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.app import open_library

UNREACHABLE = "postgresql://alice:secret@127.0.0.1:1/vru"


def answer(button_text: str, seen: list[str]) -> None:
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(f"{box.text()}\n{box.informativeText()}")
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, click)


def test_an_unreachable_server_offers_the_local_library(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    locations = resolve_locations(data_dir).ensure()
    seen: list[str] = []
    answer("Open the Local Library", seen)
    db = open_library(locations, UNREACHABLE)
    assert db is not None and db.path == locations.database
    db.close()
    (text,) = seen
    assert text.startswith(
        "Cannot open the database postgresql://alice:***@127.0.0.1:1/vru: connection failed"
    )
    assert "secret" not in text and f"Open the local library ({locations.database}) instead?" in text

    answer("Quit", seen)
    assert open_library(locations, UNREACHABLE) is None
    assert len(seen) == 2


def test_a_broken_local_file_is_not_offered_an_alternative(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    locations = resolve_locations(data_dir).ensure()
    locations.database.write_bytes(b"")
    with pytest.raises(StoreError, match="empty file"):
        open_library(locations, None)
