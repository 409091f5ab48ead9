"""Greedy matching of detections to ground truth, exactly as pycocotools does it, vectorised with numpy.

Within one image (frame) and one category, detections are taken in descending score (a stable sort,
so ties keep their input order) and each is matched to the ground-truth box with the highest IoU
among the boxes it may still take (ties go to the later box):

* a box already matched at this threshold is taken only if it is a crowd box;
* boxes that are not ignored are preferred: an ignored box (crowd, or outside the size range) is
  chosen only when no non-ignored box reaches the threshold;
* a crowd box's IoU is intersection / detection area.

A detection matched to an ignored box is ignored (neither TP nor FP); so is an unmatched detection
whose own size is outside the range. Only the ``max_dets`` best detections per image and category
take part.

The work is batched: all image/category pairs with detections and ground truth are padded into a
few arrays (grouped by size so padding stays small) and the detections of every pair are processed
rank by rank together, for every IoU threshold and size range at once. Greedy matching keeps a
useful property: a detection's match never depends on detections with lower scores, so the matches
of the detections above any confidence threshold are those of the full run restricted to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: pycocotools' IoU threshold cap: a threshold of 1.0 is treated as 1 - 1e-10.
_IOU_CAP = 1 - 1e-10


@dataclass(frozen=True)
class GroundTruthBoxes:
    """Ground-truth boxes as columns. ``xywh`` is ``(n, 4)`` top-left x, y, width, height in pixels.

    ``size`` is the value the size ranges test (COCO: the annotation's ``area``; pedestrian
    evaluation: the box height). ``image`` and ``category`` are small integer indices.
    """

    image: np.ndarray
    category: np.ndarray
    xywh: np.ndarray
    size: np.ndarray
    crowd: np.ndarray

    def __len__(self) -> int:
        return len(self.image)

    @classmethod
    def empty(cls) -> GroundTruthBoxes:
        return cls(_ints(), _ints(), np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=bool))


@dataclass(frozen=True)
class DetectionBoxes:
    """Detections as columns, like :class:`GroundTruthBoxes`, with a ``score`` each."""

    image: np.ndarray
    category: np.ndarray
    xywh: np.ndarray
    size: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.image)

    @classmethod
    def empty(cls) -> DetectionBoxes:
        return cls(_ints(), _ints(), np.zeros((0, 4)), np.zeros(0), np.zeros(0))


def _ints() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Matching:
    """The outcome of :func:`greedy_match` for ``A`` size ranges and ``T`` IoU thresholds.

    * ``rank``: each detection's position within its image/category, best score first.
    * ``kept``: whether the detection took part (``rank < max_dets``).
    * ``dt_gt``: ``(A, T, n_dt)`` index of the matched ground-truth box, or -1.
    * ``dt_ignored``: ``(A, T, n_dt)`` the detection counts neither as TP nor FP.
    * ``gt_ignored``: ``(A, n_gt)`` crowd boxes and boxes outside the size range.
    * ``gt_dt``: ``(A, T, n_gt)`` the first detection matched to the box, or -1.
    """

    iou_thresholds: np.ndarray
    size_ranges: np.ndarray
    rank: np.ndarray
    kept: np.ndarray
    dt_gt: np.ndarray
    dt_ignored: np.ndarray
    gt_ignored: np.ndarray
    gt_dt: np.ndarray

    @property
    def true_positive(self) -> np.ndarray:
        return (self.dt_gt >= 0) & ~self.dt_ignored & self.kept

    @property
    def false_positive(self) -> np.ndarray:
        return (self.dt_gt < 0) & ~self.dt_ignored & self.kept


def box_iou(dt_xywh: np.ndarray, gt_xywh: np.ndarray, gt_crowd: np.ndarray) -> np.ndarray:
    """IoU of detections ``(..., D, 4)`` against ground truth ``(..., G, 4)``: ``(..., D, G)``.

    The arithmetic is pycocotools' ``bbIou`` step for step, so thresholds compare identically.
    """
    d = dt_xywh[..., :, None, :]
    g = gt_xywh[..., None, :, :]
    w = np.minimum(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.maximum(d[..., 1], g[..., 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    d_area = d[..., 2] * d[..., 3]
    g_area = g[..., 2] * g[..., 3]
    union = np.where(gt_crowd[..., None, :], d_area, d_area + g_area - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(inter > 0, inter / union, 0.0)
    return iou


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.column_stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]])


def _group(keys: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For items sorted by ``order``: unique keys, first sorted position, count, and each item's rank."""
    sorted_keys = keys[order]
    unique, first, count = np.unique(sorted_keys, return_index=True, return_counts=True)
    rank_sorted = np.arange(len(order)) - np.repeat(first, count)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = rank_sorted
    return unique, first, count, rank


def _next_pow2(values: np.ndarray) -> np.ndarray:
    return np.left_shift(1, np.ceil(np.log2(np.maximum(values, 1))).astype(np.int64))


def greedy_match(
    gt: GroundTruthBoxes,
    dt: DetectionBoxes,
    iou_thresholds: Sequence[float] | np.ndarray = (0.5,),
    size_ranges: Sequence[tuple[float, float]] | np.ndarray = ((0.0, np.inf),),
    *,
    max_dets: int | None = None,
    class_agnostic: bool = False,
) -> Matching:
    """Match ``dt`` to ``gt`` per image and category (per image only when ``class_agnostic``)."""
    thresholds = np.asarray(iou_thresholds, dtype=np.float64)
    ranges = np.asarray(size_ranges, dtype=np.float64).reshape(-1, 2)
    n_ranges, n_thr, n_gt, n_dt = len(ranges), len(thresholds), len(gt), len(dt)

    n_cat = 1 if class_agnostic else int(max(gt.category.max(initial=-1), dt.category.max(initial=-1)) + 1)
    gkey = gt.image.astype(np.int64) * n_cat + (0 if class_agnostic else gt.category)
    dkey = dt.image.astype(np.int64) * n_cat + (0 if class_agnostic else dt.category)
    g_order = np.argsort(gkey, kind="stable")
    d_order = np.lexsort((np.arange(n_dt), -dt.score, dkey))
    g_keys, g_first, g_count, _ = _group(gkey, g_order)
    d_keys, d_first, d_count, rank = _group(dkey, d_order)
    kept = rank < max_dets if max_dets is not None else np.ones(n_dt, dtype=bool)

    gt_ignored = gt.crowd[None, :] | (gt.size[None, :] < ranges[:, :1]) | (gt.size[None, :] > ranges[:, 1:])
    dt_out = (dt.size[None, :] < ranges[:, :1]) | (dt.size[None, :] > ranges[:, 1:])
    dt_gt = np.full((n_ranges, n_thr, n_dt), -1, dtype=np.int64)
    dt_ignored = np.zeros((n_ranges, n_thr, n_dt), dtype=bool)
    gt_dt = np.full((n_ranges, n_thr, n_gt), -1, dtype=np.int64)

    _, in_d, in_g = np.intersect1d(d_keys, g_keys, assume_unique=True, return_indices=True)
    if len(in_d):
        nd = d_count[in_d] if max_dets is None else np.minimum(d_count[in_d], max_dets)
        ng = g_count[in_g]
        bucket = _next_pow2(nd) * (1 << 32) + _next_pow2(ng)
        capped = np.minimum(thresholds, _IOU_CAP)
        for value in np.unique(bucket):
            rows = np.flatnonzero(bucket == value)
            d_idx = _padded(d_order, d_first[in_d[rows]], nd[rows])
            g_idx = _padded(g_order, g_first[in_g[rows]], ng[rows])
            _match_bucket(gt, dt, d_idx, g_idx, gt_ignored, capped, dt_gt, dt_ignored, gt_dt)

    dt_ignored |= (dt_gt < 0) & dt_out[:, None, :]
    return Matching(thresholds, ranges, rank, kept, dt_gt, dt_ignored, gt_ignored, gt_dt)


def _padded(order: np.ndarray, first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``(P, max(count))`` item indices of each group, -1 past its count."""
    width = int(count.max())
    cols = np.arange(width)
    mask = cols[None, :] < count[:, None]
    out = np.full((len(first), width), -1, dtype=np.int64)
    out[mask] = order[(first[:, None] + cols[None, :])[mask]]
    return out


def _match_bucket(
    gt: GroundTruthBoxes,
    dt: DetectionBoxes,
    d_idx: np.ndarray,
    g_idx: np.ndarray,
    gt_ignored: np.ndarray,
    thresholds: np.ndarray,
    dt_gt: np.ndarray,
    dt_ignored: np.ndarray,
    gt_dt: np.ndarray,
) -> None:
    n_pairs, width_g = g_idx.shape
    g_valid = g_idx >= 0
    g_safe = np.where(g_valid, g_idx, 0)
    d_safe = np.where(d_idx >= 0, d_idx, 0)
    crowd = gt.crowd[g_safe] & g_valid
    iou = box_iou(dt.xywh[d_safe], gt.xywh[g_safe], crowd)
    iou = np.where(g_valid[:, None, :] & (d_idx >= 0)[:, :, None], iou, -1.0)
    ignored = np.moveaxis(gt_ignored[:, g_safe], 0, 1)[:, :, None, :]  # (P, A, 1, G)
    n_ranges, n_thr = gt_ignored.shape[0], len(thresholds)
    taken = np.zeros((n_pairs, n_ranges, n_thr, width_g), dtype=bool)
    columns = np.arange(width_g)
    reversed_last = width_g - 1
    for d in range(d_idx.shape[1]):
        row = iou[:, d, :]  # (P, G)
        reaches = row[:, None, None, :] >= thresholds[None, None, :, None]  # (P, 1, T, G)
        eligible = reaches & (~taken | crowd[:, None, None, :])
        regular = eligible & ~ignored
        fallback = eligible & ignored
        has_regular = regular.any(-1)
        has_fallback = fallback.any(-1)
        values = row[:, None, None, :]
        best_regular = reversed_last - np.argmax(np.where(regular, values, -1.0)[..., ::-1], axis=-1)
        best_fallback = reversed_last - np.argmax(np.where(fallback, values, -1.0)[..., ::-1], axis=-1)
        matched = has_regular | has_fallback
        if not matched.any():
            continue
        chosen = np.where(has_regular, best_regular, best_fallback)  # (P, A, T)
        hit = (columns == chosen[..., None]) & matched[..., None]  # (P, A, T, G)
        det = d_idx[:, d]
        p, a, t = np.nonzero(matched)
        dets = det[p]
        gts = g_idx[p, chosen[p, a, t]]
        dt_gt[a, t, dets] = gts
        dt_ignored[a, t, dets] = ~has_regular[p, a, t]
        first = gt_dt[a, t, gts] < 0
        gt_dt[a[first], t[first], gts[first]] = dets[first]
        taken |= hit
