"""Annotation import: parse a dataset, map its classes to VRU types, pair it with library videos and
store it in one transaction (a failure or cancel leaves the database as it was).

Imported boxes are ground truth by default: validated, and the frames the dataset covers are marked
reviewed (a reviewed frame without boxes says "nothing here"). With ``as_proposals`` they come in
unvalidated and no frame is marked reviewed. Tracks get new track ids on their video (the source's
id is kept in the ``source_track_id`` attribute); tracks with keyframes are interpolated with
:func:`vru_desktop.annotations.tracks.interpolate_track`, as the viewer does.

Pairing a dataset item with a video: ``video_id`` when given (everything goes onto that video), else
the content fingerprint this program writes into its exports, else the item's name against the
videos' file names (same name, or the file name starting with it: ``MOT17-02-FRCNN`` pairs with
``MOT17-02-FRCNN_first4.mp4``). ``media`` paths are imported into the library first (the videos
that go with the annotations); each is stored on its own, as the library import does.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from vru_desktop.annotations.tracks import Keyframe, TrackBox, interpolate_track
from vru_desktop.datasets.formats import coco, cvat, label_studio, mot, yolo
from vru_desktop.datasets.formats.common import SourceBox, SourceDataset, SourceItem, safe_name, scale_box
from vru_desktop.datasets.mapping import ClassMapping
from vru_desktop.errors import Cancelled, FormatError, NotFoundError, ValidationError
from vru_desktop.library.importer import import_paths, remove_videos
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, FrameIndex, ReviewedFrame, Video

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]

#: Box coordinates further than this from the frame are refused (they would overflow when filled in).
MAX_PIXELS = 1e9

FORMATS: dict[str, str] = {
    "coco": "COCO instances JSON",
    "yolo": "YOLO (data.yaml or obj.names)",
    "cvat": "CVAT for video / for images 1.1 XML",
    "mot": "MOTChallenge gt.txt",
    "label-studio": "Label Studio JSON",
}


@dataclass
class ImportOptions:
    video_id: int | None = None
    #: Class name → VRU type (``None`` leaves it out), on top of the remembered and default mapping.
    mapping: dict[str, str | None] = field(default_factory=dict)
    #: Class names no mapping covers: "refuse" the import (listing them) or "ignore" their boxes.
    unmapped: str = "refuse"
    #: False imports unvalidated proposals and marks no frame reviewed.
    ground_truth: bool = True
    #: CVAT for video: "source" (the video is the task's source) or "task" (only the task's frames).
    cvat_frames: str = "source"
    #: Videos or frame folders to bring into the library before pairing.
    media: list[str] = field(default_factory=list)


@dataclass
class VideoResult:
    video_id: int
    filename: str
    boxes: int = 0
    rows: int = 0
    tracks: int = 0
    crowd: int = 0
    reviewed_frames: int = 0


@dataclass
class ImportResult:
    format: str
    source: str
    videos: list[VideoResult]
    mapping: dict[str, str | None]
    left_out: dict[str, int]

    @property
    def boxes(self) -> int:
        return sum(v.boxes for v in self.videos)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "source": self.source,
            "boxes": self.boxes,
            "videos": [vars(v) for v in self.videos],
            "mapping": self.mapping,
            "left_out": self.left_out,
        }

    def lines(self) -> list[str]:
        out = [
            f"{v.filename} (video {v.video_id}): {v.boxes} boxes, {v.tracks} tracks, {v.crowd} crowd, "
            f"{v.reviewed_frames} frames reviewed"
            for v in self.videos
        ]
        out += [f"left out: {count} {reason}" for reason, count in self.left_out.items()]
        return out


def read_dataset(
    format_name: str, path: str | os.PathLike[str], options: ImportOptions | None = None
) -> SourceDataset:
    """Parse a dataset (raises :class:`~vru_desktop.errors.FormatError` naming the file and place)."""
    options = options or ImportOptions()
    source = Path(path).expanduser()
    if format_name == "coco":
        return coco.parse(source)
    if format_name == "yolo":
        return yolo.parse(source)
    if format_name == "cvat":
        return cvat.parse(source, frames=options.cvat_frames)
    if format_name == "mot":
        return mot.parse(source)
    if format_name == "label-studio":
        return label_studio.parse(source)
    raise ValidationError(
        f"Unknown import format '{format_name}'.", hint=f"Use one of: {', '.join(FORMATS)}."
    )


def import_annotations(
    db: Database,
    format_name: str,
    path: str | os.PathLike[str],
    options: ImportOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ImportResult:
    options = options or ImportOptions()
    added: list[int] = []
    try:
        if options.media:
            outcomes = import_paths(db, options.media)
            added = [o.video_id for o in outcomes if o.status == "imported" and o.video_id is not None]
            refused = [o for o in outcomes if not o.ok]
            if refused:
                raise ValidationError("Videos not imported: " + "; ".join(o.line() for o in refused))
        return _import_onto_library(db, format_name, path, options, progress, should_cancel)
    except BaseException:
        # A failed import changes nothing: the videos brought in for it leave the library again.
        if added:
            remove_videos(db, added)
        raise


def _import_onto_library(
    db: Database,
    format_name: str,
    path: str | os.PathLike[str],
    options: ImportOptions,
    progress: ProgressCallback | None,
    should_cancel: Callable[[], bool] | None,
) -> ImportResult:
    dataset = read_dataset(format_name, path, options)
    mapping = ClassMapping.for_source(db, format_name, dataset.path, options.mapping)
    used = dataset.used_labels()
    unmapped = mapping.unmapped(used)
    if unmapped and options.unmapped != "ignore":
        raise ValidationError(
            f"{dataset.path}: no VRU type for the class{'es' if len(unmapped) > 1 else ''} "
            f"{', '.join(repr(n) for n in unmapped)}.",
            hint="Map them (--map NAME=pedestrian, or NAME=ignore to leave them out) or choose to "
            "ignore unmapped classes.",
        )
    table = mapping.table(used)
    left_out = dict(dataset.skipped)
    results: list[VideoResult] = []
    with db.transaction() as session:
        targets = _pair(session, dataset.items, options.video_id)
        for number, (item, video) in enumerate(zip(dataset.items, targets, strict=True)):
            if should_cancel is not None and should_cancel():
                raise Cancelled("Import cancelled; nothing was written.")
            if progress is not None:
                progress(number, len(dataset.items), video.filename)
            _check_boxes(dataset.path, item, video)
            results.append(
                _store_item(session, item, video, table, options.ground_truth, format_name, left_out)
            )
    if progress is not None:
        progress(len(dataset.items), len(dataset.items), "")
    mapping.remember(db, format_name, dataset.path, used)
    return ImportResult(format_name, str(dataset.path), results, table, left_out)


# -- pairing -------------------------------------------------------------------------------------
def _key(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    stem = (
        Path(base).stem
        if Path(base).suffix.lower()
        in {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts", ".wmv"}
        else base
    )
    return safe_name(stem).lower()


def _pair(session: Session, items: list[SourceItem], video_id: int | None) -> list[Video]:
    if video_id is not None:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFoundError(f"Video {video_id} does not exist.", hint="See 'vru-desktop videos'.")
        return [video] * len(items)
    videos = list(session.scalars(select(Video).order_by(Video.id)))
    by_fingerprint = {v.fingerprint: v for v in videos}
    chosen: list[Video] = []
    unpaired: list[str] = []
    for item in items:
        video = by_fingerprint.get(item.fingerprint or "")
        names = [n for name in item.names for n in (name, re.sub(r"_v\d+$", "", name))]
        for name in dict.fromkeys(names) if video is None else ():
            key = _key(name)
            exact = [v for v in videos if key in (_key(v.filename), f"{_key(v.filename)}_v{v.id}")]
            prefix = [v for v in videos if _key(v.filename).startswith(key) and len(key) >= 3]
            matches = exact or prefix
            if len(matches) > 1:
                raise ValidationError(
                    f"'{name}' matches several videos: {', '.join(f'{v.id} {v.filename}' for v in matches)}.",
                    hint="Choose the video (--video ID).",
                )
            if matches:
                video = matches[0]
                break
        if video is None:
            unpaired.append(" / ".join(item.names) or "(unnamed)")
        else:
            chosen.append(video)
    if unpaired:
        raise NotFoundError(
            f"No library video for: {', '.join(unpaired)}.",
            hint="Import the videos first (or with the annotations), or choose the video (--video ID).",
        )
    return chosen


# -- storing -------------------------------------------------------------------------------------
def _check_boxes(source: Path, item: SourceItem, video: Video) -> None:
    """Refuse boxes past the video's end before any track is filled in between its keyframes, and
    boxes whose pixels would not be finite numbers (1e307 of a normalised YOLO box)."""
    of = f" of '{' / '.join(item.names)}'" if item.names else ""
    beyond = [b.frame for b in item.boxes if not b.outside and not 0 <= b.frame < video.frame_count]
    if beyond:
        raise FormatError(
            f"{source}: {len(beyond)} box{'es' if len(beyond) > 1 else ''}{of} on frames past the end of "
            f"video {video.id} '{video.filename}' ({video.frame_count} frames), the first on frame "
            f"{beyond[0]} (0-based).",
            hint="Choose the video these annotations belong to (--video ID), or cut them to its length.",
        )
    for box in item.boxes:
        pixels = scale_box(box.box, box.space, video.width, video.height)
        if not all(abs(v) <= MAX_PIXELS for v in pixels):
            raise FormatError(
                f"{source}: a box{of} on frame {box.frame} lies more than {MAX_PIXELS:.0e} pixels "
                f"outside video {video.id} '{video.filename}' ({box.box})."
            )


def _store_item(
    session: Session,
    item: SourceItem,
    video: Video,
    table: dict[str, str | None],
    ground_truth: bool,
    format_name: str,
    left_out: dict[str, int],
) -> VideoResult:
    result = VideoResult(video.id, video.filename)
    frame_count = video.frame_count
    times = _times(session, video)
    next_track = (
        session.scalar(select(func.max(Annotation.track_id)).where(Annotation.video_id == video.id)) or 0
    ) + 1

    def drop(reason: str, count: int = 1) -> None:
        left_out[reason] = left_out.get(reason, 0) + count

    tracks: dict[str, list[SourceBox]] = {}
    rows: list[dict[str, Any]] = []
    for box in item.boxes:
        vru = table.get(box.label)
        if vru is None:
            if not box.outside:
                drop(f"boxes of class '{box.label}' (not mapped to a VRU type)")
            continue
        if box.track is not None:
            tracks.setdefault(box.track, []).append(box)
        else:
            rows.append(_row(video, box, vru, None, True, False, times, format_name, ground_truth))
    for source_id, boxes in tracks.items():
        track_id, next_track = next_track, next_track + 1
        vru = table[boxes[0].label]
        assert vru is not None
        for track_box, origin in _track_rows(boxes, item, frame_count):
            placed = SourceBox(
                track_box.frame,
                track_box.box,
                origin.label,
                origin.space,
                origin.track,
                occluded=origin.occluded,
                truncated=origin.truncated,
                crowd=origin.crowd,
            )
            row = _row(
                video,
                placed,
                vru,
                track_id,
                track_box.is_keyframe,
                track_box.outside,
                times,
                format_name,
                ground_truth,
            )
            row["attributes"] = {**origin.attributes, "source_track_id": source_id}
            rows.append(row)
        result.tracks += 1
    kept = [r for r in rows if 0 <= r["frame_number"] < frame_count]
    if len(kept) < len(rows):
        drop(
            "boxes beyond the video's last frame",
            sum(1 for r in rows if not r["outside"]) - sum(1 for r in kept if not r["outside"]),
        )
    if kept:
        session.execute(insert(Annotation), kept)
    result.rows = len(kept)
    result.boxes = sum(1 for r in kept if not r["outside"])
    result.crowd = sum(1 for r in kept if r["crowd"] and not r["outside"])
    if ground_truth:
        if item.reviewed is None:
            frames = set(range(min(item.frame_count or frame_count, frame_count)))
        elif isinstance(item.reviewed, range):
            covered = item.reviewed
            frames = set(range(covered.start, min(covered.stop, frame_count), covered.step))
        else:
            frames = {f for f in item.reviewed if 0 <= f < frame_count}
        existing = set(
            session.scalars(select(ReviewedFrame.frame_number).where(ReviewedFrame.video_id == video.id))
        )
        new = sorted(frames - existing)
        if new:
            session.execute(insert(ReviewedFrame), [{"video_id": video.id, "frame_number": f} for f in new])
        result.reviewed_frames = len(frames)
        if result.boxes:
            video.ground_truth_generated = True
    return result


def _track_rows(
    boxes: list[SourceBox], item: SourceItem, frame_count: int
) -> list[tuple[TrackBox, SourceBox]]:
    """Every frame of one track, each with the source keyframe that gives its flags and attributes."""
    ordered = sorted(boxes, key=lambda b: b.frame)
    past = [b for b in ordered if b.frame >= frame_count]  # outside keyframes: the track's end
    if past:
        ordered = [*ordered[: -len(past)], replace(past[0], frame=frame_count)]
    if not item.interpolate:
        return [(TrackBox(b.frame, b.box, b.keyframe, b.outside), b) for b in ordered]
    by_frame = {b.frame: b for b in ordered}
    filled = interpolate_track(Keyframe(b.frame, b.box, b.outside) for b in ordered)
    last = filled[-1]
    end = min(item.hold_until if item.hold_until is not None else last.frame, frame_count - 1)
    filled += (
        [TrackBox(f, last.box, False) for f in range(last.frame + 1, end + 1)] if not last.outside else []
    )
    out: list[tuple[TrackBox, SourceBox]] = []
    origin = ordered[0]
    for track_box in filled:
        origin = by_frame.get(track_box.frame, origin)
        out.append((track_box, origin))
    return out


def _times(session: Session, video: Video) -> np.ndarray:
    row = session.get(FrameIndex, video.id)
    if row is None:
        return np.zeros(0)
    return np.frombuffer(row.times, dtype="<f8")


def _row(
    video: Video,
    box: SourceBox,
    vru: str,
    track_id: int | None,
    is_keyframe: bool,
    outside: bool,
    times: np.ndarray,
    format_name: str,
    ground_truth: bool,
) -> dict[str, Any]:
    x1, y1, x2, y2 = scale_box(box.box, box.space, video.width, video.height)
    frame = box.frame
    return {
        "video_id": video.id,
        "frame_number": frame,
        "timestamp": float(times[frame]) if 0 <= frame < len(times) else 0.0,
        "vru_type": vru,
        "validated": ground_truth,
        "occluded": box.occluded,
        "truncated": box.truncated,
        "crowd": box.crowd,
        "track_id": track_id,
        "is_keyframe": is_keyframe,
        "outside": outside,
        "source": f"import:{format_name}",
        "attributes": dict(box.attributes),
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
    }
