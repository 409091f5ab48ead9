"""Undo/redo of annotation edits by row images (no Qt).

An edit is recorded as the exact images of every row it touched, before and after: annotation rows
(``None`` where the row did not exist), detection review decisions and reviewed-frame marks. Undo
writes the "before" images back, redo the "after" images, so any edit — a track regenerated over
hundreds of frames included — is restored exactly.

Rows carry a version (:class:`~vru_desktop.store.models.Annotation`): every write below changes a
row only where it still has the version it was read with, and raises :class:`StaleRows` otherwise
(someone else changed or deleted it); the caller's transaction then rolls back. Undo and redo
expect each row as the editor last wrote it.

A row that undo re-creates gets its old id back when that id is free. When another row has taken
it meanwhile, the row gets a new id and :class:`IdMap` remembers the replacement, so older entries
that name the old id keep working.

Each video's steps are a :class:`History`; the histories of all videos share one
:class:`UndoBudget` of bytes, and the oldest steps are dropped when they exceed it (the newest step
is always kept), so a propagate over 100 000 frames does not pin its row images forever.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from vru_desktop.store.models import Annotation, AnnotationImport, DetectionEvent, ReviewedFrame

RowImage = dict[str, Any]

ANNOTATIONS = Annotation.__table__
EVENTS = DetectionEvent.__table__
REVIEWED = ReviewedFrame.__table__
IMPORTS = AnnotationImport.__table__


class StaleRows(Exception):
    """Rows an edit was about to write changed since they were read: id → the version expected
    (``None``: the row was expected not to exist)."""

    def __init__(self, expected: dict[int, int | None]) -> None:
        super().__init__(f"rows changed meanwhile: {sorted(expected)}")
        self.expected = expected


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


#: Estimated bytes of one annotation row image held by a step (a dict of 21 column values; measured
#: with tracemalloc at about 0.7–1 KB), of one review or reviewed-frame entry, and of a step itself.
ROW_IMAGE_BYTES = 1024
ENTRY_BYTES = 200
STEP_BYTES = 500


def change_bytes(change: Change) -> int:
    """The estimated memory ``change`` holds on to."""
    images = sum((before is not None) + (after is not None) for before, after in change.annotations.values())
    entries = len(change.annotations) + len(change.reviews) + len(change.reviewed)
    return STEP_BYTES + images * ROW_IMAGE_BYTES + entries * ENTRY_BYTES


@dataclass
class Step:
    """A change on a history: ``seq`` orders steps of all videos by when they were made."""

    change: Change
    seq: int
    size: int


class History:
    """The undo and redo steps of one video, within a shared :class:`UndoBudget`."""

    def __init__(self, budget: UndoBudget) -> None:
        self.budget = budget
        self.undo: list[Step] = []
        self.redo: list[Step] = []
        budget.histories.append(self)

    def bytes(self) -> int:
        return sum(step.size for step in self.undo) + sum(step.size for step in self.redo)

    def push(self, change: Change) -> None:
        """A new edit: it goes on the undo stack and the redo stack is cleared."""
        self.redo.clear()
        step = Step(change, next(self.budget.counter), change_bytes(change))
        self.undo.append(step)
        self.budget.trim(keep=step)


class UndoBudget:
    """Bytes the undo histories of all videos may hold together; the oldest steps go first."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.histories: list[History] = []
        self.counter = itertools.count()

    def used(self) -> int:
        return sum(history.bytes() for history in self.histories)

    def trim(self, keep: Step) -> None:
        """Drop the oldest steps (undo steps from the bottom, redo steps furthest from now) until the
        histories fit, never ``keep``."""
        used = self.used()
        while used > self.limit_bytes:
            candidates = [
                (stack[0].seq, stack)
                for history in self.histories
                for stack in (history.undo, history.redo)
                if stack and stack[0] is not keep
            ]
            if not candidates:
                return
            _seq, stack = min(candidates, key=lambda candidate: candidate[0])
            used -= stack.pop(0).size


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


#: The ids of a JSON array parameter as rows, per database dialect.
_JSON_IDS = {
    "sqlite": "SELECT value FROM json_each(:id_list)",
    "postgresql": (
        "SELECT CAST(value AS INTEGER) AS value FROM json_array_elements_text(CAST(:id_list AS JSON))"
    ),
}


def _id_list(session: Session, ids: Iterable[int]) -> ColumnElement[bool]:
    """``id IN (…)`` with the ids passed as one JSON parameter (no bound parameter per id)."""
    values = json.dumps(sorted({int(row_id) for row_id in ids}))
    sql = _JSON_IDS[session.get_bind().dialect.name]
    listed = text(sql).bindparams(id_list=values).columns(value=Integer)
    return ANNOTATIONS.c.id.in_(listed)


def read_images(session: Session, ids: Iterable[int]) -> dict[int, RowImage]:
    """The current images of the annotation rows with these ids (rows that do not exist are left out)."""
    images: dict[int, RowImage] = {}
    for row in session.execute(select(ANNOTATIONS).where(_id_list(session, ids))).mappings():
        images[row["id"]] = {name: row[name] for name in ANNOTATION_COLUMNS}
    return images


def read_versions(session: Session, ids: Iterable[int], *, lock: bool = False) -> dict[int, int]:
    """The current versions of the annotation rows with these ids that exist; with ``lock`` the rows
    stay locked until the transaction ends (on a server; a file's writer holds the whole file)."""
    query = select(ANNOTATIONS.c.id, ANNOTATIONS.c.version).where(_id_list(session, ids))
    if lock:
        query = query.with_for_update()
    return {int(row_id): int(version) for row_id, version in session.execute(query)}


def _check_versions(session: Session, versions: dict[int, int]) -> None:
    """Lock the rows and raise :class:`StaleRows` for those that no longer have these versions."""
    now = read_versions(session, versions, lock=True)
    stale = {row_id: version for row_id, version in versions.items() if now.get(row_id) != version}
    if stale:
        raise StaleRows(stale)


def delete_rows(session: Session, versions: dict[int, int]) -> None:
    """Delete rows by id where each still has its version (id → version); :class:`StaleRows` if not."""
    if versions:
        _check_versions(session, versions)
        session.execute(delete(ANNOTATIONS).where(_id_list(session, versions)))


def update_rows(session: Session, changes: list[tuple[int, RowImage, int]]) -> None:
    """Write column values to rows by id where each still has the version given, which goes up by
    one (one executemany per set of columns); :class:`StaleRows` if one has another version."""
    if not changes:
        return
    _check_versions(session, {row_id: version for row_id, _values, version in changes})
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, values, version in changes:
        values = {name: value for name, value in values.items() if name != "version"}
        params = {"row_id": row_id, "expected": version, "version": version + 1, **values}
        by_columns.setdefault(tuple(sorted(values)), []).append(params)
    t = ANNOTATIONS
    statement = update(t).where(t.c.id == bindparam("row_id"), t.c.version == bindparam("expected"))
    for params in by_columns.values():
        session.execute(statement, params)


def insert_rows(session: Session, images: list[RowImage]) -> list[int]:
    """Insert rows (with or without an ``id``); returns their ids in the same order. A row brought
    back after its import was removed no longer belongs to that import."""
    if not images:
        return []
    wanted = {image["import_id"] for image in images if image.get("import_id") is not None}
    if wanted:
        present = set(session.scalars(select(IMPORTS.c.id).where(IMPORTS.c.id.in_(wanted))))
        images = [
            {**image, "import_id": None} if image.get("import_id") not in present | {None} else image
            for image in images
        ]
    result = session.execute(
        insert(ANNOTATIONS).returning(ANNOTATIONS.c.id, sort_by_parameter_order=True), images
    )
    return [int(row_id) for row_id in result.scalars()]


def apply_change(
    session: Session,
    change: Change,
    ids: IdMap,
    *,
    forward: bool,
    video_id: int,
    known: dict[int, int],
    accepted: dict[int, int | None],
) -> dict[int, int | None]:
    """Write the "after" images of ``change`` (``forward``) or its "before" images (undo); returns
    the rows' new versions (``None``: deleted).

    Each row must have the version the editor last wrote (``known``, else its image's), or
    the one ``accepted`` names (id → version, ``None``: deleted): someone else's change that the user
    chose to write over. :class:`StaleRows` otherwise.
    """
    expected: dict[int, int] = {}
    targets: dict[int, RowImage | None] = {}
    creates: list[tuple[int, RowImage]] = []
    for recorded_id, (before, after) in change.annotations.items():
        current, target = (before, after) if forward else (after, before)
        row_id = ids.resolve(recorded_id)
        if current is None:
            assert target is not None
            creates.append((row_id, target))
        else:
            expected[row_id] = known.get(row_id, current["version"])
            targets[row_id] = target
    now = read_versions(session, expected, lock=True)
    stale: dict[int, int | None] = {
        row_id: version
        for row_id, version in expected.items()
        if now.get(row_id) != version and (row_id not in accepted or accepted[row_id] != now.get(row_id))
    }
    if stale:
        raise StaleRows(stale)
    written: dict[int, int | None] = {}
    deleted = [row_id for row_id, image in targets.items() if image is None]
    if deleted:
        session.execute(delete(ANNOTATIONS).where(_id_list(session, deleted)))
        written.update(dict.fromkeys(deleted))
    updates = [
        (row_id, image, now[row_id])
        for row_id, image in targets.items()
        if image is not None and row_id in now
    ]
    update_rows(session, updates)
    written.update((row_id, version + 1) for row_id, _image, version in updates)
    # A row deleted by someone else, which the user chose to write over, is brought back under its id.
    creates.extend(
        (row_id, image) for row_id, image in targets.items() if image is not None and row_id not in now
    )
    if creates:
        taken = set(read_images(session, [row_id for row_id, _image in creates]))
        fresh = [(row_id, {**image, "version": image["version"] + 1}) for row_id, image in creates]
        insert_rows(session, [{"id": row_id, **image} for row_id, image in fresh if row_id not in taken])
        written.update((row_id, image["version"]) for row_id, image in fresh if row_id not in taken)
        moved = [(row_id, image) for row_id, image in fresh if row_id in taken]
        for (old_id, image), new_id in zip(
            moved, insert_rows(session, [image for _id, image in moved]), strict=True
        ):
            ids.replace(old_id, new_id)
            written[new_id] = image["version"]
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
    return written
