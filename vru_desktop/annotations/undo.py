"""Undo/redo of annotation edits by row images (no Qt).

An edit is recorded as the exact images of every row it touched, before and after: annotation rows
(``None`` where the row did not exist), detection review decisions and reviewed-frame marks. Undo
writes the "before" images back, redo the "after" images, so any edit — a track regenerated over
hundreds of frames included — is restored exactly.

A row that undo re-creates gets its old id back when that id is free. When another row has taken
it meanwhile, the row gets a new id and :class:`IdMap` remembers the replacement, so older entries
that name the old id keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame

RowImage = dict[str, Any]

ANNOTATIONS = Annotation.__table__
EVENTS = DetectionEvent.__table__
REVIEWED = ReviewedFrame.__table__
#: Column names of an annotation row image (every column but the id).
ANNOTATION_COLUMNS: tuple[str, ...] = tuple(c.name for c in ANNOTATIONS.columns if c.name != "id")


def image_of(row: Annotation) -> RowImage:
    """The column values of an ORM annotation row, without its id."""
    return {name: getattr(row, name) for name in ANNOTATION_COLUMNS}


@dataclass
class Change:
    """One undoable edit: row images before and after, and the frames it changed."""

    text: str
    #: annotation id (as recorded) → (image before, image after); ``None`` = the row did not exist.
    annotations: dict[int, tuple[RowImage | None, RowImage | None]] = field(default_factory=dict)
    #: detection event id → (frame, review before, review after).
    reviews: dict[int, tuple[int, str | None, str | None]] = field(default_factory=dict)
    #: frame → (reviewed before, reviewed after).
    reviewed: dict[int, tuple[bool, bool]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.annotations or self.reviews or self.reviewed)

    def frames(self) -> set[int]:
        result: set[int] = set(self.reviewed)
        for before, after in self.annotations.values():
            result.update(image["frame_number"] for image in (before, after) if image is not None)
        result.update(frame for frame, _before, _after in self.reviews.values())
        return result


class IdMap:
    """Old annotation id → the id of the row that replaced it after an undo re-created it."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def resolve(self, row_id: int) -> int:
        while row_id in self._next:
            row_id = self._next[row_id]
        return row_id

    def replace(self, old_id: int, new_id: int) -> None:
        self._next[old_id] = new_id


def apply_change(session: Session, change: Change, ids: IdMap, *, forward: bool, video_id: int) -> None:
    """Write the "after" images of ``change`` (``forward``) or its "before" images (undo)."""
    deletes: list[int] = []
    updates: list[tuple[int, RowImage]] = []
    creates: list[tuple[int, RowImage]] = []
    for recorded_id, (before, after) in change.annotations.items():
        current, target = (before, after) if forward else (after, before)
        row_id = ids.resolve(recorded_id)
        if target is None:
            deletes.append(row_id)
        elif current is None:
            creates.append((recorded_id, target))
        else:
            updates.append((row_id, target))
    if deletes:
        session.execute(delete(ANNOTATIONS).where(ANNOTATIONS.c.id.in_(deletes)))
    for row_id, image in updates:
        result = session.execute(update(ANNOTATIONS).where(ANNOTATIONS.c.id == row_id).values(**image))
        if result.rowcount == 0:  # removed outside this editor: bring it back
            session.execute(insert(ANNOTATIONS).values(id=row_id, **image))
    for recorded_id, image in creates:
        row_id = ids.resolve(recorded_id)
        taken = session.execute(select(ANNOTATIONS.c.id).where(ANNOTATIONS.c.id == row_id)).first()
        if taken is None:
            session.execute(insert(ANNOTATIONS).values(id=row_id, **image))
        else:
            new_id = session.execute(insert(ANNOTATIONS).values(**image)).inserted_primary_key[0]
            ids.replace(row_id, int(new_id))
    for event_id, (_frame, before, after) in change.reviews.items():
        session.execute(
            update(EVENTS).where(EVENTS.c.id == event_id).values(review=after if forward else before)
        )
    for frame, (before, after) in change.reviewed.items():
        wanted = after if forward else before
        session.execute(
            delete(REVIEWED).where(REVIEWED.c.video_id == video_id, REVIEWED.c.frame_number == frame)
        )
        if wanted:
            session.execute(insert(REVIEWED).values(video_id=video_id, frame_number=frame))
