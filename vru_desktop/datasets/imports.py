"""The record of annotation imports: list them, remove one as a unit.

Every import (:func:`vru_desktop.datasets.importer.import_annotations`) writes an
:class:`~vru_desktop.store.models.AnnotationImport` with, per video, the content fingerprint, the
counts and the frames it marked reviewed. Removing an import deletes its boxes and takes back the
reviewed marks it added (frames that were reviewed before it stay reviewed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from vru_desktop.annotations.editor import after_boxes_changed
from vru_desktop.errors import NotFoundError
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    Annotation,
    AnnotationImport,
    AnnotationImportVideo,
    ReviewedFrame,
    Video,
)


@dataclass(frozen=True)
class ImportVideoSummary:
    video_id: int
    filename: str
    boxes: int
    tracks: int
    reviewed_frames: int
    #: Boxes of this import still on the video (edits and bulk deletes change it).
    boxes_now: int


@dataclass(frozen=True)
class ImportSummary:
    id: int
    format: str
    source: str
    fingerprint: str
    ground_truth: bool
    mode: str
    imported_at: datetime
    videos: list[ImportVideoSummary]

    @property
    def boxes(self) -> int:
        return sum(v.boxes for v in self.videos)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "format": self.format,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "ground_truth": self.ground_truth,
            "mode": self.mode,
            "imported_at": self.imported_at.isoformat(),
            "boxes": self.boxes,
            "videos": [vars(v) for v in self.videos],
        }

    def line(self) -> str:
        kind = "ground truth" if self.ground_truth else "proposals"
        videos = ", ".join(f"{v.filename} (video {v.video_id}) {v.boxes_now}/{v.boxes}" for v in self.videos)
        return (
            f"{self.id}  {self.imported_at:%Y-%m-%d %H:%M}  {self.format}  {self.boxes} boxes ({kind}, "
            f"{self.mode})  {self.source}  fingerprint {self.fingerprint[:12]}  videos: {videos or 'none'}"
        )


def reviewed_ranges(frames: list[int]) -> list[list[int]]:
    """Sorted frames → ``[[first, last], …]`` runs of consecutive frames."""
    ranges: list[list[int]] = []
    for frame in frames:
        if ranges and frame == ranges[-1][1] + 1:
            ranges[-1][1] = frame
        else:
            ranges.append([frame, frame])
    return ranges


def list_imports(db: Database, video_id: int | None = None) -> list[ImportSummary]:
    """Every import, oldest first (only those that placed boxes on ``video_id`` when given)."""
    with db.session() as session:
        query = select(AnnotationImport).order_by(AnnotationImport.id)
        if video_id is not None:
            query = query.where(
                AnnotationImport.id.in_(
                    select(AnnotationImportVideo.import_id).where(AnnotationImportVideo.video_id == video_id)
                )
            )
        now = {
            (import_id, video): count
            for import_id, video, count in session.execute(
                select(Annotation.import_id, Annotation.video_id, func.count(Annotation.id))
                .where(Annotation.import_id.is_not(None), Annotation.outside.is_(False))
                .group_by(Annotation.import_id, Annotation.video_id)
            )
        }
        names = dict(session.execute(select(Video.id, Video.filename)).all())
        out: list[ImportSummary] = []
        for record in session.scalars(query):
            videos = [
                ImportVideoSummary(
                    part.video_id,
                    names.get(part.video_id, "?"),
                    part.boxes,
                    part.tracks,
                    sum(last - first + 1 for first, last in part.reviewed),
                    now.get((record.id, part.video_id), 0),
                )
                for part in sorted(record.videos, key=lambda p: p.video_id)
            ]
            out.append(
                ImportSummary(
                    record.id,
                    record.format,
                    record.source,
                    record.fingerprint,
                    record.ground_truth,
                    record.mode,
                    record.imported_at,
                    videos,
                )
            )
        return out


def remove_import(db: Database, import_id: int) -> int:
    """Remove an import as a unit: its boxes, the reviewed marks it added, its record. Returns the
    number of annotation rows deleted."""
    with db.transaction() as session:
        record = session.get(AnnotationImport, import_id)
        if record is None:
            raise NotFoundError(f"Import {import_id} does not exist.", hint="See 'vru-desktop imports'.")
        deleted = sum(remove_import_part(session, part) for part in list(record.videos))
        # An import cut short before its last transaction has rows but no per-video parts.
        deleted += session.execute(delete(Annotation).where(Annotation.import_id == import_id)).rowcount or 0
        session.delete(record)
    return deleted


def remove_import_part(session: Session, part: AnnotationImportVideo) -> int:
    """Take what one import placed on one video back out. Returns the number of annotation rows
    deleted."""
    deleted = session.execute(
        delete(Annotation).where(Annotation.import_id == part.import_id, Annotation.video_id == part.video_id)
    ).rowcount
    for first, last in part.reviewed:
        session.execute(
            delete(ReviewedFrame).where(
                ReviewedFrame.video_id == part.video_id, ReviewedFrame.frame_number.between(first, last)
            )
        )
    after_boxes_changed(session, part.video_id)
    session.delete(part)
    return int(deleted or 0)
