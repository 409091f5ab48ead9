"""The Datasets workspace: every video across projects with readiness, filters, sorting and statistics.

The table is a :class:`QAbstractTableModel` over the rows of
:func:`vru_desktop.datasets.query.load_rows` (10 000 rows reset in milliseconds; cells are
formatted only when painted). The rows are loaded once per library change; filters (debounced)
narrow the loaded rows without querying again; sorting happens in the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.datasets.query import (
    CAMERA_FIELDS,
    SORT_KEYS,
    DatasetFilter,
    DatasetRow,
    detection_sort_key,
    filter_rows,
    load_rows,
    sort_rows,
)
from vru_desktop.datasets.readiness import LEVELS, NOT_READY, PARTIAL, READY, coverage_text
from vru_desktop.datasets.statistics import DatasetStatistics, compute_statistics
from vru_desktop.jobs.operations import Operations
from vru_desktop.library.views import project_views
from vru_desktop.store.db import Database
from vru_desktop.store.models import VRU_TYPES, VideoStatus
from vru_desktop.ui.datasets.stats_panel import StatsPanel

READINESS_COLOURS = {READY: "#c8ebc8", PARTIAL: "#ffecb3", NOT_READY: "#f8cdcd"}
REFRESH_DELAY_MS = 400
FILTER_DELAY_MS = 150
ANY = "Any"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    display: Callable[[DatasetRow], Any]
    sort_key: Callable[[DatasetRow], Any]
    tooltip: str = ""
    numeric: bool = False


SHORT_TYPE_TITLES = {
    "pedestrian": "Ped.",
    "cyclist": "Cyc.",
    "motorcyclist": "Moto.",
    "wheelchair_user": "Wheel.",
    "scooter_rider": "Scoot.",
}


def _short_type(vru_type: str) -> str:
    return SHORT_TYPE_TITLES.get(vru_type, vru_type[:6].capitalize())


def _file_text(row: DatasetRow) -> str:
    if row.status != VideoStatus.OK:
        return row.status
    return "ok" if row.file_exists else "not found"


def _columns() -> tuple[Column, ...]:
    text_columns = [
        Column("video_id", "ID", lambda r: r.video_id, SORT_KEYS["video_id"], numeric=True),
        Column("filename", "Video", lambda r: r.filename, SORT_KEYS["filename"]),
        Column(
            "readiness",
            "Readiness",
            lambda r: f"{r.level} · {r.score}",
            SORT_KEYS["readiness"],
            "20 points each: detections, validated boxes, ground truth (reviewed coverage), project,"
            " healthy file",
        ),
        Column("project", "Project", lambda r: r.project_name or "—", SORT_KEYS["project"]),
        Column("camera_model", "Camera", lambda r: r.camera_model, SORT_KEYS["camera_model"]),
        Column("camera_view", "View", lambda r: r.camera_view, SORT_KEYS["camera_view"]),
        Column("lens_type", "Lens", lambda r: r.lens_type, SORT_KEYS["lens_type"]),
        Column("signal_type", "Signal", lambda r: r.signal_type, SORT_KEYS["signal_type"]),
        Column(
            "imported_at",
            "Imported",
            lambda r: r.imported_at[:10],
            SORT_KEYS["imported_at"],
            "Import date (UTC)",
        ),
        Column("frames", "Frames", lambda r: r.frame_count, SORT_KEYS["frames"], numeric=True),
        Column(
            "detections",
            "Detections",
            lambda r: r.detection_total,
            SORT_KEYS["detections"],
            "Detection events of the latest run",
            numeric=True,
        ),
    ]
    type_columns = [
        Column(
            f"det:{vru_type}",
            _short_type(vru_type),
            lambda r, t=vru_type: r.detections.get(t, 0),
            detection_sort_key(vru_type),
            f"{vru_type} detections in the latest run",
            numeric=True,
        )
        for vru_type in VRU_TYPES
    ]
    count_columns = [
        Column(
            "annotations", "Boxes", lambda r: r.annotations, SORT_KEYS["annotations"], "Annotated boxes", True
        ),
        Column(
            "validated", "Validated", lambda r: r.validated, SORT_KEYS["validated"], "Validated boxes", True
        ),
        Column(
            "ground_truth",
            "Ground truth",
            lambda r: r.ground_truth,
            SORT_KEYS["ground_truth"],
            "Validated boxes on reviewed frames",
            True,
        ),
        Column(
            "reviewed_frames",
            "Reviewed",
            lambda r: r.reviewed_frames,
            SORT_KEYS["reviewed_frames"],
            "Reviewed frames",
            True,
        ),
        Column(
            "coverage",
            "Coverage",
            lambda r: coverage_text(r.coverage),
            SORT_KEYS["coverage"],
            "Reviewed frames as a share of all frames",
            True,
        ),
        Column("file_healthy", "File", _file_text, SORT_KEYS["file_healthy"], "File exists and status ok"),
    ]
    return (*text_columns, *type_columns, *count_columns)


COLUMNS: tuple[Column, ...] = _columns()


class DatasetTableModel(QAbstractTableModel):
    """The dataset rows as a table model; ``Qt.UserRole`` gives a row's video id."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[DatasetRow] = []
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_rows(self, rows: Sequence[DatasetRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        if self._sort is not None:
            self._sort_rows(*self._sort)
        self.endResetModel()

    def column_of(self, key: str) -> int:
        return next(i for i, column in enumerate(COLUMNS) if column.key == key)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(row)
        if role == Qt.ItemDataRole.UserRole:
            return row.video_id
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            if column.key == "readiness":
                return QBrush(QColor(READINESS_COLOURS[row.level]))
            if column.key == "file_healthy" and not row.file_healthy:
                return QBrush(QColor(READINESS_COLOURS[NOT_READY]))
        if role == Qt.ItemDataRole.ForegroundRole and column.key in ("readiness", "file_healthy"):
            return QBrush(QColor("#202020"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        return None

    @staticmethod
    def _tooltip(row: DatasetRow, column: Column) -> str:
        if column.key == "readiness":
            missing = row.missing()
            return f"{row.level} ({row.score}/100)" + (
                "\nMissing: " + "; ".join(missing) if missing else "\nAll five criteria met"
            )
        if column.key == "coverage":
            return (
                f"{row.reviewed_frames} of {row.frame_count} frames reviewed; the project asks"
                f" {row.coverage_required:.0%} for its ground truth to count"
            )
        if column.key == "detections":
            kinds = ", ".join(f"{k}: {v}" for k, v in sorted(row.detections.items())) or "none"
            run = f"run {row.latest_session_id}" if row.latest_session_id else "no run yet"
            return f"{run} ({row.runs} run(s) in all)\n{kinds}"
        if column.key == "filename":
            return row.file_path
        if column.key == "imported_at":
            return f"imported {row.imported_at[:19]} UTC"
        return column.tooltip

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tooltip or COLUMNS[section].title
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column, keeping selected and current rows attached to their videos."""
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self.rows[index.row()].video_id for index in persistent]
        self._sort_rows(column, order)
        position = {row.video_id: number for number, row in enumerate(self.rows)}
        self.changePersistentIndexList(
            persistent,
            [self.index(position[vid], index.column()) for vid, index in zip(ids, persistent, strict=True)],
        )
        self.layoutChanged.emit()

    def _sort_rows(self, column: int, order: Qt.SortOrder) -> None:
        sort_rows(self.rows, COLUMNS[column].sort_key, descending=order == Qt.SortOrder.DescendingOrder)


class DatasetManager(QWidget):
    """The Datasets tab: filter bar, the table, the statistics panel."""

    videoActivated = Signal(int)
    #: The visible rows changed (after a query): the number shown.
    rowsChanged = Signal(int)
    #: The statistics panel shows the statistics of the current rows.
    statisticsShown = Signal()

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetManager")
        self.db = db
        self._dirty = True
        self._columns_fitted = False
        self._all_rows: list[DatasetRow] = []
        self.model = DatasetTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("datasetTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.doubleClicked.connect(self._activate)
        self.stats_panel = StatsPanel()
        self.count_label = QLabel()
        self.count_label.setObjectName("datasetCount")
        self._build_filters()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.stats_panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(self.filter_layout)
        layout.addWidget(splitter)
        self._ops = Operations(self)
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self._refresh_if_shown)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filters)

    # -- filters ----------------------------------------------------------------------------------
    def _combo(self, name: str, items: Sequence[tuple[str, Any]]) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        for label, value in items:
            combo.addItem(label, value)
        combo.currentIndexChanged.connect(self._filters_changed)
        return combo

    def _build_filters(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("datasetSearch")
        self.search.setPlaceholderText("File name contains…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filters_changed)
        self.project_combo = self._combo("projectFilter", [(ANY, None)])
        self.readiness_combo = self._combo("readinessFilter", [(ANY, None), *[(lv, lv) for lv in LEVELS]])
        self.status_combo = self._combo(
            "statusFilter", [(ANY, None), *[(status.value, status.value) for status in VideoStatus]]
        )
        self.vru_combo = self._combo("vruFilter", [(ANY, None), *[(t, t) for t in VRU_TYPES]])
        self.camera_combos = {name: self._combo(f"{name}Filter", [(ANY, None)]) for name in CAMERA_FIELDS}
        self.from_check = QCheckBox("Imported from")
        self.to_check = QCheckBox("to")
        self.from_date = QDateEdit(QDate.currentDate().addMonths(-1), calendarPopup=True)
        self.to_date = QDateEdit(QDate.currentDate(), calendarPopup=True)
        for check, edit in ((self.from_check, self.from_date), (self.to_check, self.to_date)):
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(self._filters_changed)
            edit.dateChanged.connect(self._filters_changed)
        reset = QPushButton("Clear filters")
        reset.setObjectName("clearFilters")
        reset.clicked.connect(self.clear_filters)
        camera_titles = {
            "camera_model": "Camera",
            "camera_view": "View",
            "lens_type": "Lens",
            "signal_type": "Signal",
        }
        first = [
            ("Search", self.search),
            ("Project", self.project_combo),
            ("Readiness", self.readiness_combo),
            ("Status", self.status_combo),
            ("VRU type", self.vru_combo),
        ]
        second = [(camera_titles[name], combo) for name, combo in self.camera_combos.items()]
        self.filter_layout = QVBoxLayout()
        self.filter_layout.setSpacing(4)
        for pairs, tail in ((first, reset), (second, self.count_label)):
            line = QHBoxLayout()
            for label, widget in pairs:
                line.addWidget(QLabel(label))
                line.addWidget(widget)
                line.addSpacing(8)
            if pairs is second:
                for widget in (self.from_check, self.from_date, self.to_check, self.to_date):
                    line.addWidget(widget)
            line.addStretch(1)
            line.addWidget(tail)
            self.filter_layout.addLayout(line)
        self.search.setMinimumWidth(220)
        for combo in (self.project_combo, *self.camera_combos.values()):
            combo.setMinimumWidth(140)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def current_filter(self) -> DatasetFilter:
        def chosen(combo: QComboBox) -> tuple[Any, ...]:
            value = combo.currentData()
            return () if value is None else (value,)

        camera = tuple(
            (name, combo.currentData()) for name, combo in self.camera_combos.items() if combo.currentData()
        )
        return DatasetFilter(
            project_ids=chosen(self.project_combo),
            readiness=chosen(self.readiness_combo),
            statuses=chosen(self.status_combo),
            vru_types=chosen(self.vru_combo),
            camera=camera,
            imported_from=self.from_date.date().toPython() if self.from_check.isChecked() else None,
            imported_to=self.to_date.date().toPython() if self.to_check.isChecked() else None,
            text=self.search.text(),
        )

    def clear_filters(self) -> None:
        widgets = [self.search, self.from_check, self.to_check, self.project_combo, self.readiness_combo]
        widgets += [self.status_combo, self.vru_combo, *self.camera_combos.values()]
        for widget in widgets:
            widget.blockSignals(True)
        self.search.clear()
        self.from_check.setChecked(False)
        self.to_check.setChecked(False)
        for combo in (self.project_combo, self.readiness_combo, self.status_combo, self.vru_combo):
            combo.setCurrentIndex(0)
        for combo in self.camera_combos.values():
            combo.setCurrentIndex(0)
        for widget in widgets:
            widget.blockSignals(False)
        self.from_date.setEnabled(False)
        self.to_date.setEnabled(False)
        self.apply_filters()

    def _filters_changed(self) -> None:
        self._filter_timer.start()

    def _fill_choices(self) -> None:
        """Projects and their camera-field values for the filter menus, keeping what is chosen."""
        projects = project_views(self.db)
        self._refill(self.project_combo, [(p.name, p.id) for p in projects])
        for name, combo in self.camera_combos.items():
            values = sorted({getattr(p, name) for p in projects if getattr(p, name)}, key=str.lower)
            self._refill(combo, [(v, v) for v in values])

    @staticmethod
    def _refill(combo: QComboBox, items: Sequence[tuple[str, Any]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(ANY, None)
        for label, value in items:
            combo.addItem(label, value)
        position = combo.findData(current) if current is not None else 0
        combo.setCurrentIndex(max(position, 0))
        combo.blockSignals(False)

    # -- data -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Load every video's row again (the library changed, off the UI thread), then apply the filters."""
        self._dirty = False
        self._fill_choices()
        db = self.db
        self._ops.run(lambda _task: load_rows(db), on_success=self._rows_loaded, newest="rows")

    def _rows_loaded(self, rows: list[DatasetRow]) -> None:
        self._all_rows = rows
        self.apply_filters()

    def apply_filters(self) -> None:
        """Show the loaded rows that pass the filters (no query, except for a VRU-type filter)."""
        self._filter_timer.stop()
        flt = self.current_filter()
        everything = flt == DatasetFilter()
        selected = set(self.selected_video_ids())
        rows = self._all_rows if everything else filter_rows(self.db, self._all_rows, flt)
        self.model.set_rows(rows)
        if rows and not self._columns_fitted:
            self.table.resizeColumnsToContents()
            self._columns_fitted = True
        self._restore_selection(selected)
        self._start_statistics(self.model.rows, all_videos=everything)
        count = f"{len(rows)} video{'' if len(rows) == 1 else 's'}"
        self.count_label.setText(count if everything else f"{count} (filtered)")
        self.rowsChanged.emit(len(rows))

    def _start_statistics(self, rows: list[DatasetRow], *, all_videos: bool) -> None:
        """Compute the statistics off the UI thread; only the newest request's result is shown."""
        db = self.db
        self._ops.run(
            lambda _task: compute_statistics(db, rows, all_videos=all_videos),
            on_success=self._statistics_ready,
            on_failure=lambda message: self._statistics_ready(f"Statistics not available: {message}"),
            newest="statistics",
        )

    def _statistics_ready(self, result: DatasetStatistics | str) -> None:
        if isinstance(result, str):
            self.stats_panel.show_message(result)
        else:
            self.stats_panel.show_statistics(result)
        self.statisticsShown.emit()

    def schedule_refresh(self) -> None:
        """Something changed in the library: refresh soon (once for a burst), or when next shown."""
        self._dirty = True
        self._refresh_timer.start()

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self.refresh()

    # -- selection --------------------------------------------------------------------------------
    def selected_video_ids(self) -> list[int]:
        """Video ids of the selected rows, in table order (for export)."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.model.rows[r].video_id for r in rows if r < len(self.model.rows)]

    def visible_video_ids(self) -> list[int]:
        """Video ids of every row the filters let through, in table order."""
        return [row.video_id for row in self.model.rows]

    def _restore_selection(self, video_ids: set[int]) -> None:
        if not video_ids:
            return
        selection = self.table.selectionModel()
        for number, row in enumerate(self.model.rows):
            if row.video_id in video_ids:
                selection.select(
                    self.model.index(number, 0),
                    selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
                )

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            self.videoActivated.emit(self.model.rows[index.row()].video_id)
