"""Preferences (Tools → Preferences…, Ctrl+,): one field per setting of the registry that a person sets.

The form is generated from :data:`vru_desktop.settings.REGISTRY`: a spin box for whole numbers (its
range and unit from the registry), JSON text for structured values. Every value is
checked before any is stored, so a refused value changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
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


def _editor(spec: Setting) -> QSpinBox | QCheckBox | QLineEdit:
    if spec.kind == "bool":
        return QCheckBox()
    if spec.kind != "int":
        return QLineEdit()
    box = QSpinBox()
    box.setRange(spec.minimum if spec.minimum is not None else -_INT_LIMIT, spec.maximum or _INT_LIMIT)
    if spec.unit:
        box.setSuffix(f" {spec.unit}")
    return box


class PreferencesDialog(QDialog):
    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.db = db
        self.editors: dict[str, QSpinBox | QCheckBox | QLineEdit] = {}
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
        if isinstance(editor, QSpinBox):
            editor.setValue(value)
        elif isinstance(editor, QCheckBox):
            editor.setChecked(value)
        elif spec.kind == "cluster":  # a word or an address, typed as it is
            editor.setText(value)
        else:
            editor.setText(json.dumps(value))

    def _read(self, spec: Setting) -> Any:
        """The editor's value, checked by the registry (:class:`VruError` when it is refused)."""
        editor = self.editors[spec.key]
        if isinstance(editor, QSpinBox):
            return spec.check(editor.value())
        if isinstance(editor, QCheckBox):
            return spec.check(editor.isChecked())
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
