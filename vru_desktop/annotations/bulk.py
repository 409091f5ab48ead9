"""Deleting boxes in bulk: one video's boxes, narrowed by class, by where they came from (an import,
or a source such as ``manual``, ``detection``, ``import:mot``) and by a frame range, in one
transaction. Whole tracks are not rebuilt: a track cut by a frame range keeps its other frames."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.sql.elements import ColumnElement

from vru_desktop.annotations.editor import after_boxes_changed
from vru_desktop.errors import NotFoundError, ValidationError
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, AnnotationImport, Video


@dataclass(frozen=True)
class BoxFilter:
    video_id: int
    vru_type: str | None = None
    #: An import's id (``vru-desktop imports``).
    import_id: int | None = None
    #: A source name: manual, detection, import:coco …
    source: str | None = None
    #: First and last frame (0-based, both included).
    frames: tuple[int, int] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = [Annotation.video_id == self.video_id]
        if self.vru_type is not None:
            out.append(Annotation.vru_type == self.vru_type)
        if self.import_id is not None:
            out.append(Annotation.import_id == self.import_id)
        if self.source is not None:
            out.append(Annotation.source == self.source)
        if self.frames is not None:
            out.append(Annotation.frame_number.between(*self.frames))
        return out


def parse_frame_range(text: str) -> tuple[int, int]:
    """``"120-250"`` → (120, 250); ``"120"`` → (120, 120)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if match is None:
        raise ValidationError(f"Frame range '{text}' is not understood.", hint="Write it as A-B, e.g. 0-99.")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise ValidationError(f"Frame range '{text}' ends before it starts.")
    return first, last


def delete_annotations(db: Database, which: BoxFilter) -> int:
    """Delete the boxes ``which`` selects; returns how many rows went."""
    with db.transaction() as session:
        if session.get(Video, which.video_id) is None:
            raise NotFoundError(f"Video {which.video_id} does not exist.", hint="See 'vru-desktop videos'.")
        if which.import_id is not None and session.get(AnnotationImport, which.import_id) is None:
            raise NotFoundError(
                f"Import {which.import_id} does not exist.", hint="See 'vru-desktop imports'."
            )
        result = session.execute(delete(Annotation).where(*which.conditions()))
        deleted = int(result.rowcount or 0)
        if deleted:
            after_boxes_changed(session, which.video_id, which.frames)
    return deleted
