"""Create or edit a project; required fields are checked before anything is written."""

from __future__ import annotations

import json

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from vru_desktop.errors import VruError
from vru_desktop.library.projects import (
    CAMERA_VIEWS,
    LENS_TYPES,
    PROJECT_STATUSES,
    REQUIRED_FIELDS,
    SIGNAL_TYPES,
    ProjectFields,
    create_project,
    parse_ignore_regions,
    update_project,
)
from vru_desktop.library.views import ProjectView, project_view
from vru_desktop.store.db import Database
from vru_desktop.store.models import ProjectStatus


def _combo(values: tuple[str, ...], current: str) -> QComboBox:
    combo = QComboBox()
    combo.setEditable(True)
    combo.addItems(["", *values])
    combo.setCurrentText(current)
    return combo


class ProjectDialog(QDialog):
    def __init__(self, db: Database, project_id: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("projectDialog")
        self.db = db
        self.project_id = project_id
        self.saved: ProjectView | None = None
        data = ProjectFields.of(project_view(db, project_id)) if project_id else ProjectFields()
        self.setWindowTitle("Edit project" if project_id else "New project")
        self.name = QLineEdit(data.name)
        self.camera_model = QLineEdit(data.camera_model)
        self.camera_view = _combo(CAMERA_VIEWS, data.camera_view)
        self.lens_type = _combo(LENS_TYPES, data.lens_type)
        self.resolution = QLineEdit(data.resolution)
        self.resolution.setPlaceholderText("1920x1080")
        self.frame_rate = QDoubleSpinBox()
        self.frame_rate.setRange(0, 240)
        self.frame_rate.setSpecialValueText("unknown")
        self.frame_rate.setValue(data.frame_rate or 0)
        self.signal_type = _combo(SIGNAL_TYPES, data.signal_type)
        self.status = QComboBox()
        self.status.addItems(list(PROJECT_STATUSES))
        self.status.setCurrentText(data.status)
        self.description = QPlainTextEdit(data.description)
        self.vru_classes = QLineEdit(", ".join(data.vru_classes))
        self.ignore_regions = QPlainTextEdit(json.dumps(data.ignore_regions) if data.ignore_regions else "")
        self.ignore_regions.setPlaceholderText("[[[0, 0], [400, 0], [400, 200], [0, 200]]]")
        self.ignore_regions.setToolTip(
            "Polygons in pixels of the videos; evaluation leaves out every box and detection whose "
            "centre lies inside one."
        )
        self.ignore_regions.setMaximumHeight(70)
        self.gt_coverage = QDoubleSpinBox()
        self.gt_coverage.setObjectName("gtCoverage")
        self.gt_coverage.setRange(1, 100)
        self.gt_coverage.setDecimals(0)
        self.gt_coverage.setSuffix(" % of frames reviewed")
        self.gt_coverage.setValue(data.gt_coverage * 100)
        self.gt_coverage.setToolTip(
            "A video of this project counts as having ground truth (readiness) once this share of its"
            " frames is marked reviewed."
        )
        self.error = QLabel()
        self.error.setObjectName("projectError")
        self.error.setWordWrap(True)
        self.setMinimumWidth(560)
        form = QFormLayout(self)
        form.addRow("Name *", self.name)
        form.addRow("Camera model *", self.camera_model)
        form.addRow("Camera view *", self.camera_view)
        form.addRow("Signal type *", self.signal_type)
        form.addRow("Lens type", self.lens_type)
        form.addRow("Resolution", self.resolution)
        form.addRow("Frame rate", self.frame_rate)
        form.addRow("Status", self.status)
        form.addRow("VRU classes (keys 1–9)", self.vru_classes)
        form.addRow("Ignore regions (JSON)", self.ignore_regions)
        form.addRow("Ground truth needs", self.gt_coverage)
        form.addRow("Description", self.description)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def fields(self) -> ProjectFields:
        return ProjectFields(
            name=self.name.text(),
            description=self.description.toPlainText(),
            camera_model=self.camera_model.text().strip(),
            camera_view=self.camera_view.currentText().strip(),
            lens_type=self.lens_type.currentText().strip(),
            resolution=self.resolution.text().strip(),
            frame_rate=self.frame_rate.value() or None,
            signal_type=self.signal_type.currentText().strip(),
            status=self.status.currentText() or ProjectStatus.ACTIVE,
            vru_classes=[c.strip() for c in self.vru_classes.text().split(",") if c.strip()],
            ignore_regions=parse_ignore_regions(self.ignore_regions.toPlainText()),
            gt_coverage=self.gt_coverage.value() / 100,
        )

    def _mark_missing(self) -> None:
        """Outline each empty required field, so the person sees where to type."""
        data = self.fields()
        for name in REQUIRED_FIELDS:
            widget = getattr(self, name)
            empty = not str(getattr(data, name)).strip()
            widget.setStyleSheet("border: 1px solid #c0392b;" if empty else "")

    def save(self) -> None:
        try:
            self._mark_missing()
            if self.project_id is None:
                saved_id = create_project(self.db, self.fields()).id
            else:
                saved_id = update_project(self.db, self.project_id, self.fields()).id
            self.saved = project_view(self.db, saved_id)
        except VruError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


def edit_project(db: Database, project_id: int | None, parent: QWidget | None = None) -> ProjectView | None:
    dialog = ProjectDialog(db, project_id, parent)
    return dialog.saved if dialog.exec() == QDialog.DialogCode.Accepted else None
