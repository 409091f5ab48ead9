"""Video import: find candidates, probe each off the UI thread, store what decodes, report the rest.

Each file is stored in its own transaction, so a refused or failed file leaves nothing behind and
the rest of the batch still imports. Videos stay where they are on disk.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vru_desktop.errors import MediaError, NotFoundError, VruError, one_line
from vru_desktop.library.projects import ensure_default_project, find_project
from vru_desktop.media.probe import (
    VIDEO_EXTENSIONS,
    VideoInfo,
    content_fingerprint,
    fingerprint_file,
    is_image_sequence,
    probe,
    read_seqinfo,
    sequence_name,
)
from vru_desktop.settings import USER_DEFAULT_PROJECT, get_setting
from vru_desktop.store.db import Database, database_failure
from vru_desktop.store.models import FrameIndex, Project, Video, VideoStatus

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]


class ImportStatus(StrEnum):
    """What happened to one path of an import."""

    IMPORTED = "imported"
    RELINKED = "relinked"
    DUPLICATE = "duplicate"
    REFUSED = "refused"
    CANCELLED = "cancelled"


@dataclass
class ImportOutcome:
    """What happened to one path of an import."""

    path: Path
    status: ImportStatus
    message: str
    video_id: int | None = None
    project: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (ImportStatus.IMPORTED, ImportStatus.DUPLICATE, ImportStatus.RELINKED)

    @property
    def name(self) -> str:
        """The file's name, or a frame folder's sequence name (``MOT17-02-FRCNN``, not ``img1``)."""
        return sequence_name(self.path) if self.path.is_dir() else self.path.name

    def line(self) -> str:
        return f"{self.status:9} {one_line(self.path)}: {one_line(self.message)}"


@dataclass
class Assignment:
    """How to pick each video's project, in the specification's order."""

    explicit_project_id: int | None = None
    active_project_id: int | None = None
    infer_from_names: bool = True


def collect_candidates(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand dropped or named paths: files as given, folders searched for videos and frame folders.

    A folder of numbered images is one candidate (an image-sequence video). Inside a searched
    folder, only files with a video extension are candidates; a path named directly is always
    one, so a non-video file named by the user gets a clear refusal rather than silence.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_dir():
            found.append(path)
            continue
        if is_image_sequence(path) or not os.access(path, os.R_OK | os.X_OK):
            found.append(path)  # a frame folder, or one that cannot be read: probing says why
            continue
        for root, dirs, files in os.walk(path):
            dirs.sort()
            root_path = Path(root)
            for name in list(dirs):
                sub = root_path / name
                if is_image_sequence(sub):
                    found.append(sub)
                    dirs.remove(name)
            found.extend(root_path / f for f in sorted(files) if Path(f).suffix.lower() in VIDEO_EXTENSIONS)
    unique: dict[Path, None] = {}
    for p in found:
        unique.setdefault(p.resolve() if p.exists() else p, None)
    return list(unique)


def choose_project(session: Session, db: Database, path: Path, assignment: Assignment) -> Project:
    """Explicit choice, active project, the user's default, the file or folder name, the system default."""
    for project_id in (
        assignment.explicit_project_id,
        assignment.active_project_id,
        get_setting(db, USER_DEFAULT_PROJECT),
    ):
        if project_id is not None:
            project = session.get(Project, project_id)
            if project is not None:
                return project
    if assignment.infer_from_names:
        inferred = infer_project(session, path)
        if inferred is not None:
            return inferred
    default = session.scalars(select(Project).where(Project.is_default.is_(True))).first()
    assert default is not None, "ensure_default_project() runs before any import"
    return default


def _words(text: str) -> str:
    """``Market_Street-1906.mp4`` → `` market street 1906 mp4 ``: names compared word by word."""
    return " " + " ".join(re.findall(r"[^\W_]+", text.lower())) + " "


def infer_project(session: Session, path: Path) -> Project | None:
    """The project whose name appears in the file name or a parent folder name (longest name wins).

    Names match as whole words, whatever separates them: the project "Market Street" takes
    ``market_street_cam2.mp4`` and ``Market-Street/day1.mp4`` but not ``supermarket.mp4``.
    """
    haystack = [_words(part) for part in (path.name, *[p.name for p in path.parents][:4])]
    best: Project | None = None
    for project in session.scalars(select(Project).where(Project.is_default.is_(False))):
        needle = _words(project.name)
        matches = len(needle.strip()) >= 3 and any(needle in part for part in haystack)
        if matches and (best is None or len(project.name) > len(best.name)):
            best = project
    return best


def _store(db: Database, info: VideoInfo, assignment: Assignment) -> ImportOutcome:
    with db.transaction() as session:
        existing = session.scalars(select(Video).where(Video.fingerprint == info.fingerprint)).first()
        if existing is not None:
            old_path = Path(existing.file_path)
            if old_path.exists() and old_path.resolve() != info.path.resolve():
                return ImportOutcome(
                    info.path,
                    ImportStatus.DUPLICATE,
                    f"same content as video {existing.id} ({old_path}); not added again",
                    existing.id,
                )
            if old_path.exists():
                return ImportOutcome(
                    info.path,
                    ImportStatus.DUPLICATE,
                    f"already in the library as video {existing.id}",
                    existing.id,
                )
            existing.file_path = str(info.path)
            existing.filename = one_line(info.path.name)
            existing.status = VideoStatus.OK
            return ImportOutcome(
                info.path, ImportStatus.RELINKED, f"found again: video {existing.id} moved here", existing.id
            )
        project = choose_project(session, db, info.path, assignment)
        name = one_line(sequence_name(info.path) if info.kind == "image_sequence" else info.path.name)
        video = Video(
            project_id=project.id,
            filename=name,
            file_path=str(info.path),
            kind=info.kind,
            file_size=info.file_size,
            duration=info.duration,
            fps=info.fps,
            frame_count=info.frame_count,
            width=info.width,
            height=info.height,
            codec=info.codec,
            start_time=info.start_time,
            fingerprint=info.fingerprint,
            metadata_source=info.metadata_source,
        )
        session.add(video)
        session.flush()
        times, keyframes = _frame_table_bytes(info)
        session.add(
            FrameIndex(
                video_id=video.id,
                frame_count=info.frame_count,
                times=times,
                keyframes=keyframes,
                is_vfr=info.is_vfr,
            )
        )
        summary = f"{info.frame_count} frames, {info.fps:g} fps, {info.resolution}, {info.duration:.2f} s"
        if info.undecodable_tail:
            summary += f"; the last {info.undecodable_tail} frames do not decode and were left out"
        return ImportOutcome(info.path, ImportStatus.IMPORTED, summary, video.id, project.name)


def _frame_table_bytes(info: VideoInfo) -> tuple[bytes, bytes]:
    from vru_desktop.media.frames import FrameTable

    return FrameTable(info.frame_times, info.keyframes).to_bytes()


def sequences_needing_fps(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The image-sequence folders under ``paths`` whose frame rate no ``seqinfo.ini`` gives."""
    return [
        path
        for path in collect_candidates(paths)
        if path.is_dir() and is_image_sequence(path) and not read_seqinfo(path).get("frameRate")
    ]


def import_paths(
    db: Database,
    paths: Sequence[str | os.PathLike[str]],
    *,
    assignment: Assignment | None = None,
    fps: float | None = None,
    sequence_fps: Mapping[Path, float] | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> list[ImportOutcome]:
    """Import every video found under ``paths``; returns one outcome per candidate.

    Image sequences without a ``seqinfo.ini`` frame rate take theirs from ``sequence_fps`` (by
    folder), else ``fps``. Cancelling stops before the next file: files already stored stay (each
    was complete in itself) and the rest are reported as ``cancelled``.
    """
    assignment = assignment or Assignment()
    sequence_fps = sequence_fps or {}
    ensure_default_project(db)
    candidates = collect_candidates(paths)
    outcomes: list[ImportOutcome] = []
    for number, path in enumerate(candidates):
        if should_cancel is not None and should_cancel():
            outcomes.extend(
                ImportOutcome(rest, ImportStatus.CANCELLED, "not imported: the import was cancelled")
                for rest in candidates[number:]
            )
            break
        if progress is not None:
            progress(number, len(candidates), str(path))
        try:
            info = probe(path, fps=sequence_fps.get(path, fps))
            outcomes.append(_store(db, info, assignment))
        except VruError as exc:
            outcomes.append(
                ImportOutcome(path, ImportStatus.REFUSED, exc.message + (f" {exc.hint}" if exc.hint else ""))
            )
        except SQLAlchemyError as exc:  # storing it failed, not reading it
            log.exception("storing %s failed", path)
            outcomes.append(
                ImportOutcome(path, ImportStatus.REFUSED, f"{path.name}: {database_failure(exc).message}")
            )
        except Exception as exc:  # an unexpected decoder failure must not end the batch
            log.exception("import of %s failed", path)
            outcomes.append(
                ImportOutcome(
                    path,
                    ImportStatus.REFUSED,
                    f"{path.name}: unexpected error while reading ({one_line(str(exc))}).",
                )
            )
    if progress is not None:
        progress(len(candidates), len(candidates), "")
    return outcomes


def relink(db: Database, video_id: int, new_path: str | os.PathLike[str]) -> Video:
    """Point a moved video at its new place, after checking the content is the same."""
    path = Path(new_path).expanduser().resolve()
    with db.transaction() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFoundError(f"Video {video_id} does not exist.")
        if video.kind != "image_sequence" and not path.is_file():
            raise MediaError(f"{path}: file not found.")
        if content_fingerprint(path, video.kind, video.fps) != video.fingerprint:
            raise MediaError(
                f"{path.name} is not the same content as video {video_id} ({video.filename}).",
                hint="Choose the original file; a re-encoded copy has other frames.",
            )
        video.file_path = str(path)
        video.filename = one_line(sequence_name(path) if video.kind == "image_sequence" else path.name)
        video.status = VideoStatus.OK
        return video


def relink_search(db: Database, folder: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """Find missing videos below ``folder`` by their fingerprint; relinks them and returns what was found."""
    refresh_status(db)
    with db.session() as session:
        missing = {
            v.fingerprint: v.id
            for v in session.scalars(select(Video).where(Video.status == VideoStatus.MISSING))
        }
    found: list[tuple[int, Path]] = []
    if not missing:
        return found
    for candidate in collect_candidates([folder]):
        try:
            fingerprint = (
                fingerprint_file(candidate) if candidate.is_file() else probe(candidate, fps=1.0).fingerprint
            )
        except (OSError, VruError):
            continue
        if fingerprint in missing:
            video_id = missing.pop(fingerprint)
            relink(db, video_id, candidate)
            found.append((video_id, candidate))
    return found


def refresh_status(db: Database) -> list[int]:
    """Mark videos whose file has gone as ``missing`` (and found ones as ``ok``); returns the missing ids."""
    missing: list[int] = []
    with db.transaction() as session:
        for video in session.scalars(select(Video)):
            present = Path(video.file_path).exists()
            if not present:
                missing.append(video.id)
            if not present and video.status != VideoStatus.MISSING:
                video.status = VideoStatus.MISSING
            elif present and video.status == VideoStatus.MISSING:
                video.status = VideoStatus.OK
    return missing


def project_id_by_name(db: Database, name: str) -> int:
    with db.session() as session:
        project = find_project(session, name)
        if project is None:
            raise NotFoundError(
                f"No project named '{name}'.", hint="Create it first, or leave --project out."
            )
        return project.id


def remove_videos(db: Database, video_ids: Sequence[int]) -> int:
    """Remove videos from the library (with their frame tables, runs and boxes); files stay on disk."""
    with db.transaction() as session:
        removed = session.execute(delete(Video).where(Video.id.in_(list(video_ids)))).rowcount
    return int(removed or 0)
