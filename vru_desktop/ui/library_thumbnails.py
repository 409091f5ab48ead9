"""Thumbnails of the Library's videos, decoded off the UI thread for the rows the table paints."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from vru_desktop.jobs.operations import Operations
from vru_desktop.library.thumbnails import ThumbnailRequest, make_thumbnails


class ThumbnailLoader(QObject):
    """Makes the thumbnails asked for with :meth:`want` into ``cache_dir``, one worker for all rows
    asked for during a paint; ``ready(fingerprint)`` after each."""

    ready = Signal(str)

    def __init__(self, cache_dir: Path, parent: QObject) -> None:
        super().__init__(parent)
        self.cache_dir = cache_dir
        self._ops = Operations(self)
        self._queue: list[ThumbnailRequest] = []
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next)

    def want(self, request: ThumbnailRequest) -> None:
        self._queue.append(request)
        if not self._busy:
            self._timer.start(0)  # after this paint: one worker for all rows asked for

    def _next(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            self._busy = False
            return
        self._busy = True
        cache_dir = self.cache_dir
        self._ops.run(
            lambda task: make_thumbnails(
                batch, cache_dir, progress=task.progress, should_cancel=task.cancelled
            ),
            on_progress=lambda _done, _total, fingerprint: self.ready.emit(fingerprint),
            on_done=self._next,
        )

    def pending(self) -> bool:
        return self._busy or bool(self._queue) or self._timer.isActive()

    def shutdown(self) -> None:
        """Ask for no more thumbnails (the window closes and waits for the work under way)."""
        self._queue.clear()
        self._timer.stop()
