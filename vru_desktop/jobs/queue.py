"""The run queue: queued runs (status ``created``) start in order, ``parallel_runs`` at a time (1 by
default), or up to :data:`CLUSTER_RUNS_AT_ONCE` when runs go to a Ray cluster (``detection.cluster``),
which places them.

The queue lives in the database, so it survives a restart; :meth:`RunQueue.shutdown` (window closing)
stops the runs in progress and puts them back at the head of the queue, where they continue after
their last committed frame at the next start; cluster runs become ``interrupted`` instead, and Resume
continues them. A run that cannot start (a cluster that cannot be reached) stays queued and holds the
queue until :meth:`RunQueue.hold` releases it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal

from vru_desktop.detection.executor import LOCAL, cluster_choice
from vru_desktop.detection.pipeline import RunConfig, RunSummary
from vru_desktop.detection.runs import (
    cancel_queued,
    get_run,
    mark_interrupted,
    parallel_runs,
    queue_project,
    queue_videos,
    queued_runs,
    recover_interrupted,
    requeue,
)
from vru_desktop.jobs.detection import DetectionWorker
from vru_desktop.settings import Locations
from vru_desktop.store.db import Database
from vru_desktop.store.models import RunStatus

log = logging.getLogger(__name__)

#: Runs handed to a cluster at the same time (each waits in Ray's queue until a node is free).
CLUSTER_RUNS_AT_ONCE = 64


@dataclass
class _Active:
    worker: DetectionWorker
    thread: QThread


class RunQueue(QObject):
    """Starts queued runs and relays their workers' signals (with the run id)."""

    runStarted = Signal(int)
    runProgress = Signal(int, int, int, int, float, float)
    runStateChanged = Signal(int, str)
    runFinished = Signal(int, str)
    runFailed = Signal(int, str)
    runPlaced = Signal(int, str)
    #: The queue holds because a run could not start (the message says why); empty when released.
    queueHeld = Signal(str)
    detectionsChanged = Signal(int, int)
    queueChanged = Signal()

    def __init__(self, db: Database, locations: Locations, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.locations = locations
        self.active: dict[int, _Active] = {}
        # ended runs whose thread may still be winding down (kept referenced until it has finished)
        self._finishing: list[_Active] = []
        self._held = False
        self._shutting_down = False
        self._failures: dict[int, str] = {}

    # -- queueing -------------------------------------------------------------------------------
    def recover(self) -> list[int]:
        """Mark runs left by a crash interrupted (done once at start-up)."""
        recovered = recover_interrupted(self.db)
        if recovered:
            self.queueChanged.emit()
        return recovered

    def enqueue_videos(self, video_ids: list[int], model_id: int, config: RunConfig) -> list[int]:
        ids = [run.id for run in queue_videos(self.db, video_ids, model_id, config)]
        self.queueChanged.emit()
        self.start_next()
        return ids

    def enqueue_project(self, project_id: int, model_id: int, config: RunConfig) -> list[int]:
        ids = [run.id for run in queue_project(self.db, project_id, model_id, config)]
        self.queueChanged.emit()
        self.start_next()
        return ids

    def cancel(self, session_id: int) -> None:
        cancel_queued(self.db, session_id)
        self.queueChanged.emit()

    def resume_run(self, session_id: int) -> None:
        """Queue an interrupted, stopped or failed run again (it continues where it stopped)."""
        requeue(self.db, session_id)
        self.queueChanged.emit()
        self.start_next()

    def hold(self, held: bool) -> None:
        """While held, queued runs wait (running ones go on)."""
        self._held = held
        if not held:
            self.queueHeld.emit("")
            self.start_next()

    # -- control of running runs ----------------------------------------------------------------
    def pause(self, session_id: int) -> None:
        if session_id in self.active:
            self.active[session_id].worker.pause()

    def resume(self, session_id: int) -> None:
        if session_id in self.active:
            self.active[session_id].worker.resume()

    def stop(self, session_id: int) -> None:
        if session_id in self.active:
            self.active[session_id].worker.stop()

    # -- scheduling -----------------------------------------------------------------------------
    def start_next(self) -> None:
        if self._held or self._shutting_down:
            return
        cluster = cluster_choice(self.db)
        limit = parallel_runs(self.db) if cluster == LOCAL else CLUSTER_RUNS_AT_ONCE
        for session_id in queued_runs(self.db):
            if len(self.active) >= limit:
                break
            if session_id not in self.active:
                self._start(session_id, cluster)

    def _start(self, session_id: int, cluster: str) -> None:
        run = get_run(self.db, session_id)
        worker = DetectionWorker(self.db, self.locations, session_id, run.video_id, cluster)
        worker.placed.connect(self.runPlaced)
        worker.progress.connect(self.runProgress)
        worker.stateChanged.connect(self.runStateChanged)
        worker.failed.connect(self._failed)
        worker.detections.connect(self._detections)
        worker.finished.connect(self._finished)
        worker.ended.connect(self._ended)
        thread = worker.start(self)
        thread.finished.connect(self._reap)
        self.active[session_id] = _Active(worker, thread)
        self.runStarted.emit(session_id)
        self.queueChanged.emit()

    def _detections(self, video_id: int, session_id: int, _first: int, _last: int, _count: int) -> None:
        self.detectionsChanged.emit(video_id, session_id)

    def _finished(self, summary: RunSummary) -> None:
        self.runFinished.emit(summary.session_id, summary.status)

    def _ended(self, session_id: int) -> None:
        ended = self.active.pop(session_id, None)
        if ended is not None:
            self._finishing.append(ended)
        if not self._shutting_down and session_id in queued_runs(self.db):
            self._held = True  # it could not start: starting it again at once would fail the same way
            self.queueHeld.emit(self._failures.pop(session_id, "A run could not start."))
        self.queueChanged.emit()
        self.start_next()

    def _failed(self, session_id: int, message: str) -> None:
        self._failures[session_id] = message
        self.runFailed.emit(session_id, message)

    def _reap(self) -> None:
        """Free the threads (and their workers) that have finished."""
        finished = [a for a in self._finishing if a.thread.isFinished()]
        self._finishing = [a for a in self._finishing if not a.thread.isFinished()]
        for active in finished:
            active.worker.deleteLater()
            active.thread.deleteLater()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop the runs in progress and queue them again, so the next start continues them."""
        self._shutting_down = True
        stopping = list(self.active.items())
        for _, active in stopping:
            active.worker.stop()
        for session_id, active in stopping:
            if not active.thread.wait(timeout_ms):
                log.warning("run %s did not stop in time", session_id)
                continue
            if get_run(self.db, session_id).status != RunStatus.STOPPED:
                continue
            if active.worker.cluster == LOCAL:
                requeue(self.db, session_id)
            else:
                mark_interrupted(
                    self.db, session_id, "VRU Desktop was closed while this run was going on the cluster"
                )
        self.active.clear()
