"""The Detect dialog's model picker takes every model format, an OpenVINO folder included, driven in
Qt's real file dialog by double-clicks."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QListView

from vru_desktop.settings import Locations, resolve_locations
from vru_desktop.store.models import DetectorModel
from vru_desktop.ui.runs.config_dialog import ModelFileDialog, RunConfigDialog

MODEL = "yolo11n_int8_openvino_model"


def double_click_in_model_dialog(monkeypatch: pytest.MonkeyPatch, folder: Path, name: str) -> list[str]:
    """Make the next model dialog open at ``folder`` and double-click the entry ``name`` (a file
    chooses it, a folder opens it) as a person would; returns the entries it listed."""
    real_exec = ModelFileDialog.exec
    listed: list[str] = []

    def exec_(dialog: ModelFileDialog) -> int:
        dialog.setDirectory(str(folder))
        poll = QTimer(dialog, interval=50)

        def click() -> None:  # the folder listing is read in the background: wait for the entry
            view = dialog.findChild(QListView, "listView")
            model, root = view.model(), view.rootIndex()
            rows = [model.index(r, 0, root) for r in range(model.rowCount(root))]
            entry = next((index for index in rows if index.data() == name), None)
            if entry is None or view.visualRect(entry).isEmpty():
                return
            poll.stop()
            listed.extend(index.data() for index in rows)
            where = view.visualRect(entry).center()
            QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
            QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)

        poll.timeout.connect(click)
        poll.start()
        QTimer.singleShot(15_000, dialog.reject)  # never hang a test run
        return real_exec(dialog)

    monkeypatch.setattr(ModelFileDialog, "exec", exec_)
    return listed


@pytest.fixture
def locations(data_dir: Path) -> Locations:
    return resolve_locations(data_dir).ensure()


def test_openvino_folder_is_chosen_by_opening_it(db, locations, shared_models, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    dialog = RunConfigDialog(db, locations, video_count=2)
    qtbot.addWidget(dialog)
    listed = double_click_in_model_dialog(monkeypatch, shared_models, MODEL)
    dialog.choose_button.click()
    assert MODEL in listed and "yolov8n_int8.tflite" in listed
    model = db.session().get(DetectorModel, dialog.model_box.currentData())
    assert model.format == "openvino" and Path(model.path) == (shared_models / MODEL).resolve()
    assert dialog.error_label.isHidden()


def test_a_model_file_is_chosen_by_double_click(db, locations, shared_models, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dialog = RunConfigDialog(db, locations, video_count=1)
    qtbot.addWidget(dialog)
    double_click_in_model_dialog(monkeypatch, shared_models, "yolov8n_int8.tflite")
    dialog.choose_button.click()
    model = db.session().get(DetectorModel, dialog.model_box.currentData())
    assert model.format == "tflite" and Path(model.path).name == "yolov8n_int8.tflite"
