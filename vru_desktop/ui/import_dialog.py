"""Importing off the UI thread: a progress dialog with Cancel, then a summary of what came in and what not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QProgressDialog,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.jobs.operations import Operations, Task
from vru_desktop.library.importer import Assignment, ImportOutcome, ImportStatus, import_paths
from vru_desktop.store.db import Database

STATUS_ORDER = tuple(ImportStatus)
STATUS_COLOURS = {
    ImportStatus.REFUSED: "#c0392b",
    ImportStatus.CANCELLED: "#7f8c8d",
    ImportStatus.DUPLICATE: "#b9770e",
}


class ImportRunner(QObject):
    """One import batch: its background task (:meth:`start`), progress dialog and summary.

    ``finished(outcomes)`` comes after the summary is shown (also after cancel or failure).
    """

    finished = Signal(list)

    def __init__(
        self,
        db: Database,
        paths: Sequence[str],
        assignment: Assignment,
        sequence_fps: Mapping[Path, float],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.outcomes: list[ImportOutcome] = []
        self.summary: ImportSummary | None = None
        paths = list(paths)

        def work(task: Task) -> list[ImportOutcome]:
            return import_paths(
                db,
                paths,
                assignment=assignment,
                sequence_fps=sequence_fps,
                progress=task.progress,
                should_cancel=task.cancelled,
            )

        self.work = work
        self.task: Task | None = None
        self.progress = QProgressDialog("Looking for videos…", "Cancel", 0, 0, parent)
        self.progress.setObjectName("importProgress")
        self.progress.setWindowTitle("Import")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(400)
        self.progress.setAutoReset(False)
        self.progress.setAutoClose(False)
        self.progress.canceled.connect(self._cancel)

    def start(self, operations: Operations) -> None:
        self.task = operations.run(
            self.work,
            on_success=self._on_success,
            on_failure=self._on_end,
            on_cancelled=self._on_end,
            on_progress=self._on_progress,
        )

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _on_progress(self, done: int, total: int, detail: str) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        if done < total:
            self.progress.setLabelText(f"Importing {done + 1} of {total}\n{Path(detail).name}")

    def _on_success(self, outcomes: list[ImportOutcome]) -> None:
        self.outcomes = outcomes
        self._on_end(None)

    def _on_end(self, message: str | None) -> None:
        self.progress.reset()
        self.progress.close()
        self.summary = ImportSummary(self.outcomes, message, self.parent_widget)
        self.summary.show()
        self.finished.emit(self.outcomes)


def _without_name(outcome: ImportOutcome) -> str:
    """The reason without the file name it starts with (the File column shows that)."""
    for prefix in (f"{outcome.path}: ", f"{outcome.path.name}: "):
        if outcome.message.startswith(prefix):
            text = outcome.message[len(prefix) :]
            return text[:1].upper() + text[1:]
    return outcome.message


class ImportSummary(QDialog):
    """What was imported, what was a duplicate or relinked, and what was refused and why."""

    def __init__(self, outcomes: list[ImportOutcome], message: str | None, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("importSummary")
        self.setWindowTitle("Import summary")
        self.outcomes = outcomes
        counts = {s: sum(o.status == s for o in outcomes) for s in STATUS_ORDER}
        parts = [f"{count} {status}" for status, count in counts.items() if count]
        if message is not None:  # the import itself failed: say so first
            head = "\n".join([message, ", ".join(parts)]) if parts else message
        else:
            head = ", ".join(parts) if parts else "Nothing found to import (no video files or frame folders)."
        self.headline = QLabel(head)
        self.headline.setObjectName("importHeadline")
        self.headline.setWordWrap(True)
        ordered = sorted(outcomes, key=lambda o: STATUS_ORDER.index(o.status))
        self.table = QTableWidget(len(ordered), 3)
        self.table.setObjectName("importOutcomes")
        self.table.setHorizontalHeaderLabels(["Result", "File", "Details"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for row, outcome in enumerate(ordered):
            cells = [
                QTableWidgetItem(text) for text in (outcome.status, outcome.name, _without_name(outcome))
            ]
            cells[1].setToolTip(str(outcome.path))
            cells[2].setToolTip(outcome.message)
            if outcome.status in STATUS_COLOURS:
                cells[0].setForeground(QColor(STATUS_COLOURS[outcome.status]))
            for column, cell in enumerate(cells):
                self.table.setItem(row, column, cell)
        # Long reasons wrap: rows grow to their text whenever the columns change width.
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(900, 400)

    def rows(self) -> list[tuple[str, str, str]]:
        """(result, file name, details) per row, as shown."""
        return [
            (self.table.item(row, 0).text(), self.table.item(row, 1).text(), self.table.item(row, 2).text())
            for row in range(self.table.rowCount())
        ]
