"""Ultralytics / Darknet YOLO: export (Ultralytics layout) and import (both layouts).

Export layout: ``data.yaml`` (``train: images/train``, ``val: images/val``, ``names``), frames in
``images/{train,val}/`` and one label file per frame in ``labels/{train,val}/`` with
``class cx cy w h`` normalised to the frame size. Class ids are 0-based in the order of the VRU types.
The train/val split is by video, so a video never lands in both: videos are ordered by a hash of
their content fingerprint and the first fifth (at least one when there are two or more) is val.
With a single video, ``val`` points at the train images. YOLO has no crowd boxes; they are left out.

Import: class names from ``data.yaml`` (``names`` as a list or a mapping), ``obj.names``/``obj.data``
(Darknet, CVAT, Datumaro) or ``classes.txt`` (Label Studio); label files are the ``*.txt`` files in
the dataset's sub-folders (``labels/train``, ``train/labels``, ``obj_train_data``, ``Annotations``).
Each label file pairs with the video frame of the image with the same name (see ``formats.common``).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from vru_desktop.datasets.formats.coco import categories_for
from vru_desktop.datasets.formats.common import (
    ExportVideo,
    SourceBox,
    SourceDataset,
    check_inside,
    check_relative,
    group_image_boxes,
    parse_float,
    parse_int,
    read_file_text,
    shown,
)
from vru_desktop.errors import FormatError
from vru_desktop.files import check_regular_file

NAME = "yolo"
VAL_FRACTION = 0.2
NAME_FILES = ("data.yaml", "data.yml", "obj.data", "obj.names", "classes.txt")


def split_videos(videos: list[ExportVideo]) -> dict[int, str]:
    """Video id → "train" or "val", by video and deterministic (the same videos give the same split)."""
    ordered = sorted(videos, key=lambda v: hashlib.sha1(v.fingerprint.encode()).hexdigest())
    n_val = 0 if len(ordered) < 2 else max(1, math.floor(len(ordered) * VAL_FRACTION))
    return {video.id: ("val" if rank < n_val else "train") for rank, video in enumerate(ordered)}


class YoloWriter:
    needs_images = True

    def __init__(self) -> None:
        self._split: dict[int, str] = {}

    def prepare(self, videos: list[ExportVideo]) -> None:
        self._split = split_videos(videos)

    def image_path(self, root: Path, video: ExportVideo, frame: int) -> Path:
        return root / "images" / self._split[video.id] / video.image_name(frame)

    def write(self, root: Path, videos: list[ExportVideo]) -> dict[str, int]:
        import yaml

        if not self._split:
            self.prepare(videos)
        names = categories_for(videos)
        class_ids = {name: number for number, name in enumerate(names)}
        counts = {
            "images": 0,
            "labels": 0,
            "boxes": 0,
            "crowd_left_out": 0,
            "train_videos": 0,
            "val_videos": 0,
        }
        for video in videos:
            split = self._split[video.id]
            counts[f"{split}_videos"] += 1
            folder = root / "labels" / split
            folder.mkdir(parents=True, exist_ok=True)
            by_frame: dict[int, list[str]] = {frame: [] for frame in video.frames}
            for box in video.visible_boxes():
                if box.frame not in by_frame:
                    continue
                if box.crowd:
                    counts["crowd_left_out"] += 1
                    continue
                x1, y1, x2, y2 = box.box
                cx = (x1 + x2) / 2 / video.width
                cy = (y1 + y2) / 2 / video.height
                w = (x2 - x1) / video.width
                h = (y2 - y1) / video.height
                by_frame[box.frame].append(f"{class_ids[box.vru_type]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
                counts["boxes"] += 1
            for frame, lines in by_frame.items():
                (folder / video.image_name(frame, ".txt")).write_text(
                    "".join(line + "\n" for line in lines), encoding="utf-8"
                )
                counts["images"] += 1
                counts["labels"] += 1
        (root / "images" / "train").mkdir(parents=True, exist_ok=True)
        has_val = "val" in self._split.values()
        if has_val:
            (root / "images" / "val").mkdir(parents=True, exist_ok=True)
        document = {
            "train": "images/train",
            "val": "images/val" if has_val else "images/train",
            "nc": len(names),
            "names": dict(enumerate(names)),
        }
        (root / "data.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return counts


def _read_names_file(path: Path) -> list[str]:
    return [line.strip() for line in read_file_text(path).splitlines() if line.strip()]


def _load_yaml(path: Path) -> Any:
    """A YAML document without aliases: ``*name`` references can grow a tiny file beyond any memory."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise FormatError(
                    f"{path}: line {mark.line + 1}: YAML aliases (*name) are not accepted.",
                    hint="Write the values out in full.",
                )
            return super().compose_node(parent, index)

    try:
        return yaml.load(read_file_text(path), Loader=Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f" at line {mark.line + 1}" if mark is not None else ""
        raise FormatError(f"{path}: invalid YAML{place}.") from exc
    except RecursionError:
        raise FormatError(f"{path}: YAML nested too deeply to be a class list.") from None


def _names_from_yaml(path: Path) -> list[str]:
    document = _load_yaml(path)
    names = document.get("names") if isinstance(document, dict) else None
    values = names if isinstance(names, list) else list(names.values()) if isinstance(names, dict) else []
    for value in values:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise FormatError(f"{path}: class name {shown(value)} is not a name.")
    if isinstance(names, list):
        return [str(n) for n in names]
    if isinstance(names, dict):
        numbered = {parse_int(k, f"{path}: names", "class number"): v for k, v in names.items()}
        if sorted(numbered) != list(range(len(names))):
            raise FormatError(f"{path}: 'names' must number the classes 0, 1, 2 … without gaps.")
        return [str(numbered[k]) for k in range(len(names))]
    raise FormatError(f"{path}: no 'names' list of classes.")


def _names_from_obj_data(path: Path, root: Path) -> list[str]:
    """Class names of a Darknet ``obj.data``; its image lists are checked for paths leaving the folder."""
    entries: dict[str, str] = {}
    for number, line in enumerate(read_file_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            raise FormatError(f"{path}:{number}: expected 'key = value'.")
        key, value = line.split("=", 1)
        entries[key.strip()] = value.strip()
    if "names" not in entries:
        raise FormatError(f"{path}: no 'names' entry.")
    names = _read_names_file(_darknet_path(root, entries["names"], f"{path}: names"))
    for key in ("train", "valid"):
        if key in entries:
            list_file = _darknet_path(root, entries[key], f"{path}: {key}")
            for number, line in enumerate(_read_names_file(list_file), start=1):
                check_relative(line, f"{list_file}:{number}")
    return names


def _darknet_path(root: Path, value: str, where: str) -> Path:
    """Darknet paths are written as ``data/<file>`` from the folder above the dataset."""
    relative = check_relative(value, where)
    for candidate in (root / relative, root / Path(relative).name):
        if candidate.is_file():
            return check_inside(candidate, root)
    raise FormatError(f"{where}: file '{value}' not found in {root}.")


def parse(path: Path) -> SourceDataset:
    path = Path(path)
    root = path.parent if path.is_file() else path
    if not root.is_dir():
        check_regular_file(path, FormatError)
    names: list[str] | None = None
    if path.is_file():
        names = _names_from_yaml(path) if path.suffix in (".yaml", ".yml") else None
    for file_name in NAME_FILES:
        if names is not None:
            break
        candidate = root / file_name
        if not candidate.is_file():
            continue
        check_inside(candidate, root)
        if file_name == "obj.data":
            names = _names_from_obj_data(candidate, root)
        elif candidate.suffix in (".yaml", ".yml"):
            names = _names_from_yaml(candidate)
        else:
            names = _read_names_file(candidate)
    if names is None:
        raise FormatError(
            f"{root}: no class names (data.yaml, obj.names, obj.data or classes.txt).",
            hint="Point at the folder that holds the YOLO dataset's class list.",
        )
    label_files = sorted(
        check_inside(p, root) for p in root.rglob("*.txt") if p.parent != root and p.is_file()
    )
    images: list[tuple[str, list[SourceBox]]] = []
    dataset = SourceDataset(NAME, path, [], list(names))
    for label_file in label_files:
        relative = label_file.relative_to(root).as_posix()
        images.append((relative, _read_labels(label_file, names)))
    if not images:
        raise FormatError(f"{root}: no YOLO label files (*.txt) in its sub-folders.")
    dataset.items = group_image_boxes(images)
    return dataset


def _read_labels(path: Path, names: list[str]) -> list[SourceBox]:
    boxes: list[SourceBox] = []
    for number, line in enumerate(read_file_text(path).splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"{path}:{number}"
        if len(parts) != 5:
            raise FormatError(
                f"{where}: expected 'class cx cy w h' (5 values), found {len(parts)}.",
                hint="Polygon (segmentation) labels are not boxes; export the dataset as boxes.",
            )
        cls = parse_int(parts[0], where, "class")
        cx, cy, w, h = (
            parse_float(v, where, what) for v, what in zip(parts[1:], ("cx", "cy", "w", "h"), strict=True)
        )
        if not 0 <= cls < len(names):
            raise FormatError(f"{where}: class {cls} is not in the class list ({len(names)} classes).")
        boxes.append(
            SourceBox(
                frame=0, box=(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), label=names[cls], space=(1, 1)
            )
        )
    return boxes
