"""Detection runs in the database: create (queue), list, cancel, resume, recover after a crash.

A run with status ``created`` is queued; the queue is the created runs in ``id`` order, so it
survives a restart. Runs found ``running`` or ``paused`` at start-up whose process is gone become
``interrupted``; resuming one queues it again and it continues at ``last_committed_frame + 1``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select

from vru_desktop.detection.pipeline import RunConfig, owner_alive
from vru_desktop.errors import NotFoundError, ValidationError
from vru_desktop.settings import LAST_RUN_CONFIG, PARALLEL_RUNS, get_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    PROCESSING_STATUS_OF_RUN,
    DetectionEvent,
    DetectorModel,
    RunStatus,
    SessionStatistics,
    TestSession,
    Video,
    VideoStatus,
    run_model_name,
)

log = logging.getLogger(__name__)

RESUMABLE = (RunStatus.INTERRUPTED, RunStatus.STOPPED, RunStatus.FAILED)


@dataclass(frozen=True)
class RunRow:
    """A run as lists show it."""

    id: int
    video_id: int
    video_name: str
    model_id: int | None
    model_name: str
    status: str
    progress: float
    frames_processed: int
    frames_failed: int
    last_committed_frame: int
    config: dict[str, Any]
    created_at: str
    error_message: str | None
    total_detections: int | None
    detections_by_type: dict[str, int]
    processing_time_seconds: float
    frames_per_second: float | None
    #: The host whose worker computes (or last computed) a cluster run's frames.
    node: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def create_run(db: Database, video_id: int, model_id: int, config: RunConfig) -> TestSession:
    """Queue a run of ``model_id`` over ``video_id`` (status ``created``)."""
    config.validate()
    with db.transaction() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFoundError(f"There is no video {video_id}.", hint="See 'vru-desktop videos'.")
        if video.status != VideoStatus.OK:
            raise ValidationError(
                f"Video {video_id} ({video.filename}) is {video.status}; it cannot be processed.",
                hint="Relink it to its file first.",
            )
        model = session.get(DetectorModel, model_id)
        if model is None:
            raise NotFoundError(f"There is no model {model_id}.", hint="See 'vru-desktop models'.")
        run = TestSession(
            video_id=video_id,
            model_id=model_id,
            config=config.to_dict(),
            provenance={"model_name": model.name},
            status=RunStatus.CREATED,
        )
        session.add(run)
        video.processing_status = PROCESSING_STATUS_OF_RUN[RunStatus.CREATED]
        session.flush()
        return run


def queue_videos(db: Database, video_ids: list[int], model_id: int, config: RunConfig) -> list[TestSession]:
    """Queue one run per video, skipping videos that already have a queued or running run of this model."""
    busy = _busy_videos(db, model_id)
    return [create_run(db, vid, model_id, config) for vid in video_ids if vid not in busy]


def queue_project(db: Database, project_id: int, model_id: int, config: RunConfig) -> list[TestSession]:
    """ "Detect all videos in this project": queue a run for each available video of the project."""
    with db.session() as session:
        ids = list(
            session.scalars(
                select(Video.id)
                .where(Video.project_id == project_id, Video.status == VideoStatus.OK)
                .order_by(Video.filename, Video.id)
            )
        )
    return queue_videos(db, ids, model_id, config)


def _busy_videos(db: Database, model_id: int) -> set[int]:
    with db.session() as session:
        return set(
            session.scalars(
                select(TestSession.video_id).where(
                    TestSession.model_id == model_id,
                    TestSession.status.in_((RunStatus.CREATED, RunStatus.RUNNING, RunStatus.PAUSED)),
                )
            )
        )


def queued_runs(db: Database) -> list[int]:
    """Ids of the queued runs, oldest first."""
    with db.session() as session:
        return list(
            session.scalars(
                select(TestSession.id).where(TestSession.status == RunStatus.CREATED).order_by(TestSession.id)
            )
        )


def cancel_queued(db: Database, session_id: int) -> None:
    """Take a queued run off the queue: it becomes ``stopped`` (nothing was computed; it can be resumed)."""
    with db.transaction() as session:
        run = _get(session, session_id)
        if run.status != RunStatus.CREATED:
            raise ValidationError(f"Run {session_id} is {run.status}; only queued runs can be cancelled.")
        run.status = RunStatus.STOPPED
        run.error_message = "Cancelled before it started."
        _mark_video(session, run)


def requeue(db: Database, session_id: int) -> TestSession:
    """Queue an interrupted, stopped or failed run again; it continues after its last committed frame."""
    with db.transaction() as session:
        run = _get(session, session_id)
        if run.status not in RESUMABLE:
            raise ValidationError(
                f"Run {session_id} is {run.status}; only {', '.join(RESUMABLE)} runs can be resumed."
            )
        run.status = RunStatus.CREATED
        run.error_message = None
        _mark_video(session, run)
        return run


def recover_interrupted(db: Database) -> list[int]:
    """At start-up: runs left running or paused by a process that is gone become ``interrupted``."""
    recovered: list[int] = []
    with db.transaction() as session:
        running = TestSession.status.in_((RunStatus.RUNNING, RunStatus.PAUSED))
        for run in session.scalars(select(TestSession).where(running)):
            if owner_alive(run.provenance.get("owner")):
                continue
            run.status = RunStatus.INTERRUPTED
            run.error_message = (
                f"VRU Desktop stopped unexpectedly while this run was going; "
                f"{saved_frames(run.last_committed_frame)}. Resume continues from there."
            )
            _mark_video(session, run)
            recovered.append(run.id)
    if recovered:
        log.info("runs %s were interrupted and can be resumed", recovered)
    return recovered


def mark_interrupted(db: Database, session_id: int, reason: str) -> None:
    """A run stopped from outside (the window closing) becomes ``interrupted``; Resume continues it."""
    with db.transaction() as session:
        run = _get(session, session_id)
        run.status = RunStatus.INTERRUPTED
        run.completed_at = None
        run.error_message = (
            f"{reason}; {saved_frames(run.last_committed_frame)}. Resume continues from there."
        )
        _mark_video(session, run)


def saved_frames(last_committed_frame: int) -> str:
    """How far an interrupted run got, for a person."""
    if last_committed_frame < 0:
        return "no frame was saved yet"
    return f"frames up to {last_committed_frame} are saved"


def _get(session: Any, session_id: int) -> TestSession:
    run = session.get(TestSession, session_id)
    if run is None:
        raise NotFoundError(f"There is no run {session_id}.", hint="See 'vru-desktop runs'.")
    return run


def _mark_video(session: Any, run: TestSession) -> None:
    video = session.get(Video, run.video_id)
    if video is not None:
        video.processing_status = PROCESSING_STATUS_OF_RUN[RunStatus(run.status)]


def get_run(db: Database, session_id: int) -> TestSession:
    with db.session() as session:
        return _get(session, session_id)


def list_runs(db: Database, *, video_id: int | None = None, ids: list[int] | None = None) -> list[RunRow]:
    """Runs with their video, model, state and statistics, newest first."""
    with db.session() as session:
        query = (
            select(TestSession, Video.filename, DetectorModel.name, SessionStatistics)
            .join(Video, Video.id == TestSession.video_id)
            .outerjoin(DetectorModel, DetectorModel.id == TestSession.model_id)
            .outerjoin(SessionStatistics, SessionStatistics.session_id == TestSession.id)
            .order_by(TestSession.id.desc())
        )
        if video_id is not None:
            query = query.where(TestSession.video_id == video_id)
        if ids is not None:
            query = query.where(TestSession.id.in_(ids))
        rows = []
        for run, video_name, model_name, stats in session.execute(query):
            rows.append(
                RunRow(
                    id=run.id,
                    video_id=run.video_id,
                    video_name=video_name,
                    model_id=run.model_id,
                    model_name=run_model_name(model_name, run.provenance),
                    status=run.status,
                    progress=run.progress,
                    frames_processed=run.frames_processed,
                    frames_failed=run.frames_failed,
                    last_committed_frame=run.last_committed_frame,
                    config=dict(run.config),
                    created_at=run.created_at.isoformat(timespec="seconds"),
                    error_message=run.error_message,
                    total_detections=stats.total_detections if stats is not None else None,
                    detections_by_type=dict(stats.detections_by_type) if stats is not None else {},
                    processing_time_seconds=run.processing_time_seconds,
                    frames_per_second=stats.frames_per_second if stats is not None else None,
                    node=run.provenance.get("worker", {}).get("host"),
                )
            )
    # Runs without statistics yet (running, paused, cut short): their events so far.
    counts = detection_counts(
        db, [r.id for r in rows if r.total_detections is None and r.status != RunStatus.CREATED]
    )
    return [replace(r, total_detections=counts[r.id]) if r.id in counts else r for r in rows]


def detection_counts(db: Database, session_ids: list[int]) -> dict[int, int]:
    """Detection events stored so far per run (each run asked for is in the answer)."""
    if not session_ids:
        return {}
    with db.session() as session:
        found = session.execute(
            select(DetectionEvent.session_id, func.count())
            .where(DetectionEvent.session_id.in_(session_ids))
            .group_by(DetectionEvent.session_id)
        )
        return {session_id: 0 for session_id in session_ids} | {sid: int(n) for sid, n in found}


def parallel_runs(db: Database) -> int:
    return int(get_setting(db, PARALLEL_RUNS))


def last_config(db: Database) -> RunConfig:
    return RunConfig.from_dict(get_setting(db, LAST_RUN_CONFIG))
