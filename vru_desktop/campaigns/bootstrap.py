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
#: Whole numbers below this are exact in single precision, and so are their sums.
_EXACT_SINGLE = 2**24


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
    mr_video: np.ndarray  # the miss rate's counted detections in descending score
    mr_tp: np.ndarray
    mr_fp: np.ndarray
    mr_n_pos: np.ndarray  # the miss rate's positives per video
    ap_rows: list[_ApRow]
    iou_thresholds: np.ndarray
    recall_thresholds: np.ndarray

    @classmethod
    def of(cls, result: RunEvaluation, pooled: Pooled, category: int | None = None) -> BootstrapInput:
        """``category``: only that class's boxes (its miss rate is the all-box one, as
        ``RunEvaluation.miss_rates`` gives per class, also under a protocol)."""
        points, dt = result.points, result.data.dt
        v = len(pooled.frames_per_video)
        mine = np.ones(len(dt), dtype=bool) if category is None else dt.category == category
        gt_mine = (
            np.ones(len(result.data.gt), dtype=bool)
            if category is None
            else result.data.gt.category == category
        )
        above = (dt.score >= result.conf) & mine
        vd, vg = pooled.video_of_dt, pooled.video_of_gt
        n_pos = np.bincount(vg[points.gt_counted & gt_mine], minlength=v).astype(np.float64)
        if (
            result.protocols and category is None
        ):  # the first protocol's miss rate, the one ``summary_metrics`` reports
            curve = result.protocol_results[0]
            mr_video, mr_tp = vd[curve.curve_detections], curve.curve_true_positive
            mr_fp, mr_n_pos = ~mr_tp, np.bincount(vg[curve.positive_boxes], minlength=v).astype(np.float64)
        else:
            order = np.argsort(-dt.score, kind="stable")
            counted = ((points.dt_tp | points.dt_fp) & mine)[order]
            mr_video, mr_tp, mr_fp = (
                vd[order][counted],
                points.dt_tp[order][counted],
                points.dt_fp[order][counted],
            )
            mr_n_pos = n_pos
        coco = result.coco
        params, matching = coco.params, coco.matching
        a = list(params.area_ranges).index("all")
        use = np.flatnonzero(matching.kept & (matching.rank < max(params.max_dets)))
        use = use[np.lexsort((matching.rank[use], dt.image[use], -dt.score[use], dt.category[use]))]
        gt_counted = ~matching.gt_ignored[a]
        rows = []
        for k in range(len(result.data.classes)):
            positives = gt_counted & (result.data.gt.category == k)
            if not positives.any() or category not in (None, k):
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
            n_pos=n_pos,
            mr_video=mr_video,
            mr_tp=mr_tp,
            mr_fp=mr_fp,
            mr_n_pos=mr_n_pos,
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

    A resample's cumulative count at those positions is then ``weights @ counts`` (see
    :func:`_weighted`)."""
    flagged = np.flatnonzero(flags)
    first = np.searchsorted(positions, flagged, side="left")  # the first position counting each
    keep = first < len(positions)
    steps = np.bincount(
        video[flagged[keep]] * len(positions) + first[keep], minlength=n_videos * len(positions)
    )
    steps = steps.reshape(n_videos, len(positions))
    single = steps.sum(axis=1).max(initial=0) < _EXACT_SINGLE
    return np.cumsum(steps, axis=1, dtype=np.float32 if single else np.float64)


def _weighted(weights: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``weights @ counts``. Both hold whole numbers: in single precision (about twice as fast)
    where every sum stays below 2**24, so the values are exact either way."""
    if (
        counts.dtype == np.float32
        and weights.sum(axis=1).max(initial=0) * counts.max(initial=0) < _EXACT_SINGLE
    ):
        return weights.astype(np.float32) @ counts
    return weights @ counts.astype(np.float64, copy=False)


def _chunks(weights: np.ndarray, width: int) -> list[np.ndarray]:
    step = max(1, _CHUNK_CELLS // max(width, 1))
    return [weights[i : i + step] for i in range(0, len(weights), step)]


def _run_ends(flags: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Positions of the flagged detections that end a run: the next detection flagged in either
    array is an ``other`` one (or there is none). Detections flagged in neither do not count."""
    counted = np.flatnonzero(flags | other)
    mine = flags[counted]
    return counted[mine & np.append(~mine[1:], True)]


def _miss_rate(boot: BootstrapInput, weights: np.ndarray) -> np.ndarray:
    """Only false positives raise the FPPI, so the miss rate at a reference point is read just
    before the first false positive that takes the FPPI above it (or at the end). Within a run of
    false positives the true positives before them do not change, so the first run whose last
    false positive is above the reference point holds that one: only run ends are read."""
    fp_at = _run_ends(boot.mr_fp, boot.mr_tp)
    tp_before = _counts_at(fp_at, boot.mr_tp, boot.mr_video, boot.n_videos)
    fp_upto = _counts_at(fp_at, boot.mr_fp, boot.mr_video, boot.n_videos)
    tp_total = np.bincount(boot.mr_video[boot.mr_tp], minlength=boot.n_videos).astype(np.float64)
    parts = []
    for w in _chunks(weights, len(fp_at)):
        frames, n_pos, total = w @ boot.frames, w @ boot.mr_n_pos, w @ tp_total
        ctp, cfp = _weighted(w, tp_before), _weighted(w, fp_upto)
        with np.errstate(divide="ignore", invalid="ignore"):
            fppi = cfp / frames[:, None]
            # FPPI never falls along a row: the first run above each point by one search per row
            if len(fp_at):
                first_over = np.stack([np.searchsorted(row, FPPI_POINTS, side="right") for row in fppi])
                last = np.minimum(first_over, len(fp_at) - 1)
                tp = np.where(first_over < len(fp_at), np.take_along_axis(ctp, last, 1), total[:, None])
            else:
                tp = np.repeat(total[:, None], len(FPPI_POINTS), axis=1)
            miss = 1.0 - tp / n_pos[:, None]
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
    it. Along a run of true positives precision only rises, so only the run's last one is read: its
    precision bounds the run's, and it is the first read position reaching a recall point whenever
    a true positive of its run is."""
    b, n_thr = len(weights), len(boot.iou_thresholds)
    out = np.full((b, n_thr, len(boot.ap_rows)), np.nan)
    for k, row in enumerate(boot.ap_rows):
        n_pos = weights @ row.n_pos
        defined = n_pos > 0
        need = _need(boot.recall_thresholds, n_pos)
        for t in range(n_thr):
            at = _run_ends(row.tp[t], row.fp[t])
            if not len(at):
                out[:, t, k] = np.where(defined, 0.0, np.nan)
                continue
            tp_upto = _counts_at(at, row.tp[t], row.video, boot.n_videos)
            counted_upto = _counts_at(at, row.tp[t] | row.fp[t], row.video, boot.n_videos)
            start = 0
            for w in _chunks(weights, len(at)):
                stop = start + len(w)
                out[start:stop, t, k] = _ap_rows(
                    _weighted(w, tp_upto), _weighted(w, counted_upto), need[start:stop], defined[start:stop]
                )
                start = stop
    return out


def _ap_rows(ctp: np.ndarray, counted: np.ndarray, need: np.ndarray, defined: np.ndarray) -> np.ndarray:
    """AP of each row from cumulative TP and TP + FP counts at the true positives (``COCOeval``'s
    formula)."""
    n = ctp.shape[1]
    # a zero column after each row: the precision read where a recall point is never reached
    precision = np.zeros((len(ctp), n + 1))
    np.add(counted, np.spacing(1), out=precision[:, :n], dtype=np.float64)
    np.divide(ctp, precision[:, :n], out=precision[:, :n])
    # first column where the cumulative TP reaches ``need`` (it rises with the recall point)
    index = np.stack([np.searchsorted(c, r, side="left") for c, r in zip(ctp, need, strict=True)])
    # the envelope at those columns: the maximum between each and the next, then from the last back
    starts = index + (n + 1) * np.arange(len(ctp))[:, None]
    ends = (n + 1) * np.arange(1, len(ctp) + 1)[:, None] - 1
    segments = np.maximum.reduceat(precision.ravel(), np.hstack([starts, ends]).ravel())
    segments = segments.reshape(len(ctp), -1)[:, :-1]
    q = np.maximum.accumulate(segments[:, ::-1], axis=1)[:, ::-1]
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
