"""Preferences (Tools → Preferences…, Ctrl+,): one field per setting of the registry that a person sets.

The form is generated from :data:`vru_desktop.settings.REGISTRY`: a spin box for numbers (its range
from the registry), a check box, a choice list, or JSON text for structured values. Every value is
checked before any is stored, so a refused value changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from vru_desktop.errors import VruError
from vru_desktop.settings import REGISTRY, Setting, get_setting, set_setting
from vru_desktop.store.db import Database

_INT_LIMIT = 2**31 - 1


def preference_specs() -> list[Setting]:
    """The settings the dialog shows: every one a person sets (not remembered state, not families)."""
    return [spec for spec in REGISTRY.values() if not spec.remembered and not spec.is_family]


def _editor(spec: Setting) -> QWidget:
    if spec.kind == "int":
        box = QSpinBox()
        box.setRange(int(spec.minimum or -_INT_LIMIT), int(spec.maximum or _INT_LIMIT))
    elif spec.kind == "float":
        box = QDoubleSpinBox()
        box.setDecimals(3)
        box.setRange(spec.minimum if spec.minimum is not None else -1e9, spec.maximum or 1e9)
    elif spec.kind == "bool":
        return QCheckBox()
    elif spec.kind == "choice":
        combo = QComboBox()
        combo.addItems(spec.choices)
        return combo
    else:
        return QLineEdit()
    if spec.unit:
        box.setSuffix(f" {spec.unit}")
    return box


class PreferencesDialog(QDialog):
    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.db = db
        self.editors: dict[str, QWidget] = {}
        form = QFormLayout(self)
        for spec in preference_specs():
            editor = _editor(spec)
            editor.setObjectName(spec.key)
            editor.setToolTip(f"{spec.description} {spec.range_text()}")
            self.editors[spec.key] = editor
            self._show(spec, get_setting(db, spec.key))
            form.addRow(QLabel(spec.key), editor)
        self.error_label = QLabel()
        self.error_label.setObjectName("preferencesError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b")
        self.error_label.hide()
        form.addRow(self.error_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        form.addRow(buttons)

    def _show(self, spec: Setting, value: Any) -> None:
        editor = self.editors[spec.key]
        if isinstance(editor, QSpinBox | QDoubleSpinBox):
            editor.setValue(value)
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(str(value))
        elif isinstance(editor, QLineEdit):
            editor.setText(json.dumps(value))

    def _read(self, spec: Setting) -> Any:
        """The editor's value, checked by the registry (:class:`VruError` when it is refused)."""
        editor = self.editors[spec.key]
        if isinstance(editor, QSpinBox | QDoubleSpinBox):
            return spec.check(editor.value())
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QComboBox):
            return spec.check(editor.currentText())
        assert isinstance(editor, QLineEdit)
        return spec.parse(editor.text())

    def restore_defaults(self) -> None:
        for spec in preference_specs():
            self._show(spec, spec.default)

    def accept(self) -> None:
        try:
            values = {spec.key: self._read(spec) for spec in preference_specs()}
        except VruError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        for key, value in values.items():
            set_setting(self.db, key, value)
        super().accept()
