"""Pedestrian-detection metrics: log-average miss rate (Caltech) and results by box height.

Log-average miss rate (Dollár et al., Caltech Pedestrian benchmark, ``bbGt('compRoc')`` and
``dbEval``): over all detections in descending score, false positives per frame
``FPPI = FP / frames`` and miss rate ``MR = 1 - TP / positives``; at 9 reference points spaced
evenly in log space over FPPI 10⁻²…10⁰, take the miss rate at the last point of the curve whose
FPPI does not exceed the reference (miss rate 1 where the curve starts above it); the result is
the geometric mean of those 9 miss rates (each floored at 1e-10).

Height bins split ground truth by box height in pixels, each bin ``[min, max)`` (setting
``evaluation.height_bins``: near >= 80, medium 30–80, far < 30 by default). Per bin, boxes of
other heights are ignored and so are unmatched detections of other heights (the COCO area-range
rule applied to height), so each bin has its own recall, AP50 and log-average miss rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vru_desktop.evaluation.coco import CocoData, CocoParams, accumulate
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes, greedy_match
from vru_desktop.evaluation.protocols import miss_rate_curve


def log_average_miss_rate(
    scores: np.ndarray, true_positive: np.ndarray, false_positive: np.ndarray, n_pos: int, n_frames: int
) -> float | None:
    """The Caltech log-average miss rate; ``None`` without positives or frames.

    ``true_positive`` / ``false_positive`` flag each detection (ignored detections have neither).
    """
    return miss_rate_curve(scores, true_positive, false_positive, n_pos, n_frames)[1]


@dataclass(frozen=True)
class HeightBinResult:
    name: str
    low: float
    high: float
    positives: int
    true_positives: int
    recall: float | None
    ap50: float | None
    log_average_miss_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bin": self.name,
            "height_px": [self.low, self.high],
            "positives": self.positives,
            "true_positives": self.true_positives,
            "recall": self.recall,
            "ap50": self.ap50,
            "log_average_miss_rate": self.log_average_miss_rate,
        }


def by_height(
    gt: GroundTruthBoxes,
    dt: DetectionBoxes,
    n_frames: int,
    *,
    conf: float = 0.0,
    iou: float = 0.5,
    bins: dict[str, tuple[float, float]],
    category: int | None = None,
) -> list[HeightBinResult]:
    """Recall at ``conf``, AP at ``iou`` and log-average miss rate per height bin.

    ``category`` restricts both sides to one class (e.g. pedestrian); otherwise all classes count
    and matching is per class.
    """
    if category is not None:
        g, d = gt.category == category, dt.category == category
        gt = GroundTruthBoxes(gt.image[g], gt.category[g], gt.xywh[g], gt.size[g], gt.crowd[g])
        dt = DetectionBoxes(dt.image[d], dt.category[d], dt.xywh[d], dt.size[d], dt.score[d])
    gt_h = GroundTruthBoxes(gt.image, gt.category, gt.xywh, gt.xywh[:, 3].copy(), gt.crowd)
    dt_h = DetectionBoxes(dt.image, dt.category, dt.xywh, dt.xywh[:, 3].copy(), dt.score)
    # Half-open bins: a box exactly at a boundary belongs to the upper bin only.
    ranges = {name: (lo, float(np.nextafter(hi, -np.inf))) for name, (lo, hi) in bins.items()}
    matching = greedy_match(gt_h, dt_h, [iou], list(ranges.values()))
    n_cat = int(max(gt.category.max(initial=-1), dt.category.max(initial=-1)) + 1)
    params = CocoParams(iou_thresholds=np.array([iou]), area_ranges=ranges, max_dets=(max(len(dt), 1),))
    data = CocoData(gt_h, dt_h, [], list(range(n_cat)), [str(k) for k in range(n_cat)])
    precision, _ = accumulate(data, matching, params)
    results = []
    for a, (name, (low, high)) in enumerate(bins.items()):
        positives = int((~matching.gt_ignored[a]).sum())
        tp_flags = matching.true_positive[a, 0]
        fp_flags = matching.false_positive[a, 0]
        above = dt.score >= conf
        tp = int((tp_flags & above).sum())
        p = precision[0, :, :, a, 0]
        defined = p[p > -1]
        results.append(
            HeightBinResult(
                name=name,
                low=low,
                high=high,
                positives=positives,
                true_positives=tp,
                recall=tp / positives if positives else None,
                ap50=float(defined.mean()) if defined.size else None,
                log_average_miss_rate=log_average_miss_rate(
                    dt.score, tp_flags, fp_flags, positives, n_frames
                ),
            )
        )
    return results
