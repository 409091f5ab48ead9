"""CVAT XML: "CVAT for video 1.1" export and import, "CVAT for images 1.1" import.

Video 1.1: one task (or one job of a task) per file, in interpolation mode; every annotation is a
``<track>`` of ``<box>`` shapes with ``frame``, ``outside``, ``occluded`` and ``keyframe``. The header
is ``<meta><task>`` (task export; ``<original_size>`` inside it, ``<segments>`` numbered in task
frames) or ``<meta><job>`` (job export; ``<start_frame>``/``<stop_frame>`` are the job's, and
``<original_size>`` stands beside ``<job>``). Frames in the file are frames of the task's source
video: the task or job covers ``start_frame`` … ``stop_frame`` every ``step`` frames
(``frame_filter`` ``step=3``). Importing onto the source video keeps these numbers
(``frames="source"``, the default); importing onto a video that holds only the task's frames
numbers them 0, 1, 2 … (``frames="task"``). A track is interpolated linearly between its keyframes
(:mod:`vru_desktop.annotations.tracks`); it ends at an ``outside`` keyframe, or else lasts to the
task's last frame, as in CVAT. Every ``<track>`` is its own track, even where two share an id (the
file's id is kept as ``source_track_id``). The frames of the task's segments (or of the job) are
marked reviewed. Shapes other than boxes (points, polylines, polygons) are counted and left out.
Boxes are scaled from ``original_size`` to the video's size when they differ.

Export writes ``<clip>_v<id>/annotations.xml`` per video: every track with all its frames
(keyframes flagged) and an ``outside`` keyframe after its last box; a box outside any track becomes
a one-frame track, as CVAT does for shapes in a video task.

Images 1.1: ``<image name width height>`` with ``<box>`` children; images pair with video frames by
file name (see :mod:`~vru_desktop.datasets.formats.common`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from vru_desktop.datasets.formats.coco import categories_for
from vru_desktop.datasets.formats.common import (
    ExportBox,
    ExportVideo,
    SourceBox,
    SourceDataset,
    SourceItem,
    check_relative,
    find_files,
    group_image_boxes,
    parse_float,
    parse_int,
)
from vru_desktop.errors import FormatError

NAME = "cvat"
ANNOTATION_FILE = "annotations.xml"


# -- export --------------------------------------------------------------------------------------
class CvatVideoWriter:
    needs_images = False

    def write(self, root: Path, videos: list[ExportVideo]) -> dict[str, int]:
        labels = categories_for(videos)
        counts = {"videos": 0, "tracks": 0, "boxes": 0}
        for video in videos:
            folder = root / video.image_prefix
            folder.mkdir(parents=True, exist_ok=True)
            document, tracks, boxes = _video_document(video, labels)
            ET.indent(document)
            document.write(folder / ANNOTATION_FILE, encoding="utf-8", xml_declaration=True)
            counts["videos"] += 1
            counts["tracks"] += tracks
            counts["boxes"] += boxes
        return counts


def _text(parent: ET.Element, tag: str, value: Any) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = "" if value is None else str(value)
    return element


def _video_document(video: ExportVideo, labels: list[str]) -> tuple[ET.ElementTree, int, int]:
    root = ET.Element("annotations")
    _text(root, "version", "1.1")
    meta = ET.SubElement(root, "meta")
    task = ET.SubElement(meta, "task")
    for tag, value in (
        ("id", video.id),
        ("name", video.filename),
        ("size", video.frame_count),
        ("mode", "interpolation"),
        ("overlap", 0),
        ("start_frame", 0),
        ("stop_frame", max(video.frame_count - 1, 0)),
        ("frame_filter", ""),
    ):
        _text(task, tag, value)
    labels_element = ET.SubElement(task, "labels")
    for name in labels:
        label = ET.SubElement(labels_element, "label")
        _text(label, "name", name)
        ET.SubElement(label, "attributes")
    size = ET.SubElement(task, "original_size")
    _text(size, "width", video.width)
    _text(size, "height", video.height)
    _text(meta, "source", video.filename)
    tracks = _tracks_of(video)
    n_boxes = 0
    for number, (label, shapes) in enumerate(tracks):
        track = ET.SubElement(root, "track", {"id": str(number), "label": label, "source": "manual"})
        for box in shapes:
            x1, y1, x2, y2 = box.box
            ET.SubElement(
                track,
                "box",
                {
                    "frame": str(box.frame),
                    "outside": str(int(box.outside)),
                    "occluded": str(int(box.occluded)),
                    "keyframe": str(int(box.is_keyframe or box.outside)),
                    "xtl": f"{x1:.2f}",
                    "ytl": f"{y1:.2f}",
                    "xbr": f"{x2:.2f}",
                    "ybr": f"{y2:.2f}",
                    "z_order": "0",
                },
            )
            n_boxes += 0 if box.outside else 1
    return ET.ElementTree(root), len(tracks), n_boxes


def _tracks_of(video: ExportVideo) -> list[tuple[str, list[ExportBox]]]:
    """Each track's shapes in frame order, ending with an outside keyframe where the video goes on."""
    by_track: dict[tuple[Any, ...], list[ExportBox]] = {}
    for number, box in enumerate(video.boxes):
        key = ("track", box.track_id) if box.track_id is not None else ("box", number)
        by_track.setdefault(key, []).append(box)
    tracks: list[tuple[str, list[ExportBox]]] = []
    for shapes in by_track.values():
        shapes.sort(key=lambda b: b.frame)
        last = shapes[-1]
        if not last.outside and last.frame + 1 < video.frame_count:
            shapes.append(
                ExportBox(
                    last.frame + 1, last.box, last.vru_type, last.track_id, is_keyframe=True, outside=True
                )
            )
        label = next((s.vru_type for s in shapes if not s.outside), shapes[0].vru_type)
        tracks.append((label, shapes))
    return tracks


# -- import --------------------------------------------------------------------------------------
def _load(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        raise FormatError(f"{path}: invalid XML at line {line}, column {column + 1}.") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot be read ({exc.strerror}).") from exc


def parse(path: Path, *, frames: str = "source") -> SourceDataset:
    """A CVAT for video or for images XML file, or a folder of them (one task per file)."""
    if frames not in ("source", "task"):
        raise ValueError("frames must be 'source' or 'task'")
    path = Path(path)
    dataset = SourceDataset(NAME, path, [], [])
    images: list[tuple[str, list[SourceBox]]] = []
    for file in find_files(path, "*.xml", "CVAT annotation file (*.xml)"):
        root = _load(file)
        if root.tag != "annotations":
            raise FormatError(
                f"{file}: not a CVAT file (the root element is <{root.tag}>, not <annotations>)."
            )
        for label in root.iterfind("meta/*/labels/label/name"):
            if label.text and label.text not in dataset.labels:
                dataset.labels.append(label.text)
        if root.find("track") is not None:
            dataset.items.append(_video_item(file, root, dataset, frames))
        else:
            images.extend(_image_entries(file, root, dataset))
    dataset.items.extend(group_image_boxes(images))
    return dataset


def _int(element: ET.Element, name: str, where: str) -> int:
    value = element.get(name)
    if value is None:
        raise FormatError(f"{where}: missing attribute '{name}'.")
    return parse_int(value, where, name, minimum=0)


def _flag(element: ET.Element, name: str, default: bool) -> bool:
    value = element.get(name)
    return default if value is None else value.strip().lower() in ("1", "true")


def _box_coords(element: ET.Element, where: str) -> tuple[float, float, float, float]:
    return (
        parse_float(element.get("xtl"), where, "xtl"),
        parse_float(element.get("ytl"), where, "ytl"),
        parse_float(element.get("xbr"), where, "xbr"),
        parse_float(element.get("ybr"), where, "ybr"),
    )


def _attributes(element: ET.Element) -> dict[str, Any]:
    return {a.get("name", ""): a.text or "" for a in element.iterfind("attribute")}


def _meta_int(task: ET.Element | None, tag: str, file: Path) -> int | None:
    if task is None:
        return None
    text = task.findtext(tag)
    if text is None or not text.strip():
        return None
    return parse_int(text, str(file), f"<{tag}>", minimum=0)


def _step(task: ET.Element | None, file: Path) -> int:
    text = (task.findtext("frame_filter") if task is not None else None) or ""
    if not text.strip():
        return 1
    match = re.fullmatch(r"\s*step\s*=\s*(\d+)\s*", text)
    if match is None or int(match.group(1)) < 1:
        raise FormatError(f"{file}: <frame_filter> '{text}' is not understood (expected 'step=N').")
    return int(match.group(1))


def _video_item(file: Path, root: ET.Element, dataset: SourceDataset, frames: str) -> SourceItem:
    meta = root.find("meta")
    task = root.find("meta/task")
    header = task if task is not None else root.find("meta/job")
    start = _meta_int(header, "start_frame", file) or 0
    step = _step(header, file)
    size = _meta_int(header, "size", file)
    stop = _meta_int(header, "stop_frame", file)
    if stop is None:
        stop = start + ((size or 1) - 1) * step
    if stop < start:
        raise FormatError(f"{file}: <stop_frame> {stop} is before <start_frame> {start}.")
    # A task keeps <original_size> inside <task>; a job export puts it beside <job> in <meta>.
    width = _meta_int(header, "original_size/width", file) or _meta_int(meta, "original_size/width", file)
    height = _meta_int(header, "original_size/height", file) or _meta_int(meta, "original_size/height", file)
    space = (float(width), float(height)) if width and height else None

    def to_frame(source_frame: int, where: str) -> int:
        if frames == "source":
            return source_frame
        if (source_frame - start) % step:
            raise FormatError(
                f"{where}: frame {source_frame} is not one of the task's frames (every {step})."
            )
        return (source_frame - start) // step

    names = [
        root.findtext("meta/source") or "",
        (header.findtext("source") if header is not None else None) or "",
        (task.findtext("name") if task is not None else None) or "",
    ]
    item = SourceItem(names=list(dict.fromkeys(n for n in names if n)), interpolate=True)
    task_frames = range(start, stop + 1, step)
    if task is not None and task.find("segments/segment") is not None:
        item.reviewed = {to_frame(f, str(file)) for f in _segment_frames(task, task_frames, file)}
    else:
        item.reviewed = task_frames if frames == "source" else range(len(task_frames))
    item.frame_count = to_frame(task_frames[-1], str(file)) + 1
    item.hold_until = item.frame_count - 1
    for ordinal, track in enumerate(root.iterfind("track")):
        track_id = track.get("id", "")
        label = track.get("label", "")
        where_track = f'{file}: <track id="{track_id}">'
        shapes = [child for child in track if child.tag != "attribute"]
        boxes = [s for s in shapes if s.tag == "box"]
        if len(boxes) < len(shapes):
            dataset.skip("tracks of points, polylines or polygons (not boxes)")
            continue
        for number, shape in enumerate(boxes):
            where = f"{where_track} <box> #{number + 1}"
            if not _flag(shape, "keyframe", True) and not _flag(shape, "outside", False):
                continue  # an interpolated frame: the keyframes give it back
            item.boxes.append(
                SourceBox(
                    frame=to_frame(_int(shape, "frame", where), where),
                    box=_box_coords(shape, where),
                    label=label,
                    space=space,
                    # Each <track> is its own track, even where two share an id.
                    track=str(ordinal),
                    outside=_flag(shape, "outside", False),
                    occluded=_flag(shape, "occluded", False),
                    attributes={**_attributes(shape), "source_track_id": track_id},
                )
            )
    return item


def _segment_frames(task: ET.Element, task_frames: range, file: Path) -> list[int]:
    """The task's frames that its segments (jobs) cover.

    Segment ``start``/``stop`` count the task's frames (0 … size-1), not the source video's."""
    segments = task.findall("segments/segment")
    covered: set[int] = set()
    for number, segment in enumerate(segments, start=1):
        first = _meta_int(segment, "start", file)
        last = _meta_int(segment, "stop", file)
        if first is None or last is None or not 0 <= first <= last < len(task_frames):
            raise FormatError(
                f"{file}: <segment> #{number} covers {first}…{last}, outside the task's "
                f"{len(task_frames)} frames."
            )
        covered.update(task_frames[first : last + 1])
    return sorted(covered)


def _image_entries(file: Path, root: ET.Element, dataset: SourceDataset) -> list[tuple[str, list[SourceBox]]]:
    entries: list[tuple[str, list[SourceBox]]] = []
    for number, image in enumerate(root.iterfind("image")):
        name = image.get("name")
        where_image = f"{file}: <image> #{number + 1}"
        if name is None:
            raise FormatError(f"{where_image}: missing attribute 'name'.")
        check_relative(name, where_image)
        width = _int(image, "width", where_image) if image.get("width") else 0
        height = _int(image, "height", where_image) if image.get("height") else 0
        space = (float(width), float(height)) if width and height else None
        boxes: list[SourceBox] = []
        for shape in image:
            if shape.tag != "box":
                dataset.skip("shapes that are not boxes (points, polylines, polygons, tags)")
                continue
            where = f"{where_image} ('{name}') <box> #{len(boxes) + 1}"
            boxes.append(
                SourceBox(
                    frame=0,
                    box=_box_coords(shape, where),
                    label=shape.get("label", ""),
                    space=space,
                    occluded=_flag(shape, "occluded", False),
                    attributes=_attributes(shape),
                )
            )
        entries.append((name, boxes))
    return entries
