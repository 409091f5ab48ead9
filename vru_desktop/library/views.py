"""Read-only views of the library (videos, projects, counts) for the window and the CLI (no Qt).

Frozen snapshots read in one session: callers never hold ORM rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from vru_desktop.errors import MediaError, NotFoundError, VruError
from vru_desktop.media.frames import FrameTable
from vru_desktop.store.db import Database
from vru_desktop.store.models import VRU_TYPES, FrameIndex, Project, ReviewedFrame, Video, VideoStatus


@dataclass(frozen=True)
class VideoRow:
    """A video as the library's table lists it."""

    id: int
    filename: str
    file_path: str
    kind: str
    duration: float
    fps: float
    frame_count: int
    width: int
    height: int
    file_size: int
    status: str
    fingerprint: str
    reviewed_frames: int

    @property
    def coverage(self) -> float:
        return self.reviewed_frames / self.frame_count if self.frame_count > 0 else 0.0


def video_rows(db: Database, project_id: int | None) -> list[VideoRow]:
    """The project's videos as plain rows (one query, no ORM objects)."""
    reviewed = (
        select(func.count()).where(ReviewedFrame.video_id == Video.id).correlate(Video).scalar_subquery()
    )
    columns = [
        reviewed if name == "reviewed_frames" else getattr(Video, name)
        for name in VideoRow.__dataclass_fields__
    ]
    with db.session() as session:
        result = session.execute(select(*columns).where(Video.project_id == project_id).order_by(Video.id))
        return [VideoRow(*row) for row in result]


@dataclass(frozen=True)
class VideoDetails:
    """Everything the library shows of one video."""

    id: int
    project_id: int | None
    project: str | None
    filename: str
    file_path: str
    kind: str
    duration: float
    fps: float
    frame_count: int
    width: int
    height: int
    resolution: str
    codec: str
    start_time: float
    file_size: int
    status: str
    processing_status: str
    ground_truth_generated: bool
    metadata_source: str
    imported_at: datetime
    fingerprint: str


def _details(video: Video) -> VideoDetails:
    return VideoDetails(
        id=video.id,
        project_id=video.project_id,
        project=video.project.name if video.project else None,
        filename=video.filename,
        file_path=video.file_path,
        kind=video.kind,
        duration=video.duration,
        fps=video.fps,
        frame_count=video.frame_count,
        width=video.width,
        height=video.height,
        resolution=video.resolution,
        codec=video.codec,
        start_time=video.start_time,
        file_size=video.file_size,
        status=video.status,
        processing_status=video.processing_status,
        ground_truth_generated=video.ground_truth_generated,
        metadata_source=video.metadata_source,
        imported_at=video.imported_at,
        fingerprint=video.fingerprint,
    )


def video_details(db: Database, video_id: int) -> VideoDetails | None:
    """``video_id``'s details, or ``None`` when it is not in the library."""
    with db.session() as session:
        video = session.get(Video, video_id)
        return None if video is None else _details(video)


def all_video_details(db: Database, project_id: int | None = None) -> list[VideoDetails]:
    """Every video's details by id, or only those of ``project_id``'s videos when it is given."""
    query = select(Video).options(joinedload(Video.project)).order_by(Video.id)
    if project_id is not None:
        query = query.where(Video.project_id == project_id)
    with db.session() as session:
        return [_details(video) for video in session.scalars(query)]


def video_choices(db: Database) -> list[tuple[int, str]]:
    """Every video's id and file name, by id."""
    with db.session() as session:
        return [(i, name) for i, name in session.execute(select(Video.id, Video.filename).order_by(Video.id))]


@dataclass(frozen=True)
class LibraryCounts:
    projects: int
    videos: int
    missing: int


def library_counts(db: Database) -> LibraryCounts:
    """How many projects and videos the library holds, and how many of the videos' files are missing."""
    with db.session() as session:
        projects = session.scalar(select(func.count()).select_from(Project)) or 0
        videos = session.scalar(select(func.count()).select_from(Video)) or 0
        missing = (
            session.scalar(select(func.count()).select_from(Video).where(Video.status == VideoStatus.MISSING))
            or 0
        )
    return LibraryCounts(projects, videos, missing)


def available_video_count(db: Database, project_id: int) -> int:
    """How many of the project's videos have their file in place (the ones a run can process)."""
    with db.session() as session:
        count = session.scalar(
            select(func.count()).where(Video.project_id == project_id, Video.status == VideoStatus.OK)
        )
    return int(count or 0)


@dataclass(frozen=True)
class ProjectView:
    """A project (camera setup) with its fields."""

    id: int
    name: str
    description: str
    camera_model: str
    camera_view: str
    lens_type: str
    resolution: str
    frame_rate: float | None
    signal_type: str
    status: str
    is_default: bool
    vru_classes: tuple[str, ...]
    ignore_regions: tuple[Any, ...]
    gt_coverage: float


def _project_view(project: Project) -> ProjectView:
    return ProjectView(
        project.id,
        project.name,
        project.description,
        project.camera_model,
        project.camera_view,
        project.lens_type,
        project.resolution,
        project.frame_rate,
        project.signal_type,
        project.status,
        project.is_default,
        tuple(project.vru_classes),
        tuple(project.ignore_regions),
        project.gt_coverage,
    )


def project_views(db: Database) -> list[ProjectView]:
    """Every project, the default one first, then by name."""
    with db.session() as session:
        projects = session.scalars(select(Project).order_by(Project.is_default.desc(), Project.name))
        return [_project_view(p) for p in projects]


def project_view(db: Database, project_id: int) -> ProjectView:
    with db.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"Project {project_id} does not exist.")
        return _project_view(project)


@dataclass(frozen=True)
class ProjectSummary:
    id: int
    name: str
    video_count: int
    vru_classes: tuple[str, ...]


def project_summary(db: Database, project_id: int) -> ProjectSummary | None:
    """The project's name, number of videos and class list (``VRU_TYPES`` when it names none)."""
    with db.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            return None
        count = session.scalar(select(func.count()).where(Video.project_id == project_id)) or 0
        return ProjectSummary(project.id, project.name, int(count), _classes(project))


def _classes(project: Project | None) -> tuple[str, ...]:
    return tuple(project.vru_classes) if project is not None and project.vru_classes else VRU_TYPES


@dataclass(frozen=True)
class OpenVideo:
    """What the viewer needs of the video it shows."""

    id: int
    filename: str
    path: Path
    kind: str
    frame_count: int
    fps: float
    width: int
    height: int
    vru_classes: tuple[str, ...]


def load_video(db: Database, video_id: int) -> tuple[OpenVideo, FrameTable]:
    """``video_id`` as the viewer opens it, with its stored frame table."""
    with db.session() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise VruError(f"Video {video_id} is not in the library.", hint="Choose a video in the Library.")
        index = session.get(FrameIndex, video_id)
        if index is None:
            raise MediaError(f"{video.filename}: no frame table was stored.", hint="Re-import the video.")
        project = session.get(Project, video.project_id) if video.project_id is not None else None
        info = OpenVideo(
            video.id,
            video.filename,
            Path(video.file_path),
            video.kind,
            video.frame_count,
            video.fps,
            video.width,
            video.height,
            _classes(project),
        )
        return info, FrameTable.from_bytes(index.times, index.keyframes)
