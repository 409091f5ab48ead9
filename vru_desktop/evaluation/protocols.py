"""Pedestrian-detection protocols: named, documented settings for the log-average miss rate.

A :class:`Protocol` is data: which ground-truth boxes count (height, visibility, occlusion level and
truncation ranges, classes), which become *ignore* boxes, the IoU, how detections outside the height
range are handled and whether ground truth is clipped to the frame. :func:`evaluate_protocol` scores
detections under one protocol as the Caltech / CityPersons reference code (``dbEval.m``,
``eval_MR_multisetup.py``) does:

* A ground-truth box outside a range (bounds inclusive), of an ignore class, marked ignore or COCO
  crowd is an *ignore* box: a detection matched to it is neither TP nor FP, its overlap is
  intersection / detection area, and it may absorb any number of detections.
* A ground-truth box closer than ``border`` pixels to an image edge is an ignore box (KAIST).
* Per image, the ``max_detections`` best detections are kept, then those whose height lies outside
  ``[low / expand, high * expand)`` are dropped (none when ``expand`` is ``None``); the others that
  match nothing are false positives.
* Detections take, in descending score, the unmatched counted box of highest IoU (>= ``iou``), and
  only when there is none an ignore box.
* Over all detections in descending score: FPPI = FP / images and miss rate = 1 - TP / counted
  boxes; at 9 FPPI points spaced evenly in log space over 10⁻²…10⁰ the miss rate at the last curve
  point not above it (1 where the curve starts above it), and the log-average miss rate is the
  geometric mean of the 9 (each floored at 1e-10), as ``dbEval.m``.

``reference_quirks`` reproduces ``eval_MR_multisetup.py`` digit for digit instead: its FPPI points
rounded to 4 decimals, a reference point before the first curve point taking the *last* recall
(a negative Python index), and no floor (a miss rate of 0 makes the average 0). Off by default.

Unknown visibility counts as fully visible (1) unless the box has an occlusion level: then it is
the lower bound of Caltech's class for that level (partial 0.65, heavy 0.2). An unknown occlusion
level is derived from the visibility (1: none, >= 0.5: partial, below: heavy); unknown truncation
counts as 0. A box only flagged "occluded" (CVAT, MOT) is partially occluded.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from vru_desktop.errors import FormatError, NotFoundError, ValidationError
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes, greedy_match
from vru_desktop.files import read_text
from vru_desktop.settings import PROTOCOLS

INF = math.inf
OCCLUSION_LEVELS = ("none", "partial", "heavy")
FPPI_POINTS = np.logspace(-2.0, 0.0, 9)
#: ``eval_MR_multisetup.py``'s FPPI points, rounded to 4 decimals.
FPPI_POINTS_REFERENCE = np.array([0.0100, 0.0178, 0.0316, 0.0562, 0.1000, 0.1778, 0.3162, 0.5623, 1.0000])
#: Stand-in visibility of a box with an occlusion level but no visibility (Caltech's lower bounds).
PARTIAL_VISIBILITY, HEAVY_VISIBILITY = 0.65, 0.2

PERSON = ("pedestrian", "person")
#: CityPersons / ECP: riders (and the other VRU types), sitting and other persons and groups are
#: ignore regions.
PERSON_IGNORE = (
    "cyclist",
    "motorcyclist",
    "wheelchair_user",
    "scooter_rider",
    "rider",
    "sitting person",
    "other person",
    "people group",
    "people",
)


@dataclass(frozen=True)
class Protocol:
    """One evaluation setup. Ranges are ``(low, high)``, both bounds inclusive."""

    name: str
    title: str = ""
    source: str = ""
    height: tuple[float, float] = (50.0, INF)
    visibility: tuple[float, float] = (0.0, INF)
    #: Occlusion levels that count (``none``, ``partial``, ``heavy``); ``None``: any.
    occlusion: tuple[str, ...] | None = None
    truncation: tuple[float, float] = (0.0, INF)
    #: Classes whose boxes count and whose detections are scored (class names, lower case).
    classes: tuple[str, ...] = PERSON
    #: Classes whose ground-truth boxes become ignore boxes.
    ignore_classes: tuple[str, ...] = PERSON_IGNORE
    iou: float = 0.5
    #: Detections with height outside ``[low / expand, high * expand)`` are dropped before matching;
    #: ``None``: no detection is dropped for its height.
    expand: float | None = 1.25
    #: Clip ground-truth boxes to the frame before anything else (a detector's box cannot leave it).
    clip_to_frame: bool = False
    #: Ground-truth boxes reaching closer than this many pixels to an image edge are ignore boxes
    #: (where the image size is known); ``None``: no border rule.
    border: float | None = None
    #: Caltech: both sides resized to this width / height about their centre, height kept.
    aspect_ratio: float | None = None
    max_detections: int = 1000
    reference_quirks: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not self.name.strip():
            problems.append("it has no name")
        for label, (low, high) in (
            ("height", self.height),
            ("visibility", self.visibility),
            ("truncation", self.truncation),
        ):
            if not low <= high:
                problems.append(f"its {label} range [{low:g}, {high:g}] is empty")
        if not 0.0 < self.iou < 1.0:
            problems.append(f"its IoU {self.iou:g} is not between 0 and 1")
        if self.expand is not None and not self.expand >= 1.0:
            problems.append(f"its expand {self.expand:g} is below 1")
        if self.border is not None and not self.border >= 0.0:
            problems.append(f"its border {self.border:g} is negative")
        if self.occlusion is not None and set(self.occlusion) - set(OCCLUSION_LEVELS):
            problems.append(
                f"its occlusion levels {list(self.occlusion)} are not among {list(OCCLUSION_LEVELS)}"
            )
        if self.aspect_ratio is not None and self.aspect_ratio <= 0:
            problems.append("its aspect ratio is not positive")
        if self.max_detections < 1:
            problems.append("its max_detections is below 1")
        if problems:
            raise ValidationError(f"Protocol '{self.name}': {'; '.join(problems)}.")

    def to_dict(self) -> dict[str, Any]:
        """A JSON document (infinite bounds as ``null``) that :meth:`from_dict` reads back."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple | list):
                out[key] = [None if isinstance(v, float) and math.isinf(v) else v for v in value]
        return out

    @classmethod
    def from_dict(cls, document: Any, where: str = "protocol") -> Protocol:
        if not isinstance(document, dict):
            raise FormatError(f"{where}: a protocol is a JSON object with at least a 'name'.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(document) - known)
        if unknown:
            raise FormatError(f"{where}: unknown protocol fields {unknown}.", hint=f"Known: {sorted(known)}.")
        values: dict[str, Any] = {}
        try:
            for key, value in document.items():
                if key in ("height", "visibility", "truncation"):
                    low, high = value
                    values[key] = (
                        float(low if low is not None else -INF),
                        float(high if high is not None else INF),
                    )
                elif key in ("classes", "ignore_classes"):
                    values[key] = tuple(str(v).lower() for v in value)
                elif key == "occlusion":
                    values[key] = None if value is None else tuple(str(v) for v in value)
                elif key == "iou":
                    values[key] = float(value)
                elif key in ("aspect_ratio", "expand", "border"):
                    values[key] = None if value is None else float(value)
                elif key == "max_detections":
                    values[key] = int(value)
                elif key in ("clip_to_frame", "reference_quirks"):
                    values[key] = bool(value)
                else:
                    values[key] = str(value)
        except (TypeError, ValueError) as exc:
            raise FormatError(f"{where}: a protocol field has a bad value ({exc}).") from exc
        if "name" not in values:
            raise FormatError(f"{where}: a protocol needs a 'name'.")
        try:
            return cls(**values)
        except ValidationError as exc:
            raise FormatError(f"{where}: {exc.message}") from exc


def _caltech(name: str, title: str, height: tuple[float, float], visibility: tuple[float, float]) -> Protocol:
    return Protocol(
        name=name,
        title=title,
        source="Dollár et al., TPAMI 2012; Caltech toolbox dbEval.m (code 3.2.1)",
        height=height,
        visibility=visibility,
        ignore_classes=("people",),
        aspect_ratio=0.41,
    )


def _citypersons(
    name: str, title: str, height: tuple[float, float], visibility: tuple[float, float]
) -> Protocol:
    return Protocol(
        name=name,
        title=title,
        source="Zhang et al., CVPR 2017; CityPersons evaluation/eval_script/eval_MR_multisetup.py",
        height=height,
        visibility=visibility,
    )


def _ecp(
    name: str, title: str, height: tuple[float, float], visibility: tuple[float, float], trunc: float
) -> Protocol:
    return Protocol(
        name=name,
        title=title,
        source=(
            "Braun et al., EuroCity Persons, TPAMI 2019; ECP benchmark params.py (occlusion = 1 - visibility)"
        ),
        height=height,
        visibility=visibility,
        truncation=(0.0, trunc),
    )


#: Visibility of a partially occluded box in Caltech: 0.65 or more, but occluded (below 1).
_BELOW_ONE = float(np.nextafter(1.0, 0.0))

BUILT_IN: tuple[Protocol, ...] = (
    _caltech("caltech-reasonable", "Caltech Reasonable", (50, INF), (0.65, INF)),
    _caltech("caltech-all", "Caltech All", (20, INF), (0.2, INF)),
    _caltech("caltech-near", "Caltech Near (unoccluded)", (80, INF), (1.0, INF)),
    _caltech("caltech-medium", "Caltech Medium (unoccluded)", (30, 80), (1.0, INF)),
    _caltech("caltech-far", "Caltech Far (unoccluded)", (20, 30), (1.0, INF)),
    _caltech("caltech-no-occlusion", "Caltech No occlusion", (50, INF), (1.0, INF)),
    _caltech("caltech-partial", "Caltech Partial occlusion", (50, INF), (0.65, _BELOW_ONE)),
    _caltech("caltech-heavy", "Caltech Heavy occlusion", (50, INF), (0.2, 0.65)),
    _citypersons("citypersons-reasonable", "CityPersons Reasonable", (50, INF), (0.65, INF)),
    _citypersons("citypersons-small", "CityPersons Reasonable_small", (50, 75), (0.65, INF)),
    _citypersons("citypersons-heavy", "CityPersons Reasonable_occ=heavy", (50, INF), (0.2, 0.65)),
    _citypersons("citypersons-all", "CityPersons All", (20, INF), (0.2, INF)),
    _citypersons("citypersons-all-50", "CityPersons All-50", (50, INF), (0.2, INF)),
    _citypersons("citypersons-no-occlusion", "CityPersons R_occ=None", (50, INF), (1.0, INF)),
    _citypersons("citypersons-partial", "CityPersons R_occ=Partial", (50, INF), (0.65, 1.0)),
    _citypersons("citypersons-bare", "CityPersons Bare", (50, INF), (0.9, INF)),
    _citypersons("citypersons-partial-0.9", "CityPersons Partial (0.65-0.9)", (50, INF), (0.65, 0.9)),
    Protocol(
        name="kaist-reasonable",
        title="KAIST Reasonable",
        source="Hwang et al., CVPR 2015; KAISTPed evaluation_script.py (MLPD, Kim et al., RA-L 2021)",
        height=(55, INF),
        occlusion=("none", "partial"),
        ignore_classes=("people", "person?", "cyclist"),
        expand=None,
        border=5.0,
    ),
    _ecp("ecp-reasonable", "EuroCity Persons Reasonable", (40, INF), (0.6, INF), 0.4),
    _ecp("ecp-small", "EuroCity Persons Small", (30, 60), (0.6, INF), 0.4),
    # The benchmark code bounds truncation with the setup's occlusion limit: 80 % here.
    _ecp("ecp-occluded", "EuroCity Persons Occluded", (40, INF), (0.2, 0.6), 0.8),
    _ecp("ecp-all", "EuroCity Persons All", (20, INF), (0.2, INF), 0.8),
)


def built_in() -> dict[str, Protocol]:
    return {p.name: p for p in BUILT_IN}


def load_protocol_file(path: str | Path) -> list[Protocol]:
    """A JSON file with one protocol object or a list of them."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"Protocol file {path} not found.", hint="Check the path.")
    try:
        document = json.loads(read_text(path, FormatError))
    except ValueError as exc:
        raise FormatError(f"{path}: not a readable JSON file ({exc}).") from exc
    items = document if isinstance(document, list) else [document]
    return [Protocol.from_dict(item, f"{path}[{i}]") for i, item in enumerate(items)]


def available(stored: Any = None, files: list[str | Path] | None = None) -> dict[str, Protocol]:
    """Built-in protocols, then user-defined ones (a setting's stored list, then files); later wins."""
    out = built_in()
    for i, item in enumerate(stored or []):
        protocol = Protocol.from_dict(item, f"setting {PROTOCOLS}[{i}]")
        out[protocol.name] = protocol
    for file in files or []:
        for protocol in load_protocol_file(file):
            out[protocol.name] = protocol
    return out


def choose(names: list[str], known: dict[str, Protocol], *, reference_quirks: bool = False) -> list[Protocol]:
    """The protocols named, in order; an unknown name is refused with the known ones listed."""
    chosen = []
    for name in names:
        if name not in known:
            raise ValidationError(
                f"There is no protocol '{name}'.", hint=f"Known protocols: {', '.join(sorted(known))}."
            )
        protocol = known[name]
        chosen.append(replace(protocol, reference_quirks=True) if reference_quirks else protocol)
    return chosen


# -- ground truth conditions ----------------------------------------------------------------------


@dataclass(frozen=True)
class BoxConditions:
    """What a protocol asks of each ground-truth box. NaN / -1: unknown.

    ``occlusion`` is an index into :data:`OCCLUSION_LEVELS`; ``height`` the height the source
    states (e.g. CityPersons' ``height`` field), NaN to use the box's own.
    """

    ignore: np.ndarray
    visibility: np.ndarray
    occlusion: np.ndarray
    truncation: np.ndarray
    height: np.ndarray

    @classmethod
    def unknown(cls, n: int) -> BoxConditions:
        nan = np.full(n, np.nan)
        return cls(np.zeros(n, dtype=bool), nan, np.full(n, -1, dtype=np.int64), nan.copy(), nan.copy())


def occlusion_index(level: Any) -> int:
    """A stored occlusion level (name or 0/1/2) as its index, -1 when unknown."""
    if level is None:
        return -1
    if isinstance(level, str):
        return OCCLUSION_LEVELS.index(level) if level in OCCLUSION_LEVELS else -1
    value = int(level)
    return value if 0 <= value < len(OCCLUSION_LEVELS) else -1


# -- evaluation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolResult:
    protocol: Protocol
    log_average_miss_rate: float | None
    #: Miss rate at each FPPI point.
    miss_rates: np.ndarray
    fppi_points: np.ndarray
    positives: int
    ignored: int
    detections: int
    images: int
    #: The detections the curve counts (true or false positives) as indices into the evaluated
    #: detections, in the curve's order, and which of them are true positives.
    curve_detections: np.ndarray
    curve_true_positive: np.ndarray
    #: The ground-truth boxes counted as positives, as indices into the evaluated boxes.
    positive_boxes: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol.name,
            "title": self.protocol.title,
            "log_average_miss_rate": self.log_average_miss_rate,
            "miss_rate_at_fppi": {
                f"{x:.4g}": float(m) for x, m in zip(self.fppi_points, self.miss_rates, strict=True)
            },
            "positives": self.positives,
            "ignored": self.ignored,
            "detections": self.detections,
            "images": self.images,
            "definition": self.protocol.to_dict(),
        }


def _range(label: str, low: float, high: float, unit: str = "") -> str:
    if math.isinf(high):
        return f"{label} >= {low:g}{unit}"
    return f"{label} {low:g}-{high:g}{unit}"


def describe(protocol: Protocol) -> str:
    """The definition in one line."""
    parts = [_range("height", *protocol.height, " px")]
    if protocol.visibility != (0.0, INF):
        parts.append(_range("visibility", *protocol.visibility))
    if protocol.occlusion is not None:
        parts.append("occlusion " + "/".join(protocol.occlusion))
    if protocol.truncation != (0.0, INF):
        parts.append(_range("truncation", *protocol.truncation))
    parts.append(f"IoU {protocol.iou:g}")
    parts.append(f"ignore {', '.join(protocol.ignore_classes) or 'none'}")
    if protocol.aspect_ratio is not None:
        parts.append(f"aspect ratio {protocol.aspect_ratio:g}")
    if protocol.border is not None:
        parts.append(f"boxes within {protocol.border:g} px of the image edge ignored")
    if protocol.expand is None:
        parts.append("detections of any height")
    if protocol.clip_to_frame:
        parts.append("ground truth clipped to the frame")
    if protocol.reference_quirks:
        parts.append("reference quirks")
    return ", ".join(parts)


def protocol_lines(results: list[ProtocolResult]) -> list[str]:
    """The lines the command line prints: one per protocol, side by side in one table."""
    if not results:
        return []
    lines = [f"  {'protocol':<26}{'MR-2 %':>9}{'boxes':>8}{'ignored':>9}{'detections':>12}"]
    for r in results:
        mr = "-" if r.log_average_miss_rate is None else f"{100 * r.log_average_miss_rate:.2f}"
        lines.append(f"  {r.protocol.name:<26}{mr:>9}{r.positives:>8}{r.ignored:>9}{r.detections:>12}")
    return ["log-average miss rate by protocol (FPPI 0.01-1):", *lines]


def _squarify(xywh: np.ndarray, ratio: float) -> np.ndarray:
    out = xywh.copy()
    out[:, 0] = xywh[:, 0] + xywh[:, 2] / 2 - ratio * xywh[:, 3] / 2
    out[:, 2] = ratio * xywh[:, 3]
    return out


def _clip(xywh: np.ndarray, frame_size: np.ndarray) -> np.ndarray:
    """Boxes clipped to ``[0, width] x [0, height]``; an unknown (NaN) size clips nothing."""
    frame_size = np.where(np.isnan(frame_size), np.inf, frame_size)
    x1 = np.clip(xywh[:, 0], 0, frame_size[:, 0])
    y1 = np.clip(xywh[:, 1], 0, frame_size[:, 1])
    x2 = np.clip(xywh[:, 0] + xywh[:, 2], 0, frame_size[:, 0])
    y2 = np.clip(xywh[:, 1] + xywh[:, 3], 0, frame_size[:, 1])
    return np.column_stack([x1, y1, x2 - x1, y2 - y1])


def _near_border(xywh: np.ndarray, frame_size: np.ndarray | None, border: float | None) -> np.ndarray:
    """Boxes closer than ``border`` pixels to an edge of their image (none where the size is unknown)."""
    if border is None or frame_size is None:
        return np.zeros(len(xywh), dtype=bool)
    size = np.asarray(frame_size, dtype=np.float64).reshape(-1, 2)
    near = (
        (xywh[:, 0] < border)
        | (xywh[:, 1] < border)
        | (xywh[:, 0] + xywh[:, 2] > size[:, 0] - border)
        | (xywh[:, 1] + xywh[:, 3] > size[:, 1] - border)
    )
    return near & np.isfinite(size).all(axis=1)


def _ground_truth_ignored(
    protocol: Protocol,
    gt: GroundTruthBoxes,
    classes: list[str],
    conditions: BoxConditions,
    heights: np.ndarray,
    near_border: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which boxes take part (counted or ignore class) and, of those, which are ignore boxes."""
    names = np.array([c.lower() for c in classes], dtype=object)
    counted_class = np.isin(names, protocol.classes)[gt.category]
    ignore_class = np.isin(names, protocol.ignore_classes)[gt.category] & ~counted_class
    known = conditions.occlusion
    stand_in = np.select([known == 1, known == 2], [PARTIAL_VISIBILITY, HEAVY_VISIBILITY], 1.0)
    visibility = np.where(np.isnan(conditions.visibility), stand_in, conditions.visibility)
    level = np.where(known >= 0, known, np.select([visibility >= 1.0, visibility >= 0.5], [0, 1], 2))
    truncation = np.where(np.isnan(conditions.truncation), 0.0, conditions.truncation)
    outside = (
        (heights < protocol.height[0])
        | (heights > protocol.height[1])
        | (visibility < protocol.visibility[0])
        | (visibility > protocol.visibility[1])
        | (truncation < protocol.truncation[0])
        | (truncation > protocol.truncation[1])
    )
    if protocol.occlusion is not None:
        allowed = np.array([OCCLUSION_LEVELS.index(v) for v in protocol.occlusion])
        outside |= ~np.isin(level, allowed)
    ignored = ignore_class | gt.crowd | conditions.ignore | outside | near_border
    return counted_class | ignore_class, ignored


def evaluate_protocol(
    protocol: Protocol,
    gt: GroundTruthBoxes,
    dt: DetectionBoxes,
    classes: list[str],
    n_images: int,
    conditions: BoxConditions | None = None,
    frame_size: np.ndarray | None = None,
) -> ProtocolResult:
    """The log-average miss rate of ``dt`` against ``gt`` under ``protocol``.

    ``gt.image`` / ``dt.image`` are image indices in the order the images are listed (ties in score
    are taken in that order, as the reference does); ``n_images`` counts every evaluated image, with
    boxes or not. ``frame_size`` is each ground-truth box's image ``(width, height)`` (for clipping
    and the border rule).
    """
    conditions = conditions or BoxConditions.unknown(len(gt))
    xywh = gt.xywh
    if protocol.clip_to_frame and frame_size is not None:
        xywh = _clip(xywh, np.asarray(frame_size, dtype=np.float64).reshape(-1, 2))
        heights = xywh[:, 3]
    else:
        heights = np.where(np.isnan(conditions.height), xywh[:, 3], conditions.height)
    near_border = _near_border(gt.xywh, frame_size, protocol.border)
    part, ignored = _ground_truth_ignored(protocol, gt, classes, conditions, heights, near_border)
    xywh, ignored = xywh[part], ignored[part]
    if protocol.aspect_ratio is not None:
        xywh = _squarify(xywh, protocol.aspect_ratio)
    g = GroundTruthBoxes(
        image=gt.image[part],
        category=np.zeros(int(part.sum()), dtype=np.int64),
        xywh=xywh,
        size=np.zeros(int(part.sum())),
        crowd=ignored,
    )

    names = np.array([c.lower() for c in classes], dtype=object)
    scored = np.flatnonzero(np.isin(names, protocol.classes)[dt.category])
    order = scored[np.lexsort((scored, -dt.score[scored], dt.image[scored]))]
    images = dt.image[order]
    starts = np.searchsorted(images, images, side="left")
    rank = np.arange(len(order)) - starts
    kept = order[rank < protocol.max_detections]
    if protocol.expand is not None:
        low, high = protocol.height[0] / protocol.expand, protocol.height[1] * protocol.expand
        kept = kept[(dt.xywh[kept, 3] >= low) & (dt.xywh[kept, 3] < high)]
    kept = np.sort(kept)
    d_xywh = dt.xywh[kept]
    if protocol.aspect_ratio is not None:
        d_xywh = _squarify(d_xywh, protocol.aspect_ratio)
    d = DetectionBoxes(
        image=dt.image[kept],
        category=np.zeros(len(kept), dtype=np.int64),
        xywh=d_xywh,
        size=np.zeros(len(kept)),
        score=dt.score[kept],
    )
    matching = greedy_match(g, d, [protocol.iou], [(0.0, INF)], class_agnostic=True)
    tp, fp = matching.true_positive[0, 0], matching.false_positive[0, 0]
    n_pos = int((~ignored).sum())
    # Ties in score: by image, then by rank within the image (the reference's stable sorts).
    order = np.lexsort((np.arange(len(d)), d.image))
    miss, lamr = miss_rate_curve(
        d.score[order], tp[order], fp[order], n_pos, n_images, quirks=protocol.reference_quirks
    )
    curve = order[np.argsort(-d.score[order], kind="stable")]
    curve = curve[(tp | fp)[curve]]
    return ProtocolResult(
        protocol=protocol,
        log_average_miss_rate=lamr,
        miss_rates=miss,
        fppi_points=FPPI_POINTS_REFERENCE if protocol.reference_quirks else FPPI_POINTS,
        positives=n_pos,
        ignored=int(ignored.sum()),
        detections=len(d),
        images=n_images,
        curve_detections=kept[curve],
        curve_true_positive=tp[curve],
        positive_boxes=np.flatnonzero(part)[~ignored],
    )


def miss_rate_curve(
    scores: np.ndarray,
    true_positive: np.ndarray,
    false_positive: np.ndarray,
    n_pos: int,
    n_images: int,
    *,
    quirks: bool = False,
) -> tuple[np.ndarray, float | None]:
    """Miss rates at the FPPI points and the log-average miss rate (``None`` without positives).

    Detections are taken in descending score, ties in the given order; ``true_positive`` /
    ``false_positive`` flag each (ignored detections have neither).
    """
    points = FPPI_POINTS_REFERENCE if quirks else FPPI_POINTS
    if n_pos <= 0 or n_images <= 0:
        return np.full(len(points), np.nan), None
    order = np.argsort(-scores, kind="stable")
    counted = (true_positive | false_positive)[order]
    fppi = np.cumsum(false_positive[order])[counted] / n_images
    recall = np.cumsum(true_positive[order])[counted] / n_pos
    at = np.searchsorted(fppi, points, side="right") - 1
    if quirks:
        # A negative index reads the end of the curve (Python indexing); an empty curve reads 0.
        miss = 1.0 - (recall[at] if len(recall) else np.zeros(len(points)))
        with np.errstate(divide="ignore"):
            return miss, float(np.exp(np.mean(np.log(miss))))
    miss = 1.0 - np.where(at >= 0, recall[np.maximum(at, 0)] if len(recall) else 0.0, 0.0)
    return miss, float(np.exp(np.mean(np.log(np.maximum(1e-10, miss)))))
