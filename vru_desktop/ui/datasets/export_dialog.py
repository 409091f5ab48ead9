"""Export dialog: format, scope (selected videos or a project), frames, annotations, destination;
the export runs off the UI thread with progress and Cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.datasets.exporter import FORMATS, ExportOptions, ExportResult, export_dataset
from vru_desktop.jobs.operations import Operations, Task
from vru_desktop.library.views import project_views
from vru_desktop.store.db import Database


class ExportDialog(QDialog):
    """``finished_export(result)`` after a successful export; errors and cancel show in ``status``."""

    finished_export = Signal(object)

    def __init__(
        self,
        db: Database,
        video_ids: list[int],
        project_id: int | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export dataset")
        self.db = db
        self.video_ids = list(video_ids)
        self._ops = Operations(self)
        self.task: Task | None = None
        self.result: ExportResult | None = None

        self.format = QComboBox()
        for key, label in FORMATS.items():
            self.format.addItem(label, key)
        self.selected = QRadioButton(f"Selected videos ({len(self.video_ids)})")
        self.by_project = QRadioButton("Project")
        self.project = QComboBox()
        for project in project_views(db):
            self.project.addItem(project.name, project.id)
            if project.id == project_id:
                self.project.setCurrentIndex(self.project.count() - 1)
        scope = QButtonGroup(self)
        scope.addButton(self.selected)
        scope.addButton(self.by_project)
        (self.selected if self.video_ids else self.by_project).setChecked(True)
        self.selected.setEnabled(bool(self.video_ids))
        self.every = QSpinBox()
        self.every.setRange(0, 100000)
        self.every.setSpecialValueText("annotated and reviewed frames")
        self.every.setPrefix("every ")
        self.every.setSuffix(" frames")
        self.all_annotations = QCheckBox(
            "All annotations (not only validated ground truth on reviewed frames)"
        )
        self.mot_images = QCheckBox("MOT: also write the frames (img1/)")
        self.detections = QCheckBox("OpenLABEL: also the detections of each video's latest run")
        self.overwrite = QCheckBox("Replace the folder if it holds files")
        self.out = QLineEdit()
        self.out.setPlaceholderText("a new or empty folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out)
        out_row.addWidget(browse)
        project_row = QHBoxLayout()
        project_row.addWidget(self.by_project)
        project_row.addWidget(self.project, 1)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Videos", self.selected)
        form.addRow("", project_row)
        form.addRow("Frames", self.every)
        form.addRow("", self.all_annotations)
        form.addRow("", self.mot_images)
        form.addRow("", self.detections)
        form.addRow("Folder", out_row)
        form.addRow("", self.overwrite)
        self.status = QLabel()
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()
        self.resize(620, 340)

    def _format_changed(self) -> None:
        key = self.format.currentData()
        self.mot_images.setEnabled(key == "mot")
        self.detections.setEnabled(key == "openlabel")
        self.every.setEnabled(key in ("coco", "yolo", "mot"))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder")
        if folder:
            self.out.setText(str(Path(folder) / f"{self.format.currentData()}_export"))

    def options(self) -> ExportOptions:
        use_selection = self.selected.isChecked() and bool(self.video_ids)
        return ExportOptions(
            format=self.format.currentData(),
            out=Path(self.out.text().strip()),
            video_ids=self.video_ids if use_selection else [],
            project=None if use_selection else self.project.currentText(),
            every=self.every.value() or None,
            all_annotations=self.all_annotations.isChecked(),
            mot_images=self.mot_images.isChecked(),
            detections=self.detections.isChecked() and self.detections.isEnabled(),
            overwrite=self.overwrite.isChecked(),
        )

    def start(self) -> None:
        if not self.out.text().strip():
            self.status.setText("Choose the folder to export to.")
            return
        options = self.options()
        db = self.db

        def work(task: Task) -> ExportResult:
            return export_dataset(db, options, progress=task.progress, should_cancel=task.cancelled)

        self.progress = QProgressDialog("Exporting…", "Cancel", 0, 0, self)
        self.progress.setWindowTitle("Export")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(300)
        self.export_button.setEnabled(False)
        self.status.setText("Exporting…")
        self.task = self._ops.run(
            work,
            on_success=self._on_success,
            on_failure=self._on_end,
            on_cancelled=self._on_end,
            on_progress=self._on_progress,
        )
        self.progress.canceled.connect(self.task.cancel)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _on_progress(self, done: int, total: int, detail: str) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.progress.setLabelText(f"Writing frame {done} of {total}\n{detail}")

    def _on_success(self, result: ExportResult) -> None:
        self.result = result
        details = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.counts.items())
        self._on_end(f"Exported {result.videos} videos to {result.out}: {details}.")
        self.finished_export.emit(result)

    def _on_end(self, message: str) -> None:
        self.progress.reset()
        self.export_button.setEnabled(True)
        self.status.setText(message)
