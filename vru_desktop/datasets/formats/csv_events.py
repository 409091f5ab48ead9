"""CSV of detection events: one row per detected VRU per frame, for a run or for videos.

Columns: ``run_id, video_id, video_file, frame, time_s, vru_type, class_name, confidence, track_id,
x1, y1, x2, y2, review, model``. Frames are 0-based decode indices; times are seconds from the
video's own timestamps; boxes are pixels in the video's resolution.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vru_desktop.errors import NotFoundError
from vru_desktop.store.models import DetectionEvent, TestSession, Video, run_model_name

NAME = "csv"
FILE_NAME = "detections.csv"
COLUMNS = (
    "run_id",
    "video_id",
    "video_file",
    "frame",
    "time_s",
    "vru_type",
    "class_name",
    "confidence",
    "track_id",
    "x1",
    "y1",
    "x2",
    "y2",
    "review",
    "model",
)


def write_events(
    session: Session, root: Path, *, video_ids: Sequence[int] = (), run_ids: Sequence[int] = ()
) -> dict[str, int]:
    """Write ``detections.csv`` under ``root`` with the events of the given runs, or of every run
    on the given videos."""
    query = select(TestSession).order_by(TestSession.id)
    if run_ids:
        query = query.where(TestSession.id.in_(run_ids))
        missing = set(run_ids) - set(
            session.scalars(select(TestSession.id).where(TestSession.id.in_(run_ids)))
        )
        if missing:
            raise NotFoundError(f"No detection run with id {', '.join(map(str, sorted(missing)))}.")
    else:
        query = query.where(TestSession.video_id.in_(video_ids))
    runs = list(session.scalars(query))
    names = {
        v.id: v.filename
        for v in session.scalars(select(Video).where(Video.id.in_({r.video_id for r in runs})))
    }
    rows = 0
    with (root / FILE_NAME).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for run in runs:
            model = run_model_name(run.model.name if run.model is not None else None, run.provenance)
            events = session.scalars(
                select(DetectionEvent)
                .where(DetectionEvent.session_id == run.id)
                .order_by(DetectionEvent.frame_number, DetectionEvent.id)
            )
            for event in events:
                writer.writerow(
                    (
                        run.id,
                        event.video_id,
                        names.get(event.video_id, ""),
                        event.frame_number,
                        f"{event.timestamp:.6f}",
                        event.vru_type,
                        event.class_name,
                        f"{event.confidence:.4f}",
                        "" if event.track_id is None else event.track_id,
                        f"{event.x1:.2f}",
                        f"{event.y1:.2f}",
                        f"{event.x2:.2f}",
                        f"{event.y2:.2f}",
                        event.review or "",
                        model,
                    )
                )
                rows += 1
    return {"runs": len(runs), "events": rows}
