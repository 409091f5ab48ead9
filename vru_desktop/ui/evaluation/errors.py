"""The evaluation's error browser: the errors at the current confidence, filtered by kind and sorted by
a column; clicking one asks to open the viewer on its frame with the box highlighted."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QTableView, QVBoxLayout, QWidget

from vru_desktop.evaluation.metrics import ERROR_KINDS, ErrorTable

Index = QModelIndex | QPersistentModelIndex
#: The error list is at least this many rows high.
ERROR_ROWS_SHOWN = 8


class ErrorModel(QAbstractTableModel):
    """The error table at the current threshold, optionally filtered to one kind, sorted by a column
    (click its header)."""

    HEADERS = ("Kind", "Frame", "Time (s)", "Class", "Score", "Box")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table: ErrorTable | None = None
        self.classes: list[str] = []
        self.times = np.zeros(0)
        self.rows = np.zeros(0, dtype=np.int64)
        self.kind_filter: int | None = None
        self.sort_order: tuple[int, Qt.SortOrder] | None = None

    def set_errors(self, table: ErrorTable, classes: list[str], times: np.ndarray) -> None:
        self.beginResetModel()
        self.table, self.classes, self.times = table, classes, times
        self._filter()
        self.endResetModel()

    def set_kind(self, kind: int | None) -> None:
        self.beginResetModel()
        self.kind_filter = kind
        self._filter()
        self.endResetModel()

    def _filter(self) -> None:
        if self.table is None:
            self.rows = np.zeros(0, dtype=np.int64)
        elif self.kind_filter is None:
            self.rows = np.arange(len(self.table))
        else:
            self.rows = np.flatnonzero(self.table.kind == self.kind_filter)
        if self.sort_order is not None and self.table is not None:
            column, order = self.sort_order
            keys = self._sort_keys(column)[self.rows]
            ranked = np.argsort(keys, kind="stable")
            self.rows = self.rows[ranked[::-1] if order == Qt.SortOrder.DescendingOrder else ranked]

    def _sort_keys(self, column: int) -> np.ndarray:
        """One sortable value per error (all rows of the table) for a column; missing scores last."""
        assert self.table is not None
        t = self.table
        if column == 0:
            return np.array([ERROR_KINDS[int(k)] for k in t.kind])
        if column in (1, 2):
            return t.frame
        if column == 3:
            return np.array([self.classes[int(c)] for c in t.category])
        if column == 4:
            return np.where(np.isnan(t.score), -1.0, t.score)
        return t.box[:, 0]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.beginResetModel()
        self.sort_order = (column, order) if column >= 0 else None
        self._filter()
        self.endResetModel()

    def error(self, row: int) -> dict[str, Any]:
        assert self.table is not None
        return self.table.row(int(self.rows[row]), self.classes)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or self.table is None:
            return None
        i = int(self.rows[index.row()])
        t = self.table
        column = index.column()
        if column == 0:
            return ERROR_KINDS[int(t.kind[i])].replace("_", " ")
        if column == 1:
            return int(t.frame[i])
        if column == 2:
            frame = int(t.frame[i])
            return f"{self.times[frame]:.2f}" if 0 <= frame < len(self.times) else ""
        if column == 3:
            return self.classes[int(t.category[i])]
        if column == 4:
            return "" if np.isnan(t.score[i]) else f"{t.score[i]:.3f}"
        return ", ".join(f"{v:.0f}" for v in t.box[i])


class ErrorBrowser(QWidget):
    """``openRequested(video_id, frame, {"box": …, "label": …})`` when an error is clicked."""

    openRequested = Signal(int, int, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.video_id: int | None = None
        self.error_filter = QComboBox()
        self.error_filter.addItem("All errors", None)
        for i, kind in enumerate(ERROR_KINDS):
            self.error_filter.addItem(kind.replace("_", " "), i)
        self.error_filter.currentIndexChanged.connect(
            lambda: self.error_model.set_kind(self.error_filter.currentData())
        )
        self.error_model = ErrorModel(self)
        self.error_view = QTableView()
        self.error_view.setModel(self.error_model)
        self.error_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.error_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.error_view.verticalHeader().hide()
        self.error_view.horizontalHeader().setStretchLastSection(True)
        self.error_view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.error_view.setSortingEnabled(True)  # in the evaluator's order until a header is clicked
        row_height = self.error_view.verticalHeader().defaultSectionSize()
        header_height = self.error_view.horizontalHeader().sizeHint().height()
        self.error_view.setMinimumHeight(header_height + ERROR_ROWS_SHOWN * row_height)
        self.error_view.clicked.connect(self._error_clicked)
        self.error_view.activated.connect(self._error_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.error_filter)
        layout.addWidget(self.error_view)

    def set_errors(self, video_id: int, table: ErrorTable, classes: list[str], times: np.ndarray) -> None:
        self.video_id = video_id
        self.error_model.set_errors(table, classes, times)

    def _error_clicked(self, index: QModelIndex) -> None:
        if self.video_id is None or not index.isValid():
            return
        error = self.error_model.error(index.row())
        label = f"{error['kind'].replace('_', ' ')}: {error['class']}"
        if error["score"] is not None:
            label += f" {error['score']:.2f}"
        self.openRequested.emit(self.video_id, error["frame"], {"box": error["box"], "label": label})
