"""The run configuration dialog: model, thresholds, image size, stride, device, tracking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.detection.models import (
    DEFAULT_MODEL_NAME,
    cuda_available,
    list_models,
    model_format,
    register_model,
    resolve_model_path,
    trust_question,
)
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.detection.runs import last_config
from vru_desktop.errors import ModelError, VruError
from vru_desktop.jobs.operations import Operations
from vru_desktop.settings import LAST_MODEL, LAST_RUN_CONFIG, Locations, get_setting, set_setting
from vru_desktop.store.db import Database

MODEL_FILTER = (
    "Detector models and *_openvino_model folders (*.pt *.onnx *.tflite *.engine *.xml);;All files (*)"
)


class ModelFileDialog(QFileDialog):
    """Picks a model in any format the model manager takes: a .pt, .onnx, .tflite or .engine file, or
    an ``*_openvino_model`` folder itself (opening the folder, or its .xml, chooses it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, "Choose a model file or OpenVINO folder", str(Path.home()), MODEL_FILTER)
        self.setObjectName("modelFileDialog")
        # Qt's own dialog: a platform dialog would not report a folder being opened.
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setFileMode(QFileDialog.FileMode.ExistingFile)
        self.setLabelText(QFileDialog.DialogLabel.FileName, "Model:")
        self.chosen: Path | None = None
        self.directoryEntered.connect(self._entered)

    def _entered(self, folder: str) -> None:
        if _is_openvino_folder(Path(folder)):
            self.chosen = Path(folder)
            self.done(QDialog.DialogCode.Accepted)

    def accept(self) -> None:
        selected = [Path(p) for p in self.selectedFiles()]
        if len(selected) == 1 and _is_openvino_folder(selected[0]):
            self._entered(str(selected[0]))
            return
        super().accept()

    def done(self, result: int) -> None:
        if result == QDialog.DialogCode.Accepted and self.chosen is None and self.selectedFiles():
            path = Path(self.selectedFiles()[0])
            self.chosen = (
                path.parent if path.suffix.lower() == ".xml" and _is_openvino_folder(path.parent) else path
            )
        super().done(result)


def _is_openvino_folder(path: Path) -> bool:
    try:
        return path.is_dir() and model_format(path) == "openvino"
    except ModelError:
        return False


def choose_model_file(parent: QWidget, db: Database, ops: Operations, added: Callable[[int], None]) -> None:
    """Ask for a model (a file, or an OpenVINO folder) and add it (see :func:`add_model_with_warning`)."""
    dialog = ModelFileDialog(parent)
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.chosen is None:
        return
    add_model_with_warning(parent, db, dialog.chosen, ops, added)


def add_model_with_warning(
    parent: QWidget, db: Database, path: Path, ops: Operations, added: Callable[[int], None]
) -> bool:
    """Add ``path`` to the known models, asking first if it carries code not yet trusted, off the UI
    thread (hashing a large model takes seconds), then ``added(model id)``; show errors. Whether it is
    being added."""
    try:
        question = trust_question(db, path)
    except VruError as exc:
        QMessageBox.critical(parent, "Cannot add this model", str(exc))
        return False
    if question is not None:
        answer = QMessageBox.warning(
            parent,
            "Model that carries code",
            question + "\n\nTrust this file and add it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
    trust = question is not None
    ops.run(
        lambda _task: register_model(db, path, trust=trust).id,
        on_success=added,
        on_failure=lambda message: QMessageBox.critical(parent, "Cannot add this model", message),
    )
    return True


class RunConfigDialog(QDialog):
    """Asks how to run the detector over ``video_count`` videos; ``model_id`` and ``config()`` after OK.

    The default model name (yolo11n.pt) is offered when no model is known; where it is not on this
    computer and cannot be downloaded the dialog says so and offers "Choose model file…".
    """

    def __init__(self, db: Database, locations: Locations, video_count: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.locations = locations
        self.model_id: int | None = None
        self._ops = Operations(self)
        #: A model name still to be fetched (only where a network exists), else ``None``.
        self.download_spec: str | None = None
        self.setWindowTitle("Run the detector")
        defaults = last_config(db)

        self.model_box = QComboBox()
        self.choose_button = QPushButton("Choose model file…")
        self.choose_button.clicked.connect(self._choose_file)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_box, 1)
        model_row.addWidget(self.choose_button)
        self._fill_models(get_setting(db, LAST_MODEL))

        self.conf = _spin(0.01, 0.99, 0.05, defaults.conf)
        self.iou = _spin(0.05, 0.95, 0.05, defaults.iou)
        self.rider = _spin(0.05, 1.0, 0.05, defaults.rider_threshold)
        self.imgsz = QSpinBox()
        self.imgsz.setRange(32, 4096)
        self.imgsz.setSingleStep(32)
        self.imgsz.setValue(defaults.imgsz)
        self.stride = QSpinBox()
        self.stride.setRange(1, 1000)
        self.stride.setValue(defaults.stride)
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        if cuda_available():
            self.device.addItem("CUDA (GPU)", "cuda")
        self.device.setCurrentIndex(max(0, self.device.findData(defaults.device)))
        self.tracker = QComboBox()
        self.tracker.addItem("None", "none")
        self.tracker.addItem("ByteTrack (fills track ids)", "bytetrack")
        self.tracker.setCurrentIndex(max(0, self.tracker.findData(defaults.tracker)))
        self._batch = defaults.batch

        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Confidence threshold", self.conf)
        form.addRow("NMS IoU", self.iou)
        form.addRow("Image size", self.imgsz)
        form.addRow("Every Nth frame", self.stride)
        form.addRow("Device", self.device)
        form.addRow("Tracking", self.tracker)
        form.addRow("Rider overlap (person on bicycle/motorcycle)", self.rider)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b")
        self.error_label.hide()
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok | cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            f"Detect in {video_count} video{'s' if video_count != 1 else ''}"
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def _fill_models(self, select_id: int | None) -> None:
        self.model_box.clear()
        for model in list_models(self.db):
            self.model_box.addItem(f"{model.name}  ({model.format}, {model.sha256[:8]})", model.id)
        if self.model_box.count() == 0:
            label = f"{DEFAULT_MODEL_NAME} (Ultralytics, downloaded on first use)"
            self.model_box.addItem(label, DEFAULT_MODEL_NAME)
        index = self.model_box.findData(select_id) if select_id is not None else -1
        self.model_box.setCurrentIndex(max(0, index))

    def _choose_file(self) -> None:
        choose_model_file(self, self.db, self._ops, self._model_added)

    def _model_added(self, model_id: int) -> None:
        self._fill_models(model_id)
        self.error_label.hide()

    def config(self) -> RunConfig:
        config = RunConfig(
            conf=self.conf.value(),
            iou=self.iou.value(),
            imgsz=self.imgsz.value(),
            stride=self.stride.value(),
            device=self.device.currentData(),
            tracker=self.tracker.currentData(),
            batch=self._batch,
            rider_threshold=self.rider.value(),
        )
        config.validate()
        return config

    def accept(self) -> None:
        try:
            config = self.config()
            choice = self.model_box.currentData()
            if isinstance(choice, str):  # the default model name, not added yet
                path = resolve_model_path(choice, self.locations)
                if path.exists():
                    choice = register_model(self.db, path).id  # refused if it carries untrusted code
                else:
                    self.download_spec = choice
                    choice = None
        except VruError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            self.choose_button.setDefault(True)
            self.choose_button.setFocus()
            return
        self.model_id = choice
        set_setting(self.db, LAST_RUN_CONFIG, config.to_dict())
        if choice is not None:
            set_setting(self.db, LAST_MODEL, choice)
        super().accept()


def _spin(low: float, high: float, step: float, value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    return box
