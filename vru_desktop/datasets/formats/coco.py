"""COCO object detection (instances JSON): export and import.

Export layout: ``annotations.json`` and ``images/<clip>_v<video id>_<frame>.jpg``. Category ids are
1-based in the order of the VRU types. Each image carries ``video_id``, ``video_file``,
``video_fingerprint``, ``frame_number`` (0-based) and ``timestamp``; each annotation carries the
track id and occlusion in ``attributes`` (the Datumaro/CVAT convention). ``iscrowd`` marks crowd
boxes (matched detections count as neither true nor false positives).

Export and import also carry the fields pedestrian benchmarks add to COCO annotations (as the Caltech,
CityPersons, KAIST and EuroCity Persons evaluation code reads them): ``ignore``, ``vis_ratio`` (or
``visibility``), ``vis_bbox`` (the visible part, ``[x, y, w, h]``; its area over the box's gives the
visibility when ``vis_ratio`` is absent), ``occlusion`` (level 0/1/2 or none/partial/heavy) and
``truncation`` (0…1).

Import: images with ``video_fingerprint`` and ``frame_number`` (this program's exports) pair exactly;
others pair by file name (see :mod:`~vru_desktop.datasets.formats.common`). Boxes are scaled from the
image's size to the video's when they differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    read_file_text,
    shown,
)
from vru_desktop.errors import FormatError
from vru_desktop.evaluation.protocols import occlusion_index
from vru_desktop.store.models import VRU_TYPES

NAME = "coco"
ANNOTATION_FILE = "annotations.json"
IMAGES_DIR = "images"


def categories_for(videos: list[ExportVideo]) -> list[str]:
    """The VRU types in key order, then any project-specific types found in the boxes."""
    names = list(VRU_TYPES)
    for video in videos:
        for box in video.boxes:
            if box.vru_type not in names:
                names.append(box.vru_type)
    return names


class CocoWriter:
    needs_images = True

    def image_path(self, root: Path, video: ExportVideo, frame: int) -> Path:
        return root / IMAGES_DIR / video.image_name(frame)

    def write(self, root: Path, videos: list[ExportVideo]) -> dict[str, int]:
        names = categories_for(videos)
        category_ids = {name: number for number, name in enumerate(names, start=1)}
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for video in videos:
            image_ids: dict[int, int] = {}
            for frame in video.frames:
                image_ids[frame] = len(images) + 1
                images.append(
                    {
                        "id": image_ids[frame],
                        "file_name": video.image_name(frame),
                        "width": video.width,
                        "height": video.height,
                        "video_id": video.id,
                        "video_file": video.filename,
                        "video_fingerprint": video.fingerprint,
                        "frame_number": frame,
                        "timestamp": video.times[frame] if frame < len(video.times) else None,
                    }
                )
            for box in video.visible_boxes():
                image_id = image_ids.get(box.frame)
                if image_id is None:
                    continue
                x1, y1, x2, y2 = box.box
                w, h = x2 - x1, y2 - y1
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": category_ids[box.vru_type],
                        "bbox": [x1, y1, w, h],
                        "area": w * h,
                        "iscrowd": int(box.crowd),
                        "attributes": {
                            "track_id": box.track_id,
                            "occluded": box.occluded,
                            "truncated": box.truncated,
                            "keyframe": box.is_keyframe,
                        },
                        **_pedestrian_export(box, h),
                    }
                )
        document = {
            "info": {"description": "VRU Desktop export", "version": "1.0"},
            "licenses": [],
            "categories": [
                {"id": number, "name": name, "supercategory": "vru"} for name, number in category_ids.items()
            ],
            "images": images,
            "annotations": annotations,
        }
        (root / ANNOTATION_FILE).write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
        return {"images": len(images), "annotations": len(annotations), "categories": len(names)}


def load_json(path: Path) -> Any:
    text = read_file_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."
        ) from exc
    except RecursionError:
        raise FormatError(f"{path}: JSON nested too deeply to be a dataset.") from None


def find_annotation_files(path: Path) -> list[Path]:
    """``path`` itself, or every JSON file below a dataset folder (``annotations/*.json`` …)."""
    return find_files(path, "*.json", "annotation file (*.json)")


def _field(record: Any, key: str, where: str) -> Any:
    if not isinstance(record, dict) or key not in record:
        raise FormatError(f"{where}: missing '{key}'.")
    return record[key]


def _list(document: dict[str, Any], key: str, where: str) -> list[Any]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise FormatError(f"{where}: '{key}' must be a list, not {shown(value)}.")
    return value


def parse(path: Path) -> SourceDataset:
    path = Path(path)
    dataset = SourceDataset(NAME, path, [], [])
    fingerprinted: dict[str, SourceItem] = {}
    named: list[tuple[str, list[SourceBox]]] = []
    for file in find_annotation_files(path):
        document = load_json(file)
        if not isinstance(document, dict) or "images" not in document or "annotations" not in document:
            raise FormatError(f"{file}: not a COCO instances file (no 'images' and 'annotations').")
        categories: dict[int, str] = {}
        for number, category in enumerate(_list(document, "categories", str(file))):
            where = f"{file}: categories[{number}]"
            categories[parse_int(_field(category, "id", where), where, "id")] = str(
                _field(category, "name", where)
            )
        for name in categories.values():
            if name not in dataset.labels:
                dataset.labels.append(name)
        images: dict[int, tuple[dict[str, Any], list[SourceBox]]] = {}
        for number, image in enumerate(_list(document, "images", str(file))):
            where = f"{file}: images[{number}]"
            image_id = parse_int(_field(image, "id", where), where, "id")
            check_relative(str(_field(image, "file_name", where)), where)
            if "width" in image:
                image["width"] = parse_float(image["width"], where, "width", positive=True)
                image["height"] = parse_float(_field(image, "height", where), where, "height", positive=True)
            if "frame_number" in image:
                image["frame_number"] = parse_int(image["frame_number"], where, "frame_number", minimum=0)
            images[image_id] = (image, [])
        for number, ann in enumerate(_list(document, "annotations", str(file))):
            where = f"{file}: annotations[{number}]"
            image_id = parse_int(_field(ann, "image_id", where), where, "image_id")
            if image_id not in images:
                raise FormatError(f"{where}: image_id {image_id} is not in 'images'.")
            category_id = parse_int(_field(ann, "category_id", where), where, "category_id")
            if category_id not in categories:
                raise FormatError(f"{where}: category_id {category_id} is not in 'categories'.")
            bbox = _field(ann, "bbox", where)
            if not isinstance(bbox, list) or len(bbox) != 4:
                raise FormatError(f"{where}: 'bbox' must be [x, y, width, height].")
            x, y, w, h = (parse_float(v, where, f"bbox[{i}]") for i, v in enumerate(bbox))
            if w <= 0 or h <= 0:
                dataset.skip("empty boxes (zero width or height)")
                continue
            image = images[image_id][0]
            attributes = ann.get("attributes") or {}
            if not isinstance(attributes, dict):
                raise FormatError(f"{where}: 'attributes' must be an object, not {shown(attributes)}.")
            attributes = dict(attributes)
            track = attributes.pop("track_id", None)
            size = (image["width"], image["height"]) if "width" in image else None
            images[image_id][1].append(
                SourceBox(
                    frame=0,
                    box=(x, y, x + w, y + h),
                    label=categories[category_id],
                    space=size,
                    track=None if track is None else str(track),
                    crowd=bool(ann.get("iscrowd", 0)),
                    occluded=bool(attributes.pop("occluded", False)),
                    truncated=bool(attributes.pop("truncated", False)),
                    keyframe=bool(attributes.pop("keyframe", True)),
                    attributes=attributes,
                    **_pedestrian_fields(ann, where),
                )
            )
        for image, boxes in images.values():
            fingerprint = image.get("video_fingerprint")
            if isinstance(fingerprint, str) and fingerprint and "frame_number" in image:
                item = fingerprinted.setdefault(
                    fingerprint,
                    SourceItem(names=[str(image.get("video_file", ""))], fingerprint=fingerprint),
                )
                frame = image["frame_number"]
                assert isinstance(item.reviewed, set)
                item.reviewed.add(frame)
                for box in boxes:
                    box.frame = frame
                    item.boxes.append(box)
            else:
                name = str(image["file_name"])
                named.append((name, boxes))
    dataset.items = [*fingerprinted.values(), *group_image_boxes(named)]
    return dataset


def _pedestrian_export(box: ExportBox, height: float) -> dict[str, Any]:
    """The pedestrian-benchmark fields of a box, as CityPersons-style evaluation code reads them."""
    out: dict[str, Any] = {"ignore": int(box.ignore), "height": height}
    if box.visibility is not None:
        out["vis_ratio"] = box.visibility
    if box.visible_box is not None:
        x1, y1, x2, y2 = box.visible_box
        out["vis_bbox"] = [x1, y1, x2 - x1, y2 - y1]
    if box.occlusion is not None:
        out["occlusion"] = box.occlusion
    if box.truncation is not None:
        out["truncation"] = box.truncation
    return out


def _pedestrian_fields(ann: dict[str, Any], where: str) -> dict[str, Any]:
    """``SourceBox`` keyword arguments from an annotation's pedestrian-benchmark fields."""
    out: dict[str, Any] = {"ignore": bool(ann.get("ignore", 0))}
    try:
        visible = ann.get("vis_bbox")
        if visible is not None:
            vx, vy, vw, vh = (float(v) for v in visible)
            if vw > 0 and vh > 0:
                out["visible_box"] = (vx, vy, vx + vw, vy + vh)
        ratio = ann.get("vis_ratio", ann.get("visibility"))
        if ratio is None and "visible_box" in out:
            w, h = float(ann["bbox"][2]), float(ann["bbox"][3])
            ratio = min(vw * vh / (w * h), 1.0)
        if ratio is not None:
            out["visibility"] = float(ratio)
            if not 0 <= out["visibility"] <= 1:
                raise FormatError(f"{where}: visibility {ratio} is not between 0 and 1.")
        if ann.get("truncation") is not None:
            out["truncation"] = float(ann["truncation"])
    except (TypeError, ValueError):
        raise FormatError(
            f"{where}: 'vis_bbox', 'vis_ratio' or 'truncation' holds a value that is not a number."
        ) from None
    level = ann.get("occlusion")
    if level is not None:
        index = occlusion_index(level) if isinstance(level, str | int) and not isinstance(level, bool) else -1
        if index < 0:
            raise FormatError(f"{where}: occlusion {level!r} is not 0, 1, 2, none, partial or heavy.")
        out["occlusion"] = index
    return out
