"""The objects panel beside the picture: the current frame's boxes and the project's ignore regions.

One row per box (ground truth and detections of the run shown) with its class, track, whether it is
validated, where it came from and a detection's confidence, and two check boxes: **Hide** (not drawn)
and **Lock** (the mouse cannot select, move or delete it). A box on a track is hidden or locked on
every frame of the track. Selecting rows selects the boxes on the picture and the other way round;
an ignore region's row selects that region (Delete removes it).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.annotations.views import AnnotationView, DetectionView
from vru_desktop.ui.viewer.overlay import ANNOTATION, DETECTION

#: Overlay key of a box: (kind, id).
BoxKey = tuple[str, int | None]
#: What hide and lock are kept for: a track, or a single box.
ObjectKey = tuple[str, int]
REGION = "region"
COLUMNS = ("Object", "Class", "Track", "✓", "Source", "Conf.", "Hide", "Lock")
HIDE_COLUMN, LOCK_COLUMN = COLUMNS.index("Hide"), COLUMNS.index("Lock")
_KEY_ROLE = Qt.ItemDataRole.UserRole


def object_key(view: AnnotationView | DetectionView) -> ObjectKey:
    """The key hide and lock are kept under: the box's track (all its frames), else the box."""
    if isinstance(view, DetectionView):
        return ("run track", view.track_id) if view.track_id is not None else (DETECTION, view.id)
    return ("track", view.track_id) if view.track_id is not None else (ANNOTATION, view.id)


@dataclass(frozen=True)
class ObjectRow:
    """One row of the panel. ``key``: the box's overlay key, or ``("region", index)``."""

    key: BoxKey
    object: ObjectKey | None
    name: str
    vru_type: str = ""
    track: str = ""
    validated: str = ""
    source: str = ""
    confidence: str = ""

    @classmethod
    def of_annotation(cls, view: AnnotationView) -> ObjectRow:
        return cls(
            (ANNOTATION, view.id),
            object_key(view),
            f"box {view.id}",
            view.vru_type,
            "" if view.track_id is None else str(view.track_id),
            "✓" if view.validated else "",
            view.source,
            "" if view.confidence is None else f"{view.confidence:.2f}",
        )

    @classmethod
    def of_detection(cls, view: DetectionView) -> ObjectRow:
        return cls(
            (DETECTION, view.id),
            object_key(view),
            f"det. {view.id}",
            view.vru_type,
            "" if view.track_id is None else str(view.track_id),
            view.review or "",
            "detection",
            f"{view.confidence:.2f}",
        )

    @classmethod
    def of_region(cls, index: int, points: int) -> ObjectRow:
        return cls((REGION, index), None, f"region {index + 1}", "ignore", source=f"{points} points")


class ObjectsPanel(QWidget):
    """The table of the frame's objects. Emits what the person changed; the viewer applies it."""

    #: The rows selected now: their keys (boxes and regions).
    rowsSelected = Signal(object)
    #: Hide or Lock of an object was switched: (object key, column "hide" or "lock", on).
    objectToggled = Signal(object, str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("objectsPanel")
        self.title = QLabel("Objects")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("objectsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeaderItem(COLUMNS.index("✓")).setToolTip(
            "Validated (ground truth) or the review of a detection"
        )
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemChanged.connect(self._on_item_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        self.rows: list[ObjectRow] = []

    def set_rows(self, rows: list[ObjectRow], hidden: set[ObjectKey], locked: set[ObjectKey]) -> None:
        """Show ``rows``; keeps the selected rows that are still there (without emitting)."""
        selected = self.selected_keys()
        self.table.blockSignals(True)
        self.rows = list(rows)
        self.table.setRowCount(len(rows))
        grey = QColor("gray")
        for number, row in enumerate(rows):
            texts = (row.name, row.vru_type.replace("_", " "), row.track, row.validated, row.source)
            for column, text in enumerate((*texts, row.confidence)):
                item = QTableWidgetItem(text)
                item.setData(_KEY_ROLE, row.key)
                if row.object in hidden:
                    item.setForeground(grey)
                self.table.setItem(number, column, item)
            for column, keys in ((HIDE_COLUMN, hidden), (LOCK_COLUMN, locked)):
                item = QTableWidgetItem()
                item.setData(_KEY_ROLE, row.key)
                if row.object is None:
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                else:
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    on = row.object in keys
                    item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                self.table.setItem(number, column, item)
        self._select_rows(selected)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()  # once: per cell it costs seconds at 200 rows
        self.title.setText(f"Objects on this frame: {sum(r.object is not None for r in rows)}")

    def set_playing(self) -> None:
        """While the video plays the rows are left out; they come back on the frame where it stops."""
        if self.rows:
            self.set_rows([], set(), set())
        self.title.setText("Objects: shown when paused")

    def selected_keys(self) -> set[BoxKey]:
        return {self.rows[index.row()].key for index in self.table.selectionModel().selectedRows()}

    def show_selection(self, keys: set[BoxKey]) -> None:
        """Select the rows of ``keys`` (the selection on the picture), without emitting."""
        self.table.blockSignals(True)
        self._select_rows(keys)
        self.table.blockSignals(False)
        self.table.viewport().update()

    def _select_rows(self, keys: set[BoxKey]) -> None:
        self.table.clearSelection()
        model = self.table.selectionModel()
        flags = model.SelectionFlag.Select | model.SelectionFlag.Rows
        for number, row in enumerate(self.rows):
            if row.key in keys:
                model.select(self.table.model().index(number, 0), flags)

    def row_of(self, key: BoxKey) -> int:
        return next(number for number, row in enumerate(self.rows) if row.key == key)

    def _on_selection(self) -> None:
        self.rowsSelected.emit(sorted(self.selected_keys(), key=str))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        column = item.column()
        row = self.rows[item.row()]
        if column in (HIDE_COLUMN, LOCK_COLUMN) and row.object is not None:
            what = "hide" if column == HIDE_COLUMN else "lock"
            self.objectToggled.emit(row.object, what, item.checkState() == Qt.CheckState.Checked)
