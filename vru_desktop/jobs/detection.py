"""The detection run worker: :func:`~vru_desktop.detection.pipeline.execute_run` on a QThread.

Signals (all queued to the receiver's thread):

* ``progress(session_id, done, total, frame, fps, eta_seconds)`` — at most ~10 per second; ``eta``
  is ``-1`` while unknown;
* ``detections(video_id, session_id, first_frame, last_frame, count)`` — after each commit;
* ``stateChanged(session_id, state)`` — running, paused, completed, stopped, failed;
* ``placed(session_id, where)`` — where the frames are computed (a cluster run: the worker's node);
* ``finished(summary)`` — a :class:`~vru_desktop.detection.pipeline.RunSummary` (any final state);
* ``failed(session_id, message)`` — the run failed or could not start;
* ``ended(session_id)``, then ``done()`` — always last.

``pause()``, ``resume()`` and ``stop()`` are thread-safe and take effect at once: call them directly
from the window (the worker's thread is busy inside the run, so queued slot calls would wait).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vru_desktop.detection.executor import LOCAL, execute
from vru_desktop.detection.pipeline import Progress, RunCallbacks, RunControl
from vru_desktop.errors import VruError
from vru_desktop.settings import Locations, unexpected_error_message
from vru_desktop.store.db import Database
from vru_desktop.store.models import RunStatus

log = logging.getLogger(__name__)


class DetectionWorker(QObject):
    progress = Signal(int, int, int, int, float, float)
    detections = Signal(int, int, int, int, int)
    stateChanged = Signal(int, str)
    placed = Signal(int, str)
    finished = Signal(object)
    failed = Signal(int, str)
    ended = Signal(int)
    done = Signal()

    def __init__(
        self, db: Database, locations: Locations, session_id: int, video_id: int, cluster: str = LOCAL
    ) -> None:
        super().__init__()
        self.db = db
        self.locations = locations
        self.session_id = session_id
        self.video_id = video_id
        self.cluster = cluster
        self.control = RunControl()

    def start(self, parent: QObject | None = None) -> QThread:
        """Run on a new QThread, which quits at ``done``; keep it referenced until it has finished."""
        thread = QThread(parent)
        self.moveToThread(thread)
        thread.started.connect(self.run)
        # quit from the worker's side, so a caller can wait for the thread without an event loop
        self.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.start()
        return thread

    @Slot()
    def pause(self) -> None:
        self.control.pause()

    @Slot()
    def resume(self) -> None:
        self.control.resume()

    @Slot()
    def stop(self) -> None:
        self.control.stop()

    @Slot()
    def run(self) -> None:
        callbacks = RunCallbacks(
            progress=self._progress,
            committed=self._committed,
            state=self._state,
            placed=lambda where: self.placed.emit(self.session_id, where),
            progress_interval=0.1,
        )
        try:
            summary = execute(
                self.db,
                self.session_id,
                self.locations,
                cluster=self.cluster,
                control=self.control,
                callbacks=callbacks,
            )
        except VruError as exc:
            self.failed.emit(self.session_id, str(exc))
        except Exception as exc:
            log.exception("run %s could not start", self.session_id)
            self.failed.emit(self.session_id, unexpected_error_message(exc))
        else:
            if summary.status == RunStatus.FAILED:
                self.failed.emit(self.session_id, summary.error_message or "The run failed.")
            self.finished.emit(summary)
        finally:
            self.ended.emit(self.session_id)
            self.done.emit()

    def _progress(self, p: Progress) -> None:
        eta = -1.0 if p.eta_seconds is None else float(p.eta_seconds)
        self.progress.emit(self.session_id, p.done, p.total, p.frame, float(p.fps), eta)

    def _committed(self, first: int, last: int, count: int) -> None:
        self.detections.emit(self.video_id, self.session_id, first, last, count)

    def _state(self, state: str) -> None:
        self.stateChanged.emit(self.session_id, state)
