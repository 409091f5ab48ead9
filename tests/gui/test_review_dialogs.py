"""The Detect dialog's model picker takes every model format, an OpenVINO folder included (driven in
Qt's real file dialog by double-clicks); the Import Annotations dialog's Import button, options and
result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QListView
from sqlalchemy import func, select

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import Locations, resolve_locations
from vru_desktop.store.models import Annotation, DetectorModel
from vru_desktop.ui.datasets.import_dialog import IGNORE_TEXT, ImportAnnotationsDialog
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
    qtbot.waitUntil(
        lambda: isinstance(dialog.model_box.currentData(), int), timeout=30_000
    )  # added off the UI thread
    model = db.session().get(DetectorModel, dialog.model_box.currentData())
    assert model.format == "openvino" and Path(model.path) == (shared_models / MODEL).resolve()
    assert dialog.error_label.isHidden()


def test_a_model_file_is_chosen_by_double_click(db, locations, shared_models, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dialog = RunConfigDialog(db, locations, video_count=1)
    qtbot.addWidget(dialog)
    double_click_in_model_dialog(monkeypatch, shared_models, "yolov8n_int8.tflite")
    dialog.choose_button.click()
    qtbot.waitUntil(
        lambda: isinstance(dialog.model_box.currentData(), int), timeout=30_000
    )  # added off the UI thread
    model = db.session().get(DetectorModel, dialog.model_box.currentData())
    assert model.format == "tflite" and Path(model.path).name == "yolov8n_int8.tflite"


def _label_studio(path: Path, labels: tuple[str, ...], frames: dict[str, tuple[int, ...]]) -> Path:
    """Label Studio tasks, one per frame image (``{video}_{frame:06d}.jpg``), one box per label."""
    value = {"x": 10, "y": 20, "width": 30, "height": 40}
    tasks = [
        {
            "id": len(name) * 1000 + n,
            "data": {"image": f"/data/upload/{name}_{n:06d}.jpg"},
            "annotations": [
                {
                    "id": n,
                    "result": [
                        {
                            "type": "rectanglelabels",
                            "original_width": 100,
                            "original_height": 50,
                            "value": {**value, "rectanglelabels": [label]},
                        }
                        for label in labels
                    ],
                }
            ],
        }
        for name, numbers in frames.items()
        for n in numbers
    ]
    path.write_text(json.dumps(tasks))
    return path


def test_import_button_is_on_the_dialog_and_the_result_is_whole(  # type: ignore[no-untyped-def]
    qtbot, db, make_video, tmp_path: Path
) -> None:
    names = ("walk", "ride", "stroll", "scoot", "wheel", "hop")
    for number, name in enumerate(names):
        import_paths(db, [make_video(f"{name}.mp4", frames=6 + number, size=(100, 50))])
    dialog = ImportAnnotationsDialog(db, None)  # paired with library videos by name
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.import_button.isVisible() and dialog.import_button.isDefault()

    # Options show only for the format they belong to.
    dialog.format.setCurrentIndex(dialog.format.findData("label-studio"))
    assert not dialog.form.isRowVisible(dialog.cvat_frames) and not dialog.cvat_frames.isVisible()
    dialog.format.setCurrentIndex(dialog.format.findData("cvat"))
    assert dialog.form.isRowVisible(dialog.cvat_frames)
    dialog.format.setCurrentIndex(dialog.format.findData("label-studio"))

    # Every class known: Import imports at once, no mapping dialog on the way.
    frames = {name: (0, 1, 2, 3, 4) for name in names}
    dialog.path.setText(str(_label_studio(tmp_path / "known.json", ("person", "cyclist"), frames)))
    with qtbot.waitSignal(dialog.imported, timeout=10_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert dialog.mapping_dialog is None
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 60
    lines = dialog.status.text().splitlines()
    assert lines[0] == "Imported 60 boxes:" and len(lines) == 7
    assert "walk.mp4 (video 1): 10 boxes, 0 tracks, 0 crowd, 5 frames reviewed" in lines
    # Every line can be read: the label keeps the height its text needs and the area scrolls to it.
    status, area = dialog.status, dialog.status_area
    qtbot.waitUntil(lambda: status.height() >= status.heightForWidth(status.width()))
    scroll = area.verticalScrollBar()
    assert scroll.maximum() >= status.height() - area.viewport().height()

    # An unknown class: Import asks for its VRU type first.
    dialog.path.setText(str(_label_studio(tmp_path / "odd.json", ("kangaroo",), {"walk": (5,)})))
    with qtbot.waitSignal(dialog.readDone, timeout=10_000):  # the dataset is read off the UI thread
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    mapping = dialog.mapping_dialog
    assert mapping is not None and mapping.isVisible()
    assert mapping.combos["kangaroo"].currentText() == IGNORE_TEXT
    mapping.reject()
