"""Dataset export: selected videos or a project → chosen frames and boxes → a format writer.

Which boxes: ground truth by default (validated annotations on reviewed frames; a track's outside
keyframes come along for CVAT), or every annotation with ``all_annotations``. Which frames (for the
formats with images): the reviewed frames and the frames with chosen boxes, or every Nth frame
with ``every``. Frames are decoded sequentially with :func:`~vru_desktop.media.frames.iter_frames`
(never one seek per frame) and written as JPEG on a small pool of threads while the next frames
decode.

Everything is written into a temporary folder next to the destination and renamed into place at the
end, so a failed, cancelled or killed export leaves no half-written dataset (at most a hidden
``.<name>.part-*`` folder after a kill, which the next export to that place removes).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from vru_desktop.datasets.formats import coco, csv_events, cvat, mot, openlabel, yolo
from vru_desktop.datasets.formats.common import ExportBox, ExportVideo
from vru_desktop.errors import Cancelled, NotFoundError, UsageError, ValidationError, write_error
from vru_desktop.library.projects import find_project
from vru_desktop.media.frames import FrameTable, iter_frames
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, FrameIndex, Project, ReviewedFrame, Video

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]

FORMATS: dict[str, str] = {
    "coco": "COCO instances JSON + images",
    "yolo": "Ultralytics YOLO (data.yaml, images/, labels/)",
    "cvat-video": "CVAT for video 1.1 XML",
    "mot": "MOTChallenge (gt/gt.txt, seqinfo.ini)",
    "csv": "CSV of detection events",
    "openlabel": "ASAM OpenLABEL 1.0 JSON",
}
#: Frames written between two progress reports.
PROGRESS_EVERY = 10
#: JPEG writes in flight at most (bounded so that memory stays flat on long videos).
MAX_PENDING_WRITES = 8


class Writer(Protocol):
    needs_images: bool

    def write(self, root: Path, videos: list[ExportVideo]) -> dict[str, int]: ...


@dataclass
class ExportOptions:
    format: str
    out: Path
    video_ids: list[int] = field(default_factory=list)
    project: str | None = None
    every: int | None = None
    all_annotations: bool = False
    #: CSV: the detection runs to export (else every run of the selected videos). OpenLABEL: runs
    #: whose detections go with the ground truth.
    run_ids: list[int] = field(default_factory=list)
    #: OpenLABEL: also the detections of each video's latest run.
    detections: bool = False
    #: MOT: also write the frames to ``img1/``.
    mot_images: bool = False
    jpeg_quality: int = 95
    overwrite: bool = False


@dataclass
class ExportResult:
    format: str
    out: Path
    videos: int
    frames_written: int
    counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "out": str(self.out),
            "videos": self.videos,
            "frames_written": self.frames_written,
            **self.counts,
        }


def make_writer(options: ExportOptions) -> Writer:
    if options.format == "coco":
        return coco.CocoWriter()
    if options.format == "yolo":
        return yolo.YoloWriter()
    if options.format == "cvat-video":
        return cvat.CvatVideoWriter()
    if options.format == "mot":
        return mot.MotWriter(images=options.mot_images)
    if options.format == "openlabel":
        return openlabel.OpenLabelWriter()
    raise UsageError(f"Unknown export format '{options.format}'.", hint=f"Use one of: {', '.join(FORMATS)}.")


def select_video_ids(session: Session, options: ExportOptions) -> list[int]:
    if options.project:
        project = find_project(session, options.project)
        if project is None:
            raise NotFoundError(f"No project named '{options.project}'.", hint="See 'vru-desktop projects'.")
        ids = list(session.scalars(select(Video.id).where(Video.project_id == project.id).order_by(Video.id)))
    else:
        ids = list(dict.fromkeys(options.video_ids))
        found = set(session.scalars(select(Video.id).where(Video.id.in_(ids))))
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(
                f"No video with id {', '.join(map(str, missing))}.", hint="See 'vru-desktop videos'."
            )
    if not ids and not options.run_ids:
        raise UsageError("Nothing to export: choose videos or a project.")
    return ids


def collect(session: Session, video_ids: list[int], options: ExportOptions) -> list[ExportVideo]:
    """The export's view of each video: its boxes and the frames to write."""
    out: list[ExportVideo] = []
    for video_id in video_ids:
        video = session.get(Video, video_id)
        assert video is not None
        reviewed = set(
            session.scalars(select(ReviewedFrame.frame_number).where(ReviewedFrame.video_id == video_id))
        )
        columns = (
            Annotation.frame_number,
            Annotation.x1,
            Annotation.y1,
            Annotation.x2,
            Annotation.y2,
            Annotation.vru_type,
            Annotation.track_id,
            Annotation.is_keyframe,
            Annotation.outside,
            Annotation.occluded,
            Annotation.crowd,
            Annotation.truncated,
            Annotation.validated,
            Annotation.confidence,
            # raw JSON text: most rows hold "{}", and decoding 100 000 of them is most of this query's time
            cast(Annotation.attributes, Text),
            Annotation.visibility,
            Annotation.visible_box,
            Annotation.occlusion,
            Annotation.truncation,
            Annotation.ignore,
        )
        query = select(*columns).where(Annotation.video_id == video_id)
        if not options.all_annotations:
            query = query.where(Annotation.validated.is_(True))
        boxes: list[ExportBox] = []
        for row in session.execute(query.order_by(Annotation.frame_number, Annotation.id)):
            # columns in ExportBox's field order, the box as four columns and the attributes as text
            frame, x1, y1, x2, y2, vru, track, key, outside, *flags, attrs = row[:-5]
            visibility, visible_box, occlusion, truncation, ignore = row[-5:]
            if not options.all_annotations and not outside and frame not in reviewed:
                continue
            attributes = json.loads(attrs) if attrs and attrs != "{}" else {}
            boxes.append(
                ExportBox(
                    frame,
                    (x1, y1, x2, y2),
                    vru,
                    track,
                    key,
                    outside,
                    *flags,
                    attributes,
                    visibility,
                    visible_box,
                    occlusion,
                    truncation,
                    bool(ignore),
                )
            )
        if options.every:
            frames = list(range(0, video.frame_count, options.every))
        else:
            frames = sorted(reviewed | {b.frame for b in boxes if not b.outside})
        frames = [f for f in frames if 0 <= f < video.frame_count]
        index = session.get(FrameIndex, video_id)
        times = np.frombuffer(index.times, dtype="<f8").tolist() if index is not None else []
        project = session.get(Project, video.project_id) if video.project_id is not None else None
        out.append(
            ExportVideo(
                id=video.id,
                filename=video.filename,
                file_path=video.file_path,
                kind=video.kind,
                width=video.width,
                height=video.height,
                fps=video.fps,
                frame_count=video.frame_count,
                fingerprint=video.fingerprint,
                project=project.name if project is not None else "",
                frames=frames,
                boxes=boxes,
                times=times,
            )
        )
    return out


def _check_destination(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValidationError(f"{out} is a file, not a folder.", hint="Choose a folder for the dataset.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValidationError(
            f"{out} already holds files.", hint="Choose an empty or new folder, or allow replacing it."
        )
    if not out.parent.is_dir():
        raise ValidationError(f"{out.parent} does not exist.", hint="Create the parent folder first.")


def _remove_leftovers(out: Path) -> None:
    """Temporary folders of earlier exports to ``out`` that were killed before they finished.

    A ``.old-*`` folder is the dataset an export was replacing; with nothing at ``out`` (killed
    between the two renames where the folders cannot be swapped at once) it is put back.
    """
    for old in sorted(out.parent.glob(f".{out.name}.old-*")):
        if not out.exists():
            old.rename(out)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in out.parent.glob(f".{out.name}.part-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2``); ``False`` where that is not possible."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _move_into_place(tmp: Path, out: Path) -> None:
    """Put the finished export at ``out``; a dataset already there stays until the new one is in place."""
    if out.is_dir() and any(out.iterdir()):
        if _exchange(tmp, out):  # ``tmp`` now holds the old dataset
            shutil.rmtree(tmp, ignore_errors=True)
            return
        backup = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        out.rename(backup)
        tmp.rename(out)
        shutil.rmtree(backup, ignore_errors=True)
        return
    if out.is_dir():
        out.rmdir()
    tmp.rename(out)


def export_dataset(
    db: Database,
    options: ExportOptions,
    *,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ExportResult:
    if options.format not in FORMATS:
        raise UsageError(
            f"Unknown export format '{options.format}'.", hint=f"Use one of: {', '.join(FORMATS)}."
        )
    if options.every is not None and options.every < 1:
        raise UsageError("--every must be 1 or more.")
    out = Path(options.out).expanduser().resolve()
    _remove_leftovers(out)  # first: it may put back the dataset a killed export was replacing
    _check_destination(out, options.overwrite)
    tmp = out.with_name(f".{out.name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir()
        with db.session() as session:
            video_ids = select_video_ids(session, options)
            if options.format == "csv":
                counts = csv_events.write_events(session, tmp, video_ids=video_ids, run_ids=options.run_ids)
                result = ExportResult(options.format, out, len(video_ids), 0, counts)
            else:
                videos = collect(session, video_ids, options)
                if options.format == "openlabel":
                    openlabel.attach_context(session, videos, options.run_ids, latest_run=options.detections)
        if options.format != "csv":
            writer = make_writer(options)
            written = 0
            if writer.needs_images:
                if isinstance(writer, yolo.YoloWriter):
                    writer.prepare(videos)
                written = _write_frames(tmp, videos, writer, options, progress, should_cancel)
            counts = writer.write(tmp, videos)
            result = ExportResult(options.format, out, len(videos), written, counts)
        if should_cancel is not None and should_cancel():
            raise Cancelled("Export cancelled; nothing was written.")
        _move_into_place(tmp, out)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise write_error(exc, out) from exc
        raise
    return result


def _write_frames(
    root: Path,
    videos: list[ExportVideo],
    writer: Any,
    options: ExportOptions,
    progress: ProgressCallback | None,
    should_cancel: Callable[[], bool] | None,
) -> int:
    import cv2

    total = sum(len(v.frames) for v in videos)
    params = [cv2.IMWRITE_JPEG_QUALITY, options.jpeg_quality]
    done = 0
    pending: deque[Future[bool]] = deque()

    def settle(limit: int) -> None:
        while len(pending) > limit:
            if not pending.popleft().result():  # OpenCV says only that it failed: find out why
                probe_file = root / ".write-check"
                with probe_file.open("wb") as handle:
                    handle.write(b"\0" * (1 << 16))
                probe_file.unlink()
                raise ValidationError(f"Cannot write images into {root}.", hint="Check its rights.")

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="jpeg") as pool:
        try:
            for video in videos:
                if not video.frames:
                    continue
                folders = {writer.image_path(root, video, f).parent for f in video.frames[:1]}
                for folder in folders:
                    folder.mkdir(parents=True, exist_ok=True)
                wanted = set(video.frames)
                stride = options.every or 1
                table = _table(video)
                for decoded in iter_frames(
                    video.file_path,
                    video.kind,
                    start=video.frames[0],
                    stop=video.frames[-1] + 1,
                    stride=stride,
                    table=table,
                ):
                    if decoded.index not in wanted or decoded.image is None:
                        continue
                    path = writer.image_path(root, video, decoded.index)
                    pending.append(pool.submit(cv2.imwrite, str(path), decoded.image, params))
                    settle(MAX_PENDING_WRITES)
                    done += 1
                    if done % PROGRESS_EVERY == 0:
                        if should_cancel is not None and should_cancel():
                            raise Cancelled(
                                f"Export cancelled after {done} of {total} frames; nothing was written."
                            )
                        if progress is not None:
                            progress(done, total, video.filename)
            settle(0)
        finally:
            for future in pending:
                future.cancel()
    if progress is not None:
        progress(done, total, "")
    return done


def _table(video: ExportVideo) -> FrameTable | None:
    if not video.times:
        return None
    return FrameTable(np.asarray(video.times, dtype=float), np.zeros(0, dtype=np.int32))
