"""Tools → Preferences… (Ctrl+,): a form generated from the settings registry; a refused value
changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QCheckBox, QDialogButtonBox, QLabel, QLineEdit, QSpinBox

from vru_desktop.detection.runs import parallel_runs
from vru_desktop.settings import (
    ACCEPT_ALL_MARKS_REVIEWED,
    CLUSTER,
    CLUSTER_CPUS,
    CLUSTER_GPUS,
    CLUSTER_PATH_MAP,
    HEIGHT_BINS,
    PARALLEL_RUNS,
    PROTOCOLS,
    REGISTRY,
    STABLE_DETECTION,
    UNDO_HISTORY_MB,
    VIEWER_CACHE_MB,
    get_setting,
    resolve_locations,
)
from vru_desktop.store.db import Database
from vru_desktop.ui.app import build_window
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.preferences_dialog import PreferencesDialog


@pytest.fixture
def window(db: Database, data_dir: Path, qtbot) -> Iterator[MainWindow]:
    main = build_window(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()


def _type(qtbot, editor: QSpinBox | QLineEdit, text: str) -> None:
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, text)


def _click(dialog: PreferencesDialog, which: QDialogButtonBox.StandardButton) -> None:
    dialog.findChild(QDialogButtonBox).button(which).click()


def test_the_form_has_one_field_per_setting_a_person_sets(db: Database, qtbot) -> None:
    dialog = PreferencesDialog(db)
    qtbot.addWidget(dialog)
    expected = {key for key, spec in REGISTRY.items() if not spec.remembered and not spec.is_family}
    assert (
        set(dialog.editors)
        == expected
        == {
            VIEWER_CACHE_MB,
            UNDO_HISTORY_MB,
            ACCEPT_ALL_MARKS_REVIEWED,
            PARALLEL_RUNS,
            CLUSTER,
            CLUSTER_PATH_MAP,
            CLUSTER_CPUS,
            CLUSTER_GPUS,
            HEIGHT_BINS,
            STABLE_DETECTION,
            PROTOCOLS,
        }
    )
    assert dialog.findChild(QLineEdit, CLUSTER).text() == "local"
    assert dialog.findChild(QCheckBox, ACCEPT_ALL_MARKS_REVIEWED).isChecked()
    cache = dialog.findChild(QSpinBox, VIEWER_CACHE_MB)
    assert (cache.minimum(), cache.maximum(), cache.value(), cache.suffix()) == (64, 65536, 512, " MB")
    assert "Use 64 to 65536 MB." in cache.toolTip()
    assert dialog.findChild(QSpinBox, PARALLEL_RUNS).maximum() == 8
    assert '"near": [80.0, 1000000000.0]' in dialog.findChild(QLineEdit, HEIGHT_BINS).text()


def test_typed_values_are_stored_and_used(db: Database, qtbot) -> None:
    dialog = PreferencesDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog.findChild(QSpinBox, VIEWER_CACHE_MB), "1024")
    _type(qtbot, dialog.findChild(QSpinBox, PARALLEL_RUNS), "2")
    _type(qtbot, dialog.findChild(QLineEdit, HEIGHT_BINS), '{"tall": [60, 1e9], "short": [0, 60]}')
    _click(dialog, QDialogButtonBox.StandardButton.Ok)
    assert dialog.result() == PreferencesDialog.DialogCode.Accepted
    assert get_setting(db, VIEWER_CACHE_MB) == 1024
    assert parallel_runs(db) == 2
    assert get_setting(db, HEIGHT_BINS) == {"tall": [60.0, 1e9], "short": [0.0, 60.0]}

    again = PreferencesDialog(db)
    qtbot.addWidget(again)
    assert again.findChild(QSpinBox, VIEWER_CACHE_MB).value() == 1024
    _click(again, QDialogButtonBox.StandardButton.RestoreDefaults)
    assert again.findChild(QSpinBox, VIEWER_CACHE_MB).value() == 512
    _click(again, QDialogButtonBox.StandardButton.Ok)
    assert get_setting(db, VIEWER_CACHE_MB) == 512
    assert get_setting(db, HEIGHT_BINS) == REGISTRY[HEIGHT_BINS].default


def test_a_refused_value_keeps_the_dialog_open_and_changes_nothing(db: Database, qtbot) -> None:
    dialog = PreferencesDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog.findChild(QSpinBox, VIEWER_CACHE_MB), "2048")
    _type(qtbot, dialog.findChild(QLineEdit, HEIGHT_BINS), '{"far": [30, 0]}')
    _click(dialog, QDialogButtonBox.StandardButton.Ok)
    assert dialog.isVisible()
    error = dialog.findChild(QLabel, "preferencesError")
    assert error.isVisible()
    assert "bin 'far' must be [min, max] pixel heights with 0 <= min < max" in error.text()
    assert db.read_setting(VIEWER_CACHE_MB) is None
    assert db.read_setting(HEIGHT_BINS) is None


def test_ctrl_comma_opens_it_from_the_window(window: MainWindow, db: Database, qtbot) -> None:
    assert window.preferences_action.shortcut().toString() == "Ctrl+,"
    assert window.preferences_action in window.menu("&Tools").actions()
    seen: list[PreferencesDialog] = []

    def change_and_accept() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, PreferencesDialog)
        seen.append(dialog)
        dialog.findChild(QSpinBox, PARALLEL_RUNS).setValue(4)
        _click(dialog, QDialogButtonBox.StandardButton.Ok)

    QTimer.singleShot(0, change_and_accept)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert len(seen) == 1
    assert parallel_runs(db) == 4


def test_the_cluster_is_typed_as_a_word_or_an_address(db: Database, qtbot) -> None:
    dialog = PreferencesDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog.findChild(QLineEdit, CLUSTER), "10.0.0.5:6379")
    _type(qtbot, dialog.findChild(QLineEdit, CLUSTER_PATH_MAP), '{"/home/me/videos": "/mnt/videos"}')
    _click(dialog, QDialogButtonBox.StandardButton.Ok)
    assert get_setting(db, CLUSTER) == "10.0.0.5:6379"
    assert get_setting(db, CLUSTER_PATH_MAP) == {"/home/me/videos": "/mnt/videos"}
    again = PreferencesDialog(db)
    qtbot.addWidget(again)
    assert again.findChild(QLineEdit, CLUSTER).text() == "10.0.0.5:6379"
