"""What every format shares: the parsed form of a source dataset, the exported form of the library,
file-name rules for image-per-frame datasets, and safe paths.

A parser reads a dataset into :class:`SourceDataset` (items of boxes with their source labels, in
the coordinate space the file uses); the importer maps labels to VRU types, pairs each item with a
library video and stores it. A writer gets :class:`ExportVideo` objects (one per library video, with
the boxes already chosen) and the decoded frames it asks for.

Pairing images with video frames: onto a library video that is a folder of images, each annotated
image is the folder's frame with the same file name (or the same name before the extension, as YOLO
label files have it); onto a video file, the frame number is the last run of digits in the image's
file name (``frame_000123.jpg`` → frame 123, ``img0.jpg`` → frame 0). What stands before the number
(``clip_v3_000123`` → ``clip_v3``), or the image's folder, names the video.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from vru_desktop.errors import FormatError
from vru_desktop.files import check_regular_file, read_text

Box = tuple[float, float, float, float]

#: Image file extensions that an image-per-frame dataset may use.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class SourceBox:
    """One box as the source file has it.

    ``space`` is the (width, height) its coordinates refer to: the image's pixel size, ``(1, 1)`` for
    normalised coordinates, ``(100, 100)`` for percentages, or ``None`` for the video's own pixels.
    ``track`` groups the keyframes of one track; ``None`` is a box on its own. ``confidence`` is a
    detector's score (detections, not ground truth). ``image`` is the image file the box is on, for
    image-per-frame datasets.
    """

    frame: int
    box: Box
    label: str
    space: tuple[float, float] | None = None
    track: str | None = None
    keyframe: bool = True
    outside: bool = False
    occluded: bool = False
    crowd: bool = False
    truncated: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    image: str | None = None
    #: Pedestrian-benchmark fields: visible share 0…1, the visible part (in ``space``), occlusion
    #: level (0 none, 1 partial, 2 heavy), truncated share 0…1 and Caltech-style ignore.
    visibility: float | None = None
    visible_box: Box | None = None
    occlusion: int | None = None
    truncation: float | None = None
    ignore: bool = False


@dataclass
class SourceItem:
    """One video's worth of a source dataset (a CVAT task, a MOT sequence, the images of one clip).

    ``names`` are tried in order against the library's video names; ``fingerprint`` (from this
    program's own exports) pairs exactly. ``reviewed`` are the frames the dataset covers, boxes or
    not; ``None`` means every frame up to ``frame_count`` (or the whole video). ``interpolate``
    says whether frames between a track's keyframes are filled in (CVAT, Label Studio) or the
    track's boxes are taken as they are (MOT lists every frame); a track whose last keyframe is
    not outside lasts to ``hold_until`` (CVAT: the task's end; Label Studio: the video's end).
    ``images`` (image-per-frame datasets) maps each annotated image's name to the frame number in
    that name (``None`` when it has none); the importer pairs them with the video's frames.
    """

    names: list[str]
    boxes: list[SourceBox] = field(default_factory=list)
    reviewed: set[int] | range | None = field(default_factory=set)
    frame_count: int | None = None
    fingerprint: str | None = None
    interpolate: bool = False
    hold_until: int | None = None
    images: dict[str, int | None] = field(default_factory=dict)


@dataclass
class SourceDataset:
    """A parsed dataset: its items, the label names it declares, and what was left out and why."""

    format: str
    path: Path
    items: list[SourceItem]
    labels: list[str]
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def used_labels(self) -> list[str]:
        seen: dict[str, None] = {}
        for item in self.items:
            for box in item.boxes:
                seen.setdefault(box.label, None)
        return list(seen)


@dataclass
class ExportBox:
    """One annotation row chosen for export (a track's outside keyframes included, for CVAT)."""

    frame: int
    box: Box
    vru_type: str
    track_id: int | None
    is_keyframe: bool = True
    outside: bool = False
    occluded: bool = False
    crowd: bool = False
    truncated: bool = False
    validated: bool = True
    confidence: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    #: Pedestrian-benchmark fields, as :class:`SourceBox` has them (the visible part in pixels).
    visibility: float | None = None
    visible_box: list[float] | None = None
    occlusion: int | None = None
    truncation: float | None = None
    ignore: bool = False


@dataclass
class ExportVideo:
    """A library video as an export sees it: its facts, its frames to write and its boxes."""

    id: int
    filename: str
    file_path: str
    kind: str
    width: int
    height: int
    fps: float
    frame_count: int
    fingerprint: str
    project: str
    #: Frames to write as images (sorted, 0-based).
    frames: list[int]
    #: Boxes to export, sorted by frame (outside keyframes only where the format keeps tracks).
    boxes: list[ExportBox]
    times: list[float] = field(default_factory=list)
    #: The project's camera fields (OpenLABEL metadata).
    camera: dict[str, Any] = field(default_factory=dict)
    #: Detection events of the chosen runs (OpenLABEL), with their confidence and ``run_id`` attribute.
    detections: list[ExportBox] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return safe_name(Path(self.filename).stem)

    @property
    def image_prefix(self) -> str:
        """What names this video's images: unique in a dataset even when two files share a name."""
        return f"{self.stem}_v{self.id}"

    def image_name(self, frame: int, suffix: str = ".jpg") -> str:
        return f"{self.image_prefix}_{frame:06d}{suffix}"

    def visible_boxes(self) -> list[ExportBox]:
        return [b for b in self.boxes if not b.outside]


def safe_name(text: str) -> str:
    """A file-name-safe form of ``text`` (letters, digits, ``-``, ``.``; the rest becomes ``_``)."""
    cleaned = re.sub(r"[^A-Za-z0-9.\-]+", "_", text).strip("._")
    return cleaned or "video"


_FRAME_NAME = re.compile(r"^(.*?)(\d+)$")


def split_frame_name(name: str) -> tuple[str, int] | None:
    """``clip_v3_000123.jpg`` → (``clip_v3``, 123); ``None`` when the name ends in no number."""
    stem = PurePosixPath(name.replace("\\", "/")).name
    for suffix in (*IMAGE_SUFFIXES, ".txt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    match = _FRAME_NAME.match(stem)
    if match is None:
        return None
    return match.group(1).rstrip("_-. "), int(match.group(2))


def image_item_names(name: str) -> list[str]:
    """The names an image's video may go by: the prefix before its frame number, then its folder."""
    names: list[str] = []
    split = split_frame_name(name)
    if split is not None and split[0]:
        names.append(split[0])
    parent = PurePosixPath(name.replace("\\", "/")).parent.name
    if parent and parent not in names:
        names.append(parent)
    return names


def check_relative(name: str, where: str) -> str:
    """Refuse a file name that leaves the dataset folder (absolute, a drive, or with ``..``)."""
    posix = name.replace("\\", "/")
    if (
        PurePosixPath(posix).is_absolute()
        or PureWindowsPath(name).drive
        or ".." in PurePosixPath(posix).parts
    ):
        raise FormatError(
            f"{where}: file name '{name}' points outside the dataset folder; refused.",
            hint="Dataset file names must be relative paths inside the dataset folder.",
        )
    return posix


def group_image_boxes(images: Iterable[tuple[str, list[SourceBox]]]) -> list[SourceItem]:
    """Gather images ``(name, boxes)`` into one item per video name (see the module docstring)."""
    items: dict[tuple[str, ...], SourceItem] = {}
    for name, boxes in images:
        key = tuple(image_item_names(name))
        item = items.setdefault(key, SourceItem(names=list(key)))
        split = split_frame_name(name)
        number = None if split is None else split[1]
        item.images[name] = number
        if number is not None:
            assert item.reviewed is not None
            item.reviewed.add(number)
        for box in boxes:
            box.frame = -1 if number is None else number
            box.image = name
            item.boxes.append(box)
    return list(items.values())


def scale_box(box: Box, space: tuple[float, float] | None, width: int, height: int) -> Box:
    """``box`` from its coordinate space into a ``width`` × ``height`` video's pixels."""
    if space is None or (space[0] == width and space[1] == height):
        return box
    sx = width / space[0]
    sy = height / space[1]
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def shown(value: object, limit: int = 40) -> str:
    """A value from a file as a message shows it: quoted, and cut short (never a file's content)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def parse_float(value: object, where: str, what: str, *, positive: bool = False) -> float:
    """``value`` (a number or its text) as a finite float, else a :class:`FormatError` naming it."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise FormatError(f"{where}: {what} {shown(value)} is not a number.") from None
    if not math.isfinite(number):
        raise FormatError(f"{where}: {what} {shown(value)} is not a finite number.")
    if positive and number <= 0:
        raise FormatError(f"{where}: {what} {shown(value)} must be greater than 0.")
    return number


def parse_int(value: object, where: str, what: str, *, minimum: int | None = None) -> int:
    """``value`` (a whole number, ``"12"`` or ``"12.0"``) as an int, else a :class:`FormatError`."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        real = parse_float(value, where, what)
        if not real.is_integer():
            raise FormatError(f"{where}: {what} {shown(value)} is not a whole number.")
        number = int(real)
    if minimum is not None and number < minimum:
        raise FormatError(f"{where}: {what} {number} is below {minimum}.")
    return number


def read_file_text(path: Path) -> str:
    """A dataset file's text (UTF-8, or UTF-16 with a byte-order mark), else a :class:`FormatError`."""
    return read_text(path, FormatError)


def check_inside(path: Path, root: Path) -> Path:
    """Refuse a file found in the dataset folder that is a link to a place outside it."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise FormatError(
            f"{path}: a link to a file outside the dataset folder {root}; refused.",
            hint="Copy the file into the dataset folder instead of linking to it.",
        )
    return path


def find_files(path: Path, pattern: str, what: str) -> list[Path]:
    """``path`` itself when it is a file, else every file matching ``pattern`` below the folder.

    ``what`` names the files for the error message ("COCO annotation file (*.json)").
    """
    if path.is_dir():
        found = sorted(check_inside(p, path) for p in path.rglob(pattern) if p.is_file())
        if not found:
            raise FormatError(f"{path}: no {what} in this folder.")
        return found
    check_regular_file(path, FormatError)
    return [path]
