"""MOTChallenge ground truth: export and import.

``gt/gt.txt`` rows are ``frame,id,x,y,w,h,consider,class,visibility`` with 1-based frames and
top-left pixel boxes (MOT16/17/20). Other layouts are told apart by their content
(:func:`detect_layout`, :func:`read_mot_file`, also for reading tracker results): 2D MOT 2015 ground
truth has 10 columns ``frame,id,x,y,w,h,consider,world x,world y,world z`` (no class: its boxes are
pedestrians; world coordinates are kept as an attribute, never read as a class); detections
(``det.txt``, id -1) and tracker results carry a score in the 7th column and import only as
proposals with that confidence. Class numbers are MOT17's (1 pedestrian, 2 person on vehicle, 7 static
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
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
#: The class of every box in a layout without classes (MOT 2015, detections, tracker results).
CLASSLESS_LABEL = MOT17_CLASSES[1]


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
        sequence = gt.parent.parent if gt.parent.name in ("gt", "det") else gt.parent
        labels_file = gt.parent / "labels.txt"
        if labels_file.is_file():
            text = read_file_text(check_inside(labels_file, sequence))
            names = {
                number: line.strip() for number, line in enumerate(text.splitlines(), start=1) if line.strip()
            }
        else:
            names = dict(MOT17_CLASSES)
        mot_file = read_mot_file(gt)
        for name in names.values() if mot_file.layout.has_class else [CLASSLESS_LABEL]:
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
        item.boxes = _boxes(mot_file, names, space)
        dataset.items.append(item)
    return dataset


# -- layouts -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MotLayout:
    """One of the MOTChallenge text layouts (all: 1-based frame, id, top-left x, y, width, height)."""

    name: str
    description: str
    #: The 8th column is a class number (MOT16/17/20 ground truth).
    has_class: bool = False
    #: The 7th column is a detector's score (detections and tracker results), not a consider flag.
    scores: bool = False


MOT16 = MotLayout(
    "mot16", "MOT16/17/20 ground truth: frame, id, x, y, w, h, consider, class, visibility", has_class=True
)
MOT15 = MotLayout("mot15", "2D MOT 2015 ground truth: frame, id, x, y, w, h, consider, world x, y, z")
RESULTS = MotLayout(
    "results", "MOTChallenge tracker results: frame, id, x, y, w, h, score[, world x, y, z]", scores=True
)
DETECTIONS = MotLayout(
    "det", "MOTChallenge detections (det.txt): frame, -1, x, y, w, h, score[, world x, y, z]", scores=True
)


@dataclass(frozen=True)
class MotRow:
    """One row of a MOT file, read by its layout (``None`` where the layout has no such column)."""

    line: int
    frame: int
    track: int
    x: float
    y: float
    w: float
    h: float
    consider: bool = True
    score: float | None = None
    cls: int | None = None
    visibility: float | None = None
    world: tuple[float, float, float] | None = None


@dataclass
class MotFile:
    path: Path
    layout: MotLayout
    rows: list[MotRow]


@dataclass(frozen=True)
class MotTable:
    """A MOT text file read at once: one row of ``values`` per non-blank line (NaN after the last
    column of a row shorter than the widest), ``widths`` each row's column count, ``lines`` each
    row's line number and ``place(line)`` the text that names a line in messages."""

    values: np.ndarray
    widths: np.ndarray
    lines: list[int]
    place: Callable[[int], str]

    def where(self, row: int) -> str:
        return self.place(self.lines[row])

    def layout(self) -> MotLayout:
        """The layout of the rows, from their content (:func:`mot_layout`); rows of different lengths
        are refused."""
        if len(self.widths) and (self.widths != self.widths[0]).any():
            other = int(np.argmax(self.widths != self.widths[0]))
            raise FormatError(
                f"{self.where(other)}: {self.widths[other]} columns where line {self.lines[0]} has "
                f"{self.widths[0]}; every row of a MOT file has the same layout."
            )
        return mot_layout(self.values, self.where)


def read_mot_table(path: Path, place: Callable[[int], str] | None = None) -> MotTable:
    """The rows of a MOTChallenge text file (comma- or space-separated numbers), parsed all at once
    with numpy (tracker files of a million rows); row by row only to name a value that is no number.
    ``place(line)`` names a line in messages (default ``path:line``)."""
    text = read_file_text(path)
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    place = place or (lambda line: f"{path}:{line}")
    if not lines:
        return MotTable(np.zeros((0, 0)), np.zeros(0, dtype=np.int64), lines, place)
    delimiter = "," if "," in text.splitlines()[lines[0] - 1] else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.loadtxt(io.StringIO(text), delimiter=delimiter, ndmin=2, comments=None)
    except ValueError:
        values = None  # rows of different lengths, or a value that is no number: row by row
    if values is None or len(values) != len(lines) or not np.isfinite(values).all():
        return _read_rows(text, delimiter, lines, place)
    return MotTable(values, np.full(len(values), values.shape[1]), lines, place)


def _read_rows(text: str, delimiter: str | None, lines: list[int], place: Callable[[int], str]) -> MotTable:
    """Row by row, naming the first value that is no finite number."""
    rows = [
        [
            parse_float(part.strip(), place(number), _column_name(c))
            for c, part in enumerate(line.split(delimiter))
        ]
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    widths = np.array([len(row) for row in rows])
    values = np.full((len(rows), int(widths.max())), np.nan)
    for i, row in enumerate(rows):
        values[i, : len(row)] = row
    return MotTable(values, widths, lines, place)


def detect_layout(rows: list[tuple[int, list[float]]], where: str) -> MotLayout:
    """The layout of a MOT file's rows ``(line number, values)``, from their content (rows of
    different lengths are refused): see :func:`mot_layout`."""
    widths = np.array([len(values) for _, values in rows], dtype=np.int64)
    table = np.full((len(rows), int(widths.max(initial=0))), np.nan)
    for i, (_, values) in enumerate(rows):
        table[i, : len(values)] = values
    return MotTable(table, widths, [line for line, _ in rows], lambda line: f"{where}:{line}").layout()


def mot_layout(values: np.ndarray, place: Callable[[int], str]) -> MotLayout:
    """The layout of a MOT file's rows ``values`` (one row each), from their content.

    9 columns: MOT16/17/20 ground truth (consider 0/1, a whole class number, visibility 0…1).
    10 columns: world coordinates after the 7th column, never a class: MOT 2015 ground truth when the
    7th column is a 0/1 flag, else tracker results. 7 columns: tracker results. Every id -1 with 7 or
    10 columns: detections. Anything else is refused, naming the row (``place(index)``) and the reason.
    """
    if not len(values):
        return MOT16
    columns = values.shape[1]
    if columns not in (7, 9, 10):
        raise FormatError(
            f"{place(0)}: {columns} columns is not a MOTChallenge layout.",
            hint="Known layouts: 9 columns (MOT16/17/20 ground truth), 10 (MOT 2015 ground truth, "
            "tracker results), 7 or 10 with id -1 (detections).",
        )
    if columns in (7, 10) and (values[:, 1] == -1).all():
        return DETECTIONS
    if columns == 9:
        consider, cls, visibility = values[:, 6], values[:, 7], values[:, 8]
        wrong = ~np.isin(consider, (0, 1)) | (cls != np.floor(cls)) | (cls < 1)
        wrong |= ~((visibility >= 0) & (visibility <= 1))
        if wrong.any():
            row = int(np.argmax(wrong))
            raise FormatError(
                f"{place(row)}: {_not_mot16(values[row])}, so this 9-column row is not MOT16/17/20 "
                "ground truth (frame, id, x, y, w, h, consider, class, visibility)."
            )
        return MOT16
    if columns == 10 and np.isin(values[:, 6], (0, 1)).all():
        return MOT15
    return RESULTS


def _not_mot16(values: np.ndarray) -> str:
    consider, cls, visibility = (float(v) for v in values[6:9])
    if consider not in (0, 1):
        return f"consider (column 7) is {consider:g}, not 0 or 1"
    if cls != int(cls) or cls < 1:
        return f"class (column 8) is {cls:g}, not a class number"
    return f"visibility (column 9) is {visibility:g}, not between 0 and 1"


def _column_name(index: int) -> str:
    """The name of a column in an error message, before the layout is known."""
    return ("frame", "id", "x", "y", "w", "h")[index] if index < 6 else f"column {index + 1}"


def read_mot_file(path: Path) -> MotFile:
    """Read a MOTChallenge text file (ground truth, det.txt or tracker results) by its layout."""
    table = read_mot_table(path)
    layout = table.layout()
    rows: list[MotRow] = []
    for number, row in zip(table.lines, table.values.tolist(), strict=True):
        where = f"{path}:{number}"
        frame = parse_int(row[0], where, "frame")
        if frame < 1:
            raise FormatError(f"{path}:{number}: frame {frame}; MOT frames start at 1.")
        world = tuple(row[7:10]) if len(row) == 10 and any(v != -1 for v in row[7:10]) else None
        rows.append(
            MotRow(
                line=number,
                frame=frame,
                track=parse_int(row[1], where, "id"),
                x=row[2],
                y=row[3],
                w=row[4],
                h=row[5],
                consider=layout.scores or row[6] != 0,
                score=row[6] if layout.scores else None,
                cls=parse_int(row[7], where, "class") if layout.has_class else None,
                visibility=row[8] if layout.has_class else None,
                world=world,  # type: ignore[arg-type]
            )
        )
    return MotFile(path, layout, rows)


def _boxes(mot_file: MotFile, names: dict[int, str], space: tuple[float, float] | None) -> list[SourceBox]:
    boxes: list[SourceBox] = []
    for row in mot_file.rows:
        if row.cls is not None and row.cls not in names:
            raise FormatError(
                f"{mot_file.path}:{row.line}: class {row.cls} is not a known class "
                f"({', '.join(map(str, names))})."
            )
        attributes: dict[str, Any] = {}
        if row.visibility is not None:
            attributes["visibility"] = row.visibility
        if row.world is not None:
            attributes["world"] = list(row.world)
        boxes.append(
            SourceBox(
                frame=row.frame - 1,
                box=(row.x, row.y, row.x + row.w, row.y + row.h),
                label=CLASSLESS_LABEL if row.cls is None else names[row.cls],
                space=space,
                track=None if row.track < 0 else str(row.track),
                crowd=not row.consider,
                occluded=row.visibility is not None and row.visibility <= OCCLUDED_VISIBILITY,
                attributes=attributes,
                confidence=row.score,
                visibility=row.visibility,
            )
        )
    return boxes
