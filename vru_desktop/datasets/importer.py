"""Annotation import: parse a dataset, map its classes to VRU types, pair it with library videos and
store it (a failure or cancel leaves the database as it was). The rows are prepared while only
reading, then written in transactions of :data:`WRITE_CHUNK` rows, so another process that writes
waits for one chunk, not the whole import; a failure takes back the chunks already written. The
import's record exists from the first chunk on (mode "incomplete" until the last transaction), so
an import cut short by a killed process can still be listed and removed as a unit.

Imported boxes are ground truth by default: validated, and the frames the dataset covers are marked
reviewed (a reviewed frame without boxes says "nothing here"). With ``as_proposals`` they come in
unvalidated and no frame is marked reviewed. Tracks get new track ids on their video (the source's
id is kept in the ``source_track_id`` attribute); tracks with keyframes are interpolated with
:func:`vru_desktop.annotations.tracks.interpolate_track`, as the viewer does.

Pairing a dataset item with a video: ``video_id`` when given (everything goes onto that video), else
the content fingerprint this program writes into its exports, else the item's name against the
videos' file names (same name, or the file name starting with it: ``MOT17-02-FRCNN`` pairs with
``MOT17-02-FRCNN_first4.mp4``). ``media`` paths are imported into the library first (the videos
that go with the annotations); each is stored on its own, as the library import does. Images of an
image dataset pair with a video's frames by file name when the video is a folder of images, else by
the number in the name (:mod:`vru_desktop.datasets.formats.common`).

Every import is recorded (:class:`~vru_desktop.store.models.AnnotationImport`: source, content
fingerprint, time, counts and the reviewed frames it added per video; see
:mod:`vru_desktop.datasets.imports`). Boxes that an earlier import already put on a video (same
frame, class and box) refuse the import unless ``on_duplicate`` is "replace" or "append".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from vru_desktop.annotations.editor import after_boxes_changed
from vru_desktop.annotations.tracks import Keyframe, TrackBox, interpolate_track
from vru_desktop.datasets.formats import coco, cvat, label_studio, mot, openlabel, yolo
from vru_desktop.datasets.formats.common import SourceBox, SourceDataset, SourceItem, safe_name, scale_box
from vru_desktop.datasets.imports import remove_import_part, reviewed_ranges
from vru_desktop.datasets.mapping import ClassMapping
from vru_desktop.errors import Cancelled, DuplicateError, FormatError, NotFoundError, ValidationError
from vru_desktop.library.importer import ImportStatus, import_paths, remove_videos
from vru_desktop.media.probe import sequence_files
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    Annotation,
    AnnotationImport,
    AnnotationImportVideo,
    FrameIndex,
    ReviewedFrame,
    Video,
)

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
    "openlabel": "ASAM OpenLABEL 1.0 JSON",
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
    #: OpenLABEL: the stream (camera) to import, where the file has several.
    stream: str | None = None
    #: Videos or frame folders to bring into the library before pairing.
    media: list[str] = field(default_factory=list)
    #: Boxes an earlier import already put on a video (same frame, class and box): "refuse" the
    #: import, "replace" the earlier import's boxes on that video, or "append" (keep both).
    on_duplicate: str = "refuse"


ON_DUPLICATE = ("refuse", "replace", "append")


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
    import_id: int
    #: Earlier imports whose boxes this one replaced.
    replaced: list[int] = field(default_factory=list)

    @property
    def boxes(self) -> int:
        return sum(v.boxes for v in self.videos)

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "replaced": self.replaced,
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
        out += [f"replaced import {import_id}" for import_id in self.replaced]
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
    if format_name == "openlabel":
        return openlabel.parse(source, stream=options.stream)
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
            added = [
                o.video_id for o in outcomes if o.status == ImportStatus.IMPORTED and o.video_id is not None
            ]
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
    if options.on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {ON_DUPLICATE}")
    dataset = read_dataset(format_name, path, options)
    if options.ground_truth and any(b.confidence is not None for i in dataset.items for b in i.boxes):
        raise ValidationError(
            f"{dataset.path}: holds detections with scores, not ground truth.",
            hint="Import them as unvalidated proposals (--proposals), or choose the ground-truth file.",
        )
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
    fingerprints = [item_fingerprint(item) for item in dataset.items]
    with db.session() as session:
        targets = _pair(session, dataset.items, options.video_id)
        placed: dict[int, _Placement] = {}
        for number, (item, video) in enumerate(zip(dataset.items, targets, strict=True)):
            if should_cancel is not None and should_cancel():
                raise Cancelled("Import cancelled; nothing was written.")
            if progress is not None:
                progress(number, len(dataset.items), video.filename)
            _check_boxes(dataset.path, item, video)
            if video.id not in placed:
                placed[video.id] = _Placement.start(session, video)
            placement = placed[video.id]
            if fingerprints[number] in placement.fingerprints and options.on_duplicate != "append":
                twin = dataset.items[fingerprints.index(fingerprints[number])]
                raise DuplicateError(
                    f"{dataset.path}: '{' / '.join(twin.names)}' and '{' / '.join(item.names)}' hold the "
                    f"same boxes for {video.filename} (video {video.id}). Nothing was imported.",
                    hint="Import one of them, or choose append (--append) to keep both.",
                )
            placement.fingerprints.append(fingerprints[number])
            _place_item(placement, item, table, options.ground_truth, format_name, left_out)
        placements = list(placed.values())
        if options.on_duplicate == "refuse":
            _meet_earlier_imports(session, placements, "refuse", None)
    with db.transaction() as session:
        record = AnnotationImport(
            format=format_name,
            source=str(dataset.path),
            fingerprint=_digest(sorted(fingerprints)),
            ground_truth=options.ground_truth,
            mode=INCOMPLETE,
            details={"mapping": table, "left_out": left_out},
        )
        session.add(record)
        session.flush()
        import_id = record.id
    try:
        _write_rows(db, [row | {"import_id": import_id} for p in placements for row in p.rows], should_cancel)
        with db.transaction() as session:
            met, replaced = _meet_earlier_imports(session, placements, options.on_duplicate, import_id)
            record = session.get(AnnotationImport, import_id)
            assert record is not None
            record.mode = options.on_duplicate if met else "new"
            record.details = {**record.details, "replaced": replaced}
            results = [_finish(session, record, placement, options.ground_truth) for placement in placements]
    except BaseException:
        try:
            _take_back(db, import_id)
        except Exception:
            log.exception("could not take back the boxes of failed import %d", import_id)
        raise
    if progress is not None:
        progress(len(dataset.items), len(dataset.items), "")
    mapping.remember(db, format_name, dataset.path, used)
    return ImportResult(format_name, str(dataset.path), results, table, left_out, import_id, replaced)


# -- content fingerprints and earlier imports ----------------------------------------------------
def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def item_fingerprint(item: SourceItem) -> str:
    """SHA-256 over what an item says (boxes, their flags, the frames it covers), in any order; the
    file's name and place do not count, so the same content read from elsewhere is recognised."""
    boxes = sorted(
        json.dumps(
            [
                b.image if b.image is not None else b.frame,
                b.label,
                [round(v, 3) for v in b.box],
                b.space,
                b.track,
                b.keyframe,
                b.outside,
                b.occluded,
                b.crowd,
                b.truncated,
                b.confidence,
            ]
        )
        for b in item.boxes
    )
    covered: list[Any]
    if item.images:
        covered = sorted(item.images)
    elif isinstance(item.reviewed, range):  # a task's frames, possibly far more than the video has
        covered = ["range", item.reviewed.start, item.reviewed.stop, item.reviewed.step]
    else:
        covered = sorted(item.reviewed or ())
    return _digest([*boxes, json.dumps([covered, item.frame_count])])


def _box_key(frame: int, vru_type: str, box: tuple[float, float, float, float]) -> tuple[Any, ...]:
    return (frame, vru_type, *(round(v, 2) for v in box))


def _meet_earlier_imports(
    session: Session, placements: list[_Placement], on_duplicate: str, this_import: int | None
) -> tuple[bool, list[int]]:
    """Find boxes an earlier import already put on these videos (same frame, class and box). Refuse
    (``refuse``), take the earlier import's boxes off those videos first (``replace``), or go on
    (``append``). Returns whether any were found and the ids of the imports replaced."""
    clashes: list[str] = []
    met = False
    replaced: set[int] = set()
    for placement in placements:
        video = placement.video
        earlier: dict[tuple[Any, ...], tuple[int | None, int]] = {}
        for row_id, import_id, frame, vru, x1, y1, x2, y2 in session.execute(
            select(
                Annotation.id,
                Annotation.import_id,
                Annotation.frame_number,
                Annotation.vru_type,
                Annotation.x1,
                Annotation.y1,
                Annotation.x2,
                Annotation.y2,
            ).where(
                Annotation.video_id == video.id,
                Annotation.outside.is_(False),
                or_(Annotation.import_id.is_not(None), Annotation.source.like("import:%")),
                or_(Annotation.import_id.is_(None), Annotation.import_id != this_import),
            )
        ):
            earlier[_box_key(frame, vru, (x1, y1, x2, y2))] = (import_id, row_id)
        if not earlier:
            continue
        hits: dict[int | None, set[int]] = {}
        new = [r for r in placement.rows if not r["outside"]]
        for row in new:
            found = earlier.get(_box_key(row["frame_number"], row["vru_type"], _row_box(row)))
            if found is not None:
                hits.setdefault(found[0], set()).add(found[1])
        if not hits:
            continue
        met = True
        if on_duplicate == "refuse":
            repeated = sum(len(ids) for ids in hits.values())
            clashes.append(
                f"{video.filename} (video {video.id}) already holds {repeated} of these {len(new)} boxes, "
                f"from {_describe_imports(session, list(hits))}"
            )
        elif on_duplicate == "replace":
            for import_id, row_ids in hits.items():
                if import_id is None:
                    session.execute(delete(Annotation).where(Annotation.id.in_(row_ids)))
                    continue
                part = session.get(AnnotationImportVideo, (import_id, video.id))
                if part is not None:
                    remove_import_part(session, part)
                replaced.add(import_id)
    if clashes:
        raise DuplicateError(
            "Already imported: " + "; ".join(clashes) + ". Nothing was imported.",
            hint="Choose replace (--replace: the earlier import's boxes on these videos go first) or "
            "append (--append: keep both).",
        )
    session.flush()
    for import_id in replaced:
        record = session.get(AnnotationImport, import_id)
        if record is not None and not record.videos:
            session.delete(record)
    return met, sorted(replaced)


def _describe_imports(session: Session, import_ids: list[int | None]) -> str:
    described = []
    for import_id in sorted(import_ids, key=lambda i: -1 if i is None else i):
        record = None if import_id is None else session.get(AnnotationImport, import_id)
        if record is None:
            described.append("an import made before imports were recorded")
        else:
            described.append(
                f"import {record.id} ({record.format}, {record.source}, {record.imported_at:%Y-%m-%d %H:%M})"
            )
    return " and ".join(described)


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
    if item.images and video.kind == "image_sequence":
        beyond = []  # paired with the folder's images by file name (frames found then)
    else:
        # An image name without a frame number (-1) is refused with its own reason when placed.
        unknown = -1 if item.images else None
        beyond = [
            b.frame
            for b in item.boxes
            if not b.outside and b.frame != unknown and not 0 <= b.frame < video.frame_count
        ]
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


@dataclass
class _Placement:
    """What an import puts on one video, gathered over the dataset's items before it is written."""

    video: Video
    times: np.ndarray
    next_track: int
    result: VideoResult
    rows: list[dict[str, Any]] = field(default_factory=list)
    reviewed: set[int] = field(default_factory=set)
    fingerprints: list[str] = field(default_factory=list)
    folder: ImageFolder | None = None

    @classmethod
    def start(cls, session: Session, video: Video) -> _Placement:
        last_track = session.scalar(
            select(func.max(Annotation.track_id)).where(Annotation.video_id == video.id)
        )
        return cls(
            video, _times(session, video), (last_track or 0) + 1, VideoResult(video.id, video.filename)
        )


def _place_item(
    placement: _Placement,
    item: SourceItem,
    table: dict[str, str | None],
    ground_truth: bool,
    format_name: str,
    left_out: dict[str, int],
) -> None:
    video = placement.video
    result = placement.result
    frame_count = video.frame_count
    sizes = _place_images(placement, item) if item.images else {}

    def drop(reason: str, count: int = 1) -> None:
        left_out[reason] = left_out.get(reason, 0) + count

    def make_row(
        box: SourceBox, vru: str, track_id: int | None, keyframe: bool, outside: bool
    ) -> dict[str, Any]:
        size = sizes.get(box.frame, (video.width, video.height))
        return _row(
            video, box, vru, track_id, keyframe, outside, placement.times, format_name, ground_truth, size
        )

    tracks: dict[tuple[str, str], list[SourceBox]] = {}
    rows: list[dict[str, Any]] = []
    for box in item.boxes:
        vru = table.get(box.label)
        if vru is None:
            if not box.outside:
                drop(f"boxes of class '{box.label}' (not mapped to a VRU type)")
            continue
        if box.track is not None:
            # A track is one class: boxes under one id with different classes are separate tracks.
            tracks.setdefault((box.track, box.label), []).append(box)
        else:
            rows.append(make_row(box, vru, None, True, False))
    for (source_id, label), boxes in tracks.items():
        track_id, placement.next_track = placement.next_track, placement.next_track + 1
        vru = table[label]
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
                confidence=origin.confidence,
                visibility=origin.visibility,
                visible_box=origin.visible_box if origin.frame == track_box.frame else None,
                occlusion=origin.occlusion,
                truncation=origin.truncation,
                ignore=origin.ignore,
            )
            row = make_row(placed, vru, track_id, track_box.is_keyframe, track_box.outside)
            row["attributes"] = {"source_track_id": source_id, **origin.attributes}
            rows.append(row)
        result.tracks += 1
    kept = [r for r in rows if 0 <= r["frame_number"] < frame_count]
    if len(kept) < len(rows):
        drop(
            "boxes beyond the video's last frame",
            sum(1 for r in rows if not r["outside"]) - sum(1 for r in kept if not r["outside"]),
        )
    placement.rows.extend(kept)
    if ground_truth:
        if item.images:
            frames = {f for f in sizes if 0 <= f < frame_count}
        elif item.reviewed is None:
            frames = set(range(min(item.frame_count or frame_count, frame_count)))
        elif isinstance(item.reviewed, range):
            covered = item.reviewed
            frames = set(range(covered.start, min(covered.stop, frame_count), covered.step))
        else:
            frames = {f for f in item.reviewed if 0 <= f < frame_count}
        placement.reviewed |= frames


#: Rows written in one transaction.
WRITE_CHUNK = 5000
#: The pause between two chunks. A process waiting for the database retries every 100 ms at most
#: (SQLite's busy handler); without a gap that long the next chunk would take the lock first again.
CHUNK_GAP_SECONDS = 0.1
#: The mode of an import's record while its rows are being written.
INCOMPLETE = "incomplete"


def _write_rows(db: Database, rows: list[dict[str, Any]], should_cancel: Callable[[], bool] | None) -> None:
    for start in range(0, len(rows), WRITE_CHUNK):
        if start:
            if should_cancel is not None and should_cancel():
                raise Cancelled("Import cancelled; nothing was written.")
            time.sleep(CHUNK_GAP_SECONDS)
        with db.transaction() as session:
            session.execute(insert(Annotation), rows[start : start + WRITE_CHUNK])


def _take_back(db: Database, import_id: int) -> None:
    """Remove what a failed import wrote before its last transaction: its rows and its record."""
    with db.transaction() as session:
        session.execute(delete(Annotation).where(Annotation.import_id == import_id))
        session.execute(delete(AnnotationImport).where(AnnotationImport.id == import_id))


def _finish(
    session: Session, record: AnnotationImport, placement: _Placement, ground_truth: bool
) -> VideoResult:
    """The reviewed marks and the record of one video's part, its rows being written already."""
    video = placement.video
    result = placement.result
    result.rows = len(placement.rows)
    result.boxes = sum(1 for r in placement.rows if not r["outside"])
    result.crowd = sum(1 for r in placement.rows if r["crowd"] and not r["outside"])
    new: list[int] = []
    if ground_truth:
        existing = set(
            session.scalars(select(ReviewedFrame.frame_number).where(ReviewedFrame.video_id == video.id))
        )
        new = sorted(placement.reviewed - existing)
        if new:
            session.execute(insert(ReviewedFrame), [{"video_id": video.id, "frame_number": f} for f in new])
        result.reviewed_frames = len(placement.reviewed)
    session.add(
        AnnotationImportVideo(
            import_id=record.id,
            video_id=video.id,
            fingerprint=_digest(sorted(placement.fingerprints)),
            boxes=result.boxes,
            rows=result.rows,
            tracks=result.tracks,
            crowd=result.crowd,
            reviewed=reviewed_ranges(new),
        )
    )
    after_boxes_changed(session, video.id)
    return result


def _place_images(placement: _Placement, item: SourceItem) -> dict[int, tuple[int, int]]:
    """Give an image dataset's boxes their video frames; returns each annotated frame's pixel size.

    Onto a folder of images, each image is the folder's frame of that file name, in its own size;
    onto a video file, the number in the image's name is the frame. Anything that does not pair is
    refused, never dropped."""
    video = placement.video
    if video.kind != "image_sequence":
        unnumbered = [name for name, number in item.images.items() if number is None]
        if unnumbered:
            raise ValidationError(
                f"{video.filename} (video {video.id}) is a video file and the image{_s(unnumbered)} "
                f"{_some(unnumbered)} carr{'y' if len(unnumbered) > 1 else 'ies'} no frame number in "
                "the name.",
                hint="Import the annotations onto the folder of these images (imported as a video), "
                "or name images by frame (frame_000123.jpg is frame 123).",
            )
        return {number: (video.width, video.height) for number in item.images.values() if number is not None}
    if placement.folder is None:
        placement.folder = ImageFolder.of(video)
    frames = placement.folder.pair(list(item.images))
    for box in item.boxes:
        if box.image is not None:
            box.frame = frames[box.image]
    return {frame: placement.folder.size(frame) for frame in frames.values()}


def _s(items: list[str]) -> str:
    return "s" if len(items) > 1 else ""


def _some(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


@dataclass
class ImageFolder:
    """A library video that is a folder of images: its files in frame order, paired by file name."""

    video: Video
    files: list[Path]
    _sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: Frame → the annotation images paired with it so far in this import.
    _paired: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, video: Video) -> ImageFolder:
        folder = Path(video.file_path)
        if not folder.is_dir():
            raise NotFoundError(
                f"{video.filename} (video {video.id}): its image folder {folder} is missing.",
                hint="Relink the video (vru-desktop relink) before importing onto it.",
            )
        files = sequence_files(folder)
        if len(files) != video.frame_count:
            raise ValidationError(
                f"{video.filename} (video {video.id}): {folder} holds {len(files)} images but the library "
                f"knows {video.frame_count} frames; images cannot be paired with frames by name.",
                hint="Import the folder again as a video so that its frame list is current.",
            )
        return cls(video, files)

    def pair(self, names: list[str]) -> dict[str, int]:
        """Annotation image name → frame: the same file name, else the same name without extension
        (YOLO label files), else Label Studio's upload name (``1a2b3c4d-<file name>``)."""
        by_name = {p.name.lower(): i for i, p in enumerate(self.files)}
        by_stem: dict[str, list[int]] = {}
        for index, path in enumerate(self.files):
            by_stem.setdefault(path.stem.lower(), []).append(index)
        found: dict[str, int] = {}
        missing: list[str] = []
        for name in names:
            base = PurePosixPath(name.replace("\\", "/")).name.lower()
            candidates = [base, _UPLOAD_PREFIX.sub("", base)]
            frame = next((by_name[c] for c in candidates if c in by_name), None)
            if frame is None:
                stems = [by_stem.get(PurePosixPath(c).stem, []) for c in candidates]
                frame = next((s[0] for s in stems if len(s) == 1), None)
            if frame is None:
                missing.append(name)
            else:
                found[name] = frame
        where = f"{self.video.filename} (video {self.video.id}, folder {self.video.file_path})"
        if missing:
            raise ValidationError(
                f"{len(missing)} annotated image{_s(missing)} not in {where}: {_some(missing)}.",
                hint="Import the annotations onto the folder that holds these images.",
            )
        for name, frame in found.items():
            self._paired.setdefault(frame, []).append(name)
        shared = [
            f"{' and '.join(repr(n) for n in group)} → {self.files[frame].name}"
            for frame, group in self._paired.items()
            if len(group) > 1
        ]
        if shared:
            raise ValidationError(
                f"Several annotated images pair with the same image of {where}: {'; '.join(shared[:5])}.",
                hint="Import each part of the dataset (train, val …) onto its own image folder.",
            )
        return found

    def size(self, frame: int) -> tuple[int, int]:
        """The pixel size of one image (read from its header)."""
        if frame not in self._sizes:
            from PIL import Image, UnidentifiedImageError

            path = self.files[frame]
            try:
                with Image.open(path) as image:
                    self._sizes[frame] = image.size
            except (OSError, UnidentifiedImageError) as exc:
                raise ValidationError(f"{path}: cannot read the image's size ({exc}).") from exc
        return self._sizes[frame]


_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")


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
    size: tuple[int, int],
) -> dict[str, Any]:
    x1, y1, x2, y2 = scale_box(box.box, box.space, *size)
    frame = box.frame
    return {
        "video_id": video.id,
        "frame_number": frame,
        "timestamp": float(times[frame]) if 0 <= frame < len(times) else 0.0,
        "vru_type": vru,
        "confidence": box.confidence,
        "validated": ground_truth,
        "occluded": box.occluded,
        "truncated": box.truncated,
        "crowd": box.crowd,
        "track_id": track_id,
        "is_keyframe": is_keyframe,
        "outside": outside,
        "source": f"import:{format_name}",
        "attributes": dict(box.attributes),
        "visibility": box.visibility,
        "visible_box": None
        if box.visible_box is None
        else list(scale_box(box.visible_box, box.space, *size)),
        "occlusion": box.occlusion,
        "truncation": box.truncation,
        "ignore": box.ignore,
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
    }


def _row_box(row: dict[str, Any]) -> tuple[float, float, float, float]:
    return (row["x1"], row["y1"], row["x2"], row["y2"])
