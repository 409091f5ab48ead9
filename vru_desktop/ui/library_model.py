"""The videos table's model: plain rows from one query, cells formatted when shown, thumbnails on demand.

A project with thousands of videos loads as fast as one query: no item objects per cell, and
thumbnails are looked up (and, when missing, asked for) only for the rows the view paints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QPixmap

from vru_desktop.datasets.readiness import coverage_text
from vru_desktop.library.thumbnails import ThumbnailRequest, thumbnail_path
from vru_desktop.library.views import VideoRow
from vru_desktop.store.models import VideoStatus

VIDEO_COLUMNS = ("", "Name", "Duration", "FPS", "Resolution", "Frames", "Size", "Status", "Reviewed")
THUMB_COLUMN, NAME_COLUMN, STATUS_COLUMN, COVERAGE_COLUMN = 0, 1, 7, 8
NUMERIC_COLUMNS = frozenset({2, 3, 5, 6, COVERAGE_COLUMN})
THUMB_SIZE = QSize(96, 54)
#: Drag-and-drop type of library videos (a JSON list of video ids), dropped on a project to move them.
VIDEO_IDS_MIME = "application/x-vru-video-ids"
ModelIndex = QModelIndex | QPersistentModelIndex


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def human_duration(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:05.2f}" if hours else f"{minutes}:{secs:05.2f}"


def cell_text(row: VideoRow, column: int) -> str:
    if column == NAME_COLUMN:
        return row.filename
    if column == 2:
        return human_duration(row.duration)
    if column == 3:
        return f"{row.fps:.3f}".rstrip("0").rstrip(".")
    if column == 4:
        return f"{row.width}x{row.height}"
    if column == 5:
        return str(row.frame_count)
    if column == 6:
        return human_size(row.file_size)
    if column == STATUS_COLUMN:
        return row.status
    if column == COVERAGE_COLUMN:
        return coverage_text(row.coverage)
    return ""


def sort_key(row: VideoRow, column: int) -> Any:
    keys = {
        NAME_COLUMN: row.filename.lower(),
        2: row.duration,
        3: row.fps,
        4: row.width * row.height,
        5: row.frame_count,
        6: row.file_size,
        STATUS_COLUMN: row.status,
        COVERAGE_COLUMN: row.coverage,
    }
    return keys.get(column, row.id)


class VideoTableModel(QAbstractTableModel):
    """Rows of :class:`VideoRow`; ``want_thumbnail(request)`` is called for a painted row without one."""

    def __init__(
        self, cache_dir: Path, want_thumbnail: Callable[[ThumbnailRequest], None], parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.cache_dir = cache_dir
        self.want_thumbnail = want_thumbnail
        self.rows: list[VideoRow] = []
        self._icons: dict[str, QIcon] = {}
        self._asked: set[str] = set()
        self._sort = (NAME_COLUMN, Qt.SortOrder.AscendingOrder)
        placeholder = QPixmap(THUMB_SIZE)
        placeholder.fill(QColor("#3a3f44"))
        self.placeholder = QIcon(placeholder)

    # -- content --------------------------------------------------------------------------------
    def set_rows(self, rows: list[VideoRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self._sort_rows()
        self._asked.clear()
        self.endResetModel()

    def video_id(self, row: int) -> int:
        return self.rows[row].id

    def thumbnail_ready(self, fingerprint: str) -> None:
        self._icons[fingerprint] = QIcon(str(thumbnail_path(self.cache_dir, fingerprint)))
        for number, row in enumerate(self.rows):
            if row.fingerprint == fingerprint:
                index = self.index(number, THUMB_COLUMN)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    # -- Qt model interface ---------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(VIDEO_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return VIDEO_COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        file_ok = row.status == VideoStatus.OK
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(row, column)
        if role == Qt.ItemDataRole.DecorationRole and column == THUMB_COLUMN:
            return self._icon(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == NAME_COLUMN:
                return row.file_path
            if column == STATUS_COLUMN and not file_ok:
                return "The file is not where it was: use Video → Relink."
            if column == COVERAGE_COLUMN:
                return f"{row.reviewed_frames} of {row.frame_count} frames reviewed (ground-truth coverage)"
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS_COLUMN and not file_ok:
            return QColor("#d35400")
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:
        return [VIDEO_IDS_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        ids = sorted({self.rows[index.row()].id for index in indexes if index.isValid()})
        data = QMimeData()
        data.setData(VIDEO_IDS_MIME, QByteArray(json.dumps(ids).encode()))
        return data

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.beginResetModel()
        self._sort_rows()
        self.endResetModel()

    # -- helpers --------------------------------------------------------------------------------
    def _sort_rows(self) -> None:
        column, order = self._sort
        self.rows.sort(key=lambda r: sort_key(r, column), reverse=order == Qt.SortOrder.DescendingOrder)

    def _icon(self, row: VideoRow) -> QIcon:
        icon = self._icons.get(row.fingerprint)
        if icon is not None:
            return icon
        cached = thumbnail_path(self.cache_dir, row.fingerprint)
        if cached.is_file():
            icon = self._icons[row.fingerprint] = QIcon(str(cached))
            return icon
        if row.status == VideoStatus.OK and row.fingerprint not in self._asked:
            self._asked.add(row.fingerprint)
            self.want_thumbnail(
                ThumbnailRequest(row.fingerprint, Path(row.file_path), row.kind, row.frame_count)
            )
        return self.placeholder
