"""What changed in a video since a token: the change log open viewers follow (another person on the
team server, another process on the same file).

Every write of a video's boxes or review marks adds one :class:`~vru_desktop.store.models.VideoChange`
in its own transaction, after updating the video's row (which holds that row's lock until commit, so
a video's changes are numbered in commit order). A viewer keeps the number it has seen (the token)
and asks :func:`changes_since`: one indexed read, cheap enough to poll every few seconds. Only the
newest :data:`KEEP_CHANGES` of a video are kept; a viewer further behind reads the whole video again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from vru_desktop.store.db import Database
from vru_desktop.store.models import VideoChange

CHANGES = VideoChange.__table__
#: Changes kept per video.
KEEP_CHANGES = 1000


@dataclass(frozen=True)
class VideoChanges:
    """The changes of a video after a token: the token to ask with next, the frames they touched
    (``first``–``last``; ``whole`` when one of them may have touched any frame) and who made them."""

    token: int
    first: int | None = None
    last: int | None = None
    whole: bool = False
    by: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.whole or self.first is not None

    def frames(self, frame_count: int) -> range:
        """The frames to read again."""
        if self.whole:
            return range(frame_count)
        if self.first is None or self.last is None:
            return range(0)
        return range(self.first, self.last + 1)


def record_change(session: Session, video_id: int, frames: Iterable[int] | None) -> None:
    """Log a change of ``video_id`` on ``frames`` (``None``: any frame) in ``session``'s transaction.

    Call after the transaction has updated the video's row (:func:`after_boxes_changed` does).
    """
    touched = None if frames is None else sorted(frames)
    if touched == []:
        return
    c = CHANGES.c
    newest = select(func.coalesce(func.max(c.seq), 0)).where(c.video_id == video_id).scalar_subquery()
    session.execute(delete(CHANGES).where(c.video_id == video_id, c.seq <= newest + 1 - KEEP_CHANGES))
    session.execute(
        insert(CHANGES).values(
            video_id=video_id,
            seq=newest + 1,
            first_frame=None if touched is None else touched[0],
            last_frame=None if touched is None else touched[-1],
        )
    )


def change_token(db: Database, video_id: int) -> int:
    """The token of the video as it is now: :func:`changes_since` with it reports later changes only."""
    with db.session() as session:
        found = session.scalar(select(func.max(CHANGES.c.seq)).where(CHANGES.c.video_id == video_id))
    return int(found or 0)


def changes_since(db: Database, video_id: int, token: int) -> VideoChanges:
    """What changed in ``video_id`` after ``token`` (from :func:`change_token` or an earlier call)."""
    c = CHANGES.c
    query = select(
        func.max(c.seq),
        func.min(c.first_frame),
        func.max(c.last_frame),
        func.count() - func.count(c.first_frame),
        func.min(c.seq),
    ).where(c.video_id == video_id, c.seq > token)
    with db.session() as session:
        newest, first, last, whole, oldest = session.execute(query).one()
        if newest is None:
            return VideoChanges(token)
        whole = whole or oldest > token + 1  # changes in between were no longer kept
        by = session.scalars(
            select(c.changed_by)
            .where(c.video_id == video_id, c.seq > token)
            .distinct()
            .order_by(c.changed_by)
        ).all()
    return VideoChanges(int(newest), first, last, bool(whole), tuple(name for name in by if name))


def last_change_by(session: Session, video_id: int, frame: int) -> str | None:
    """Who made the newest change of ``video_id`` that touched ``frame`` (``None``: not known)."""
    c = CHANGES.c
    touched = (c.first_frame.is_(None)) | ((c.first_frame <= frame) & (c.last_frame >= frame))
    return session.scalar(
        select(c.changed_by).where(c.video_id == video_id, touched).order_by(c.seq.desc()).limit(1)
    )
