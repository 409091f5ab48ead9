"""95 % confidence intervals of pooled metrics by bootstrap over videos (seeded, reproducible).

A resample draws the suite's videos with replacement; it is a weight per video (how many times it
was drawn), so a resample's metrics are the pooled metrics with each video's boxes counted that
many times. All resamples are computed at once as matrices (resample × detection): weighted
cumulative sums give recall / precision at the threshold, COCO AP (the precision envelope read at
the 101 recall points, as ``COCOeval.accumulate``) and the log-average miss rate. With every
weight 1 the numbers are exactly the pooled ones.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vru_desktop.evaluation.protocols import FPPI_POINTS

if TYPE_CHECKING:
    from vru_desktop.campaigns.scoring import Pooled
    from vru_desktop.evaluation.run import RunEvaluation

INTERVAL_METRICS = ("recall", "precision", "f1", "ap", "ap50", "mr")
#: Resamples × detections held in memory at once.
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class _ApRow:
    """One (category) row of COCO's accumulation: kept detections in evaluation order."""

    video: np.ndarray
    tp: np.ndarray  # (T, n)
    fp: np.ndarray
    n_pos: np.ndarray  # counted ground truth per video


@dataclass(frozen=True)
class BootstrapInput:
    n_videos: int
    frames: np.ndarray  # reviewed frames per video
    tp: np.ndarray  # per video, at the confidence threshold
    fp: np.ndarray
    n_pos: np.ndarray
    mr_video: np.ndarray  # counted detections in descending score
    mr_tp: np.ndarray
    mr_fp: np.ndarray
    ap_rows: list[_ApRow]
    iou_thresholds: np.ndarray
    recall_thresholds: np.ndarray

    @classmethod
    def of(cls, result: RunEvaluation, pooled: Pooled) -> BootstrapInput:
        points, dt = result.points, result.data.dt
        v = len(pooled.frames_per_video)
        above = dt.score >= result.conf
        vd, vg = pooled.video_of_dt, pooled.video_of_gt
        order = np.argsort(-dt.score, kind="stable")
        counted = (points.dt_tp | points.dt_fp)[order]
        coco = result.coco
        params, matching = coco.params, coco.matching
        a = list(params.area_ranges).index("all")
        use = np.flatnonzero(matching.kept & (matching.rank < max(params.max_dets)))
        use = use[np.lexsort((matching.rank[use], dt.image[use], -dt.score[use], dt.category[use]))]
        gt_counted = ~matching.gt_ignored[a]
        rows = []
        for k in range(len(result.data.classes)):
            positives = gt_counted & (result.data.gt.category == k)
            if not positives.any():
                continue
            sel = use[dt.category[use] == k]
            rows.append(
                _ApRow(
                    video=vd[sel],
                    tp=matching.true_positive[a][:, sel],
                    fp=matching.false_positive[a][:, sel],
                    n_pos=np.bincount(vg[positives], minlength=v),
                )
            )
        return cls(
            n_videos=v,
            frames=pooled.frames_per_video.astype(np.float64),
            tp=np.bincount(vd[points.dt_tp & above], minlength=v).astype(np.float64),
            fp=np.bincount(vd[points.dt_fp & above], minlength=v).astype(np.float64),
            n_pos=np.bincount(vg[points.gt_counted], minlength=v).astype(np.float64),
            mr_video=vd[order][counted],
            mr_tp=points.dt_tp[order][counted],
            mr_fp=points.dt_fp[order][counted],
            ap_rows=rows,
            iou_thresholds=params.iou_thresholds,
            recall_thresholds=params.recall_thresholds,
        )


def resample_weights(n_videos: int, resamples: int, seed: int) -> np.ndarray:
    """``(resamples, n_videos)``: how many times each video is drawn in each resample."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_videos, size=(resamples, n_videos))
    flat = draws + n_videos * np.arange(resamples)[:, None]
    return (
        np.bincount(flat.ravel(), minlength=resamples * n_videos).reshape(resamples, n_videos).astype(float)
    )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def values(boot: BootstrapInput, weights: np.ndarray) -> dict[str, np.ndarray]:
    """The interval metrics for each row of ``weights`` (one resample per row)."""
    tp, fp, n_pos = weights @ boot.tp, weights @ boot.fp, weights @ boot.n_pos
    out = {
        "recall": _ratio(tp, n_pos),
        "precision": _ratio(tp, tp + fp),
        "f1": _ratio(2 * tp, tp + fp + n_pos),
        "mr": _miss_rate(boot, weights),
    }
    ap = _ap(boot, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # resamples with nothing defined are NaN
        out["ap"] = (
            np.nanmean(ap.reshape(len(weights), -1), axis=1) if ap.size else np.full(len(weights), np.nan)
        )
        at50 = np.flatnonzero(np.isclose(boot.iou_thresholds, 0.5))
        out["ap50"] = np.nanmean(ap[:, at50].reshape(len(weights), -1), axis=1) if ap.size else out["ap"]
    return out


def _counts_at(positions: np.ndarray, flags: np.ndarray, video: np.ndarray, n_videos: int) -> np.ndarray:
    """``(n_videos, len(positions))``: per video, the flagged detections at or before each position.

    A resample's cumulative count at those positions is then ``weights @ counts``."""
    flagged = np.flatnonzero(flags)
    of_video = video[flagged]
    out = np.empty((n_videos, len(positions)))
    for v in range(n_videos):
        out[v] = np.searchsorted(flagged[of_video == v], positions, side="right")
    return out


def _chunks(weights: np.ndarray, width: int) -> list[np.ndarray]:
    step = max(1, _CHUNK_CELLS // max(width, 1))
    return [weights[i : i + step] for i in range(0, len(weights), step)]


def _miss_rate(boot: BootstrapInput, weights: np.ndarray) -> np.ndarray:
    """Only false positives raise the FPPI, so the miss rate at a reference point is read just
    before the first false positive that takes the FPPI above it (or at the end)."""
    fp_at = np.flatnonzero(boot.mr_fp)
    tp_before = _counts_at(fp_at, boot.mr_tp, boot.mr_video, boot.n_videos)
    fp_upto = _counts_at(fp_at, boot.mr_fp, boot.mr_video, boot.n_videos)
    tp_total = np.bincount(boot.mr_video[boot.mr_tp], minlength=boot.n_videos).astype(np.float64)
    parts = []
    for w in _chunks(weights, len(fp_at)):
        frames, n_pos, total = w @ boot.frames, w @ boot.n_pos, w @ tp_total
        ctp, cfp = w @ tp_before, w @ fp_upto
        rows = np.arange(len(w))
        with np.errstate(divide="ignore", invalid="ignore"):
            fppi = cfp / frames[:, None]
            miss = np.empty((len(w), len(FPPI_POINTS)))
            for i, ref in enumerate(FPPI_POINTS):
                first_over = np.count_nonzero(fppi <= ref, axis=1)
                found = first_over < len(fp_at)
                tp = total.copy()
                tp[found] = ctp[rows[found], first_over[found]]
                miss[:, i] = 1.0 - tp / n_pos
            result = np.exp(np.mean(np.log(np.maximum(1e-10, miss)), axis=1))
        parts.append(np.where((n_pos > 0) & (frames > 0), result, np.nan))
    return np.concatenate(parts) if parts else np.zeros(0)


def _need(thresholds: np.ndarray, n_pos: np.ndarray) -> np.ndarray:
    """Per resample and recall point: the least TP count whose recall ``tp / n_pos`` reaches it
    (the same float division ``COCOeval`` compares)."""
    pos = np.where(n_pos > 0, n_pos, 1.0)[:, None]
    r = thresholds[None, :]
    need = np.ceil(r * pos)
    for _ in range(2):
        need = np.where((need - 1) / pos >= r, need - 1, need)
        need = np.where(need / pos < r, need + 1, need)
    return need


def _ap(boot: BootstrapInput, weights: np.ndarray) -> np.ndarray:
    """``(resamples, T, categories)`` average precision, NaN where a resample has no ground truth.

    Precision is only read at true positives: the position where recall first reaches a recall
    point is one, and a false positive never raises the envelope above the true positive before
    it. So each resample's cumulative counts are needed at the true positives only."""
    b, n_thr = len(weights), len(boot.iou_thresholds)
    out = np.full((b, n_thr, len(boot.ap_rows)), np.nan)
    for k, row in enumerate(boot.ap_rows):
        n_pos = weights @ row.n_pos
        defined = n_pos > 0
        need = _need(boot.recall_thresholds, n_pos)
        for t in range(n_thr):
            at = np.flatnonzero(row.tp[t])
            if not len(at):
                out[:, t, k] = np.where(defined, 0.0, np.nan)
                continue
            tp_upto = _counts_at(at, row.tp[t], row.video, boot.n_videos)
            fp_upto = _counts_at(at, row.fp[t], row.video, boot.n_videos)
            start = 0
            for w in _chunks(weights, len(at)):
                stop = start + len(w)
                out[start:stop, t, k] = _ap_rows(
                    w @ tp_upto, w @ fp_upto, need[start:stop], defined[start:stop]
                )
                start = stop
    return out


def _ap_rows(ctp: np.ndarray, cfp: np.ndarray, need: np.ndarray, defined: np.ndarray) -> np.ndarray:
    """AP of each row from cumulative TP / FP counts at the true positives (``COCOeval``'s formula)."""
    n = ctp.shape[1]
    rows = np.arange(len(ctp))[:, None]
    precision = ctp / (ctp + cfp + np.spacing(1))
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    # first column where the cumulative TP reaches ``need``: one searchsorted over all rows, each row
    # shifted by a multiple of a bound above its values (whole numbers, so exact)
    bound = float(max(ctp[:, -1].max(), need.max())) + 2.0
    flat = (ctp + rows * bound).ravel()
    index = np.searchsorted(flat, (need + rows * bound).ravel(), side="left").reshape(need.shape) - rows * n
    q = np.where(index < n, envelope[rows, np.minimum(index, n - 1)], 0.0)
    return np.where(defined, q.mean(axis=1), np.nan)


def intervals(boot: BootstrapInput, *, resamples: int, seed: int) -> dict[str, dict[str, Any]]:
    """``{metric: {"low", "high"}}``, the 2.5th and 97.5th percentiles over the resamples."""
    if boot.n_videos == 0 or resamples <= 0:
        return {}
    drawn = values(boot, resample_weights(boot.n_videos, resamples, seed))
    out: dict[str, dict[str, Any]] = {}
    for name in INTERVAL_METRICS:
        v = drawn[name]
        v = v[~np.isnan(v)]
        out[name] = (
            {"low": None, "high": None}
            if not len(v)
            else {"low": float(np.percentile(v, 2.5)), "high": float(np.percentile(v, 97.5))}
        )
    return out
