"""Importing off the UI thread: a progress dialog with Cancel, then a summary of what came in and what not."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.jobs.base import FunctionWorker, start_in_thread
from vru_desktop.library.importer import Assignment, ImportOutcome, import_paths
from vru_desktop.store.db import Database


class ImportRunner(QObject):
    """Runs one import batch; ``finished(outcomes)`` when done (also after cancel or failure)."""

    finished = Signal(list)

    def __init__(
        self, db: Database, paths: list[str], active_project_id: int | None, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.outcomes: list[ImportOutcome] = []
        assignment = Assignment(active_project_id=active_project_id)

        def work(progress, should_cancel):  # type: ignore[no-untyped-def]
            return import_paths(
                db, paths, assignment=assignment, progress=progress, should_cancel=should_cancel
            )

        self.worker = FunctionWorker(work)
        self.progress = QProgressDialog("Importing…", "Cancel", 0, 0, parent)
        self.progress.setWindowTitle("Import")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(300)
        self.progress.canceled.connect(self.worker.cancel)
        self.worker.progress.connect(self._on_progress)
        self.worker.succeeded.connect(self._on_success)
        self.worker.failed.connect(lambda message: self._on_end(message))
        self.worker.cancelled.connect(lambda message: self._on_end(message))

    def start(self) -> None:
        self.thread = start_in_thread(self.worker, self)

    def _on_progress(self, done: int, total: int, detail: str) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress.setLabelText(f"Importing {done + 1 if done < total else done} of {total}\n{detail}")

    def _on_success(self, outcomes: list[ImportOutcome]) -> None:
        self.outcomes = outcomes
        self._on_end(None)

    def _on_end(self, message: str | None) -> None:
        self.progress.reset()
        self.summary = ImportSummary(self.outcomes, message, self.parent_widget)
        self.summary.show()
        self.finished.emit(self.outcomes)


class ImportSummary(QDialog):
    """What was imported, what was a duplicate or relinked, and what was refused and why."""

    def __init__(self, outcomes: list[ImportOutcome], message: str | None, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("importSummary")
        self.setWindowTitle("Import summary")
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        parts = [
            f"{counts.get(s, 0)} {s}"
            for s in ("imported", "duplicate", "relinked", "refused")
            if counts.get(s)
        ]
        head = ", ".join(parts) if parts else "Nothing found to import (no video files or frame folders)."
        self.headline = QLabel(head if message is None else f"{message}\n{head}")
        self.headline.setObjectName("importHeadline")
        self.details = QPlainTextEdit("\n".join(o.line() for o in outcomes))
        self.details.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self.resize(720, 360)
