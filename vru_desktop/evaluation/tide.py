"""TIDE error breakdown (Bolya et al., ECCV 2020): how much AP each kind of error costs.

As the ``tidecv`` package defines it, at one IoU threshold (foreground 0.5, background 0.1):

* per image, the 100 best detections (all classes together) are matched greedily by score to the
  unmatched ground-truth box of their class with the highest IoU (≥ 0.5); unmatched detections
  overlapping a crowd box of their class by more than 0.5 of their own area are ignored;
* each unmatched detection gets one error, tested in this order: **background** when the image has
  no ground truth; **localisation** when its best same-class IoU is in [0.1, 0.5]; **classification**
  when it overlaps a box of another class with IoU ≥ 0.5; **duplicate** when it overlaps an already
  matched box of its class with IoU ≥ 0.5; **background** when no box overlaps it by more than 0.1;
  else **both** (wrong class and badly placed);
* a ground-truth box left unmatched that no localisation or classification error points at is
  **missed**.

ΔAP of a kind is the AP (101-point, mean over classes, in points 0–100) after fixing only those
errors, minus the AP as it is (at least 0): a localisation or classification error becomes a true
positive (the best-scored one per ground-truth box; the others are removed), duplicates,
background and "both" errors are removed, missed boxes leave the ground truth. The two special
errors fix all false positives (scored below every true positive) or all false negatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes, box_iou

POS_THRESHOLD = 0.5
BG_THRESHOLD = 0.1
MAX_DETS = 100
#: TIDE's main error kinds, in its order, with its short names.
ERRORS = {"classification": "Cls", "localisation": "Loc", "both": "Both", "duplicate": "Dupe"}
ERRORS |= {"background": "Bkg", "missed": "Miss"}
_KINDS = list(ERRORS)
_CLS, _LOC, _BOTH, _DUPE, _BKG, _MISS = range(6)


@dataclass(frozen=True)
class TideResult:
    ap: float
    delta_ap: dict[str, float]
    false_positive_delta_ap: float
    false_negative_delta_ap: float
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ap50": self.ap,
            "delta_ap": self.delta_ap,
            "special_delta_ap": {
                "false_positives": self.false_positive_delta_ap,
                "false_negatives": self.false_negative_delta_ap,
            },
            "counts": self.counts,
        }


@dataclass
class _Points:
    """AP data points (one per detection that counts) and the ground-truth positives per class."""

    cls: np.ndarray
    score: np.ndarray
    tp: np.ndarray
    order: np.ndarray  # ties in score keep this order
    positives: np.ndarray  # per class
    known: np.ndarray  # classes that have an AP entry


def _ap(p: _Points) -> float:
    """Mean over classes with points or positives of the 101-point AP (TIDE's ``get_mAP``)."""
    recall_points = np.arange(101) / 100
    aps = []
    for k in np.flatnonzero(p.known):
        mine = np.flatnonzero(p.cls == k)
        if not len(mine) and p.positives[k] == 0:
            continue
        if p.positives[k] == 0 or not len(mine):
            aps.append(0.0)
            continue
        ranked = mine[np.lexsort((p.order[mine], -p.score[mine]))]
        tp = np.cumsum(p.tp[ranked])
        precision = tp / np.arange(1, len(ranked) + 1)
        recall = tp / p.positives[k]
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        at = np.searchsorted(recall, recall_points, side="left")
        aps.append(float(np.where(at < len(ranked), precision[np.minimum(at, len(ranked) - 1)], 0).sum()))
    return sum(aps) / 101 * 100 / len(aps) if aps else 0.0


def tide(gt: GroundTruthBoxes, dt: DetectionBoxes, image_order: np.ndarray | None = None) -> TideResult:
    """TIDE's errors of ``dt`` against ``gt``; ``image_order`` is the rank of each image (default: index)."""
    n_images = int(max(gt.image.max(initial=-1), dt.image.max(initial=-1)) + 1)
    n_cls = int(max(gt.category.max(initial=-1), dt.category.max(initial=-1)) + 1)
    rank_of = np.arange(n_images) if image_order is None else np.asarray(image_order)
    positives = np.bincount(gt.category[~gt.crowd], minlength=n_cls).astype(np.int64)
    gt_used = np.zeros(len(gt), dtype=bool)
    gt_usable = np.zeros(len(gt), dtype=bool)
    best_score = np.full(len(gt), -1.0)
    best_det = np.full(len(gt), -1)
    counted = np.zeros(len(dt), dtype=bool)  # used or unused, not ignored: an AP point
    tp = np.zeros(len(dt), dtype=bool)
    error = np.full(len(dt), -1)
    error_gt = np.full(len(dt), -1)
    rank = np.zeros(len(dt), dtype=np.int64)

    g_by_image = _rows_by(gt.image, n_images)
    d_by_image = _rows_by(dt.image, n_images)
    for image in np.argsort(rank_of, kind="stable"):
        g_rows, d_rows = g_by_image[image], d_by_image[image]
        if not len(d_rows):
            continue
        d_rows = d_rows[np.argsort(-dt.score[d_rows], kind="stable")][:MAX_DETS]
        rank[d_rows] = np.arange(len(d_rows))
        real = g_rows[~gt.crowd[g_rows]]
        crowd = g_rows[gt.crowd[g_rows]]
        iou = box_iou(dt.xywh[d_rows], gt.xywh[real], np.zeros(len(real), dtype=bool))
        same = dt.category[d_rows][:, None] == gt.category[real][None, :]
        cls_iou = iou * same
        used = np.zeros(len(d_rows), dtype=bool)
        buffer = cls_iou.copy()
        for i in range(len(d_rows)):
            if not len(real):
                break
            j = int(np.argmax(buffer[i]))
            if buffer[i, j] >= POS_THRESHOLD:
                used[i] = True
                gt_used[real[j]] = True
                buffer[:, j] = 0
        ignored = np.zeros(len(d_rows), dtype=bool)
        if len(crowd):
            ioa = box_iou(dt.xywh[d_rows], gt.xywh[crowd], np.ones(len(crowd), dtype=bool))
            same_crowd = dt.category[d_rows][:, None] == gt.category[crowd][None, :]
            ignored = ~used & ((ioa > POS_THRESHOLD) & same_crowd).any(1)
        counted[d_rows] = ~ignored
        tp[d_rows] = used
        _classify(dt, d_rows, ~used, real, iou, same, gt_used, error, error_gt)
        for i in np.flatnonzero(~used):
            kind, j = error[d_rows[i]], error_gt[d_rows[i]]
            if kind in (_LOC, _CLS) and not gt_used[j]:
                gt_usable[j] = True
                if best_score[j] < dt.score[d_rows[i]]:
                    best_score[j], best_det[j] = dt.score[d_rows[i]], d_rows[i]

    return _delta_aps(
        gt, dt, positives, counted, tp, error, error_gt, gt_used, gt_usable, best_det, rank, rank_of
    )


def _rows_by(image: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(image, kind="stable")
    return np.split(order, np.searchsorted(image[order], np.arange(1, n)))


def _classify(
    dt: DetectionBoxes,
    d_rows: np.ndarray,
    unmatched: np.ndarray,
    real: np.ndarray,
    iou: np.ndarray,
    same: np.ndarray,
    gt_used: np.ndarray,
    error: np.ndarray,
    error_gt: np.ndarray,
) -> None:
    """TIDE's error kind (and the box it is about) of each unmatched detection of one image."""
    if not len(real):
        error[d_rows[unmatched]] = _BKG
        return
    cls_iou = iou * same
    other_iou = iou * ~same
    dupe_iou = cls_iou * gt_used[real][None, :]
    for i in np.flatnonzero(unmatched):
        j = int(np.argmax(cls_iou[i]))
        if BG_THRESHOLD <= cls_iou[i, j] <= POS_THRESHOLD:
            error[d_rows[i]], error_gt[d_rows[i]] = _LOC, real[j]
            continue
        j = int(np.argmax(other_iou[i]))
        if other_iou[i, j] >= POS_THRESHOLD:
            error[d_rows[i]], error_gt[d_rows[i]] = _CLS, real[j]
            continue
        if dupe_iou[i].max() >= POS_THRESHOLD:
            error[d_rows[i]] = _DUPE
        elif iou[i].max() <= BG_THRESHOLD:
            error[d_rows[i]] = _BKG
        else:
            error[d_rows[i]] = _BOTH


def _delta_aps(
    gt: GroundTruthBoxes,
    dt: DetectionBoxes,
    positives: np.ndarray,
    counted: np.ndarray,
    tp: np.ndarray,
    error: np.ndarray,
    error_gt: np.ndarray,
    gt_used: np.ndarray,
    gt_usable: np.ndarray,
    best_det: np.ndarray,
    rank: np.ndarray,
    rank_of: np.ndarray,
) -> TideResult:
    n_cls = len(positives)
    order = rank_of[dt.image] * (MAX_DETS + 1) + rank
    known = np.zeros(n_cls, dtype=bool)
    known[gt.category[~gt.crowd]] = True
    known[dt.category[counted]] = True
    base_rows = np.flatnonzero(counted)
    base = _Points(
        dt.category[base_rows], dt.score[base_rows], tp[base_rows], order[base_rows], positives, known
    )
    base_ap = _ap(base)

    errs = np.flatnonzero(error >= 0)  # in TIDE's order; the true positives come after them
    errs = errs[np.argsort(order[errs], kind="stable")]
    hits = np.flatnonzero(tp & counted)
    missed = ~gt_used & ~gt_usable & ~gt.crowd
    after = order.max(initial=0) + 1

    def fixed(
        kind: int = -1, *, positives_now: np.ndarray = positives, perfect_precision: bool = False
    ) -> float:
        """AP with the errors of ``kind`` fixed (-1: none), the true positives kept."""
        is_kind = error[errs] == kind
        target = error_gt[errs]
        becomes_tp = is_kind & np.isin(error[errs], (_LOC, _CLS))
        becomes_tp &= (best_det[np.maximum(target, 0)] == errs) & ~gt_used[np.maximum(target, 0)]
        stays_fp = ~is_kind & counted[errs]
        keep = becomes_tp | stays_fp
        rows = np.concatenate([errs[keep], hits])
        fixed_cls = np.where(error[errs] == _CLS, gt.category[np.maximum(target, 0)], dt.category[errs])
        points = _Points(
            cls=np.concatenate([np.where(becomes_tp, fixed_cls, dt.category[errs])[keep], dt.category[hits]]),
            score=dt.score[rows],
            tp=np.concatenate([becomes_tp[keep], np.ones(len(hits), dtype=bool)]),
            order=np.concatenate([order[errs[keep]], after + order[hits]]),
            positives=positives_now,
            known=known,
        )
        if perfect_precision:
            points.score = points.tp.astype(np.float64)
        return _ap(points)

    delta = {}
    for kind, name in enumerate(_KINDS):
        if kind == _MISS:
            without = positives - np.bincount(gt.category[missed], minlength=n_cls)
            delta[name] = max(fixed(positives_now=without) - base_ap, 0.0)
        else:
            delta[name] = max(fixed(kind) - base_ap, 0.0)
    all_found = positives - np.bincount(gt.category[~gt_used & ~gt.crowd], minlength=n_cls)
    counts = {name: int((error == k).sum()) for k, name in enumerate(_KINDS) if k != _MISS}
    counts["missed"] = int(missed.sum())
    return TideResult(
        ap=base_ap,
        delta_ap=delta,
        false_positive_delta_ap=fixed(perfect_precision=True) - base_ap,
        false_negative_delta_ap=fixed(positives_now=all_found) - base_ap,
        counts=counts,
    )


def format_tide(result: TideResult) -> list[str]:
    """The lines the command line prints."""
    return [
        f"TIDE (AP50 {result.ap:.2f}): ΔAP "
        + "  ".join(f"{ERRORS[k]} {v:.2f}" for k, v in result.delta_ap.items()),
        f"  special ΔAP: false positives {result.false_positive_delta_ap:.2f}, "
        f"false negatives {result.false_negative_delta_ap:.2f}",
        "  errors: " + ", ".join(f"{k} {v}" for k, v in result.counts.items()),
    ]
