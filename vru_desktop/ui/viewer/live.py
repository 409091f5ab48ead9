"""Others' edits of the open video appear within a few seconds.

A timer asks the store's change log (:func:`~vru_desktop.store.changes.changes_since`) off the UI
thread, through :class:`~vru_desktop.jobs.operations.Operations`; the frames that changed go to a
callback, which reads them again. The same on a team server and on a file shared by two processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from vru_desktop.jobs.operations import Operations
from vru_desktop.store.changes import VideoChanges, change_token, changes_since
from vru_desktop.store.db import Database

log = logging.getLogger(__name__)

#: How often the open video's change log is read.
POLL_MS = 2000


class LiveUpdates(QObject):
    """Follows one video's change log; ``changed(frames)`` gets the frames changed since."""

    def __init__(self, parent: QObject, db: Database, changed: Callable[[set[int]], None]) -> None:
        super().__init__(parent)
        self.db = db
        self._changed = changed
        self._ops = Operations(self)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._video: int | None = None
        self._frame_count = 0
        self._token = 0
        self._waiting: set[int] = set()
        self._retry = QTimer(self, singleShot=True, interval=200)
        self._retry.timeout.connect(self._deliver)

    def watch(self, video_id: int | None, frame_count: int = 0) -> None:
        """Follow ``video_id`` from its present state on (``None``: nothing)."""
        self._ops.cancel("changes")
        self._timer.stop()
        self._video, self._frame_count, self._waiting = video_id, frame_count, set()
        if video_id is not None:
            self._token = change_token(self.db, video_id)
            self._timer.start()

    def poll(self) -> None:
        if self._video is None or self._ops.busy("changes"):
            return
        video, token = self._video, self._token
        self._ops.run(
            lambda _task: changes_since(self.db, video, token),
            on_success=lambda changes: self._arrived(video, changes),
            on_failure=lambda message: log.warning("reading the change log failed: %s", message),
            newest="changes",
        )

    def _arrived(self, video: int, changes: VideoChanges) -> None:
        if video != self._video or changes.token <= self._token:
            return
        self._token = changes.token
        self._waiting.update(changes.frames(self._frame_count))
        self._deliver()

    def _deliver(self) -> None:
        if not self._waiting:
            return
        if QApplication.mouseButtons():  # a box being drawn or dragged stays as the user has it
            self._retry.start()
            return
        frames, self._waiting = self._waiting, set()
        self._changed(frames)
