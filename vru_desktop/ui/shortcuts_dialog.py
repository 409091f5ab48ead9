"""Help → Keyboard Shortcuts: every key of the window, read from its actions (so the list cannot go
stale), with the menu or tab each belongs to, plus the viewer's mouse gestures."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: The viewer's mouse gestures (no action behind them, so not found among the actions).
MOUSE: tuple[tuple[str, str], ...] = (
    ("Click / Ctrl+Click", "Select a box / add it to the selection"),
    ("Drag on an empty spot", "Draw a box"),
    ("Drag a selected box or its handles", "Move / resize it"),
    ("Wheel", "Zoom around the mouse"),
    ("Middle button drag / Alt+Drag", "Pan"),
    ("Rest the mouse on a box", "Show its label"),
)


def shortcut_rows(window: QWidget) -> list[tuple[str, str, str]]:
    """(keys, action, where) for every action of ``window`` that has a shortcut, by place then key."""
    rows: set[tuple[str, str, str]] = set()
    for action in window.findChildren(QAction):
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        if not keys:
            continue
        menus = [m.title().replace("&", "") for m in action.associatedObjects() if isinstance(m, QMenu)]
        owner = action.parent()
        where = menus[0] if menus else (owner.objectName() if isinstance(owner, QWidget) else "")
        rows.add((keys, action.text().replace("&", "").rstrip("…"), where))
    return sorted(rows, key=lambda row: (row[2], row[0]))


class ShortcutsDialog(QDialog):
    """A filterable table of every key and mouse gesture."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        rows = [*shortcut_rows(window), *((keys, what, "Viewer (mouse)") for keys, what in MOUSE)]
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Menu"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for number, row in enumerate(rows):
            for column, text in enumerate(row):
                self.table.setItem(number, column, QTableWidgetItem(text))
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.resizeColumnToContents(0)
        self.table.setSortingEnabled(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter (a key or a word)")
        self.filter.textChanged.connect(self._filter)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 640)

    def _filter(self, text: str) -> None:
        wanted = text.strip().lower()
        for row in range(self.table.rowCount()):
            cells = (self.table.item(row, column).text().lower() for column in range(3))
            self.table.setRowHidden(row, bool(wanted) and not any(wanted in cell for cell in cells))

    def rows(self) -> list[tuple[str, str, str]]:
        """The rows shown, as text."""
        return [
            tuple(self.table.item(row, column).text() for column in range(3))  # type: ignore[misc]
            for row in range(self.table.rowCount())
            if not self.table.isRowHidden(row)
        ]
