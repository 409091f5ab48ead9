"""Session statistics (the specification's table), cached per run, and the detection-link repair.

:func:`compute_statistics` stores in :class:`~vru_desktop.store.models.SessionStatistics`:

* ``total_annotations`` / ``annotations_by_type``: ground-truth boxes of the run's video (validated,
  not outside, on reviewed frames, crowd boxes included);
* ``total_detections`` / ``detections_by_type``: all detection events of the run;
* ``detection_accuracy``: the **F1 score** at the run's own confidence threshold (its
  configuration, 0.25 by default) and IoU 0.5, over the reviewed frames the run processed:
  ``2·TP / (2·TP + FP + FN)``. ``None`` when there is nothing to score (no reviewed frame, or
  neither ground truth nor detections there);
* ``processing_time_seconds``, ``frames_processed``, ``frames_per_second`` from the run;
* ``extra``: precision, recall, TP/FP/FN, AP, AP50, the confidence and IoU used, reviewed frames,
  and what the detection run itself stored there (kept).

The annotation editor marks a run's statistics ``stale`` when its video's boxes or reviewed frames
change; :func:`get_statistics` recomputes stale or missing statistics before returning them.

:func:`link_detection_events` is the specification's repair: every annotation without a detection
link gets the detection event of the run on the same frame with the highest IoU (>= 0.5) that no
other annotation links to, one to one, best pairs first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select, update

from vru_desktop.errors import NotFoundError
from vru_desktop.evaluation.ground_truth import load_run
from vru_desktop.evaluation.matching import box_iou, xyxy_to_xywh
from vru_desktop.evaluation.run import RunEvaluation, default_conf, height_bins_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, DetectionEvent, SessionStatistics, TestSession

ACCURACY_IOU = 0.5
LINK_IOU = 0.5


def compute_statistics(db: Database, session_id: int) -> SessionStatistics:
    """Compute and store run ``session_id``'s statistics (see the module docstring)."""
    data = load_run(db, session_id)
    result = RunEvaluation(data, ACCURACY_IOU, default_conf(data), height_bins_setting(db))
    metrics = result.metrics()
    overall = metrics.overall
    counted = overall.tp + overall.fp + overall.fn
    coco = result.coco.stats_dict()
    annotations_by_type: dict[str, int] = {}
    for k in data.gt.category:
        name = data.classes[int(k)]
        annotations_by_type[name] = annotations_by_type.get(name, 0) + 1
    with db.transaction() as session:
        run = session.get(TestSession, session_id)
        assert run is not None
        detections_by_type = {
            vru_type: int(count)
            for vru_type, count in session.execute(
                select(DetectionEvent.vru_type, func.count())
                .where(DetectionEvent.session_id == session_id)
                .group_by(DetectionEvent.vru_type)
                .order_by(DetectionEvent.vru_type)
            )
        }
        stats = session.get(SessionStatistics, session_id)
        if stats is None:
            stats = SessionStatistics(session_id=session_id)
            session.add(stats)
        stats.total_annotations = len(data.gt)
        stats.annotations_by_type = dict(sorted(annotations_by_type.items()))
        stats.total_detections = sum(detections_by_type.values())
        stats.detections_by_type = detections_by_type
        stats.detection_accuracy = overall.f1 if data.n_frames and counted else None
        stats.processing_time_seconds = run.processing_time_seconds
        stats.frames_processed = run.frames_processed
        stats.frames_per_second = (
            run.frames_processed / run.processing_time_seconds if run.processing_time_seconds > 0 else 0.0
        )
        stats.extra = {
            **(stats.extra or {}),
            "accuracy_definition": "F1 at the run's confidence threshold, IoU 0.5, reviewed frames",
            "conf": result.conf,
            "iou": ACCURACY_IOU,
            "reviewed_frames": data.n_frames,
            "tp": overall.tp,
            "fp": overall.fp,
            "fn": overall.fn,
            "precision": overall.precision,
            "recall": overall.recall,
            "f1": overall.f1,
            "AP": coco["AP"],
            "AP50": coco["AP50"],
            "frames_failed": run.frames_failed,
        }
        stats.stale = False
        session.flush()
        session.expunge(stats)
        return stats


def get_statistics(db: Database, session_id: int) -> SessionStatistics:
    """The run's statistics: the cached row when fresh, else computed now (stale or missing)."""
    with db.session() as session:
        if session.get(TestSession, session_id) is None:
            raise NotFoundError(f"There is no detection run {session_id}.")
        stats = session.get(SessionStatistics, session_id)
        fresh = (
            stats is not None
            and not stats.stale
            and stats.extra is not None
            and "accuracy_definition" in stats.extra
        )
        if fresh:
            session.expunge(stats)
            return stats
    return compute_statistics(db, session_id)


def mark_stale(db: Database, video_id: int) -> int:
    """Mark the statistics of every run on ``video_id`` stale; returns how many rows changed."""
    with db.transaction() as session:
        runs = select(TestSession.id).where(TestSession.video_id == video_id)
        result = session.execute(
            update(SessionStatistics).where(SessionStatistics.session_id.in_(runs)).values(stale=True)
        )
        return int(result.rowcount or 0)


@dataclass(frozen=True)
class LinkResult:
    linked: int
    unlinked_annotations: int

    def line(self) -> str:
        return f"linked {self.linked} annotations to detections; {self.unlinked_annotations} remain unlinked"


def link_detection_events(db: Database, session_id: int, *, iou: float = LINK_IOU) -> LinkResult:
    """Set ``Annotation.detection_event_id`` where a run's detection matches an unlinked annotation."""
    with db.transaction() as session:
        run = session.get(TestSession, session_id)
        if run is None:
            raise NotFoundError(f"There is no detection run {session_id}.")
        anns = session.execute(
            select(
                Annotation.id,
                Annotation.frame_number,
                Annotation.x1,
                Annotation.y1,
                Annotation.x2,
                Annotation.y2,
            )
            .where(
                Annotation.video_id == run.video_id,
                Annotation.detection_event_id.is_(None),
                Annotation.outside.is_(False),
            )
            .order_by(Annotation.frame_number, Annotation.id)
        ).all()
        taken = select(Annotation.detection_event_id).where(Annotation.detection_event_id.is_not(None))
        events = session.execute(
            select(
                DetectionEvent.id,
                DetectionEvent.frame_number,
                DetectionEvent.x1,
                DetectionEvent.y1,
                DetectionEvent.x2,
                DetectionEvent.y2,
            )
            .where(DetectionEvent.session_id == session_id, DetectionEvent.id.not_in(taken))
            .order_by(DetectionEvent.frame_number, DetectionEvent.id)
        ).all()
        pairs = _best_pairs(anns, events, iou)
        for ann_id, event_id in pairs:
            session.execute(
                update(Annotation).where(Annotation.id == ann_id).values(detection_event_id=event_id)
            )
        return LinkResult(len(pairs), len(anns) - len(pairs))


def _best_pairs(anns: list[Any], events: list[Any], threshold: float) -> list[tuple[int, int]]:
    """One-to-one pairs per frame with IoU >= ``threshold``, highest IoU first."""
    if not anns or not events:
        return []
    a_frame = np.array([a.frame_number for a in anns])
    e_frame = np.array([e.frame_number for e in events])
    a_box = xyxy_to_xywh(np.array([(a.x1, a.y1, a.x2, a.y2) for a in anns], dtype=float))
    e_box = xyxy_to_xywh(np.array([(e.x1, e.y1, e.x2, e.y2) for e in events], dtype=float))
    pairs: list[tuple[int, int]] = []
    for frame in np.intersect1d(a_frame, e_frame):  # both are ordered by frame
        ai = np.arange(np.searchsorted(a_frame, frame, "left"), np.searchsorted(a_frame, frame, "right"))
        ei = np.arange(np.searchsorted(e_frame, frame, "left"), np.searchsorted(e_frame, frame, "right"))
        iou = box_iou(e_box[ei], a_box[ai], np.zeros(len(ai), dtype=bool))  # (E, A)
        used_a: set[int] = set()
        used_e: set[int] = set()
        for flat in np.argsort(-iou, axis=None, kind="stable"):
            e, a = divmod(int(flat), len(ai))
            if iou[e, a] < threshold:
                break
            if e in used_e or a in used_a:
                continue
            used_e.add(e)
            used_a.add(a)
            pairs.append((int(anns[ai[a]].id), int(events[ei[e]].id)))
    return pairs
