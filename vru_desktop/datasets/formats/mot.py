"""MOTChallenge ground truth: export and import.

``gt/gt.txt`` rows are ``frame,id,x,y,w,h,consider,class,visibility`` with 1-based frames and
top-left pixel boxes. Class numbers are MOT17's (1 pedestrian, 2 person on vehicle, 7 static
person, 8 distractor …) unless ``gt/labels.txt`` names them (CVAT's "MOT 1.1" layout: the class is
the 1-based line number in labels.txt). This program writes the labels.txt layout, with the VRU
types in key order, so pedestrian is class 1 in both readings.

The consider flag follows the COCO crowd semantics: a row with ``consider`` 0 is imported as a crowd
(ignore) box, so a detection matched to it is neither a true nor a false positive, as in the MOT17
evaluation; crowd boxes are exported with ``consider`` 0. Classes that are no road users (car,
occluder, distractor, reflection …) map to nothing by default and are left out. Visibility is kept
as an attribute; a box with visibility 0.5 or less is occluded.

A MOT sequence is annotated on every frame, so all of its frames (``seqLength`` in seqinfo.ini, up
to the video's length) are marked reviewed. Frame k of the sequence is frame k-1 of the video.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from vru_desktop.datasets.formats.coco import categories_for
from vru_desktop.datasets.formats.common import (
    ExportVideo,
    SourceBox,
    SourceDataset,
    SourceItem,
    check_inside,
    find_files,
    parse_float,
    parse_int,
    read_file_text,
)
from vru_desktop.errors import FormatError
from vru_desktop.files import read_ini

NAME = "mot"
MOT17_CLASSES = {
    1: "pedestrian",
    2: "person_on_vehicle",
    3: "car",
    4: "bicycle",
    5: "motorbike",
    6: "non_motorized_vehicle",
    7: "static_person",
    8: "distractor",
    9: "occluder",
    10: "occluder_on_ground",
    11: "occluder_full",
    12: "reflection",
}
OCCLUDED_VISIBILITY = 0.5


class MotWriter:
    """Writes ``<clip>_v<id>/{gt/gt.txt, gt/labels.txt, seqinfo.ini}`` and, with images, ``img1/``."""

    def __init__(self, images: bool = False) -> None:
        self.needs_images = images

    def image_path(self, root: Path, video: ExportVideo, frame: int) -> Path:
        return root / video.image_prefix / "img1" / f"{frame + 1:06d}.jpg"

    def write(self, root: Path, videos: list[ExportVideo]) -> dict[str, int]:
        labels = categories_for(videos)
        classes = {name: number for number, name in enumerate(labels, start=1)}
        counts = {"sequences": 0, "rows": 0}
        for video in videos:
            folder = root / video.image_prefix
            (folder / "gt").mkdir(parents=True, exist_ok=True)
            next_id = max((b.track_id or 0 for b in video.boxes), default=0) + 1
            rows: list[tuple[int, int, str]] = []
            for box in video.visible_boxes():
                if box.track_id is None:
                    track_id, next_id = next_id, next_id + 1
                else:
                    track_id = box.track_id
                x1, y1, x2, y2 = box.box
                visibility = box.attributes.get("visibility", OCCLUDED_VISIBILITY if box.occluded else 1.0)
                line = (
                    f"{box.frame + 1},{track_id},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                    f"{0 if box.crowd else 1},{classes[box.vru_type]},{float(visibility):g}"
                )
                rows.append((box.frame, track_id, line))
            rows.sort()
            (folder / "gt" / "gt.txt").write_text("".join(r[2] + "\n" for r in rows), encoding="utf-8")
            (folder / "gt" / "labels.txt").write_text("".join(n + "\n" for n in labels), encoding="utf-8")
            info = configparser.ConfigParser()
            info.optionxform = str  # type: ignore[assignment,method-assign]
            info["Sequence"] = {
                "name": video.image_prefix,
                "imDir": "img1",
                "frameRate": f"{video.fps:g}",
                "seqLength": str(video.frame_count),
                "imWidth": str(video.width),
                "imHeight": str(video.height),
                "imExt": ".jpg",
            }
            with (folder / "seqinfo.ini").open("w", encoding="utf-8") as handle:
                info.write(handle, space_around_delimiters=False)
            counts["sequences"] += 1
            counts["rows"] += len(rows)
        return counts


def find_gt_files(path: Path) -> list[Path]:
    """``gt.txt`` itself, a sequence folder's ``gt/gt.txt``, or every sequence's below a folder."""
    if (path / "gt" / "gt.txt").is_file():
        return [check_inside(path / "gt" / "gt.txt", path)]
    return find_files(path, "gt.txt", "MOT ground truth (gt/gt.txt)")


def _seqinfo(folder: Path) -> configparser.SectionProxy | None:
    path = folder / "seqinfo.ini"
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    read_ini(check_inside(path, folder), parser, FormatError)
    return parser["Sequence"] if parser.has_section("Sequence") else None


def parse(path: Path) -> SourceDataset:
    path = Path(path)
    dataset = SourceDataset(NAME, path, [], [])
    for gt in find_gt_files(path):
        sequence = gt.parent.parent if gt.parent.name == "gt" else gt.parent
        labels_file = gt.parent / "labels.txt"
        if labels_file.is_file():
            text = read_file_text(check_inside(labels_file, sequence))
            names = {
                number: line.strip() for number, line in enumerate(text.splitlines(), start=1) if line.strip()
            }
        else:
            names = dict(MOT17_CLASSES)
        for name in names.values():
            if name not in dataset.labels:
                dataset.labels.append(name)
        info = _seqinfo(sequence)
        item = SourceItem(names=[sequence.name], reviewed=None)
        space: tuple[float, float] | None = None
        if info is not None:
            item.names.insert(0, info.get("name", sequence.name))
            where = str(sequence / "seqinfo.ini")
            if "seqLength" in info:
                item.frame_count = parse_int(info["seqLength"], where, "seqLength", minimum=0)
            if "imWidth" in info and "imHeight" in info:
                space = (
                    parse_float(info["imWidth"], where, "imWidth", positive=True),
                    parse_float(info["imHeight"], where, "imHeight", positive=True),
                )
        item.boxes = _read_rows(gt, names, space)
        dataset.items.append(item)
    return dataset


def _read_rows(gt: Path, names: dict[int, str], space: tuple[float, float] | None) -> list[SourceBox]:
    boxes: list[SourceBox] = []
    for number, line in enumerate(read_file_text(gt).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{gt}:{number}"
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 6:
            raise FormatError(f"{where}: expected 'frame,id,x,y,w,h[,consider,class,visibility]'.")
        frame = parse_int(parts[0], where, "frame")
        track = parse_int(parts[1], where, "id")
        x, y, w, h = (parse_float(v, where, what) for v, what in zip(parts[2:6], "xywh", strict=True))
        consider = parse_float(parts[6], where, "consider") if len(parts) > 6 else 1.0
        cls = parse_int(parts[7], where, "class") if len(parts) > 7 else 1
        visibility = parse_float(parts[8], where, "visibility") if len(parts) > 8 else 1.0
        if frame < 1:
            raise FormatError(f"{where}: frame {frame}; MOT frames start at 1.")
        if cls not in names:
            raise FormatError(f"{where}: class {cls} is not a known class ({', '.join(map(str, names))}).")
        boxes.append(
            SourceBox(
                frame=frame - 1,
                box=(x, y, x + w, y + h),
                label=names[cls],
                space=space,
                track=None if track < 0 else str(track),
                crowd=consider == 0,
                occluded=visibility <= OCCLUDED_VISIBILITY,
                attributes={"visibility": visibility},
            )
        )
    return boxes
