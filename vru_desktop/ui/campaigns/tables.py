"""The read-only tables of the Campaigns tab: one row per item, numbers to three decimals, each row
able to carry what a click on it opens (:data:`ROW_DATA` on its first cell)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

#: The item data role of a row's first cell that holds what clicking the row opens.
ROW_DATA = Qt.ItemDataRole.UserRole


def cell_text(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def fill_table(
    table: QTableWidget, headers: list[str], rows: list[list[Any]], data: list[Any] | None = None
) -> None:
    """Replace the table's contents; ``data[i]`` goes to row ``i``'s first cell (:data:`ROW_DATA`)."""
    sorting = table.isSortingEnabled()
    table.setSortingEnabled(False)
    table.clear()
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(cell_text(value))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            if c == 0 and data is not None:
                item.setData(ROW_DATA, data[r])
            table.setItem(r, c, item)
    table.setSortingEnabled(sorting)


def row_data(table: QTableWidget, row: int) -> Any:
    item = table.item(row, 0)
    return None if item is None else item.data(ROW_DATA)


def make_table(name: str) -> QTableWidget:
    table = QTableWidget()
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setSortingEnabled(False)
    return table
