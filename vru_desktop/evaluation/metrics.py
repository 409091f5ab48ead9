"""Metrics at a confidence threshold and an IoU: TP / FP / FN, precision, recall, F1, confusion, errors.

:class:`OperatingPoints` matches a run once per IoU threshold and keeps, for every detection, its
match state in descending score order. Greedy matching never lets a lower-scored detection change a
higher-scored one's match, so the matches above any confidence threshold are the full run's matches
restricted to those detections: moving the threshold is a binary search and a cumulative-sum look-up
(the confidence slider), with no re-matching and no re-inference.

Definitions, at confidence ``c`` and IoU ``t`` (detections with ``score >= c`` count):

* TP: a detection matched to a ground-truth box of its class (per-class greedy matching, COCO
  rules: crowd matches are neither TP nor FP); FP: an unmatched detection; FN: a ground-truth box
  (not crowd) left unmatched. Precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their
  harmonic mean; ``None`` where the denominator is 0. "overall" sums the classes (micro average).
* Confusion matrix: class-agnostic greedy matching at ``t``; a detection of class *j* matched to a
  box of class *i* counts in row *i*, column *j*; an unmatched detection in row "background"; a
  box left unmatched in column "background" (missed).
* Error types of a false positive: ``duplicate`` (IoU >= t with a box of its class that a better
  detection took), ``class_confusion`` (IoU >= t with a box of another class, or >= 0.1 with only
  another class), ``localisation`` (0.1 <= IoU < t with a box of its class), ``background`` (IoU
  < 0.1 with every box); a ground-truth box left unmatched is ``missed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes, greedy_match

ERROR_KINDS = ("localisation", "duplicate", "class_confusion", "background", "missed")
LOCALISATION, DUPLICATE, CLASS_CONFUSION, BACKGROUND, MISSED = range(5)
#: Below this IoU with every box a false positive is a background error.
BACKGROUND_IOU = 0.1


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass(frozen=True)
class ThresholdMetrics:
    """The metrics at one confidence threshold and IoU."""

    conf: float
    iou: float
    classes: list[str]
    per_class: dict[str, Counts]
    overall: Counts
    #: ``(K + 1, K + 1)``: rows truth, columns prediction; the last row/column is background.
    confusion: np.ndarray
    error_counts: dict[str, int]

    @property
    def confusion_labels(self) -> list[str]:
        return [*self.classes, "background"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "conf": self.conf,
            "iou": self.iou,
            "overall": self.overall.to_dict(),
            "per_class": {name: c.to_dict() for name, c in self.per_class.items()},
            "confusion": {"labels": self.confusion_labels, "matrix": self.confusion.tolist()},
            "errors": self.error_counts,
        }


@dataclass(frozen=True)
class ErrorTable:
    """Errors as columns (one row each), ready for a list view: kind, frame, box, score, class …

    ``box`` is what to highlight (the detection, or the missed box); ``ref_box`` the ground-truth
    box a localisation error or duplicate refers to (NaN when none). ``ref_id`` is the detection
    event id, or the annotation id for ``missed``.
    """

    kind: np.ndarray
    frame: np.ndarray
    box: np.ndarray
    ref_box: np.ndarray
    score: np.ndarray
    category: np.ndarray
    ref_id: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def row(self, i: int, classes: list[str]) -> dict[str, Any]:
        return {
            "kind": ERROR_KINDS[int(self.kind[i])],
            "frame": int(self.frame[i]),
            "box": [float(v) for v in self.box[i]],
            "ref_box": None if np.isnan(self.ref_box[i, 0]) else [float(v) for v in self.ref_box[i]],
            "score": None if np.isnan(self.score[i]) else float(self.score[i]),
            "class": classes[int(self.category[i])],
            "id": int(self.ref_id[i]),
        }


class OperatingPoints:
    """One run's matching at IoU ``iou``; :meth:`at` gives the metrics at any confidence quickly.

    ``dt_ids`` / ``gt_ids`` are the database ids (or any ids) reported in the error table.
    """

    def __init__(
        self,
        gt: GroundTruthBoxes,
        dt: DetectionBoxes,
        classes: list[str],
        iou: float = 0.5,
        *,
        dt_ids: np.ndarray | None = None,
        gt_ids: np.ndarray | None = None,
        frames: np.ndarray | None = None,
    ) -> None:
        self.gt, self.dt, self.classes, self.iou = gt, dt, list(classes), float(iou)
        self.dt_ids = np.arange(len(dt)) if dt_ids is None else np.asarray(dt_ids)
        self.gt_ids = np.arange(len(gt)) if gt_ids is None else np.asarray(gt_ids)
        self.frames = np.unique(np.concatenate([gt.image, dt.image])) if frames is None else frames
        n_cls = len(self.classes)

        per_class = greedy_match(gt, dt, [iou])
        self.dt_tp = per_class.true_positive[0, 0]
        self.dt_fp = per_class.false_positive[0, 0]
        self.gt_counted = ~per_class.gt_ignored[0]
        matched_dt = per_class.gt_dt[0, 0]
        self.gt_hit_score = _take(dt.score, matched_dt, -np.inf)
        self.n_pos = np.bincount(gt.category[self.gt_counted], minlength=n_cls)

        self.order = np.argsort(-dt.score, kind="stable")
        self.neg_sorted = -dt.score[self.order]
        onehot = np.zeros((n_cls, len(dt)), dtype=np.int32)
        onehot[dt.category[self.order], np.arange(len(dt))] = 1
        zero = np.zeros((n_cls, 1), dtype=np.int64)
        self.cum_tp = np.concatenate([zero, np.cumsum(onehot * self.dt_tp[self.order], axis=1)], axis=1)
        self.cum_fp = np.concatenate([zero, np.cumsum(onehot * self.dt_fp[self.order], axis=1)], axis=1)

        agnostic = greedy_match(gt, dt, [iou], class_agnostic=True)
        ag_gt = agnostic.dt_gt[0, 0]
        counted = ~agnostic.dt_ignored[0, 0]
        self.ag_truth = _take(gt.category, ag_gt, n_cls)[counted]
        self.ag_pred = dt.category[counted]
        self.ag_score = dt.score[counted]
        ag_matched = agnostic.gt_dt[0, 0]
        self.ag_gt_score = _take(dt.score, ag_matched, -np.inf)

        self.error_kind, self.error_ref = self._type_false_positives()

    # -- precomputation ---------------------------------------------------------------------------
    def _type_false_positives(self) -> tuple[np.ndarray, np.ndarray]:
        """Each detection's error kind if it is a false positive, and the box it refers to (-1: none)."""
        gt, dt = self.gt, self.dt
        regular = np.flatnonzero(~gt.crowd)
        g_order = regular[np.argsort(gt.image[regular], kind="stable")]
        g_frames = gt.image[g_order]
        start = np.searchsorted(g_frames, dt.image, "left")
        count = np.searchsorted(g_frames, dt.image, "right") - start
        det = np.repeat(np.arange(len(dt)), count)
        offsets = np.arange(len(det)) - np.repeat(np.cumsum(count) - count, count)
        pair_gt = g_order[np.repeat(start, count) + offsets]
        iou = _pair_iou(dt.xywh[det], gt.xywh[pair_gt])
        same = gt.category[pair_gt] == dt.category[det]
        best_same = np.zeros(len(dt))
        best_other = np.zeros(len(dt))
        np.maximum.at(best_same, det[same], iou[same])
        np.maximum.at(best_other, det[~same], iou[~same])
        # The same-class box with the highest IoU, per detection (the last after sorting by IoU).
        ref = np.full(len(dt), -1, dtype=np.int64)
        pick = np.lexsort((iou[same], det[same]))
        last = np.flatnonzero(np.diff(np.append(det[same][pick], -1)) != 0)
        ref[det[same][pick][last]] = pair_gt[same][pick][last]
        kind = np.select(
            [
                best_same >= self.iou,
                best_other >= self.iou,
                best_same >= BACKGROUND_IOU,
                best_other >= BACKGROUND_IOU,
            ],
            [DUPLICATE, CLASS_CONFUSION, LOCALISATION, CLASS_CONFUSION],
            BACKGROUND,
        )
        return kind, np.where((kind == DUPLICATE) | (kind == LOCALISATION), ref, -1)

    # -- queries ----------------------------------------------------------------------------------
    def n_above(self, conf: float) -> int:
        """How many detections have ``score >= conf``."""
        return int(np.searchsorted(self.neg_sorted, -conf, side="right"))

    def class_counts(self, conf: float) -> np.ndarray:
        """``(K, 3)`` TP, FP, FN per class."""
        i = self.n_above(conf)
        tp, fp = self.cum_tp[:, i], self.cum_fp[:, i]
        return np.column_stack([tp, fp, self.n_pos - tp])

    def at(self, conf: float) -> ThresholdMetrics:
        counts = self.class_counts(conf)
        per_class = {
            name: Counts(*map(int, counts[k]))
            for k, name in enumerate(self.classes)
            if counts[k].any() or self.n_pos[k]
        }
        overall = Counts(*map(int, counts.sum(axis=0)))
        return ThresholdMetrics(
            conf=float(conf),
            iou=self.iou,
            classes=self.classes,
            per_class=per_class,
            overall=overall,
            confusion=self.confusion(conf),
            error_counts=self.error_counts(conf),
        )

    def confusion(self, conf: float) -> np.ndarray:
        n = len(self.classes) + 1
        above = self.ag_score >= conf
        matrix = np.bincount(self.ag_truth[above] * n + self.ag_pred[above], minlength=n * n).reshape(n, n)
        missed = self.gt_counted & (self.ag_gt_score < conf)
        matrix[: n - 1, n - 1] += np.bincount(self.gt.category[missed], minlength=n - 1)
        return matrix

    def _fp_above(self, conf: float) -> np.ndarray:
        return self.dt_fp & (self.dt.score >= conf)

    def _missed(self, conf: float) -> np.ndarray:
        return self.gt_counted & (self.gt_hit_score < conf)

    def error_counts(self, conf: float) -> dict[str, int]:
        kinds = np.bincount(self.error_kind[self._fp_above(conf)], minlength=len(ERROR_KINDS))
        kinds[MISSED] = int(self._missed(conf).sum())
        return {name: int(kinds[i]) for i, name in enumerate(ERROR_KINDS)}

    def errors(self, conf: float) -> ErrorTable:
        """Every false positive (typed) and every missed box at ``conf``, ordered by frame."""
        fp = np.flatnonzero(self._fp_above(conf))
        missed = np.flatnonzero(self._missed(conf))
        ref = self.error_ref[fp]
        ref_box = np.full((len(fp), 4), np.nan)
        has_ref = ref >= 0
        ref_box[has_ref] = _xyxy(self.gt.xywh[ref[has_ref]])
        kind = np.concatenate([self.error_kind[fp], np.full(len(missed), MISSED)])
        frame = np.concatenate([self.dt.image[fp], self.gt.image[missed]])
        order = np.lexsort((kind, frame))
        return ErrorTable(
            kind=kind[order],
            frame=frame[order],
            box=np.concatenate([_xyxy(self.dt.xywh[fp]), _xyxy(self.gt.xywh[missed])])[order],
            ref_box=np.concatenate([ref_box, np.full((len(missed), 4), np.nan)])[order],
            score=np.concatenate([self.dt.score[fp], np.full(len(missed), np.nan)])[order],
            category=np.concatenate([self.dt.category[fp], self.gt.category[missed]])[order],
            ref_id=np.concatenate([self.dt_ids[fp], self.gt_ids[missed]])[order],
        )

    def timeline(self, conf: float) -> dict[str, np.ndarray]:
        """Per frame of :attr:`frames`: TP, FP and FN counts at ``conf`` (detections and misses)."""
        index = np.searchsorted(self.frames, self.dt.image)
        above = self.dt.score >= conf
        n = len(self.frames)
        tp = np.bincount(index[self.dt_tp & above], minlength=n)
        fp = np.bincount(index[self.dt_fp & above], minlength=n)
        fn = np.bincount(np.searchsorted(self.frames, self.gt.image[self._missed(conf)]), minlength=n)
        return {"frame": self.frames, "tp": tp[:n], "fp": fp[:n], "fn": fn[:n]}

    @cached_property
    def curves(self) -> dict[str, dict[str, np.ndarray]]:
        """Precision and recall against the confidence threshold, per class and "all" (micro)."""
        out: dict[str, dict[str, np.ndarray]] = {}
        scores = -self.neg_sorted
        rows = [
            (name, self.cum_tp[k], self.cum_fp[k], self.n_pos[k], k) for k, name in enumerate(self.classes)
        ]
        rows.append(("all", self.cum_tp.sum(axis=0), self.cum_fp.sum(axis=0), self.n_pos.sum(), -1))
        for name, tp, fp, n_pos, k in rows:
            if n_pos == 0:
                continue
            positions = np.arange(1, len(scores) + 1)
            if k >= 0:
                positions = positions[self.dt.category[self.order] == k]
            tp_k, fp_k = tp[positions], fp[positions]
            out[name] = {
                "score": scores[positions - 1],
                "precision": tp_k / np.maximum(tp_k + fp_k, 1),
                "recall": tp_k / n_pos,
            }
        return out

    def score_histograms(self, bins: int = 20) -> dict[str, np.ndarray]:
        """Confidence histograms of true and false positives (all detections, every class)."""
        edges = np.linspace(0.0, 1.0, bins + 1)
        return {
            "edges": edges,
            "tp": np.histogram(self.dt.score[self.dt_tp], edges)[0],
            "fp": np.histogram(self.dt.score[self.dt_fp], edges)[0],
        }

    def best_f1(self) -> tuple[float, float]:
        """The confidence threshold with the highest overall F1, and that F1 (0.0, 0.0 without boxes)."""
        tp = self.cum_tp.sum(axis=0)[1:]
        fp = self.cum_fp.sum(axis=0)[1:]
        n_pos = self.n_pos.sum()
        if not len(tp) or n_pos == 0:
            return 0.0, 0.0
        f1 = 2 * tp / (tp + fp + n_pos)
        # Only positions where the next detection has a lower score are reachable thresholds.
        reachable = np.append(self.neg_sorted[1:] != self.neg_sorted[:-1], True)
        best = int(np.argmax(np.where(reachable, f1, -1)))
        return float(-self.neg_sorted[best]), float(f1[best])


def _take(values: np.ndarray, index: np.ndarray, missing: float) -> np.ndarray:
    """``values[index]`` where ``index >= 0``, else ``missing``."""
    out = np.full(len(index), missing, dtype=np.result_type(values, type(missing)))
    found = index >= 0
    out[found] = values[index[found]]
    return out


def _xyxy(xywh: np.ndarray) -> np.ndarray:
    return np.column_stack([xywh[:, 0], xywh[:, 1], xywh[:, 0] + xywh[:, 2], xywh[:, 1] + xywh[:, 3]])


def _pair_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of paired boxes ``a[i]``, ``b[i]`` (``xywh``)."""
    w = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    h = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / union, 0.0)
