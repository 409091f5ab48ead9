"""The annotation editor of one video: queries for the viewer and every edit, saved at once, undoable.

No Qt here: the viewer calls these methods and redraws the frames each listener call names.

Every edit runs in one transaction and is committed before the method returns; its row images go
on the video's undo history (:mod:`vru_desktop.annotations.undo`), which lives as long as the
editor. Edits made inside :meth:`AnnotationEditor.grouped` (the same action on every selected box)
run in one transaction and are one undo step.

Tracks follow :mod:`vru_desktop.store.models`: one row per frame, keyframes placed by a person and
interpolated rows between them, rewritten whenever a keyframe changes. Interpolated rows take class
and flags from the keyframe before them. Editing an interpolated row (move, flags) first makes it a
keyframe; as it lies on the interpolation line, the rest of the track keeps its boxes. Deleting an
interpolated row hides the box on that frame only (an outside keyframe there, the frames either side
become keyframes); deleting a keyframe re-interpolates between its neighbours.

Two people (or two windows) may edit one video at once. Every box carries a version; an edit
changes a box only where it still has the version this editor last read or wrote, and raises
:class:`~vru_desktop.errors.ConflictError` otherwise, with nothing of it written. Undo and redo
expect the rows as this editor last wrote them (a change of someone else's that the viewer shows
is still not taken back silently). :meth:`AnnotationEditor.take_theirs` accepts the other
person's change, after which the edit may be made again on top of it.

Boxes drawn by a person and accepted detections are validated (a person has looked at them); only
those on reviewed frames are ground truth.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import RowMapping, and_, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from vru_desktop.annotations.tracks import Keyframe, interpolate_track
from vru_desktop.annotations.undo import (
    ANNOTATION_COLUMNS,
    ANNOTATIONS,
    Change,
    History,
    IdMap,
    RowImage,
    StaleRows,
    Step,
    UndoBudget,
    apply_change,
    delete_rows,
    image_of,
    insert_rows,
    read_images,
    update_rows,
)
from vru_desktop.annotations.views import (
    AnnotationView,
    ConflictView,
    DetectionView,
    SessionView,
    TimelineSummary,
)
from vru_desktop.errors import ConflictError, NotFoundError, ValidationError
from vru_desktop.evaluation.protocols import OCCLUSION_LEVELS
from vru_desktop.media.frames import FrameTable
from vru_desktop.settings import UNDO_HISTORY_MB, get_setting
from vru_desktop.store.changes import last_change_by, record_change
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    Annotation,
    DetectionEvent,
    DetectorModel,
    Review,
    ReviewedFrame,
    TestSession,
    Video,
    run_model_name,
    utcnow,
)

Box = tuple[float, float, float, float]
T = TypeVar("T")

#: Columns an interpolated row takes from the keyframe before it.
INHERITED = ("vru_type", "validated", "occluded", "truncated", "crowd", "source", "import_id")
#: What protocols read of a box, also taken from the keyframe before (not its visible part).
INHERITED_CONDITIONS = ("visibility", "occlusion", "truncation", "ignore")
#: Pixels an interpolated box may differ by before it is rewritten (float noise of re-interpolation).
BOX_TOLERANCE = 1e-6

#: Frames grouped by the set of types on them: the GROUP BY follows the (video, frame) index, so
#: SQLite sorts one row per frame rather than one per box. Each type is followed by char(31), so a
#: type name may hold a comma. PostgreSQL spells the aggregates differently.
_TYPES_PER_FRAME = {
    "sqlite": (
        "SELECT types, group_concat(frame_number) FROM ("
        " SELECT frame_number, group_concat(DISTINCT vru_type || char(31)) AS types FROM {table}"
        " WHERE {where} GROUP BY frame_number"
        ") GROUP BY types"
    ),
    "postgresql": (
        "SELECT types, string_agg(CAST(frame_number AS TEXT), ',') FROM ("
        " SELECT frame_number, string_agg(DISTINCT vru_type || chr(31), ',') AS types FROM {table}"
        " WHERE {where} GROUP BY frame_number"
        ") AS per_frame GROUP BY types"
    ),
}
_REVIEWED_FRAMES_SQL = {
    "sqlite": "SELECT group_concat(frame_number) FROM reviewed_frames WHERE video_id = :video",
    "postgresql": (
        "SELECT string_agg(CAST(frame_number AS TEXT), ',') FROM reviewed_frames WHERE video_id = :video"
    ),
}
_ANNOTATIONS_BY_TYPE = {
    dialect: text(sql.format(table="annotations", where="video_id = :video AND outside = FALSE"))
    for dialect, sql in _TYPES_PER_FRAME.items()
}
_ANNOTATIONS_IN_RANGE = {
    dialect: text(
        sql.format(
            table="annotations",
            where="video_id = :video AND outside = FALSE AND frame_number BETWEEN :first AND :last",
        )
    )
    for dialect, sql in _TYPES_PER_FRAME.items()
}
_DETECTIONS_BY_TYPE = {
    dialect: text(sql.format(table="detection_events", where="session_id = :session"))
    for dialect, sql in _TYPES_PER_FRAME.items()
}
_REVIEWED_FRAMES = {dialect: text(sql) for dialect, sql in _REVIEWED_FRAMES_SQL.items()}
_MARK_STALE = text(
    "UPDATE session_statistics SET stale = TRUE"
    " WHERE session_id IN (SELECT id FROM test_sessions WHERE video_id = :video)"
)
_GROUND_TRUTH = text(
    "UPDATE videos SET ground_truth_generated = EXISTS ("
    " SELECT 1 FROM reviewed_frames r JOIN annotations a"
    " ON a.video_id = r.video_id AND a.frame_number = r.frame_number"
    " WHERE r.video_id = :video AND a.validated = TRUE AND a.outside = FALSE"
    ") WHERE id = :video"
)


def after_boxes_changed(session: Session, video_id: int, frames: Iterable[int] | None = None) -> None:
    """Statistics of this video's runs are out of date; ground truth exists or not; open viewers
    elsewhere are told which frames changed (``None``: any)."""
    session.execute(_MARK_STALE, {"video": video_id})
    session.execute(_GROUND_TRUTH, {"video": video_id})  # also locks the video's row until commit
    record_change(session, video_id, frames)


def _frames_by_type(rows: Iterable[Any]) -> dict[str, np.ndarray]:
    """Rows of (types on a frame, those frames) from :data:`_TYPES_PER_FRAME` → type → sorted frames."""
    parts: dict[str, list[np.ndarray]] = {}
    for types, frames in rows:
        found = _frames_array(frames)
        for name in types[:-1].split("\x1f,"):
            parts.setdefault(name, []).append(found)
    return {name: np.sort(np.concatenate(arrays)) for name, arrays in parts.items()}


def _frames_array(concatenated: str | None) -> np.ndarray:
    if not concatenated:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.array(concatenated.split(","), dtype=np.int64))


def _contains(sorted_values: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Which of ``items`` are in ``sorted_values`` (a sorted array), by binary search."""
    if not len(sorted_values):
        return np.zeros(len(items), dtype=bool)
    positions = np.minimum(np.searchsorted(sorted_values, items), len(sorted_values) - 1)
    return sorted_values[positions] == items


def _replace_frames(old: np.ndarray, fresh: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Sorted ``old`` with the frames in ``changed`` (sorted) taken from ``fresh`` instead.

    Only the slice of ``old`` between the first and last changed frame is touched.
    """
    lo = int(np.searchsorted(old, changed[0], side="left"))
    hi = int(np.searchsorted(old, changed[-1], side="right"))
    middle = old[lo:hi]
    kept = middle[~_contains(changed, middle)]
    added = fresh[_contains(changed, fresh)]
    return np.concatenate([old[:lo], np.sort(np.concatenate([kept, added])), old[hi:]]).astype(np.int64)


class _Recorder:
    """Collects what one edit changes while it runs in ``session``.

    Before images are taken as rows are first touched (from ORM rows, or read in bulk by the track
    code); after images are read back from the database when the edit is done, so they are exact.
    """

    def __init__(self, session: Session, text_: str) -> None:
        self.session = session
        self.change = Change(text_)
        self._before: dict[int, RowImage] = {}
        #: Ids of rows this edit inserted; their "before" is "did not exist".
        self._new_ids: set[int] = set()
        #: ORM rows this edit added, by Python object identity (their ids come with the flush).
        self._pending: dict[int, Annotation] = {}

    def remember(self, images: dict[int, RowImage]) -> None:
        """Before images of rows about to change (the first image of a row wins)."""
        for row_id, image in images.items():
            if row_id not in self._before and row_id not in self._new_ids:
                self._before[row_id] = image

    def inserted(self, ids: Iterable[int]) -> None:
        self._new_ids.update(ids)

    def touched(self, row_id: int) -> bool:
        """Whether this edit (or its group) already changed the row."""
        return row_id in self._before or row_id in self._new_ids

    def versions(self) -> dict[int, int | None]:
        """The versions of the rows this edit changed, as it read them."""
        return {row_id: image["version"] for row_id, image in self._before.items()}

    def frames(self) -> dict[int, int]:
        """The frames of the rows this edit changed, as it read them."""
        return {row_id: image["frame_number"] for row_id, image in self._before.items()}

    def touch(self, row: Annotation) -> None:
        """Call before changing an ORM row."""
        if id(row) not in self._pending and row.id is not None:
            self.remember({row.id: image_of(row)})

    def set(self, row: Annotation, **values: object) -> None:
        """Set columns of ``row``, recording it only when a value really changes."""
        changed = {name: value for name, value in values.items() if getattr(row, name) != value}
        if changed:
            self.touch(row)
            for name, value in changed.items():
                setattr(row, name, value)

    def add(self, row: Annotation) -> Annotation:
        self.session.add(row)
        self._pending[id(row)] = row
        return row

    def delete(self, row: Annotation) -> None:
        if id(row) in self._pending and row.id is None:
            del self._pending[id(row)]
            self.session.expunge(row)
            return
        self.touch(row)
        self.session.delete(row)

    def review(self, event: DetectionEvent, value: str | None) -> None:
        if event.review == value:
            return
        _frame, first, _last = self.change.reviews.get(event.id, (event.frame_number, event.review, None))
        self.change.reviews[event.id] = (event.frame_number, first, value)
        event.review = value

    def reviewed(self, frame: int, before: bool, after: bool) -> None:
        if before != after:
            self.change.reviewed[frame] = (before, after)

    def finish(self) -> Change:
        self.session.flush()
        new_ids = self._new_ids | {row.id for row in self._pending.values() if row.id is not None}
        after = read_images(self.session, [*self._before, *new_ids])
        for row_id in sorted({*self._before, *new_ids}):
            before = None if row_id in new_ids else self._before[row_id]
            image = after.get(row_id)
            if image != before:
                self.change.annotations[row_id] = (before, image)
        self.change.reviews = {
            event_id: entry for event_id, entry in self.change.reviews.items() if entry[1] != entry[2]
        }
        return self.change


class AnnotationEditor:
    """Queries and undoable edits of the annotations of one video.

    ``budget`` bounds the memory of the undo history, shared with other videos' editors (by default
    an own budget of the ``annotations.undo_history_mb`` setting).
    """

    def __init__(self, db: Database, video_id: int, budget: UndoBudget | None = None) -> None:
        self.db = db
        self.video_id = video_id
        with db.session() as session:
            video = session.get(Video, video_id)
            if video is None:
                raise NotFoundError(
                    f"Video {video_id} is not in the library.", hint="Choose a video from the Library tab."
                )
            self.frame_count = video.frame_count
            self.fps = video.fps
            index = video.frame_index
            self._times = (
                FrameTable.from_bytes(index.times, index.keyframes).times
                if index is not None
                else np.empty(0)
            )
        self._listeners: list[Callable[[set[int]], None]] = []
        self._history = History(budget or UndoBudget(get_setting(db, UNDO_HISTORY_MB) * 2**20))
        #: The recorder of the open :meth:`grouped` block, if any.
        self._group: _Recorder | None = None
        self._ids = IdMap()
        #: Box id → (version, frame) as this editor last read or wrote it: what an edit expects.
        self._seen: dict[int, tuple[int, int]] = {}
        #: Box id → version as this editor last wrote it: what an undo or redo expects.
        self._written: dict[int, int] = {}
        #: Box id → version (``None``: deleted) of others' changes the user chose to write over.
        self._accepted: dict[int, int | None] = {}

    # -- listeners ---------------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[set[int]], None]) -> None:
        """``callback(frames)`` runs after every edit, undo and redo with the frames it changed."""
        self._listeners.append(callback)

    def _notify(self, frames: set[int]) -> None:
        for callback in self._listeners:
            callback(set(frames))

    # -- queries -----------------------------------------------------------------------------------
    def frame_annotations(self, frame: int) -> list[AnnotationView]:
        """The boxes on ``frame`` (outside rows excluded), in creation order."""
        a = Annotation
        query = (
            select(
                a.id,
                a.frame_number,
                a.x1,
                a.y1,
                a.x2,
                a.y2,
                a.vru_type,
                a.track_id,
                a.validated,
                a.occluded,
                a.truncated,
                a.is_keyframe,
                a.detection_event_id,
                a.confidence,
                a.visibility,
                a.ignore,
                a.occlusion,
                a.truncation,
                a.source,
                a.version,
            )
            .where(a.video_id == self.video_id, a.frame_number == frame, a.outside.is_(False))
            .order_by(a.id)
        )
        with self.db.session() as session:
            views = [
                AnnotationView(
                    id=r.id,
                    frame=r.frame_number,
                    box=(r.x1, r.y1, r.x2, r.y2),
                    vru_type=r.vru_type,
                    track_id=r.track_id,
                    validated=bool(r.validated),
                    occluded=bool(r.occluded),
                    truncated=bool(r.truncated),
                    is_keyframe=bool(r.is_keyframe),
                    detection_event_id=r.detection_event_id,
                    confidence=r.confidence,
                    visibility=r.visibility,
                    ignore=bool(r.ignore),
                    occlusion=r.occlusion,
                    truncation=r.truncation,
                    source=r.source,
                    version=r.version,
                )
                for r in session.execute(query)
            ]
        self._seen.update((view.id, (view.version, view.frame)) for view in views)
        return views

    def frame_detections(
        self, frame: int, session_id: int, min_confidence: float = 0.0
    ) -> list[DetectionView]:
        """The detections of run ``session_id`` on ``frame`` at or above ``min_confidence``, best first."""
        e = DetectionEvent
        query = (
            select(
                e.id, e.frame_number, e.x1, e.y1, e.x2, e.y2, e.vru_type, e.confidence, e.track_id, e.review
            )
            .where(
                e.session_id == session_id,
                e.video_id == self.video_id,
                e.frame_number == frame,
                e.confidence >= min_confidence,
            )
            .order_by(e.confidence.desc(), e.id)
        )
        with self.db.session() as session:
            return [
                DetectionView(
                    id=r.id,
                    frame=r.frame_number,
                    box=(r.x1, r.y1, r.x2, r.y2),
                    vru_type=r.vru_type,
                    confidence=r.confidence,
                    track_id=r.track_id,
                    review=r.review,
                )
                for r in session.execute(query)
            ]

    def sessions(self) -> list[SessionView]:
        """The detection runs on this video, newest first, labelled by model, settings and time."""
        query = (
            select(TestSession, DetectorModel.name)
            .outerjoin(DetectorModel, TestSession.model_id == DetectorModel.id)
            .where(TestSession.video_id == self.video_id)
            .order_by(TestSession.created_at.desc(), TestSession.id.desc())
        )
        with self.db.session() as session:
            return [
                SessionView(run.id, _session_label(run, model_name), run.status)
                for run, model_name in session.execute(query)
            ]

    def is_reviewed(self, frame: int) -> bool:
        with self.db.session() as session:
            return session.get(ReviewedFrame, (self.video_id, frame)) is not None

    def timeline_summary(self, session_id: int | None) -> TimelineSummary:
        """Per VRU type, the frames with annotations (and detections of ``session_id``); reviewed ranges.

        Computed by aggregate queries: boxes grouped by frame along the (video, frame) index, then one
        row per distinct set of types on a frame; one row for the reviewed frames. No per-box row
        leaves SQLite.
        """
        dialect = self.db.engine.dialect.name
        with self.db.session() as session:
            annotations = _frames_by_type(
                session.execute(_ANNOTATIONS_BY_TYPE[dialect], {"video": self.video_id})
            )
            detections = (
                _frames_by_type(session.execute(_DETECTIONS_BY_TYPE[dialect], {"session": session_id}))
                if session_id is not None
                else {}
            )
            reviewed = self._reviewed_ranges(session)
        return TimelineSummary(self.frame_count, annotations, detections, reviewed)

    def update_summary(self, summary: TimelineSummary, frames: Iterable[int]) -> TimelineSummary:
        """``summary`` with the annotations of ``frames`` (a listener's changed frames) read again.

        Much cheaper than :meth:`timeline_summary` on a long video; detections are kept as they are
        (edits change only their review state), reviewed ranges are read again.
        """
        changed = np.unique(np.fromiter(frames, dtype=np.int64))
        if not len(changed):
            return summary
        params = {"video": self.video_id, "first": int(changed[0]), "last": int(changed[-1])}
        with self.db.session() as session:
            fresh = _frames_by_type(
                session.execute(_ANNOTATIONS_IN_RANGE[self.db.engine.dialect.name], params)
            )
            reviewed = self._reviewed_ranges(session)
        empty = np.empty(0, dtype=np.int64)
        annotations: dict[str, np.ndarray] = {}
        for vru_type in dict.fromkeys([*summary.annotations, *fresh]):
            merged = _replace_frames(
                summary.annotations.get(vru_type, empty), fresh.get(vru_type, empty), changed
            )
            if len(merged):
                annotations[vru_type] = merged
        return TimelineSummary(summary.frame_count, annotations, summary.detections, reviewed)

    def _reviewed_ranges(self, session: Session) -> list[tuple[int, int]]:
        statement = _REVIEWED_FRAMES[self.db.engine.dialect.name]
        frames = _frames_array(session.execute(statement, {"video": self.video_id}).scalar())
        if not len(frames):
            return []
        breaks = np.flatnonzero(np.diff(frames) > 1)
        starts = frames[np.r_[0, breaks + 1]].tolist()
        ends = frames[np.r_[breaks, len(frames) - 1]].tolist()
        return list(zip(starts, ends, strict=True))

    # -- edits -------------------------------------------------------------------------------------
    def add_box(self, frame: int, box: Box, vru_type: str, track_id: int | None = None) -> int:
        """A new validated box; with ``track_id``, a keyframe of that track (replacing its row there)."""
        frame = self._check_frame(frame)
        box = _check_box(box)
        vru_type = _check_type(vru_type)

        def work(rec: _Recorder) -> int:
            if track_id is None:
                row = rec.add(self._new_row(frame, box, vru_type, validated=True))
                rec.session.flush()
                return row.id
            return self._place_keyframe(rec, track_id, frame, box, vru_type=vru_type, validated=True)

        return self._edit("Add box" if track_id is None else f"Add box to track {track_id}", work)

    def move_box(self, annotation_id: int, box: Box) -> None:
        """Move or resize a box; on a track it becomes a keyframe and the track is re-interpolated."""
        box = _check_box(box)

        def work(rec: _Recorder) -> None:
            row = self._row(rec, annotation_id)
            rec.set(row, **_box_values(box), is_keyframe=True)
            if row.track_id is not None:
                self._rebuild(rec, row.track_id, row.frame_number, row.frame_number)

        self._edit("Move box", work)

    def delete_box(self, annotation_id: int) -> None:
        """Delete a box. A track keyframe: its neighbours re-interpolate. An interpolated row: hidden
        on this frame only (an outside keyframe, with keyframes on the frames either side)."""

        def work(rec: _Recorder) -> None:
            row = self._row(rec, annotation_id)
            track_id, frame = row.track_id, row.frame_number
            if track_id is None:
                rec.delete(row)
                return
            if row.is_keyframe:
                rec.delete(row)
                self._rebuild(rec, track_id, frame, frame)
                return
            for neighbour in self._track_rows(rec.session, track_id, frame - 1, frame + 1):
                if neighbour.frame_number != frame:
                    rec.set(neighbour, is_keyframe=True)
            rec.set(row, is_keyframe=True, outside=True)
            self._rebuild(rec, track_id, frame - 1, frame + 1)

        self._edit("Delete box", work)

    def set_class(self, annotation_id: int, vru_type: str) -> None:
        """Change the class of a box; of every row of its track when it is on one."""
        vru_type = _check_type(vru_type)

        def work(rec: _Recorder) -> None:
            row = self._row(rec, annotation_id)
            if row.track_id is None:
                rec.set(row, vru_type=vru_type)
                return
            same_track = (
                ANNOTATIONS.c.video_id == self.video_id,
                ANNOTATIONS.c.track_id == row.track_id,
                ANNOTATIONS.c.vru_type != vru_type,
            )
            rows = rec.session.execute(select(ANNOTATIONS).where(*same_track)).mappings().all()
            rec.remember({each["id"]: _strip_id(each) for each in rows})
            now = utcnow()
            update_rows(
                rec.session,
                [(each["id"], {"vru_type": vru_type, "updated_at": now}, each["version"]) for each in rows],
            )

        self._edit(f"Change class to {vru_type}", work)

    def set_flags(
        self,
        annotation_id: int,
        *,
        validated: bool | None = None,
        occluded: bool | None = None,
        truncated: bool | None = None,
    ) -> None:
        """Set flags of a box. On a track the row becomes a keyframe and the interpolated rows after
        it (up to the next keyframe) take the same flags."""
        flags = {
            name: bool(value)
            for name, value in (("validated", validated), ("occluded", occluded), ("truncated", truncated))
            if value is not None
        }
        if flags:
            self._set_keyframe_values(annotation_id, flags, _flags_text(flags))

    def set_conditions(self, annotation_id: int, **values: object) -> None:
        """Set what protocols read of a box: ``visibility`` and ``truncation`` (0…1), ``occlusion``
        (0 none, 1 partial, 2 heavy), ``None`` for unknown; ``ignore`` (bool). On a track as
        :meth:`set_flags`."""
        unknown = sorted(set(values) - set(INHERITED_CONDITIONS))
        if unknown:
            raise ValidationError(
                f"A box has no condition {unknown}.", hint=f"Known: {list(INHERITED_CONDITIONS)}."
            )
        for name in ("visibility", "truncation"):
            share = values.get(name)
            if share is not None and not (isinstance(share, int | float) and 0.0 <= share <= 1.0):
                raise ValidationError(f"A box's {name} is a share from 0 to 1, not {share!r}.")
        if values.get("occlusion") not in (None, 0, 1, 2):
            raise ValidationError(
                f"An occlusion level is 0 (none), 1 (partial) or 2 (heavy), not {values['occlusion']!r}."
            )
        if "ignore" in values:
            values["ignore"] = bool(values["ignore"])
        if values:
            self._set_keyframe_values(annotation_id, values, _conditions_text(values))

    def _set_keyframe_values(self, annotation_id: int, values: dict[str, object], text_: str) -> None:
        def work(rec: _Recorder) -> None:
            row = self._row(rec, annotation_id)
            if row.track_id is None:
                rec.set(row, **values)
                return
            rec.set(row, is_keyframe=True, **values)
            self._rebuild(rec, row.track_id, row.frame_number, row.frame_number)

        self._edit(text_, work)

    def accept_detection(self, event_id: int) -> int:
        """A validated annotation from a detection, linked to it; a detection on a tracker track joins
        the annotation track made from that run's track (a new track the first time)."""
        return self._edit(
            "Accept detection", lambda rec: self._accept(rec, self._event(rec.session, event_id))
        )

    def reject_detection(self, event_id: int) -> None:
        def work(rec: _Recorder) -> None:
            rec.review(self._event(rec.session, event_id), Review.REJECTED)

        self._edit("Reject detection", work)

    def accept_all_detections(
        self, frame: int, session_id: int, min_confidence: float = 0.0, *, mark_reviewed: bool = False
    ) -> list[int]:
        """Accept every open detection of the run on ``frame`` at or above ``min_confidence``; with
        ``mark_reviewed`` the frame is marked reviewed in the same edit (one undo step), so the boxes
        count as ground truth."""

        def work(rec: _Recorder) -> list[int]:
            events = rec.session.scalars(
                select(DetectionEvent)
                .where(
                    DetectionEvent.session_id == session_id,
                    DetectionEvent.video_id == self.video_id,
                    DetectionEvent.frame_number == frame,
                    DetectionEvent.confidence >= min_confidence,
                    DetectionEvent.review.is_(None),
                )
                .order_by(DetectionEvent.confidence.desc(), DetectionEvent.id)
            ).all()
            rec.change.text = f"Accept {counted(len(events), 'detection', 'detections')}"
            created = [self._accept(rec, event) for event in events]
            if mark_reviewed:
                self._mark_reviewed(rec, frame, True)
                rec.change.text += " and mark the frame reviewed"
            return created

        return self._edit("Accept detections", work)

    def copy_to_next_frame(self, frame: int) -> list[int]:
        """Copy the boxes of ``frame`` to ``frame + 1`` as keyframes of their tracks (a box without a
        track gets a new one). A track that already has a row on the next frame is left as it is."""
        frame = self._check_frame(frame)
        target = self._check_frame(frame + 1)

        def work(rec: _Recorder) -> list[int]:
            rows = rec.session.scalars(
                select(Annotation)
                .where(
                    Annotation.video_id == self.video_id,
                    Annotation.frame_number == frame,
                    Annotation.outside.is_(False),
                )
                .order_by(Annotation.id)
            ).all()
            created: list[int] = []
            for row in rows:
                if row.track_id is not None and self._track_rows(rec.session, row.track_id, target, target):
                    continue
                track_id = self._ensure_track(rec, row)
                created.append(
                    self._place_keyframe(rec, track_id, target, row.bounding_box, **_flags_of(row))
                )
            rec.change.text = f"Copy {counted(len(created), 'box', 'boxes')} to next frame"
            return created

        return self._edit("Copy boxes to next frame", work)

    def propagate(self, annotation_id: int, frames: int) -> list[int]:
        """Copy a box forward ``frames`` frames (to the last frame at most) as one track: whatever its
        track had on those frames is replaced by a keyframe at the end and the same box between.
        Returns the ids of the rows on the following frames, in frame order."""
        if frames < 1:
            raise ValidationError(f"Cannot propagate a box {frames} frames.", hint="Give 1 or more frames.")

        def work(rec: _Recorder) -> list[int]:
            row = self._row(rec, annotation_id)
            if row.outside:
                raise ValidationError(
                    "This box marks the end of its track.", hint="Propagate a visible box instead."
                )
            start = row.frame_number
            end = start + frames if self.frame_count <= 0 else min(start + frames, self.frame_count - 1)
            if end <= start:
                raise ValidationError(
                    f"Frame {start} is the last frame of the video.",
                    hint="Nothing follows it to propagate to.",
                )
            track_id = self._ensure_track(rec, row)
            rec.set(row, is_keyframe=True)
            rec.session.flush()
            in_range = (
                ANNOTATIONS.c.video_id == self.video_id,
                ANNOTATIONS.c.track_id == track_id,
                ANNOTATIONS.c.frame_number.between(start + 1, end),
            )
            replaced = rec.session.execute(select(ANNOTATIONS).where(*in_range)).mappings().all()
            rec.remember({each["id"]: _strip_id(each) for each in replaced})
            delete_rows(rec.session, {each["id"]: each["version"] for each in replaced})
            rec.add(
                self._new_row(end, row.bounding_box, track_id=track_id, is_keyframe=True, **_flags_of(row))
            )
            self._rebuild(rec, track_id, start, end)
            rec.change.text = f"Propagate box {end - start} frame{'s' if end - start != 1 else ''}"
            return list(
                rec.session.scalars(
                    select(ANNOTATIONS.c.id).where(*in_range).order_by(ANNOTATIONS.c.frame_number)
                )
            )

        return self._edit("Propagate box", work)

    def set_outside(self, annotation_id: int) -> None:
        """End the box's track at this frame: an outside keyframe, nothing after it up to the next
        keyframe (where the track resumes, if it has one)."""

        def work(rec: _Recorder) -> None:
            row = self._row(rec, annotation_id)
            if row.track_id is None:
                raise ValidationError(
                    "This box is not part of a track, so it has no track to end.",
                    hint="Delete the box instead.",
                )
            rec.set(row, is_keyframe=True, outside=True)
            self._rebuild(rec, row.track_id, row.frame_number, row.frame_number)

        self._edit("End track", work)

    def set_reviewed(self, frame: int, reviewed: bool = True) -> None:
        """Mark ``frame`` reviewed (its validated boxes become ground truth) or not."""
        frame = self._check_frame(frame)

        self._edit(
            f"Mark frame {frame} {'reviewed' if reviewed else 'not reviewed'}",
            lambda rec: self._mark_reviewed(rec, frame, reviewed),
        )

    def _mark_reviewed(self, rec: _Recorder, frame: int, reviewed: bool) -> None:
        existing = rec.session.get(ReviewedFrame, (self.video_id, frame))
        if reviewed and existing is None:
            rec.session.add(ReviewedFrame(video_id=self.video_id, frame_number=frame))
        elif not reviewed and existing is not None:
            rec.session.delete(existing)
        rec.reviewed(frame, existing is not None, reviewed)

    # -- undo --------------------------------------------------------------------------------------
    @contextmanager
    def grouped(self, text_: str) -> Iterator[None]:
        """The edits made in this block run in one transaction and are one undo step, ``text_``.

        An error in the block rolls all of them back. A block inside another joins the outer one.
        """
        if self._group is not None:
            yield
            return
        recorder: _Recorder | None = None
        try:
            with self.db.transaction() as session:
                recorder = self._group = _Recorder(session, text_)
                try:
                    yield
                    change = self._group.finish()
                    change.text = text_
                    if not change.is_empty():
                        self._after_edit(session, change)
                finally:
                    self._group = None
        except (StaleRows, StaleDataError) as exc:
            raise self._conflict(exc, recorder, "your edit") from exc
        self._record(change)

    def undo(self) -> bool:
        return self._replay(self._history.undo, self._history.redo, forward=False)

    def redo(self) -> bool:
        return self._replay(self._history.redo, self._history.undo, forward=True)

    def can_undo(self) -> bool:
        return bool(self._history.undo)

    def can_redo(self) -> bool:
        return bool(self._history.redo)

    def undo_text(self) -> str:
        """What the next undo takes back, e.g. "Delete 3 boxes"."""
        return self._history.undo[-1].change.text if self._history.undo else ""

    def redo_text(self) -> str:
        return self._history.redo[-1].change.text if self._history.redo else ""

    def _replay(self, source: list[Step], target: list[Step], *, forward: bool) -> bool:
        if not source:
            return False
        change = source[-1].change
        frames = {
            self._ids.resolve(row_id): image["frame_number"]
            for row_id, images in change.annotations.items()
            for image in images
            if image is not None
        }
        known = {row_id: self._written[row_id] for row_id in frames if row_id in self._written}
        try:
            with self.db.transaction() as session:
                written = apply_change(
                    session,
                    change,
                    self._ids,
                    forward=forward,
                    video_id=self.video_id,
                    known=known,
                    accepted=self._accepted,
                )
                self._after_edit(session, change)
        except StaleRows as exc:
            raise self._conflict(exc, None, "the redo" if forward else "the undo", frames) from exc
        target.append(source.pop())
        self._accepted.clear()
        for row_id, version in written.items():
            self._wrote(row_id, version, frames.get(row_id, -1))
        self._notify(change.frames())
        return True

    def take_theirs(self, conflict: ConflictError, *, write_over: bool) -> None:
        """The boxes of a conflict count as read as they are now. With ``write_over`` the next edit,
        undo or redo may also change them as the user wanted before (it is made again on top of
        the other person's change); without, an undo still refuses to take their change back."""
        for view in conflict.conflicts:
            if not isinstance(view, ConflictView):
                continue
            if write_over:
                self._accepted[view.id] = view.version
            if view.version is None:
                self._seen.pop(view.id, None)
            elif view.frame is not None:
                self._seen[view.id] = (view.version, view.frame)

    # -- internals ---------------------------------------------------------------------------------
    def _edit(self, text_: str, work: Callable[[_Recorder], T]) -> T:
        if self._group is not None:
            # Rows changed by an earlier edit of the group in bulk statements are read afresh.
            self._group.session.flush()
            self._group.session.expire_all()
            return work(self._group)
        recorder: _Recorder | None = None
        try:
            with self.db.transaction() as session:
                recorder = _Recorder(session, text_)
                result = work(recorder)
                change = recorder.finish()
                if not change.is_empty():
                    self._after_edit(session, change)
        except (StaleRows, StaleDataError) as exc:
            raise self._conflict(exc, recorder, "your edit") from exc
        self._record(change)
        return result

    def _record(self, change: Change) -> None:
        self._accepted.clear()
        if change.is_empty():
            return
        self._history.push(change)
        for row_id, (_before, after) in change.annotations.items():
            if after is None:
                self._wrote(row_id, None, -1)
            else:
                self._wrote(row_id, after["version"], after["frame_number"])
        self._notify(change.frames())

    def _wrote(self, row_id: int, version: int | None, frame: int) -> None:
        if version is None:
            self._seen.pop(row_id, None)
            self._written.pop(row_id, None)
        else:
            self._seen[row_id] = (version, frame)
            self._written[row_id] = version

    def _after_edit(self, session: Session, change: Change) -> None:
        after_boxes_changed(session, self.video_id, change.frames())

    def _conflict(
        self,
        exc: StaleRows | StaleDataError,
        recorder: _Recorder | None,
        what: str,
        frames: dict[int, int] | None = None,
    ) -> ConflictError:
        """The error for an edit that met others' changes: which boxes, who, when, what they are now."""
        expected = exc.expected if isinstance(exc, StaleRows) else {}
        if not expected and recorder is not None:  # a box changed between this edit's read and write
            expected = recorder.versions()
        known = {row_id: frame for row_id, (_version, frame) in self._seen.items()}
        if recorder is not None:
            known.update(recorder.frames())
        known.update(frames or {})
        with self.db.session() as session:
            rows = {
                row.id: row
                for row in session.scalars(select(Annotation).where(Annotation.id.in_(list(expected))))
            }
            conflicts = [
                _conflict_view(row_id, rows.get(row_id), known.get(row_id), session, self.video_id)
                for row_id in sorted(expected)
                if rows.get(row_id) is None or rows[row_id].version != expected[row_id]
            ]
        return ConflictError(_conflict_text(conflicts, what), hint=_CONFLICT_HINT, conflicts=tuple(conflicts))

    def _check_frame(self, frame: int) -> int:
        frame = int(frame)
        if frame < 0 or (self.frame_count > 0 and frame >= self.frame_count):
            raise ValidationError(
                f"Frame {frame} is outside the video (frames 0–{self.frame_count - 1}).",
                hint="Choose a frame of the video.",
            )
        return frame

    def _time_of(self, frame: int) -> float:
        if frame < len(self._times):
            return float(self._times[frame])
        return frame / self.fps if self.fps > 0 else 0.0

    def _row(self, rec: _Recorder, annotation_id: int) -> Annotation:
        """The box to edit, as this editor last read it (:class:`StaleRows` if someone else changed
        or deleted it since)."""
        row_id = self._ids.resolve(annotation_id)
        row = rec.session.get(Annotation, row_id)
        seen = self._seen.get(row_id)
        if row is None or row.video_id != self.video_id:
            if seen is not None and row_id not in self._accepted:
                raise StaleRows({row_id: seen[0]})
            raise NotFoundError(
                f"Box {annotation_id} no longer exists on this video.", hint="Refresh the view and try again."
            )
        if seen is not None and seen[0] != row.version and not rec.touched(row_id):
            raise StaleRows({row_id: seen[0]})
        return row

    def _event(self, session: Session, event_id: int) -> DetectionEvent:
        event = session.get(DetectionEvent, event_id)
        if event is None or event.video_id != self.video_id:
            raise NotFoundError(
                f"Detection {event_id} does not exist on this video.",
                hint="Its run may have been deleted; refresh the view.",
            )
        return event

    def _new_row(
        self,
        frame: int,
        box: Box,
        vru_type: str,
        *,
        track_id: int | None = None,
        is_keyframe: bool = True,
        **values: object,
    ) -> Annotation:
        return Annotation(
            video_id=self.video_id,
            frame_number=frame,
            timestamp=self._time_of(frame),
            vru_type=vru_type,
            track_id=track_id,
            is_keyframe=is_keyframe,
            outside=False,
            **_box_values(box),
            **values,
        )

    def _next_track_id(self, session: Session) -> int:
        largest = session.scalar(
            select(func.max(Annotation.track_id)).where(Annotation.video_id == self.video_id)
        )
        return 1 if largest is None else int(largest) + 1

    def _ensure_track(self, rec: _Recorder, row: Annotation) -> int:
        """The row's track id, giving the row a new track first when it has none."""
        if row.track_id is None:
            rec.set(row, track_id=self._next_track_id(rec.session), is_keyframe=True)
        assert row.track_id is not None
        return row.track_id

    def _track_rows(self, session: Session, track_id: int, first: int, last: int) -> list[Annotation]:
        """The rows of a track on frames ``first``–``last`` (a few frames: ORM rows)."""
        query = select(Annotation).where(
            Annotation.video_id == self.video_id,
            Annotation.track_id == track_id,
            Annotation.frame_number.between(first, last),
        )
        query = query.order_by(Annotation.frame_number, Annotation.id)
        # Rows this edit changed in bulk are read afresh (with their new versions).
        return list(session.scalars(query.execution_options(populate_existing=True)))

    def _place_keyframe(
        self, rec: _Recorder, track_id: int, frame: int, box: Box, *, vru_type: str, **values: object
    ) -> int:
        """Make ``box`` the keyframe of ``track_id`` on ``frame`` (its row there, or a new one)."""
        existing = self._track_rows(rec.session, track_id, frame, frame)
        if existing:
            row = existing[0]
            for duplicate in existing[1:]:
                rec.delete(duplicate)
            rec.set(row, **_box_values(box), vru_type=vru_type, is_keyframe=True, outside=False, **values)
        else:
            row = rec.add(self._new_row(frame, box, vru_type, track_id=track_id, is_keyframe=True, **values))
        self._rebuild(rec, track_id, frame, frame)
        return row.id

    def _rebuild(self, rec: _Recorder, track_id: int, first: int, last: int) -> None:
        """Rewrite the interpolated rows of a track around keyframes changed on ``first``–``last``:
        from the keyframe before ``first`` to the keyframe after ``last`` (or the track's ends).

        Keyframes are read as ORM rows (few); interpolated rows are read, updated, deleted and
        inserted in bulk (a long gap between keyframes can hold thousands).
        """
        session = rec.session
        session.flush()
        keyed = select(Annotation).where(
            Annotation.video_id == self.video_id,
            Annotation.track_id == track_id,
            Annotation.is_keyframe.is_(True),
        )
        before = session.scalars(
            keyed.where(Annotation.frame_number < first).order_by(Annotation.frame_number.desc()).limit(1)
        ).first()
        after = session.scalars(
            keyed.where(Annotation.frame_number > last).order_by(Annotation.frame_number).limit(1)
        ).first()
        low = before.frame_number if before is not None else None
        high = after.frame_number if after is not None else None
        window = keyed
        interpolated = select(ANNOTATIONS).where(
            ANNOTATIONS.c.video_id == self.video_id,
            ANNOTATIONS.c.track_id == track_id,
            ANNOTATIONS.c.is_keyframe.is_(False),
        )
        if low is not None:
            window = window.where(Annotation.frame_number >= low)
            interpolated = interpolated.where(ANNOTATIONS.c.frame_number > low)
        if high is not None:
            window = window.where(Annotation.frame_number <= high)
            interpolated = interpolated.where(ANNOTATIONS.c.frame_number < high)
        keys = {row.frame_number: row for row in session.scalars(window.order_by(Annotation.id))}
        existing: dict[int, list[RowImage]] = {}
        for row in session.execute(interpolated.order_by(ANNOTATIONS.c.id)).mappings():
            existing.setdefault(row["frame_number"], []).append(dict(row))

        wanted: dict[int, tuple[Box, Annotation]] = {}
        source: Annotation | None = None
        for point in interpolate_track(
            Keyframe(frame, row.bounding_box, row.outside) for frame, row in sorted(keys.items())
        ):
            if point.is_keyframe:
                source = keys[point.frame]
            elif source is not None:
                wanted[point.frame] = (point.box, source)

        now = utcnow()
        removed: list[RowImage] = []
        changed: list[tuple[int, RowImage, int]] = []
        touched: list[RowImage] = []
        created: list[RowImage] = []
        for frame, rows in existing.items():
            removed.extend(rows if frame not in wanted else rows[1:])
        for frame, (box, key) in wanted.items():
            values: RowImage = {name: getattr(key, name) for name in (*INHERITED, *INHERITED_CONDITIONS)}
            rows = existing.get(frame)
            if not rows:
                created.append(self._image(frame, box, track_id, values, now))
                continue
            row = rows[0]
            if any(abs(row[name] - value) > BOX_TOLERANCE for name, value in _box_values(box).items()):
                values.update(_box_values(box))
            values["outside"] = False
            updates = {name: value for name, value in values.items() if row[name] != value}
            if updates:
                touched.append(row)
                changed.append((row["id"], {**updates, "updated_at": now}, row["version"]))
        rec.remember({row["id"]: _strip_id(row) for row in [*removed, *touched]})
        delete_rows(session, {row["id"]: row["version"] for row in removed})
        update_rows(session, changed)
        rec.inserted(insert_rows(session, created))

    def _image(self, frame: int, box: Box, track_id: int | None, values: RowImage, now: object) -> RowImage:
        """A complete image of a new interpolated row (every column but the id and the writer's
        name, which the column defaults fill)."""
        image: RowImage = {
            "video_id": self.video_id,
            "detection_event_id": None,
            "frame_number": frame,
            "timestamp": self._time_of(frame),
            "confidence": None,
            "track_id": track_id,
            "is_keyframe": False,
            "outside": False,
            "attributes": {},
            "visible_box": None,
            "created_at": now,
            "updated_at": now,
            **_box_values(box),
            **values,
        }
        assert set(image) | {"created_by", "updated_by", "version"} == set(ANNOTATION_COLUMNS)
        return image

    def _accept(self, rec: _Recorder, event: DetectionEvent) -> int:
        linked = rec.session.scalar(
            select(Annotation.id).where(
                Annotation.video_id == self.video_id, Annotation.detection_event_id == event.id
            )
        )
        if linked is not None:
            rec.review(event, Review.ACCEPTED)
            return int(linked)
        values: dict[str, object] = {
            "validated": True,
            "confidence": event.confidence,
            "detection_event_id": event.id,
            "source": "detection",
        }
        box = event.bounding_box
        rec.review(event, Review.ACCEPTED)
        if event.track_id is None:
            row = rec.add(self._new_row(event.frame_number, box, event.vru_type, **values))
            rec.session.flush()
            return row.id
        track_id = self._track_of_run_track(rec.session, event.session_id, event.track_id)
        return self._place_keyframe(rec, track_id, event.frame_number, box, vru_type=event.vru_type, **values)

    def _track_of_run_track(self, session: Session, session_id: int, run_track: int) -> int:
        """The annotation track already made from a run's tracker track, or a new track id."""
        existing = session.scalar(
            select(Annotation.track_id)
            .join(DetectionEvent, Annotation.detection_event_id == DetectionEvent.id)
            .where(
                and_(
                    Annotation.video_id == self.video_id,
                    Annotation.track_id.is_not(None),
                    DetectionEvent.session_id == session_id,
                    DetectionEvent.track_id == run_track,
                )
            )
            .limit(1)
        )
        return int(existing) if existing is not None else self._next_track_id(session)


_CONFLICT_HINT = "Re-apply it on top of their change, or drop it and reload the frame."


def _conflict_view(
    row_id: int, row: Annotation | None, frame: int | None, session: Session, video_id: int
) -> ConflictView:
    if row is None:
        by = last_change_by(session, video_id, frame) if frame is not None else None
        return ConflictView(id=row_id, frame=frame, by=by, at=None, version=None, box=None, vru_type=None)
    return ConflictView(
        id=row_id,
        frame=row.frame_number,
        by=row.updated_by,
        at=row.updated_at,
        version=row.version,
        box=None if row.outside else row.bounding_box,
        vru_type=row.vru_type,
    )


def _conflict_text(conflicts: list[ConflictView], what: str) -> str:
    if not conflicts:
        return f"Boxes changed while {what} was being saved; nothing of it was saved."
    names = sorted({view.by for view in conflicts if view.by})
    who = f" by {', '.join(names)}" if names else " by someone else"
    if len(conflicts) == 1:
        view = conflicts[0]
        where = f" on frame {view.frame}" if view.frame is not None else ""
        if view.version is None:
            return f"Box {view.id}{where} was deleted{who} after you loaded it; {what} was not saved."
        when = f" at {view.at.strftime('%H:%M:%S')}" if view.at is not None else ""
        return f"Box {view.id}{where} was changed{who}{when} after you loaded it; {what} was not saved."
    frames = sorted(view.frame for view in conflicts if view.frame is not None)
    where = f" (frames {frames[0]}–{frames[-1]})" if frames else ""
    return f"{len(conflicts)} boxes{where} were changed{who} after you loaded them; {what} was not saved."


def counted(number: int, singular: str, plural: str) -> str:
    """``"box"`` for one, ``"3 boxes"`` for more: the object of an undo step's label."""
    return singular if number == 1 else f"{number} {plural}"


def _strip_id(row: RowImage | RowMapping) -> RowImage:
    return {name: row[name] for name in ANNOTATION_COLUMNS}


def _check_box(box: Iterable[float]) -> Box:
    values = [float(v) for v in box]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValidationError(f"A box needs four finite numbers x1, y1, x2, y2, not {values}.")
    x1, x2 = sorted(values[0::2])
    y1, y2 = sorted(values[1::2])
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        raise ValidationError(
            f"The box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) has no area.", hint="Drag out a box wider than zero."
        )
    return (x1, y1, x2, y2)


def _check_type(vru_type: str) -> str:
    name = str(vru_type).strip()
    if not name:
        raise ValidationError("A box needs a class.", hint="Choose a VRU type (keys 1–9).")
    return name


def _box_values(box: Box) -> dict[str, float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}


def _flags_of(row: Annotation) -> dict[str, object]:
    return {name: getattr(row, name) for name in INHERITED}


def _flags_text(flags: dict[str, bool]) -> str:
    parts = [name if value else f"not {name}" for name, value in flags.items()]
    return "Mark " + ", ".join(parts)


def _conditions_text(values: dict[str, object]) -> str:
    parts = []
    for name, value in values.items():
        if name == "ignore":
            parts.append("ignore" if value else "not ignore")
        elif value is None:
            parts.append(f"{name} unknown")
        elif name == "occlusion":
            parts.append(f"occlusion {OCCLUSION_LEVELS[int(value)]}")  # type: ignore[call-overload]
        else:
            parts.append(f"{name} {value:g}")
    return "Set " + ", ".join(parts)


def _session_label(run: TestSession, model_name: str | None) -> str:
    config = run.config or {}
    parts = [f"#{run.id} {run_model_name(model_name, run.provenance)}"]
    if config.get("conf") is not None:
        parts.append(f"conf {config['conf']}")
    when = run.started_at or run.created_at
    if when is not None:
        parts.append(when.strftime("%Y-%m-%d %H:%M"))
    return " · ".join(parts)
