"""Import annotations: choose the format, the dataset and the target video(s), then Import. Class names
map to VRU types from what this source used last time and the defaults; where a class has neither (or
with "Map Classes…") the class-mapping dialog asks first. The import runs off the UI thread, in one
transaction. Boxes an earlier import already put on a video are refused unless the user chose to
replace that import or append. The imports dialog lists every import and removes one as a unit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.datasets.formats.common import SourceDataset
from vru_desktop.datasets.formats.openlabel import StreamChoiceNeeded
from vru_desktop.datasets.importer import (
    FORMATS,
    ImportOptions,
    ImportResult,
    import_annotations,
    read_dataset,
)
from vru_desktop.datasets.imports import ImportSummary, list_imports, remove_import
from vru_desktop.datasets.mapping import ClassMapping
from vru_desktop.errors import VruError
from vru_desktop.jobs.operations import Operations, Task
from vru_desktop.library.views import video_choices
from vru_desktop.store.db import Database
from vru_desktop.store.models import VRU_TYPES

IGNORE_TEXT = "(ignore)"
ON_DUPLICATE_TEXT = {
    "refuse": "refuse the import and say which import holds them",
    "replace": "replace the earlier import's boxes on those videos",
    "append": "append (keep both)",
}


class ClassMappingDialog(QDialog):
    """One row per class name in the dataset: its box count and the VRU type it becomes (or ignore)."""

    def __init__(self, dataset: SourceDataset, mapping: ClassMapping, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classMappingDialog")
        self.setWindowTitle("Map classes to VRU types")
        counts: dict[str, int] = {}
        for item in dataset.items:
            for box in item.boxes:
                if not box.outside:
                    counts[box.label] = counts.get(box.label, 0) + 1
        self.names = dataset.used_labels()
        self.table = QTableWidget(len(self.names), 3)
        self.table.setHorizontalHeaderLabels(["Class in the dataset", "Boxes", "VRU type"])
        self.combos: dict[str, QComboBox] = {}
        for row, name in enumerate(self.names):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(str(counts.get(name, 0))))
            combo = QComboBox()
            combo.addItems([*VRU_TYPES, IGNORE_TEXT])
            target = mapping.target(name)
            combo.setCurrentText(target if target in VRU_TYPES else IGNORE_TEXT)
            self.table.setCellWidget(row, 2, combo)
            self.combos[name] = combo
        self.table.resizeColumnsToContents()
        unmapped = mapping.unmapped(self.names)
        note = QLabel(
            "Classes with no known VRU type are set to ignore: " + ", ".join(unmapped)
            if unmapped
            else "Every class has a VRU type (from this dataset's last import or the defaults)."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(520, 360)

    def set_target(self, name: str, target: str | None) -> None:
        self.combos[name].setCurrentText(target or IGNORE_TEXT)

    def mapping(self) -> dict[str, str | None]:
        return {
            name: (None if combo.currentText() == IGNORE_TEXT else combo.currentText())
            for name, combo in self.combos.items()
        }


class ImportAnnotationsDialog(QDialog):
    """``imported(result)`` after a successful import; errors and cancel show in ``status``."""

    imported = Signal(object)
    #: After :meth:`read`: the class-mapping dialog it opened, or ``None`` (``status`` says why).
    readDone = Signal(object)

    def __init__(self, db: Database, video_id: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importAnnotationsDialog")
        self.setWindowTitle("Import annotations")
        self.db = db
        self._ops = Operations(self)
        self.task: Task | None = None
        self.mapping_dialog: ClassMappingDialog | None = None
        self.dataset: SourceDataset | None = None
        self.result: ImportResult | None = None

        self.format = QComboBox()
        for key, label in FORMATS.items():
            self.format.addItem(label, key)
        self.path = QLineEdit()
        self.path.setPlaceholderText("annotation file or dataset folder")
        browse_file = QPushButton("File…")
        browse_file.clicked.connect(self._browse_file)
        browse_folder = QPushButton("Folder…")
        browse_folder.clicked.connect(self._browse_folder)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path)
        path_row.addWidget(browse_file)
        path_row.addWidget(browse_folder)
        self.video = QComboBox()
        self.video.addItem("Pair with library videos by name", None)
        for choice_id, filename in video_choices(db):
            self.video.addItem(f"{choice_id}: {filename}", choice_id)
            if choice_id == video_id:
                self.video.setCurrentIndex(self.video.count() - 1)
        self.proposals = QCheckBox("Import as unvalidated proposals (mark no frame reviewed)")
        self.cvat_frames = QComboBox()
        self.cvat_frames.addItem("the task's source video (frames as in the file)", "source")
        self.cvat_frames.addItem("only the task's frames (0, 1, 2 …)", "task")
        self.on_duplicate = QComboBox()
        self.on_duplicate.setObjectName("importOnDuplicate")
        for key, text in ON_DUPLICATE_TEXT.items():
            self.on_duplicate.addItem(text, key)
        self.stream = QComboBox()
        self._reset_streams()
        self.path.textChanged.connect(self._reset_streams)
        self.form = QFormLayout()
        self.form.addRow("Format", self.format)
        self.form.addRow("Dataset", path_row)
        self.form.addRow("Onto", self.video)
        self.form.addRow("CVAT video is", self.cvat_frames)
        self.form.addRow("OpenLABEL stream", self.stream)
        self.form.addRow("Boxes already imported", self.on_duplicate)
        self.form.addRow("", self.proposals)
        self.format.currentIndexChanged.connect(self._show_format_options)
        self._show_format_options()
        self.status = QLabel()
        self.status.setObjectName("importStatus")
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The result lists every video and what was left out: it scrolls instead of being cut off.
        self.status_area = QScrollArea()
        self.status_area.setObjectName("importStatusArea")
        self.status_area.setWidgetResizable(True)
        self.status_area.setFrameShape(QFrame.Shape.NoFrame)
        self.status_area.setWidget(self.status)
        self.status_area.setMinimumHeight(90)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.next_button = buttons.addButton("Map Classes…", QDialogButtonBox.ButtonRole.ActionRole)
        self.next_button.setObjectName("mapClassesButton")
        self.next_button.clicked.connect(self.read)
        # The accept role makes it the default button (Enter); the dialog stays open to show the result.
        self.import_button = buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("importButton")
        buttons.accepted.connect(self.import_now)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.status_area, 1)
        layout.addWidget(buttons)
        self.resize(680, 360)

    def _show_format_options(self) -> None:
        """Only the options of the chosen format are shown."""
        self.form.setRowVisible(self.cvat_frames, self.format.currentData() == "cvat")
        self.form.setRowVisible(self.stream, self.format.currentData() == "openlabel")

    def _reset_streams(self) -> None:
        self.stream.clear()
        self.stream.addItem("the file's only camera stream", None)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Annotation file", "", "Annotations (*.json *.xml *.txt *.yaml)"
        )
        if path:
            self.path.setText(path)

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder")
        if folder:
            self.path.setText(folder)

    def options(self, mapping: dict[str, str | None]) -> ImportOptions:
        return ImportOptions(
            video_id=self.video.currentData(),
            mapping=mapping,
            unmapped="ignore",
            ground_truth=not self.proposals.isChecked(),
            cvat_frames=self.cvat_frames.currentData(),
            stream=self.stream.currentData(),
            on_duplicate=self.on_duplicate.currentData(),
        )

    def import_now(self) -> None:
        """Import at once when every class has a VRU type; else ask in the class-mapping dialog first
        (its Import button starts the import). The dataset is read off the UI thread; :attr:`readDone`
        follows."""
        self._read(self._import_or_ask)

    def read(self) -> None:
        """Read the dataset off the UI thread, then open the class-mapping dialog (its Import button
        starts the import); :attr:`readDone` follows."""
        self._read(self._ask_mapping)

    def _import_or_ask(self, mapping: ClassMapping) -> None:
        assert self.dataset is not None
        if mapping.unmapped(self.dataset.used_labels()):
            self._ask_mapping(mapping)
            return
        self.start({})
        self.readDone.emit(None)

    def _read(self, then: Callable[[ClassMapping], None]) -> None:
        if not self.path.text().strip():
            self.status.setText("Choose the annotation file or dataset folder.")
            self.readDone.emit(None)
            return
        format_name, path, options = self.format.currentData(), self.path.text().strip(), self.options({})

        def work(_task: Task) -> SourceDataset | StreamChoiceNeeded:
            try:
                return read_dataset(format_name, path, options)
            except StreamChoiceNeeded as exc:
                return exc

        self.next_button.setEnabled(False)
        self.status.setText("Reading…")
        self._ops.run(
            work,
            on_success=lambda read: self._dataset_read(format_name, read, then),
            on_failure=self._read_failed,
            newest="read",
        )

    def _read_failed(self, message: str) -> None:
        self.next_button.setEnabled(True)
        self.status.setText(message)
        self.readDone.emit(None)

    def _dataset_read(
        self, format_name: str, read: SourceDataset | StreamChoiceNeeded, then: Callable[[ClassMapping], None]
    ) -> None:
        self.next_button.setEnabled(True)
        if isinstance(read, StreamChoiceNeeded):
            self.stream.clear()
            self.stream.addItem("(choose a stream)", None)
            for name in read.streams:
                self.stream.addItem(name, name)
            self.status.setText(str(read))
            self.readDone.emit(None)
            return
        self.dataset = read
        boxes = sum(len(item.boxes) for item in self.dataset.items)
        self.status.setText(f"Read {boxes} boxes in {len(self.dataset.items)} parts.")
        then(ClassMapping.for_source(self.db, format_name, Path(self.dataset.path)))

    def _ask_mapping(self, mapping: ClassMapping) -> None:
        assert self.dataset is not None
        self.mapping_dialog = ClassMappingDialog(self.dataset, mapping, self)
        self.mapping_dialog.accepted.connect(lambda: self.start(self.mapping_dialog.mapping()))  # type: ignore[union-attr]
        self.mapping_dialog.open()
        self.readDone.emit(self.mapping_dialog)

    def start(self, mapping: dict[str, str | None]) -> None:
        options = self.options(mapping)
        db = self.db
        format_name = self.format.currentData()
        path = self.path.text().strip()

        def work(task: Task) -> ImportResult:
            return import_annotations(
                db, format_name, path, options, progress=task.progress, should_cancel=task.cancelled
            )

        self.progress = QProgressDialog("Importing annotations…", "Cancel", 0, 0, self)
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(300)
        self.next_button.setEnabled(False)
        self.import_button.setEnabled(False)
        self.status.setText("Importing…")
        self.task = self._ops.run(
            work, on_success=self._on_success, on_failure=self._on_end, on_cancelled=self._on_end
        )
        self.progress.canceled.connect(self.task.cancel)

    def _on_success(self, result: ImportResult) -> None:
        self.result = result
        self._on_end("\n".join([f"Imported {result.boxes} boxes:", *result.lines()]))
        self.imported.emit(result)

    def _on_end(self, message: str) -> None:
        self.progress.reset()
        self.next_button.setEnabled(True)
        self.import_button.setEnabled(True)
        self.status.setText(message)


class ImportsDialog(QDialog):
    """Every annotation import (newest last) with Remove Import; ``removed(video ids)`` after one
    is removed."""

    removed = Signal(list)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importsDialog")
        self.setWindowTitle("Annotation imports")
        self.db = db
        self.imports: list[ImportSummary] = []
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(
            ["Id", "Imported", "Format", "Boxes (now / imported)", "Kind", "Videos", "Source"]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.status = QLabel()
        self.status.setObjectName("importsStatus")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.remove_button = buttons.addButton("Remove Import", QDialogButtonBox.ButtonRole.ActionRole)
        self.remove_button.clicked.connect(self.remove_selected)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(900, 360)
        self.refresh()

    def refresh(self) -> None:
        self.imports = list_imports(self.db)
        self.table.setRowCount(len(self.imports))
        for row, record in enumerate(self.imports):
            now = sum(v.boxes_now for v in record.videos)
            values = [
                str(record.id),
                f"{record.imported_at:%Y-%m-%d %H:%M}",
                record.format,
                f"{now} / {record.boxes}",
                ("ground truth" if record.ground_truth else "proposals") + f", {record.mode}",
                ", ".join(f"{v.filename} ({v.video_id})" for v in record.videos),
                record.source,
            ]
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        self.remove_button.setEnabled(bool(self.imports))

    def remove_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.status.setText("Select the import to remove.")
            return
        record = self.imports[rows[0].row()]
        try:
            deleted = remove_import(self.db, record.id)
        except VruError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(f"Removed import {record.id}: {deleted} annotation rows deleted.")
        self.refresh()
        self.removed.emit([v.video_id for v in record.videos])
