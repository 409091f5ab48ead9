"""Condition tags (day, night, rain, tunnel …): a project's vocabulary, tags on videos and frames.

A tag on a video holds for every frame of it; a tag on a frame holds for that frame only. A tag
must be in the vocabulary of the video's project. Evaluation can be limited to the frames that
carry a tag (:func:`tagged_frames`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from vru_desktop.errors import NotFoundError, ValidationError
from vru_desktop.store.db import Database
from vru_desktop.store.models import ConditionTag, FrameTag, Project, TestSession, Video, VideoTag

TAG_LENGTH = 100


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    return project


def _video(session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise NotFoundError(
            f"No video with id {video_id} in the library.", hint="List the videos with `vru-desktop videos`."
        )
    return video


def _vocabulary(session: Session, project_id: int) -> list[str]:
    query = select(ConditionTag.name).where(ConditionTag.project_id == project_id)
    return list(session.scalars(query.order_by(ConditionTag.name)))


def project_tags(db: Database, project_id: int) -> list[str]:
    """The project's condition tags, sorted."""
    with db.session() as session:
        _project(session, project_id)
        return _vocabulary(session, project_id)


def set_project_tags(db: Database, project_id: int, names: Iterable[str]) -> list[str]:
    """Make ``names`` the project's vocabulary. A tag still on one of its videos or frames cannot be
    dropped (nothing changes then)."""
    wanted = sorted({name.strip() for name in names})
    bad = [name for name in wanted if not name or len(name) > TAG_LENGTH or "," in name]
    if bad:
        raise ValidationError(
            f"Tag names must be 1 to {TAG_LENGTH} characters without a comma; not accepted: "
            + ", ".join(repr(b) for b in bad)
            + "."
        )
    with db.transaction() as session:
        _project(session, project_id)
        dropped = set(_vocabulary(session, project_id)) - set(wanted)
        videos = select(Video.id).where(Video.project_id == project_id)
        in_use = sorted(
            set(
                session.scalars(
                    select(VideoTag.tag).where(VideoTag.video_id.in_(videos), VideoTag.tag.in_(dropped))
                )
            )
            | set(
                session.scalars(
                    select(FrameTag.tag).where(FrameTag.video_id.in_(videos), FrameTag.tag.in_(dropped))
                )
            )
        )
        if in_use:
            raise ValidationError(
                f"Tag {', '.join(in_use)} is still on videos or frames of the project;"
                " the tags were not changed.",
                hint="Remove it there first (vru-desktop tag VIDEO_ID TAG --remove).",
            )
        session.execute(delete(ConditionTag).where(ConditionTag.project_id == project_id))
        session.add_all(ConditionTag(project_id=project_id, name=name) for name in wanted)
    return wanted


def _check_tags(session: Session, video: Video, tags: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(tags))
    if not wanted:
        raise ValidationError("Name at least one tag.")
    known = _vocabulary(session, video.project_id) if video.project_id is not None else []
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise ValidationError(
            f"Tag {', '.join(unknown)} is not among the condition tags of video {video.id}'s project"
            f" ({', '.join(known) or 'none'}); nothing was tagged.",
            hint="Add it with `vru-desktop tags PROJECT --set TAG...`.",
        )
    return wanted


def tag_video(db: Database, video_id: int, tags: Iterable[str], *, remove: bool = False) -> None:
    """Put ``tags`` on the whole video, or take them off with ``remove``."""
    with db.transaction() as session:
        video = _video(session, video_id)
        wanted = _check_tags(session, video, tags)
        session.execute(delete(VideoTag).where(VideoTag.video_id == video_id, VideoTag.tag.in_(wanted)))
        if not remove:
            session.add_all(VideoTag(video_id=video_id, tag=tag) for tag in wanted)


def tag_frames(
    db: Database, video_id: int, tags: Iterable[str], first: int, last: int, *, remove: bool = False
) -> int:
    """Put ``tags`` on frames ``first``–``last`` (inclusive), or take them off with ``remove``.
    Returns how many frames the range holds."""
    with db.transaction() as session:
        video = _video(session, video_id)
        end = video.frame_count - 1
        if not 0 <= first <= last or (video.frame_count and last > end):
            raise ValidationError(
                f"Frames {first}-{last} are not a range of video {video_id}'s frames (0-{end}).",
            )
        wanted = _check_tags(session, video, tags)
        session.execute(
            delete(FrameTag).where(
                FrameTag.video_id == video_id,
                FrameTag.tag.in_(wanted),
                FrameTag.frame_number.between(first, last),
            )
        )
        if not remove:
            session.execute(
                insert(FrameTag),
                [
                    {"video_id": video_id, "tag": tag, "frame_number": frame}
                    for tag in wanted
                    for frame in range(first, last + 1)
                ],
            )
    return last - first + 1


def _ranges(frames: list[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for frame in frames:
        if ranges and ranges[-1][1] == frame - 1:
            ranges[-1][1] = frame
        else:
            ranges.append([frame, frame])
    return ranges


@dataclass(frozen=True)
class VideoTags:
    """The tags on a video as a whole and, per tag, the ``[first, last]`` frame ranges carrying it."""

    video: list[str]
    frames: dict[str, list[list[int]]]

    def of_frame(self, frame: int) -> list[str]:
        """The tags ``frame`` carries: its video's and its own, sorted."""
        own = {tag for tag, ranges in self.frames.items() if any(a <= frame <= b for a, b in ranges)}
        return sorted(set(self.video) | own)

    def to_dict(self) -> dict[str, Any]:
        return {"video": self.video, "frames": self.frames}


def video_tags(db: Database, video_id: int) -> VideoTags:
    """The condition tags of one video and of its frames."""
    with db.session() as session:
        _video(session, video_id)
        query = select(VideoTag.tag).where(VideoTag.video_id == video_id)
        whole = list(session.scalars(query.order_by(VideoTag.tag)))
        rows = session.execute(
            select(FrameTag.tag, FrameTag.frame_number)
            .where(FrameTag.video_id == video_id)
            .order_by(FrameTag.tag, FrameTag.frame_number)
        ).all()
    frames: dict[str, list[int]] = {}
    for tag, frame in rows:
        frames.setdefault(tag, []).append(frame)
    return VideoTags(whole, {tag: _ranges(numbers) for tag, numbers in frames.items()})


def vocabulary_of_videos(db: Database, video_ids: list[int]) -> list[str]:
    """Every condition tag the projects of these videos offer, sorted."""
    projects = select(Video.project_id).where(Video.id.in_(video_ids))
    with db.session() as session:
        query = select(ConditionTag.name).where(ConditionTag.project_id.in_(projects)).distinct()
        return sorted(session.scalars(query))


def check_run_tag(db: Database, session_id: int, tag: str) -> None:
    """Refuse ``tag`` when the project of run ``session_id``'s video does not offer it."""
    with db.session() as session:
        row = session.execute(
            select(Video.project_id)
            .join(TestSession, TestSession.video_id == Video.id)
            .where(TestSession.id == session_id)
        ).first()
        if row is None:
            raise NotFoundError(f"There is no detection run {session_id}.")
        known = _vocabulary(session, row.project_id) if row.project_id is not None else []
    if tag not in known:
        raise ValidationError(
            f"Tag {tag} is not among the condition tags of run {session_id}'s project"
            f" ({', '.join(known) or 'none'}).",
            hint="List them with `vru-desktop tags PROJECT`.",
        )


def tagged_frames(session: Session, video_id: int, tag: str) -> np.ndarray | None:
    """The frames of the video that carry ``tag``, sorted; ``None`` when the whole video does."""
    if session.get(VideoTag, (video_id, tag)) is not None:
        return None
    query = select(FrameTag.frame_number).where(FrameTag.video_id == video_id, FrameTag.tag == tag)
    return np.array(session.scalars(query.order_by(FrameTag.frame_number)).all(), dtype=np.int64)
