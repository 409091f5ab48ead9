"""Label Studio JSON export (the full "JSON" flavour: a list of tasks): import.

Coordinates are percentages of the image (``x``, ``y``, ``width``, ``height``); a rotated rectangle
(``rotation`` in degrees about its top-left corner) becomes the axis-aligned box around it, with the
angle kept as an attribute. Per task one annotation is taken: the one marked ``ground_truth``, else
the most recently updated one; cancelled annotations are skipped. Results that are not rectangles
(polygons, choices, text …) are counted and left out.

Image tasks pair with video frames by the image's file name (see ``formats.common``). Video tasks
(``videorectangle`` results) are tracks: ``value.sequence`` lists keyframes ``{frame, enabled, x, y,
width, height}`` with 1-based frames. As Label Studio draws them, the box is interpolated linearly
from an enabled keyframe to the next keyframe; a keyframe with ``enabled: false`` shows its box on
its own frame and ends the segment (nothing until the next keyframe); after the last enabled
keyframe the box holds still to the end of the video (``framesCount``). In this program's terms:
each keyframe is a keyframe, a disabled one is followed by an outside keyframe, and the track holds
to the last frame. Every frame of an annotated video is marked reviewed.
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath
from typing import Any

from vru_desktop.datasets.formats.coco import find_annotation_files, load_json
from vru_desktop.datasets.formats.common import (
    SourceBox,
    SourceDataset,
    SourceItem,
    group_image_boxes,
    parse_float,
    parse_int,
    shown,
)
from vru_desktop.errors import FormatError

NAME = "label-studio"
PERCENT = (100.0, 100.0)


def _number(value: dict[str, Any], key: str, where: str) -> float:
    if key not in value:
        raise FormatError(f"{where}: missing '{key}'.")
    return parse_float(value[key], where, key)


def _rect(
    value: dict[str, Any], where: str, size: tuple[float, float] | None
) -> tuple[tuple[float, ...], Any]:
    """The axis-aligned box (in percent) of a possibly rotated Label Studio rectangle."""
    x, y = _number(value, "x", where), _number(value, "y", where)
    w, h = _number(value, "width", where), _number(value, "height", where)
    rotation = parse_float(value.get("rotation") or 0.0, where, "rotation")
    if not rotation:
        return (x, y, x + w, y + h), None
    sx, sy = size if size else PERCENT
    px, py, pw, ph = x * sx / 100, y * sy / 100, w * sx / 100, h * sy / 100
    c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    corners = [
        (px + dx * c - dy * s, py + dx * s + dy * c) for dx, dy in ((0, 0), (pw, 0), (pw, ph), (0, ph))
    ]
    xs = [p[0] * 100 / sx for p in corners]
    ys = [p[1] * 100 / sy for p in corners]
    return (min(xs), min(ys), max(xs), max(ys)), rotation


def _label(value: dict[str, Any], where: str) -> str:
    for key in ("rectanglelabels", "labels"):
        labels = value.get(key)
        if isinstance(labels, list) and labels:
            return str(labels[0])
    raise FormatError(f"{where}: the rectangle has no label.")


def _chosen_annotation(task: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    candidates = [
        (number, a)
        for number, a in enumerate(task.get("annotations") or [])
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if not candidates:
        return None
    marked = [c for c in candidates if c[1].get("ground_truth")]
    pool = marked or candidates
    return max(pool, key=lambda c: (str(c[1].get("updated_at") or c[1].get("created_at") or ""), c[0]))


def _media_url(task: dict[str, Any], key: Any) -> str | None:
    data = task.get("data")
    if not isinstance(data, dict):
        return None
    if isinstance(key, str) and isinstance(data.get(key), str):
        return data[key]
    for candidate in ("video", "image"):
        if isinstance(data.get(candidate), str):
            return data[candidate]
    return None


def parse(path: Path) -> SourceDataset:
    path = Path(path)
    dataset = SourceDataset(NAME, path, [], [])
    images: list[tuple[str, list[SourceBox]]] = []
    videos: dict[str, SourceItem] = {}
    for file in find_annotation_files(path):
        document = load_json(file)
        tasks = document if isinstance(document, list) else [document]
        for number, task in enumerate(tasks):
            where_task = f"{file}: task #{number + 1}"
            if not isinstance(task, dict) or "data" not in task:
                raise FormatError(f"{where_task}: not a Label Studio task (no 'data').")
            where_task += f" (id {shown(task.get('id'))})"
            if not isinstance(task.get("annotations") or [], list):
                raise FormatError(f"{where_task}: 'annotations' must be a list.")
            chosen = _chosen_annotation(task)
            if chosen is None:
                dataset.skip("tasks without a usable annotation")
                continue
            index, annotation = chosen
            results = annotation.get("result")
            if not isinstance(results, list):
                raise FormatError(f"{where_task}: annotations[{index}] has no 'result' list.")
            boxes: list[SourceBox] = []
            has_video = False
            for r_number, result in enumerate(results):
                where = f"{where_task}: annotations[{index}].result[{r_number}]"
                kind = str(result.get("type", "")).lower() if isinstance(result, dict) else ""
                value = result.get("value") if isinstance(result, dict) else None
                if kind not in ("rectanglelabels", "videorectangle") or not isinstance(value, dict):
                    dataset.skip("results that are not rectangles (polygons, choices, text …)")
                    continue
                if kind == "videorectangle":
                    has_video = True
                    url = _media_url(task, result.get("to_name")) or where_task
                    item = videos.setdefault(url, _video_item(url))
                    _add_video_track(item, result, value, f"{annotation.get('id', index)}:{r_number}", where)
                    continue
                size = None
                if result.get("original_width") and result.get("original_height"):
                    size = (
                        parse_float(result["original_width"], where, "original_width", positive=True),
                        parse_float(result["original_height"], where, "original_height", positive=True),
                    )
                box, rotation = _rect(value, where, size)
                boxes.append(
                    SourceBox(
                        frame=0,
                        box=box,  # type: ignore[arg-type]
                        label=_label(value, where),
                        space=PERCENT,
                        attributes={} if rotation is None else {"rotation": rotation},
                    )
                )
            if has_video or (results and not boxes):
                continue  # a video's tracks are in place; an image with only other shapes is left out
            media = _media_url(task, None)
            if media is None:
                raise FormatError(f"{where_task}: no image or video in 'data'.")
            name = PurePosixPath(media.split("?")[0]).name
            images.append((name, boxes))
    dataset.items = [*videos.values(), *group_image_boxes(images)]
    dataset.labels = dataset.used_labels()
    return dataset


def _video_item(url: str) -> SourceItem:
    name = PurePosixPath(url.split("?")[0]).name
    return SourceItem(
        names=[n for n in (PurePosixPath(name).stem, name) if n], reviewed=None, interpolate=True
    )


def _add_video_track(
    item: SourceItem, result: dict[str, Any], value: dict[str, Any], key: str, where: str
) -> None:
    sequence = value.get("sequence")
    if not isinstance(sequence, list) or not sequence:
        raise FormatError(f"{where}: a video rectangle needs a non-empty 'sequence' of keyframes.")
    label = _label(value, where)
    frames_count = value.get("framesCount")
    if isinstance(frames_count, int) and frames_count > 0:
        item.frame_count = max(item.frame_count or 0, frames_count)
        item.hold_until = item.frame_count - 1
    keys = []
    for k_number, key_frame in enumerate(sequence):
        where_key = f"{where}.sequence[{k_number}]"
        if not isinstance(key_frame, dict):
            raise FormatError(f"{where_key}: not a keyframe object.")
        if "frame" not in key_frame:
            raise FormatError(f"{where_key}: missing 'frame'.")
        frame = parse_int(key_frame["frame"], where_key, "frame")
        if frame < 1:
            raise FormatError(f"{where_key}: frame {frame}; Label Studio frames start at 1.")
        box, rotation = _rect(key_frame, where_key, None)
        keys.append((frame - 1, box, bool(key_frame.get("enabled", True)), rotation))
    keys.sort(key=lambda k: k[0])
    for position, (frame, box, enabled, rotation) in enumerate(keys):
        attributes = {} if rotation is None else {"rotation": rotation}
        item.boxes.append(SourceBox(frame, box, label, PERCENT, key, attributes=attributes))  # type: ignore[arg-type]
        if enabled:
            continue
        following = keys[position + 1][0] if position + 1 < len(keys) else None
        end_of_video = item.frame_count if item.frame_count else None
        if (following is None and (end_of_video is None or frame + 1 < end_of_video)) or (
            following is not None and following > frame + 1
        ):
            item.boxes.append(SourceBox(frame + 1, box, label, PERCENT, key, outside=True))  # type: ignore[arg-type]
