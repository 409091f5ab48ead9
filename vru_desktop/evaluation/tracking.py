"""Multi-object tracking metrics: CLEAR MOT, identity (IDF1) and HOTA, as TrackEval defines them.

The input is flat columns: every ground-truth box and every tracker box with its frame, track id
and ``x, y, w, h``. Similarity is the IoU (TrackEval's arithmetic). The definitions follow
TrackEval (Luiten et al.):

* **CLEAR MOT** (Bernardin & Stiefelhagen 2008): per frame, a Hungarian matching of pairs with
  IoU ≥ 0.5 that first keeps the matches of the previous frame that had ground truth and tracker
  boxes (score 1000 + IoU), then maximises IoU. An ID switch is a ground-truth track matched to
  another tracker id than at its last match; a fragmentation is a matched stretch that starts
  after an unmatched frame (counted from its second stretch on). MT / PT / ML: tracks matched in
  more than 80 %, at least 20 %, less than 20 % of their frames.
* **Identity** (Ristani et al. 2016): one global bipartite matching of ground-truth to tracker
  ids maximising the frames where the pair overlaps with IoU ≥ 0.5; IDTP are those frames.
* **HOTA** (Luiten et al. 2021): per frame, a Hungarian matching maximising IoU weighted by the
  pair's global alignment (Jaccard of the pair's soft co-occurrence); for α = 0.05 … 0.95 the
  matches with IoU ≥ α are the true positives, DetA = TP / (TP + FN + FP), AssA the mean over
  TPs of the pair's TPA / (TPA + FNA + FPA), HOTA = √(DetA·AssA). Reported as means over α.

Everything is done on the sparse list of overlapping pairs; only frames where one box overlaps
several boxes of the other side go through an assignment solver (``lap.lapjv``), and only CLEAR
needs them in frame order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vru_desktop.errors import FormatError

if TYPE_CHECKING:
    from vru_desktop.evaluation.ground_truth import EvaluationInput

EPS = float(np.finfo(float).eps)
#: HOTA's localisation thresholds α.
ALPHAS = np.arange(0.05, 0.99, 0.05)
THRESHOLD = 0.5


@dataclass(frozen=True)
class TrackBoxes:
    """Boxes as columns: ``frame`` and ``track`` integers, ``xywh`` ``(n, 4)`` top-left x, y, w, h."""

    frame: np.ndarray
    track: np.ndarray
    xywh: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def of(cls, frame: Any, track: Any, xywh: Any) -> TrackBoxes:
        return cls(
            np.asarray(frame, dtype=np.int64).reshape(-1),
            np.asarray(track, dtype=np.int64).reshape(-1),
            np.asarray(xywh, dtype=np.float64).reshape(-1, 4),
        )

    def subset(self, keep: np.ndarray) -> TrackBoxes:
        return TrackBoxes(self.frame[keep], self.track[keep], self.xywh[keep])


@dataclass(frozen=True)
class Pairs:
    """Ground-truth / tracker box pairs of the same frame with IoU > 0 (row indices into the boxes)."""

    gt: np.ndarray
    tr: np.ndarray
    iou: np.ndarray

    def subset(self, keep: np.ndarray) -> Pairs:
        return Pairs(self.gt[keep], self.tr[keep], self.iou[keep])


def pair_iou(a_xywh: np.ndarray, b_xywh: np.ndarray) -> np.ndarray:
    """IoU of row-aligned boxes, with TrackEval's arithmetic (degenerate boxes give 0)."""
    a0, a1 = a_xywh[:, :2], a_xywh[:, :2] + a_xywh[:, 2:]
    b0, b1 = b_xywh[:, :2], b_xywh[:, :2] + b_xywh[:, 2:]
    wh = np.maximum(np.minimum(a1, b1) - np.maximum(a0, b0), 0)
    inter = wh[:, 0] * wh[:, 1]
    area_a = (a1[:, 0] - a0[:, 0]) * (a1[:, 1] - a0[:, 1])
    area_b = (b1[:, 0] - b0[:, 0]) * (b1[:, 1] - b0[:, 1])
    union = area_a + area_b - inter
    inter[(area_a <= EPS) | (area_b <= EPS) | (union <= EPS)] = 0
    union[union <= EPS] = 1
    return inter / union


def overlapping_pairs(gt: TrackBoxes, tr: TrackBoxes, *, chunk: int = 4_000_000) -> Pairs:
    """All same-frame pairs with IoU > 0, in frame order (built in chunks of ``chunk`` pairs)."""
    g_order = np.argsort(gt.frame, kind="stable")
    t_order = np.argsort(tr.frame, kind="stable")
    t_frames, t_first, t_count = np.unique(tr.frame[t_order], return_index=True, return_counts=True)
    g_frames = gt.frame[g_order]
    where = np.searchsorted(t_frames, g_frames)
    where = np.minimum(where, max(len(t_frames) - 1, 0))
    present = (t_frames[where] == g_frames) if len(t_frames) else np.zeros(len(g_frames), dtype=bool)
    g_rows = g_order[present]
    starts = t_first[where[present]]
    counts = t_count[where[present]]
    ends = np.cumsum(counts)
    g_lo, g_hi = gt.xywh[:, :2], gt.xywh[:, :2] + gt.xywh[:, 2:]
    t_lo, t_hi = tr.xywh[:, :2], tr.xywh[:, :2] + tr.xywh[:, 2:]
    gx0, gx1, gy0, gy1 = (np.ascontiguousarray(c) for c in (g_lo[:, 0], g_hi[:, 0], g_lo[:, 1], g_hi[:, 1]))
    tx0, tx1, ty0, ty1 = (np.ascontiguousarray(c) for c in (t_lo[:, 0], t_hi[:, 0], t_lo[:, 1], t_hi[:, 1]))
    out_g, out_t, out_iou = [], [], []
    lo = 0
    while lo < len(g_rows):
        hi = int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + chunk, side="right"))
        hi = max(hi, lo + 1)
        n = counts[lo:hi]
        rep_g = np.repeat(g_rows[lo:hi], n)
        offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        rep_t = t_order[np.repeat(starts[lo:hi], n) + offset]
        # Only boxes that overlap on both axes can have IoU > 0.
        touch = np.minimum(gx1[rep_g], tx1[rep_t]) > np.maximum(gx0[rep_g], tx0[rep_t])
        rep_g, rep_t = rep_g[touch], rep_t[touch]
        touch = np.minimum(gy1[rep_g], ty1[rep_t]) > np.maximum(gy0[rep_g], ty0[rep_t])
        rep_g, rep_t = rep_g[touch], rep_t[touch]
        iou = pair_iou(gt.xywh[rep_g], tr.xywh[rep_t])
        hit = iou > 0
        out_g.append(rep_g[hit])
        out_t.append(rep_t[hit])
        out_iou.append(iou[hit])
        lo = hi
    if not out_g:
        return Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    return Pairs(np.concatenate(out_g), np.concatenate(out_t), np.concatenate(out_iou))


#: Frames are solved together in one block-diagonal problem of about this many rows.
_BLOCK = 128


def _solve(rows: np.ndarray, cols: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Maximum-score assignment of the given pairs (one small problem): which pairs it takes."""
    import lap

    r_ids, r = np.unique(rows, return_inverse=True)
    c_ids, c = np.unique(cols, return_inverse=True)
    cost = np.zeros((len(r_ids), len(c_ids)))
    cost[r, c] = -score
    _, x, _ = lap.lapjv(cost, extend_cost=len(r_ids) != len(c_ids))
    return x[r] == c


def _single(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Pairs whose two ends take part in no other pair."""
    return (np.bincount(a, minlength=n_a)[a] == 1) & (np.bincount(b, minlength=n_b)[b] == 1)


def assign_per_frame(
    frame: np.ndarray, gt: np.ndarray, tr: np.ndarray, score: np.ndarray, n_gt: int, n_tr: int
) -> np.ndarray:
    """Per frame, the maximum-score assignment of ``gt`` rows to ``tr`` rows among positive-score pairs."""
    taken = _single(gt, tr, n_gt, n_tr)
    rest = np.flatnonzero(~taken)
    if not len(rest):
        return taken
    # Frames are independent: several go into one block-diagonal problem. Pairs across frames
    # score 0, so an optimal assignment of the whole is optimal in every frame.
    rest = rest[np.argsort(frame[rest], kind="stable")]
    _, row = np.unique(frame[rest] * n_gt + gt[rest], return_inverse=True)
    _, col = np.unique(frame[rest] * n_tr + tr[rest], return_inverse=True)
    row, col = row.reshape(-1), col.reshape(-1)
    new_frame = np.flatnonzero(np.diff(frame[rest], prepend=frame[rest][0] - 1))
    size = np.maximum(row, col)[new_frame]  # rows or columns before each frame
    block = size // _BLOCK
    cuts = [*np.flatnonzero(np.diff(block, prepend=-1)).tolist(), len(new_frame)]
    starts = [*new_frame.tolist(), len(rest)]
    for a, b in itertools.pairwise(cuts):
        idx = slice(starts[a], starts[b])
        taken[rest[idx]] = _solve(row[idx], col[idx], score[rest[idx]])
    return taken


def remove_distractor_matches(gt: TrackBoxes, distractor: np.ndarray, tr: TrackBoxes) -> np.ndarray:
    """Which tracker boxes stay: those not matched (Hungarian, IoU ≥ 0.5) to a distractor box."""
    keep = np.ones(len(tr), dtype=bool)
    if not distractor.any():
        return keep
    pairs = overlapping_pairs(gt, tr)
    ok = pairs.iou >= THRESHOLD - EPS
    pairs = pairs.subset(ok)
    taken = assign_per_frame(gt.frame[pairs.gt], pairs.gt, pairs.tr, pairs.iou, len(gt), len(tr))
    keep[pairs.tr[taken & distractor[pairs.gt]]] = False
    return keep


def _dense_ids(track: np.ndarray) -> tuple[np.ndarray, int]:
    ids, inverse = np.unique(track, return_inverse=True)
    return inverse.reshape(-1), len(ids)


def check_unique_ids(boxes: TrackBoxes, what: str) -> None:
    """A track id may appear once per frame."""
    if not len(boxes):
        return
    track, n = _dense_ids(boxes.track)
    key = np.sort(boxes.frame * n + track)
    twice = np.flatnonzero(key[1:] == key[:-1])
    if len(twice):
        frame, track = divmod(int(key[twice[0]]), n)
        track = int(np.unique(boxes.track)[track])
        raise FormatError(
            f"{what} has track id {track} twice in frame {frame}.",
            hint="Each track may have one box per frame.",
        )


@dataclass(frozen=True)
class TrackingMetrics:
    """CLEAR MOT, identity and HOTA results (HOTA's per-α arrays and their means)."""

    clear: dict[str, float]
    identity: dict[str, float]
    hota: dict[str, float]
    hota_alpha: dict[str, np.ndarray]

    def to_dict(self) -> dict[str, Any]:
        return {
            "clear": self.clear,
            "identity": self.identity,
            "hota": self.hota,
            "hota_by_alpha": {"alpha": ALPHAS.round(2).tolist()}
            | {k: v.tolist() for k, v in self.hota_alpha.items()},
        }


def evaluate_tracking(gt: TrackBoxes, tr: TrackBoxes) -> TrackingMetrics:
    """CLEAR MOT, identity and HOTA of tracker boxes ``tr`` against ground truth ``gt``."""
    check_unique_ids(gt, "The ground truth")
    check_unique_ids(tr, "The tracker result")
    pairs = overlapping_pairs(gt, tr)
    g_id, n_g = _dense_ids(gt.track)
    t_id, n_t = _dense_ids(tr.track)
    prepared = _Prepared(gt, tr, pairs, g_id, n_g, t_id, n_t)
    clear = _clear(prepared)
    identity = _identity(prepared)
    hota, hota_alpha = _hota(prepared)
    return TrackingMetrics(clear, identity, hota, hota_alpha)


@dataclass(frozen=True)
class _Prepared:
    gt: TrackBoxes
    tr: TrackBoxes
    pairs: Pairs
    g_id: np.ndarray  # dense track index of each ground-truth box
    n_g: int
    t_id: np.ndarray
    n_t: int


def _clear(p: _Prepared) -> dict[str, float]:
    n_gt_boxes, n_tr_boxes = len(p.gt), len(p.tr)
    res: dict[str, float] = dict.fromkeys(("CLR_TP", "IDSW", "MT", "PT", "Frag", "MOTP_sum"), 0)
    res |= {"CLR_FN": n_gt_boxes, "CLR_FP": n_tr_boxes, "ML": p.n_g}
    if n_gt_boxes and n_tr_boxes:
        _clear_matches(p, res)
    return _clear_final(res)


def _clear_matches(p: _Prepared, res: dict[str, float]) -> None:
    # Frames with ground truth and tracker boxes; "the previous frame" is the previous one of these.
    active = np.intersect1d(p.gt.frame, p.tr.frame)
    ok = p.pairs.iou >= THRESHOLD - EPS
    pg, pt, iou = p.pairs.gt[ok], p.pairs.tr[ok], p.pairs.iou[ok]
    step = np.searchsorted(active, p.gt.frame[pg])
    gid, tid = p.g_id[pg], p.t_id[pt]
    taken = _single(pg, pt, len(p.gt), len(p.tr))
    rest = np.flatnonzero(~taken)
    if len(rest):
        key = (gid * p.n_t + tid) * (len(active) + 1) + step
        single_keys = np.sort(key[taken])
        rest = rest[np.argsort(step[rest], kind="stable")]
        before = key[rest] - 1
        pos = np.minimum(np.searchsorted(single_keys, before), max(len(single_keys) - 1, 0))
        kept_before = (single_keys[pos] == before) if len(single_keys) else np.zeros(len(rest), dtype=bool)
        steps, first = np.unique(step[rest], return_index=True)
        bounds = [*first.tolist(), len(rest)]
        last_step, last_keys = -2, np.zeros(0, dtype=np.int64)
        for k, s in enumerate(steps.tolist()):
            block = slice(bounds[k], bounds[k + 1])
            idx = rest[block]
            kept = kept_before[block]
            if last_step == s - 1:
                kept = kept | np.isin(before[block], last_keys)
            chosen = _solve(pg[idx], pt[idx], 1000.0 * kept + iou[idx])
            taken[idx] = chosen
            last_step, last_keys = s, key[idx[chosen]]
    m_g, m_t, m_step, m_iou = gid[taken], tid[taken], step[taken], iou[taken]
    order = np.lexsort((m_step, m_g))
    m_g, m_t, m_step = m_g[order], m_t[order], m_step[order]
    same_track = m_g[1:] == m_g[:-1]
    res["IDSW"] = int(np.count_nonzero(same_track & (m_t[1:] != m_t[:-1])))
    stretch_start = np.ones(len(m_g), dtype=bool)
    stretch_start[1:] = ~same_track | (m_step[1:] != m_step[:-1] + 1)
    stretches = np.bincount(m_g[stretch_start], minlength=p.n_g)
    res["Frag"] = int((stretches[stretches > 0] - 1).sum())
    frames_per_track = np.bincount(p.g_id, minlength=p.n_g)
    matched_per_track = np.bincount(m_g, minlength=p.n_g)
    ratio = matched_per_track[frames_per_track > 0] / frames_per_track[frames_per_track > 0]
    res["MT"] = int(np.count_nonzero(ratio > 0.8))
    res["PT"] = int(np.count_nonzero(ratio >= 0.2)) - res["MT"]
    res["ML"] = p.n_g - res["MT"] - res["PT"]
    res["CLR_TP"] = len(m_g)
    res["CLR_FN"] = len(p.gt) - len(m_g)
    res["CLR_FP"] = len(p.tr) - len(m_g)
    res["MOTP_sum"] = float(m_iou.sum())


def _clear_final(res: dict[str, float]) -> dict[str, float]:
    tp, fn, fp, idsw = res["CLR_TP"], res["CLR_FN"], res["CLR_FP"], res["IDSW"]
    n_tracks = res["MT"] + res["PT"] + res["ML"]
    gt_boxes = max(1.0, tp + fn)
    return {
        "MOTA": (tp - fp - idsw) / gt_boxes,
        "MOTP": res["MOTP_sum"] / max(1.0, tp),
        "MODA": (tp - fp) / gt_boxes,
        "CLR_Re": tp / gt_boxes,
        "CLR_Pr": tp / max(1.0, tp + fp),
        "MTR": res["MT"] / max(1.0, n_tracks),
        "PTR": res["PT"] / max(1.0, n_tracks),
        "MLR": res["ML"] / max(1.0, n_tracks),
        "sMOTA": (res["MOTP_sum"] - fp - idsw) / gt_boxes,
        "CLR_F1": tp / max(1.0, tp + 0.5 * fn + 0.5 * fp),
        "CLR_TP": tp,
        "CLR_FN": fn,
        "CLR_FP": fp,
        "IDSW": idsw,
        "MT": res["MT"],
        "PT": res["PT"],
        "ML": res["ML"],
        "Frag": res["Frag"],
    }


def _identity(p: _Prepared) -> dict[str, float]:
    n_gt_boxes, n_tr_boxes = len(p.gt), len(p.tr)
    idtp = 0
    if n_gt_boxes and n_tr_boxes:
        ok = p.pairs.iou >= THRESHOLD
        pair_key, count = np.unique(
            p.g_id[p.pairs.gt[ok]] * p.n_t + p.t_id[p.pairs.tr[ok]], return_counts=True
        )
        ig, it = pair_key // p.n_t, pair_key % p.n_t
        single = _single(ig, it, p.n_g, p.n_t)
        idtp = int(count[single].sum())
        rest = np.flatnonzero(~single)
        if len(rest):
            component = _components(ig[rest], it[rest], p.n_g, p.n_t)
            order = np.argsort(component, kind="stable")
            _, first = np.unique(component[order], return_index=True)
            for block in np.split(order, first[1:]):
                idx = rest[block]
                chosen = _solve(ig[idx], it[idx], count[idx].astype(np.float64))
                idtp += int(count[idx][chosen].sum())
    idfn, idfp = n_gt_boxes - idtp, n_tr_boxes - idtp
    return {
        "IDF1": idtp / max(1.0, idtp + 0.5 * idfp + 0.5 * idfn),
        "IDR": idtp / max(1.0, idtp + idfn),
        "IDP": idtp / max(1.0, idtp + idfp),
        "IDTP": idtp,
        "IDFN": idfn,
        "IDFP": idfp,
    }


def _components(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Connected component label of each edge of the bipartite graph ``a[i] — b[i]``."""
    label = np.arange(n_a + n_b)
    u, v = a, b + n_a
    while True:
        low = np.minimum(label[u], label[v])
        new = label.copy()
        np.minimum.at(new, u, low)
        np.minimum.at(new, v, low)
        new = new[new]
        if np.array_equal(new, label):
            return label[u]
        label = new


def _hota(p: _Prepared) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    n_alpha = len(ALPHAS)
    zeros = np.zeros(n_alpha)
    n_gt_boxes, n_tr_boxes = len(p.gt), len(p.tr)
    if not n_gt_boxes or not n_tr_boxes:
        arrays = {k: zeros.copy() for k in ("AssA", "AssRe", "AssPr")}
        arrays["LocA"] = np.ones(n_alpha)
        return _hota_final(zeros, zeros + n_gt_boxes, zeros + n_tr_boxes, arrays)
    pg, pt, sim = p.pairs.gt, p.pairs.tr, p.pairs.iou
    gid, tid = p.g_id[pg], p.t_id[pt]
    gt_count = np.bincount(p.g_id, minlength=p.n_g).astype(np.float64)
    tr_count = np.bincount(p.t_id, minlength=p.n_t).astype(np.float64)
    row_sum = np.bincount(pg, weights=sim, minlength=n_gt_boxes)
    col_sum = np.bincount(pt, weights=sim, minlength=n_tr_boxes)
    denom = row_sum[pg] + col_sum[pt] - sim
    soft = np.where(denom > EPS, sim / np.where(denom > EPS, denom, 1.0), 0.0)
    pair_key, pair_of = np.unique(gid * p.n_t + tid, return_inverse=True)
    pair_of = pair_of.reshape(-1)
    pg_id, pt_id = pair_key // p.n_t, pair_key % p.n_t
    potential = np.bincount(pair_of, weights=soft, minlength=len(pair_key))
    alignment = potential / (gt_count[pg_id] + tr_count[pt_id] - potential)
    score = alignment[pair_of] * sim
    taken = assign_per_frame(p.gt.frame[pg], pg, pt, score, n_gt_boxes, n_tr_boxes)
    m_sim, m_pair = sim[taken], pair_of[taken]
    # Number of α each match passes (its IoU ≥ α − ε for the first ``passes`` α).
    passes = np.searchsorted(ALPHAS - EPS, m_sim, side="right")
    at_least = np.cumsum(np.bincount(passes, minlength=n_alpha + 1)[::-1])[::-1][1:]
    tp = at_least.astype(np.float64)
    loc_sum = np.cumsum(np.bincount(passes, weights=m_sim, minlength=n_alpha + 1)[::-1])[::-1][1:]
    used, compact = np.unique(m_pair, return_inverse=True)
    counts = np.zeros((len(used), n_alpha + 1))
    np.add.at(counts, (compact.reshape(-1), passes), 1)
    matches = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1][:, 1:]  # (pairs, α)
    g_n = gt_count[pg_id[used]][:, None]
    t_n = tr_count[pt_id[used]][:, None]
    per_tp = np.maximum(1, tp)
    arrays = {
        "AssA": (matches * matches / np.maximum(1, g_n + t_n - matches)).sum(0) / per_tp,
        "AssRe": (matches * matches / np.maximum(1, g_n)).sum(0) / per_tp,
        "AssPr": (matches * matches / np.maximum(1, t_n)).sum(0) / per_tp,
        "LocA": np.maximum(1e-10, loc_sum) / np.maximum(1e-10, tp),
    }
    return _hota_final(tp, n_gt_boxes - tp, n_tr_boxes - tp, arrays)


def _hota_final(
    tp: np.ndarray, fn: np.ndarray, fp: np.ndarray, arrays: dict[str, np.ndarray]
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    det_re = tp / np.maximum(1, tp + fn)
    det_pr = tp / np.maximum(1, tp + fp)
    det_a = tp / np.maximum(1, tp + fn + fp)
    hota = np.sqrt(det_a * arrays["AssA"])
    by_alpha = {
        "HOTA": hota,
        "DetA": det_a,
        "AssA": arrays["AssA"],
        "DetRe": det_re,
        "DetPr": det_pr,
        "AssRe": arrays["AssRe"],
        "AssPr": arrays["AssPr"],
        "LocA": arrays["LocA"],
        "HOTA_TP": tp,
        "HOTA_FN": fn,
        "HOTA_FP": fp,
    }
    summary = {k: float(v.mean()) for k, v in by_alpha.items() if not k.startswith("HOTA_")}
    summary |= {"HOTA(0)": float(hota[0]), "LocA(0)": float(arrays["LocA"][0])}
    return summary, by_alpha


def format_tracking(metrics: TrackingMetrics) -> list[str]:
    """The lines the command line prints for tracking metrics."""
    c, i, h = metrics.clear, metrics.identity, metrics.hota
    return [
        "HOTA {HOTA:.3f}  DetA {DetA:.3f}  AssA {AssA:.3f}  LocA {LocA:.3f}  DetRe {DetRe:.3f}  "
        "DetPr {DetPr:.3f}  AssRe {AssRe:.3f}  AssPr {AssPr:.3f}".format(**h),
        "MOTA {MOTA:.3f}  MOTP {MOTP:.3f}  FP {CLR_FP}  FN {CLR_FN}  ID switches {IDSW}  "
        "fragmentations {Frag}  MT {MT}  PT {PT}  ML {ML}".format(**c),
        "IDF1 {IDF1:.3f}  IDP {IDP:.3f}  IDR {IDR:.3f}  IDTP {IDTP}  IDFP {IDFP}  IDFN {IDFN}".format(**i),
    ]


def _own_ids(track: np.ndarray) -> np.ndarray:
    """Track ids, with a fresh id for every box without one (``-1``)."""
    missing = track < 0
    out = track.copy()
    out[missing] = track.max(initial=0) + 1 + np.arange(int(missing.sum()))
    return out


def run_tracking(data: EvaluationInput, *, conf: float) -> TrackingMetrics | None:
    """Tracking metrics of a run against its video's ground truth, or ``None`` without tracks on both sides.

    All VRU types count as one class. Ground-truth boxes without a track and detections without a
    tracker id are single-frame tracks; detections below ``conf`` are left out; detections matched
    to a crowd box are removed first, as MOTChallenge does with distractors.
    """
    if not (data.gt_track >= 0).any() or not (data.dt_track >= 0).any():
        return None
    gt_all = TrackBoxes.of(data.gt.image, _own_ids(data.gt_track), data.gt.xywh)
    tr = TrackBoxes.of(data.dt.image, _own_ids(data.dt_track), data.dt.xywh).subset(data.dt.score >= conf)
    tr = tr.subset(remove_distractor_matches(gt_all, data.gt.crowd, tr))
    return evaluate_tracking(gt_all.subset(~data.gt.crowd), tr)
