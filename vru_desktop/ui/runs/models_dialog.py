"""The model manager: known models with their checksum, and each model's class map editor."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.detection.classmap import VEHICLE_PREFIX, mapping_choices
from vru_desktop.detection.models import MODEL_FORMATS, get_model, list_models, set_class_map
from vru_desktop.errors import VruError
from vru_desktop.jobs.operations import Operations
from vru_desktop.settings import Locations
from vru_desktop.store.db import Database
from vru_desktop.ui.runs.config_dialog import add_model_with_warning, choose_model_file


def choice_label(value: str | None) -> str:
    if value is None:
        return "(ignore)"
    if value.startswith(VEHICLE_PREFIX):
        return f"vehicle of a {value[len(VEHICLE_PREFIX) :].replace('_', ' ')}"
    return value.replace("_", " ")


class ModelManagerDialog(QDialog):
    """Add model files, see their format and SHA-256, and map each model class to a VRU type."""

    def __init__(self, db: Database, locations: Locations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.locations = locations
        self._ops = Operations(self)
        self.setWindowTitle("Detector models")
        self.resize(820, 560)
        self.models = QListWidget()
        self.models.currentItemChanged.connect(self._show_current)
        add_file = QPushButton("Add Model File…")
        add_file.clicked.connect(self._add_file)
        add_folder = QPushButton("Add OpenVINO Folder…")
        add_folder.clicked.connect(self._add_folder)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.models)
        row = QHBoxLayout()
        row.addWidget(add_file)
        row.addWidget(add_folder)
        left_layout.addLayout(row)

        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Model class", "VRU type"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.save_button = QPushButton("Save Class Map")
        self.save_button.clicked.connect(self.save_class_map)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.details)
        right_layout.addWidget(
            QLabel(
                "Each model class becomes a VRU type, a vehicle whose rider (a person box on it) becomes "
                "that VRU type, or is ignored."
            )
        )
        right_layout.addWidget(self.table, 1)
        right_layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(close)
        self.refresh()

    def refresh(self, select_id: int | None = None) -> None:
        self.models.blockSignals(True)
        self.models.clear()
        for model in list_models(self.db):
            item = QListWidgetItem(f"{model.name}\n{MODEL_FORMATS.get(model.format, model.format)}")
            item.setData(Qt.ItemDataRole.UserRole, model.id)
            self.models.addItem(item)
            if model.id == select_id:
                self.models.setCurrentItem(item)
        if self.models.currentItem() is None and self.models.count():
            self.models.setCurrentRow(0)
        self.models.blockSignals(False)
        self._show_current()
        self.save_button.setEnabled(self.models.count() > 0)

    def current_model_id(self) -> int | None:
        item = self.models.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _show_current(self) -> None:
        model_id = self.current_model_id()
        self.table.setRowCount(0)
        if model_id is None:
            self.details.setText("No model yet: add a model file.")
            return
        model = get_model(self.db, model_id)
        self.details.setText(
            f"<b>{model.name}</b><br>{model.path}<br>SHA-256 {model.sha256}<br>"
            f"{len(model.class_names)} classes"
            + ("" if model.class_names else " (their names are read at the first run)")
        )
        names = [model.class_names[k] for k in sorted(model.class_names, key=int)] or sorted(model.class_map)
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            self.table.setItem(row, 0, _read_only_item(name))
            combo = QComboBox()
            for value in mapping_choices():
                combo.addItem(choice_label(value), value)
            combo.setCurrentIndex(max(0, combo.findData(model.class_map.get(name))))
            self.table.setCellWidget(row, 1, combo)

    def class_map_in_table(self) -> dict[str, str | None]:
        mapping: dict[str, str | None] = {}
        for row in range(self.table.rowCount()):
            combo = self.table.cellWidget(row, 1)
            assert isinstance(combo, QComboBox)
            mapping[self.table.item(row, 0).text()] = combo.currentData()
        return mapping

    def set_mapping(self, class_name: str, value: str | None) -> None:
        """Pick ``value`` for ``class_name`` in the table (as a person would with the combo box)."""
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == class_name:
                combo = self.table.cellWidget(row, 1)
                assert isinstance(combo, QComboBox)
                combo.setCurrentIndex(combo.findData(value))
                return
        raise KeyError(class_name)

    def save_class_map(self) -> None:
        model_id = self.current_model_id()
        if model_id is None:
            return
        try:
            set_class_map(self.db, model_id, self.class_map_in_table())
        except VruError as exc:
            QMessageBox.critical(self, "Class map not saved", str(exc))

    def add_path(self, path: Path) -> bool:
        """Add the model at ``path`` off the UI thread (the list shows it after); whether it is added."""
        return add_model_with_warning(self, self.db, path, self._ops, self.refresh)

    def _add_file(self) -> None:
        choose_model_file(self, self.db, self._ops, self.refresh)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an OpenVINO model folder (*_openvino_model)")
        if folder:
            self.add_path(Path(folder))


def _read_only_item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item
