"""COCO bounding-box evaluation with pycocotools' exact numbers (without pycocotools).

:func:`evaluate` reproduces ``COCOeval(..., "bbox")``: ``evaluate()``, ``accumulate()`` and
``summarize()``. Detections and ground truth are matched by
:func:`~vru_desktop.evaluation.matching.greedy_match` at IoU .50:.05:.95 and the area ranges
all / small / medium / large (by the ground truth's ``area``), keeping the 100 best detections per
image and category; precision is interpolated at 101 recall points with its monotone envelope, and
the 12 summary statistics are the means over the defined entries (-1 where nothing is defined).

:func:`load_coco` reads a COCO instances file and a COCO result list (``evaluate-coco``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vru_desktop.errors import FormatError, NotFoundError
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes, Matching, greedy_match
from vru_desktop.evaluation.protocols import BoxConditions, occlusion_index
from vru_desktop.files import check_regular_file

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e5**2),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}
MAX_DETS = (1, 10, 100)

#: The 12 statistics of ``COCOeval.summarize()``: (name, AP or AR, IoU or None, area, max dets).
STAT_DEFINITIONS: tuple[tuple[str, bool, float | None, str, int], ...] = (
    ("AP", True, None, "all", 100),
    ("AP50", True, 0.5, "all", 100),
    ("AP75", True, 0.75, "all", 100),
    ("AP_small", True, None, "small", 100),
    ("AP_medium", True, None, "medium", 100),
    ("AP_large", True, None, "large", 100),
    ("AR1", False, None, "all", 1),
    ("AR10", False, None, "all", 10),
    ("AR100", False, None, "all", 100),
    ("AR_small", False, None, "small", 100),
    ("AR_medium", False, None, "medium", 100),
    ("AR_large", False, None, "large", 100),
)


@dataclass(frozen=True)
class CocoParams:
    """What to evaluate; the defaults are pycocotools' bbox defaults."""

    iou_thresholds: np.ndarray = field(default_factory=lambda: IOU_THRESHOLDS.copy())
    recall_thresholds: np.ndarray = field(default_factory=lambda: RECALL_THRESHOLDS.copy())
    area_ranges: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(AREA_RANGES))
    max_dets: tuple[int, ...] = MAX_DETS


@dataclass(frozen=True)
class CocoData:
    """Ground truth and detections ready to evaluate, with the ids behind the indices."""

    gt: GroundTruthBoxes
    dt: DetectionBoxes
    image_ids: list[Any]
    category_ids: list[Any]
    category_names: list[str]
    #: Rank of each image in the ground-truth file (its ``images`` list, then further annotated images).
    image_order: np.ndarray | None = None
    #: Pedestrian-benchmark fields of the ground truth (``ignore``, ``vis_ratio`` …), for protocols.
    gt_conditions: BoxConditions | None = None
    #: Each ground-truth box's image ``(width, height)``, NaN where the file does not say.
    gt_frame_size: np.ndarray | None = None


@dataclass
class CocoEvaluation:
    """``precision`` is ``(T, R, K, A, M)`` and ``recall`` ``(T, K, A, M)``, -1 where undefined."""

    params: CocoParams
    precision: np.ndarray
    recall: np.ndarray
    stats: np.ndarray
    category_names: list[str]
    matching: Matching

    def stats_dict(self) -> dict[str, float]:
        return {name: float(v) for (name, *_), v in zip(STAT_DEFINITIONS, self.stats, strict=True)}

    def per_category(self) -> dict[str, dict[str, float]]:
        """AP, AP50, AP75 and AR100 for every category with ground truth (area "all")."""
        a = list(self.params.area_ranges).index("all")
        m = list(self.params.max_dets).index(max(self.params.max_dets))
        out: dict[str, dict[str, float]] = {}
        for k, name in enumerate(self.category_names):
            p = self.precision[:, :, k, a, m]
            if not (p > -1).any():
                continue
            out[name] = {
                "AP": _mean_defined(p),
                "AP50": _mean_defined(p[self._iou_index(0.5)]),
                "AP75": _mean_defined(p[self._iou_index(0.75)]),
                "AR100": _mean_defined(self.recall[:, k, a, m]),
            }
        return out

    def _iou_index(self, value: float) -> np.ndarray:
        return np.flatnonzero(self.params.iou_thresholds == value)


def _mean_defined(values: np.ndarray) -> float:
    defined = values[values > -1]
    return -1.0 if defined.size == 0 else float(np.mean(defined))


def evaluate(data: CocoData, params: CocoParams | None = None) -> CocoEvaluation:
    """Evaluate like ``COCOeval``: match, accumulate, summarise."""
    params = params or CocoParams()
    matching = greedy_match(
        data.gt,
        data.dt,
        params.iou_thresholds,
        list(params.area_ranges.values()),
        max_dets=max(params.max_dets),
    )
    precision, recall = accumulate(data, matching, params)
    stats = summarize(precision, recall, params)
    return CocoEvaluation(params, precision, recall, stats, list(data.category_names), matching)


def accumulate(data: CocoData, matching: Matching, params: CocoParams) -> tuple[np.ndarray, np.ndarray]:
    """``COCOeval.accumulate`` for all categories at once.

    Per max-dets value the kept detections are ordered by category, then descending score, then
    image and rank (pycocotools concatenates per image and sorts stably by score), and laid out as
    one padded row per category with ground truth, so the cumulative sums, the precision envelope
    and the recall look-ups are array operations.
    """
    n_thr, n_rec = len(params.iou_thresholds), len(params.recall_thresholds)
    n_cat, n_area, n_max = len(data.category_names), len(params.area_ranges), len(params.max_dets)
    precision = -np.ones((n_thr, n_rec, n_cat, n_area, n_max))
    recall = -np.ones((n_thr, n_cat, n_area, n_max))
    dt, gt = data.dt, data.gt
    # Ground truth not ignored, per area range and category.
    n_pos = np.stack([np.bincount(gt.category[~ig], minlength=n_cat) for ig in matching.gt_ignored])
    true_positive, false_positive = matching.true_positive, matching.false_positive
    for m, max_det in enumerate(params.max_dets):
        use = np.flatnonzero(matching.kept & (matching.rank < max_det))
        order = use[np.lexsort((matching.rank[use], dt.image[use], -dt.score[use], dt.category[use]))]
        all_counts = np.bincount(dt.category[order], minlength=n_cat)
        for a in range(n_area):
            valid = np.flatnonzero(n_pos[a] > 0)
            if not len(valid):
                continue
            # Categories with ground truth but no detections: recall 0, precision 0.
            recall[:, valid, a, m] = 0.0
            precision[:, :, valid, a, m] = 0.0
            rows = valid[all_counts[valid] > 0]
            if not len(rows):
                continue
            row_of = np.full(n_cat, -1)
            row_of[rows] = np.arange(len(rows))
            sel = order[row_of[dt.category[order]] >= 0]
            counts = all_counts[rows]
            row = row_of[dt.category[sel]]
            col = np.arange(len(sel)) - np.repeat(np.cumsum(counts) - counts, counts)
            width = int(counts.max())
            tps = np.zeros((n_thr, len(rows), width), dtype=bool)
            fps = np.zeros((n_thr, len(rows), width), dtype=bool)
            tps[:, row, col] = true_positive[a][:, sel]
            fps[:, row, col] = false_positive[a][:, sel]
            tp_sum = np.cumsum(tps, axis=2)
            fp_sum = np.cumsum(fps, axis=2)
            pos = n_pos[a][rows]
            pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
            envelope = np.maximum.accumulate(pr[:, :, ::-1], axis=2)[:, :, ::-1]
            recall[:, rows, a, m] = tp_sum[:, np.arange(len(rows)), counts - 1] / pos
            index = _recall_positions(tps, tp_sum[:, np.arange(len(rows)), counts - 1], pos, params)
            inside = index < counts[None, :, None]
            q = np.take_along_axis(envelope, np.minimum(index, width - 1), axis=2)
            precision[:, :, rows, a, m] = np.moveaxis(np.where(inside, q, 0.0), 2, 1)
    return precision, recall


def _recall_positions(
    tps: np.ndarray, totals: np.ndarray, n_pos: np.ndarray, params: CocoParams
) -> np.ndarray:
    """``np.searchsorted(tp / n_pos, recall_thresholds, "left")`` for every (threshold, category) row.

    ``tp / n_pos < r`` holds exactly when ``tp < need``, ``need`` being the least integer whose
    quotient (the same float division) reaches ``r``; the first position where the cumulative TP
    count reaches ``need`` is the column of the row's ``need``-th true positive. Past the row's
    last true positive the result is ``width`` (out of range).
    """
    n_thr, n_rows, width = tps.shape
    thresholds = params.recall_thresholds[None, :]
    pos = n_pos.astype(np.float64)[:, None]  # (K, 1)
    need = np.ceil(thresholds * pos).astype(np.int64)  # (K, R)
    for _ in range(2):
        need = np.where((need - 1) / pos >= thresholds, need - 1, need)
        need = np.where(need / pos < thresholds, need + 1, need)
    columns = np.nonzero(tps)[2]  # row-major: each row's TP columns, ascending
    first = np.concatenate([[0], np.cumsum(totals.ravel())[:-1]]).reshape(n_thr, n_rows, 1)
    need = np.broadcast_to(need[None], (n_thr, n_rows, need.shape[1]))
    reachable = need <= totals[:, :, None]
    at = np.where(reachable & (need > 0), first + need - 1, 0)
    found = columns[at] if len(columns) else np.zeros(at.shape, dtype=np.int64)
    return np.where(need == 0, 0, np.where(reachable, found, width))


def summarize(precision: np.ndarray, recall: np.ndarray, params: CocoParams) -> np.ndarray:
    """The 12 numbers of ``COCOeval.summarize()``."""
    areas = list(params.area_ranges)
    out = np.empty(len(STAT_DEFINITIONS))
    for i, (_, is_ap, iou, area, max_det) in enumerate(STAT_DEFINITIONS):
        a = areas.index(area)
        m = list(params.max_dets).index(max_det)
        values = precision[..., a, m] if is_ap else recall[..., a, m]
        if iou is not None:
            values = values[np.flatnonzero(params.iou_thresholds == iou)]
        out[i] = _mean_defined(values)
    return out


# -- COCO files ---------------------------------------------------------------------------------


def _read_json(path: str | Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        check_regular_file(path, NotFoundError)
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: not a readable JSON file ({exc}).") from exc
    except RecursionError:
        raise FormatError(f"{path}: JSON nested too deeply to be a COCO file.") from None


def load_coco(ground_truth: str | Path, results: str | Path | Sequence[dict[str, Any]]) -> CocoData:
    """A COCO instances file and a COCO result list (``[{image_id, category_id, bbox, score}]``)."""
    gt_doc = _read_json(ground_truth, "Ground-truth file")
    if not isinstance(gt_doc, dict) or not isinstance(gt_doc.get("annotations"), list):
        raise FormatError(
            f"{ground_truth}: not a COCO instances file (no 'annotations' list).",
            hint="Give the ground truth first, then the results.",
        )
    dt_doc = results if not isinstance(results, str | Path) else _read_json(results, "Results file")
    if isinstance(dt_doc, dict) and isinstance(dt_doc.get("annotations"), list):
        dt_doc = dt_doc["annotations"]
    if not isinstance(dt_doc, list):
        raise FormatError(f"{results}: not a COCO result list ([{{image_id, category_id, bbox, score}}]).")

    image_ids = sorted({img["id"] for img in gt_doc.get("images", [])} | _ids(gt_doc["annotations"]))
    categories = sorted(gt_doc.get("categories", []), key=lambda c: c["id"])
    category_ids = [c["id"] for c in categories] or sorted({a["category_id"] for a in gt_doc["annotations"]})
    names = {c["id"]: str(c.get("name", c["id"])) for c in categories}
    image_index = {v: i for i, v in enumerate(image_ids)}
    category_index = {v: i for i, v in enumerate(category_ids)}

    try:
        anns = [a for a in gt_doc["annotations"] if a["category_id"] in category_index]
        g_box = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
        gt = GroundTruthBoxes(
            image=np.array([image_index[a["image_id"]] for a in anns], dtype=np.int64),
            category=np.array([category_index[a["category_id"]] for a in anns], dtype=np.int64),
            xywh=g_box,
            size=np.array(
                [a["area"] if "area" in a else a["bbox"][2] * a["bbox"][3] for a in anns], dtype=np.float64
            ),
            crowd=np.array([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool),
        )
        conditions = _conditions(anns)
        sizes = {
            img["id"]: (img.get("width", np.nan), img.get("height", np.nan))
            for img in gt_doc.get("images", [])
        }
        frame_size = np.array(
            [sizes.get(a["image_id"], (np.nan, np.nan)) for a in anns], dtype=np.float64
        ).reshape(-1, 2)
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{ground_truth}: an annotation lacks or has a bad field ({exc}).") from exc

    try:
        unknown = {d["image_id"] for d in dt_doc} - set(image_index)
        if unknown:
            raise FormatError(
                f"{results}: {len(unknown)} result image ids are not in the ground truth "
                f"(e.g. {sorted(unknown, key=str)[:3]}).",
                hint="The results must come from the same images as the ground-truth file.",
            )
        dets = [d for d in dt_doc if d["category_id"] in category_index]
        d_box = np.array([d["bbox"] for d in dets], dtype=np.float64).reshape(-1, 4)
        dt = DetectionBoxes(
            image=np.array([image_index[d["image_id"]] for d in dets], dtype=np.int64),
            category=np.array([category_index[d["category_id"]] for d in dets], dtype=np.int64),
            xywh=d_box,
            size=d_box[:, 2] * d_box[:, 3],
            score=np.array([d["score"] for d in dets], dtype=np.float64),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(
            f"{results}: a result lacks or has a bad field ({exc}).",
            hint="Each result needs image_id, category_id, bbox [x, y, w, h] and score.",
        ) from exc
    in_file = [img["id"] for img in gt_doc.get("images", [])] + [a["image_id"] for a in gt_doc["annotations"]]
    first_seen = {image: rank for rank, image in reversed(list(enumerate(in_file)))}
    order = np.argsort(np.argsort([first_seen[i] for i in image_ids], kind="stable"), kind="stable")
    names_list = [names.get(c, str(c)) for c in category_ids]
    return CocoData(
        gt,
        dt,
        image_ids,
        category_ids,
        names_list,
        image_order=order,
        gt_conditions=conditions,
        gt_frame_size=frame_size,
    )


def _conditions(anns: list[dict[str, Any]]) -> BoxConditions:
    """The fields pedestrian benchmarks add (Caltech, CityPersons, KAIST, EuroCity Persons in COCO form).

    ``ignore``; visibility from ``vis_ratio`` (or ``visibility``), else the ``vis_bbox`` area over the
    box area; ``occlusion`` as a level (0/1/2 or none/partial/heavy); ``truncation`` 0…1; ``height``.
    """
    n = len(anns)
    visibility = np.full(n, np.nan)
    truncation = np.full(n, np.nan)
    height = np.full(n, np.nan)
    for i, a in enumerate(anns):
        ratio = a.get("vis_ratio", a.get("visibility"))
        if ratio is None and a.get("vis_bbox") is not None:
            vw, vh = float(a["vis_bbox"][2]), float(a["vis_bbox"][3])
            area = float(a["bbox"][2]) * float(a["bbox"][3])
            ratio = vw * vh / area if area > 0 and vw * vh > 0 else None
        if ratio is not None:
            visibility[i] = float(ratio)
        if a.get("truncation") is not None:
            truncation[i] = float(a["truncation"])
        if a.get("height") is not None:
            height[i] = float(a["height"])
    return BoxConditions(
        ignore=np.array([bool(a.get("ignore", 0)) for a in anns], dtype=bool),
        visibility=visibility,
        occlusion=np.array([occlusion_index(a.get("occlusion")) for a in anns], dtype=np.int64),
        truncation=truncation,
        height=height,
    )


def _ids(annotations: list[dict[str, Any]]) -> set[Any]:
    try:
        return {a["image_id"] for a in annotations}
    except (KeyError, TypeError) as exc:
        raise FormatError(f"a ground-truth annotation has no image_id ({exc}).") from exc
