"""Ground truth and a run's detections, read from the database as arrays ready to match.

Ground truth is the validated annotations that are not ``outside``, on the video's reviewed frames.
Frames not reviewed are left out on both sides: detections there count neither as true nor as false.
So are frames the run did not process: with a frame stride only frames ``0, stride, 2·stride …``,
and for a run that did not complete only frames up to its last committed frame.
Crowd annotations follow the COCO rules (see :mod:`vru_desktop.evaluation.matching`), and so do
ignore annotations outside the pedestrian protocols (which give them Caltech's rules). A project's
ignore regions (polygons in pixels) remove every detection and every ground-truth box whose centre
lies inside one of them.

Frames are the images of the matching (``image`` = frame number); categories are indices into
:attr:`EvaluationInput.classes`: the project's VRU classes, then any further type found in the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select

from vru_desktop.annotations.tags import tagged_frames
from vru_desktop.errors import NotFoundError
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes, xyxy_to_xywh
from vru_desktop.evaluation.protocols import BoxConditions
from vru_desktop.media.frames import FrameTable
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    VRU_TYPES,
    Annotation,
    DetectionEvent,
    DetectorModel,
    FrameIndex,
    Project,
    ReviewedFrame,
    RunStatus,
    TestSession,
    Video,
    run_model_name,
)


@dataclass(frozen=True)
class EvaluationInput:
    """Everything one run's evaluation needs, as arrays (no ORM objects)."""

    session_id: int
    video_id: int
    classes: list[str]
    reviewed_frames: np.ndarray
    #: Presentation time in seconds of every frame of the video (index = frame number).
    frame_times: np.ndarray
    gt: GroundTruthBoxes
    gt_ids: np.ndarray
    gt_xyxy: np.ndarray
    gt_track: np.ndarray  # -1 where the annotation has no track
    dt: DetectionBoxes
    dt_ids: np.ndarray
    dt_xyxy: np.ndarray
    dt_track: np.ndarray  # -1 where the tracker gave no id
    #: Detections of the run in all frames, before leaving out unreviewed frames and ignore regions.
    total_detections: int
    #: Boxes left out because their centre lies in an ignore region.
    gt_in_ignore_regions: int
    dt_in_ignore_regions: int
    video: dict[str, Any]
    run: dict[str, Any]
    #: Visibility, occlusion level, truncation and ignore of each ground-truth box (protocols).
    gt_conditions: BoxConditions | None = None
    #: Each ground-truth box's frame ``(width, height)`` where boxes come from videos of several
    #: sizes (a campaign's pooled input); ``None``: the video's size.
    gt_frame_size: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return len(self.reviewed_frames)

    def time_of(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.int64)
        if len(self.frame_times) == 0:
            fps = self.video.get("fps") or 1.0
            return frames / fps
        return self.frame_times[np.clip(frames, 0, len(self.frame_times) - 1)]


def points_in_polygons(points: np.ndarray, polygons: list[Any]) -> np.ndarray:
    """Whether each ``(x, y)`` point lies inside any polygon (even-odd ray casting, vectorised)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    inside_any = np.zeros(len(points), dtype=bool)
    x, y = points[:, 0:1], points[:, 1:2]
    for polygon in polygons:
        poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if len(poly) < 3:
            continue
        x1, y1 = poly[:, 0][None, :], poly[:, 1][None, :]
        x2, y2 = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside = np.count_nonzero(crosses & (x < x_at), axis=1) % 2 == 1
        inside_any |= inside
    return inside_any


def _occlusion(level: int | None, occluded: bool) -> int:
    """The stored level; a box only flagged occluded (CVAT, MOT) is partially occluded."""
    if level is not None:
        return int(level)
    return 1 if occluded else -1


def _or_nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


def _centres(xyxy: np.ndarray) -> np.ndarray:
    return np.column_stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2])


def load_run(db: Database, session_id: int, *, tag: str | None = None) -> EvaluationInput:
    """Read run ``session_id``, its video's ground truth and the project's ignore regions; with
    ``tag``, only the reviewed frames that carry that condition tag count as reviewed."""
    with db.session() as session:
        run = session.get(TestSession, session_id)
        if run is None:
            raise NotFoundError(
                f"There is no detection run {session_id}.", hint="List the runs of a video in the app."
            )
        video = session.get(Video, run.video_id)
        assert video is not None
        project = session.get(Project, video.project_id) if video.project_id is not None else None
        model = session.get(DetectorModel, run.model_id) if run.model_id is not None else None
        index = session.get(FrameIndex, video.id)
        frame_times = (
            FrameTable.from_bytes(index.times, index.keyframes).times if index is not None else np.zeros(0)
        )
        reviewed = np.array(
            session.scalars(
                select(ReviewedFrame.frame_number)
                .where(ReviewedFrame.video_id == video.id)
                .order_by(ReviewedFrame.frame_number)
            ).all(),
            dtype=np.int64,
        )
        stride = max(int((run.config or {}).get("stride", 1) or 1), 1)
        last = None if run.status == RunStatus.COMPLETED else run.last_committed_frame
        reviewed = reviewed[(reviewed % stride == 0) & (reviewed <= (last if last is not None else np.inf))]
        tagged = tagged_frames(session, video.id, tag) if tag is not None else None
        if tagged is not None:
            reviewed = reviewed[np.isin(reviewed, tagged)]
        ann_rows = session.execute(
            select(
                Annotation.id,
                Annotation.frame_number,
                Annotation.vru_type,
                Annotation.x1,
                Annotation.y1,
                Annotation.x2,
                Annotation.y2,
                Annotation.crowd,
                Annotation.track_id,
                Annotation.visibility,
                Annotation.occlusion,
                Annotation.occluded,
                Annotation.truncation,
                Annotation.ignore,
            )
            .join(
                ReviewedFrame,
                (ReviewedFrame.video_id == Annotation.video_id)
                & (ReviewedFrame.frame_number == Annotation.frame_number),
            )
            .where(
                Annotation.video_id == video.id, Annotation.validated.is_(True), Annotation.outside.is_(False)
            )
            .order_by(Annotation.frame_number, Annotation.id)
        ).all()
        det_rows = session.execute(
            select(
                DetectionEvent.id,
                DetectionEvent.frame_number,
                DetectionEvent.vru_type,
                DetectionEvent.x1,
                DetectionEvent.y1,
                DetectionEvent.x2,
                DetectionEvent.y2,
                DetectionEvent.confidence,
                DetectionEvent.track_id,
            )
            .join(
                ReviewedFrame,
                (ReviewedFrame.video_id == DetectionEvent.video_id)
                & (ReviewedFrame.frame_number == DetectionEvent.frame_number),
            )
            .where(DetectionEvent.session_id == session_id)
            .order_by(DetectionEvent.frame_number, DetectionEvent.id)
        ).all()
        total_detections = session.scalar(
            select(func.count()).select_from(DetectionEvent).where(DetectionEvent.session_id == session_id)
        )
        classes = (
            list(project.vru_classes) if project is not None and project.vru_classes else list(VRU_TYPES)
        )
        regions = list(project.ignore_regions or []) if project is not None else []
        video_info = {
            "id": video.id,
            "filename": video.filename,
            "file_path": video.file_path,
            "fingerprint": video.fingerprint,
            "fps": video.fps,
            "frame_count": video.frame_count,
            "width": video.width,
            "height": video.height,
            "duration": video.duration,
            "project": project.name if project is not None else None,
            "ignore_regions": regions,
        }
        run_info = {
            "id": run.id,
            "status": run.status,
            "config": dict(run.config or {}),
            "provenance": dict(run.provenance or {}),
            "model_name": run_model_name(model.name if model is not None else None, run.provenance),
            "model_sha256": model.sha256 if model is not None else run.provenance.get("model_sha256", ""),
            "model_format": model.format if model is not None else "",
            "processing_time_seconds": run.processing_time_seconds,
            "frames_processed": run.frames_processed,
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "completed_at": run.completed_at.isoformat() if run.completed_at else None,
            "tag": tag,
        }

    evaluated = set(reviewed.tolist())
    ann_rows = [r for r in ann_rows if r.frame_number in evaluated]
    det_rows = [r for r in det_rows if r.frame_number in evaluated]
    for row in (*ann_rows, *det_rows):
        if row.vru_type not in classes:
            classes.append(row.vru_type)
    class_index = {name: i for i, name in enumerate(classes)}

    gt_xyxy = np.array([(r.x1, r.y1, r.x2, r.y2) for r in ann_rows], dtype=np.float64).reshape(-1, 4)
    dt_xyxy = np.array([(r.x1, r.y1, r.x2, r.y2) for r in det_rows], dtype=np.float64).reshape(-1, 4)
    gt_keep = ~points_in_polygons(_centres(gt_xyxy), regions)
    dt_keep = ~points_in_polygons(_centres(dt_xyxy), regions)
    ann_rows = [r for r, k in zip(ann_rows, gt_keep, strict=True) if k]
    det_rows = [r for r, k in zip(det_rows, dt_keep, strict=True) if k]
    gt_xyxy, dt_xyxy = gt_xyxy[gt_keep], dt_xyxy[dt_keep]
    gt_xywh, dt_xywh = xyxy_to_xywh(gt_xyxy), xyxy_to_xywh(dt_xyxy)

    gt = GroundTruthBoxes(
        image=np.array([r.frame_number for r in ann_rows], dtype=np.int64),
        category=np.array([class_index[r.vru_type] for r in ann_rows], dtype=np.int64),
        xywh=gt_xywh,
        size=gt_xywh[:, 2] * gt_xywh[:, 3],
        # An ignore box is left out of the COCO-rule metrics as a crowd box is.
        crowd=np.array([bool(r.crowd or r.ignore) for r in ann_rows], dtype=bool),
    )
    dt = DetectionBoxes(
        image=np.array([r.frame_number for r in det_rows], dtype=np.int64),
        category=np.array([class_index[r.vru_type] for r in det_rows], dtype=np.int64),
        xywh=dt_xywh,
        size=dt_xywh[:, 2] * dt_xywh[:, 3],
        score=np.array([r.confidence for r in det_rows], dtype=np.float64),
    )
    return EvaluationInput(
        session_id=session_id,
        video_id=video_info["id"],
        classes=classes,
        reviewed_frames=reviewed,
        frame_times=frame_times,
        gt=gt,
        gt_ids=np.array([r.id for r in ann_rows], dtype=np.int64),
        gt_xyxy=gt_xyxy,
        gt_track=np.array([-1 if r.track_id is None else r.track_id for r in ann_rows], dtype=np.int64),
        gt_conditions=BoxConditions(
            ignore=np.array([bool(r.ignore) for r in ann_rows], dtype=bool),
            visibility=np.array([_or_nan(r.visibility) for r in ann_rows], dtype=np.float64),
            occlusion=np.array([_occlusion(r.occlusion, r.occluded) for r in ann_rows], dtype=np.int64),
            truncation=np.array([_or_nan(r.truncation) for r in ann_rows], dtype=np.float64),
            height=np.full(len(ann_rows), np.nan),
        ),
        dt=dt,
        dt_ids=np.array([r.id for r in det_rows], dtype=np.int64),
        dt_xyxy=dt_xyxy,
        dt_track=np.array([-1 if r.track_id is None else r.track_id for r in det_rows], dtype=np.int64),
        total_detections=int(total_detections or 0),
        gt_in_ignore_regions=int((~gt_keep).sum()),
        dt_in_ignore_regions=int((~dt_keep).sum()),
        video=video_info,
        run=run_info,
    )
