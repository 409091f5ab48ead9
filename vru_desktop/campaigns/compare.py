"""Comparing two campaigns and gating one on its requirements.

Comparison: every pooled metric of the primary protocols side by side with its delta (new − base)
and a 95 % bootstrap interval of the delta. When both campaigns score the same videos (same
fingerprints) the resamples are paired (the same draw of videos for both); otherwise each
campaign is resampled on its own. Videos in both (by fingerprint) are listed better or worse by
their F1 at the threshold.

On the videos in both campaigns (same fingerprint), at the compare IoU and each campaign's own
confidence threshold:

* ``tracks``: ground-truth tracks (reviewed, validated boxes with a track id, crowd boxes left out)
  that one campaign's run finds and the other's does not. A track is *found* when at least one of
  its boxes is matched, as the track metrics of :mod:`vru_desktop.evaluation.tracks` match: greedy
  matching, class-agnostic (a VRU seen as another VRU type is still seen), IoU ≥ the compare IoU,
  detection score ≥ the campaign's confidence. A track counts only when it has ground truth on
  frames both runs scored; an entry describes the track as the campaign that missed it sees it.
* ``false_positives_added``: false positives of the new run (unmatched in the per-class matching
  that counts TP / FP, score ≥ its confidence) on frames both runs scored, with no false positive of
  the base run in the same frame at IoU ≥ the compare IoU (of any class). ``count`` is all of
  them, ``items`` the 500 with the highest scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vru_desktop.campaigns.bootstrap import INTERVAL_METRICS, resample_weights, values
from vru_desktop.campaigns.definition import get_campaign
from vru_desktop.campaigns.requirements import METRICS, needs_base, parse_requirements
from vru_desktop.campaigns.scoring import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    SuiteInput,
    load_suite,
    score_protocol,
    suite_bootstrap,
)
from vru_desktop.errors import ValidationError
from vru_desktop.evaluation.ground_truth import EvaluationInput
from vru_desktop.evaluation.matching import box_iou, greedy_match
from vru_desktop.evaluation.tracks import TrackResult, track_metrics
from vru_desktop.store.db import Database

VIDEO_METRICS = ("recall", "precision", "f1", "ap50", "mr")
#: Most false positives listed in ``false_positives_added["items"]``.
ADDED_FALSE_POSITIVES_LISTED = 500


def _score(db: Database, name: str, iou: float) -> tuple[dict[str, Any], SuiteInput]:
    """The primary protocol's scores of a campaign with a scored video (else a clear refusal), without
    intervals: the comparison resamples the two campaigns together."""
    info = get_campaign(db, name)
    suite = load_suite(db, name)
    if not suite.inputs:
        reasons = "; ".join(f"{e['filename']}: {e['reason']}" for e in suite.excluded[:3])
        more = f"; and {len(suite.excluded) - 3} more" if len(suite.excluded) > 3 else ""
        raise ValidationError(
            f"Campaign '{name}' has no video to score ({reasons}{more}).",
            hint=f"Run it with 'vru-desktop campaign run {name}' and review frames of its videos.",
        )
    conf = float(info.config.get("conf", 0.25))
    return score_protocol(db, suite, info.protocols[0], iou=iou, conf=conf, resamples=0), suite


def compare_campaigns(
    db: Database,
    base: str,
    new: str,
    *,
    iou: float = 0.5,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Metrics of ``base`` and ``new`` with deltas and intervals; videos that got better or worse."""
    a, suite_a = _score(db, base, iou)
    b, suite_b = _score(db, new, iou)
    fp_a = [v["fingerprint"] for v in suite_a.videos]
    fp_b = [v["fingerprint"] for v in suite_b.videos]
    paired = bool(fp_a) and sorted(fp_a) == sorted(fp_b)
    deltas: dict[str, dict[str, Any]] = {}
    if resamples > 0:
        w_a = resample_weights(len(fp_a), resamples, seed)
        if paired:
            w_b = w_a[:, [fp_a.index(f) for f in fp_b]]
        else:
            w_b = resample_weights(len(fp_b), resamples, seed + 1)
        boot_a = suite_bootstrap(db, suite_a, iou=iou, conf=a["conf"])
        boot_b = suite_bootstrap(db, suite_b, iou=iou, conf=b["conf"])
        drawn_a, drawn_b = values(boot_a, w_a), values(boot_b, w_b)
        for name in INTERVAL_METRICS:
            d = drawn_b[name] - drawn_a[name]
            d = d[~np.isnan(d)]
            deltas[name] = (
                {"low": float(np.percentile(d, 2.5)), "high": float(np.percentile(d, 97.5))}
                if len(d)
                else {"low": None, "high": None}
            )
    metrics = {}
    for name in [*METRICS, "tp", "fp", "fn"]:
        va, vb = a["metrics"].get(name), b["metrics"].get(name)
        metrics[name] = {
            "base": va,
            "new": vb,
            "delta": None if va is None or vb is None else vb - va,
            "delta_interval": deltas.get(name),
        }
    videos_a = {v["fingerprint"]: v for v in a["per_video"]}
    better, worse, same = [], [], []
    for v in b["per_video"]:
        old = videos_a.get(v["fingerprint"])
        if old is None:
            continue
        row = {"filename": v["filename"], "fingerprint": v["fingerprint"]} | {
            m: {"base": old[m], "new": v[m]} for m in VIDEO_METRICS
        }
        change = (v["f1"] or 0.0) - (old["f1"] or 0.0)
        row["f1_delta"] = change
        (better if change > 0 else worse if change < 0 else same).append(row)
    return {
        "base": base,
        "new": new,
        "paired": paired,
        "bootstrap": {"resamples": resamples, "seed": seed, "level": 0.95},
        "metrics": metrics,
        "videos_better": sorted(better, key=lambda r: -r["f1_delta"]),
        "videos_worse": sorted(worse, key=lambda r: r["f1_delta"]),
        "videos_unchanged": same,
        "only_in_base": sorted(set(videos_a) - {v["fingerprint"] for v in b["per_video"]}),
        "only_in_new": sorted({v["fingerprint"] for v in b["per_video"]} - set(videos_a)),
        "tracks": track_differences(suite_a, suite_b, a["conf"], b["conf"], iou),
        "false_positives_added": added_false_positives(suite_a, suite_b, a["conf"], b["conf"], iou),
    }


ScoredVideo = tuple[dict[str, Any], EvaluationInput]  # a scored video's facts and its loaded run


def _common(suite_a: SuiteInput, suite_b: SuiteInput) -> list[tuple[ScoredVideo, ScoredVideo]]:
    """The videos in both suites (by fingerprint) as pairs, in the base's order."""
    in_b = {
        info["fingerprint"]: (info, data) for info, data in zip(suite_b.videos, suite_b.inputs, strict=True)
    }
    return [
        ((info, data), in_b[info["fingerprint"]])
        for info, data in zip(suite_a.videos, suite_a.inputs, strict=True)
        if info["fingerprint"] in in_b
    ]


def _track_entry(info: dict[str, Any], track: TrackResult) -> dict[str, Any]:
    return {
        "fingerprint": info["fingerprint"],
        "filename": info["filename"],
        "video_id": info["video_id"],
        "track_id": track.track_id,
        "class": track.vru_type,
        "first_frame": track.first_frame,
        "frames": track.frames,
    }


def track_differences(
    suite_a: SuiteInput, suite_b: SuiteInput, conf_a: float, conf_b: float, iou: float
) -> dict[str, list[dict[str, Any]]]:
    """Ground-truth tracks found by one campaign's run and missed by the other's (see the module)."""
    missed_by_new: list[dict[str, Any]] = []
    missed_by_base: list[dict[str, Any]] = []
    for (info_a, data_a), (info_b, data_b) in _common(suite_a, suite_b):
        tracks_a = {t.track_id: t for t in track_metrics(data_a, conf=conf_a, iou=iou, bins={})}
        tracks_b = {t.track_id: t for t in track_metrics(data_b, conf=conf_b, iou=iou, bins={})}
        for track_id in tracks_a.keys() & tracks_b.keys():
            found_a = tracks_a[track_id].first_detected_frame is not None
            found_b = tracks_b[track_id].first_detected_frame is not None
            if found_a and not found_b:
                missed_by_new.append(_track_entry(info_b, tracks_b[track_id]))
            elif found_b and not found_a:
                missed_by_base.append(_track_entry(info_a, tracks_a[track_id]))

    def ordered(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(
            entries, key=lambda e: (e["filename"], e["fingerprint"], e["first_frame"], e["track_id"])
        )

    return {"missed_by_new": ordered(missed_by_new), "missed_by_base": ordered(missed_by_base)}


def _false_positives(data: EvaluationInput, conf: float, iou: float, frames: np.ndarray) -> np.ndarray:
    """Indices of the run's false positives at ``conf`` on ``frames`` (the matching TP / FP count)."""
    unmatched = greedy_match(data.gt, data.dt, [iou]).false_positive[0, 0]
    return np.flatnonzero(unmatched & (data.dt.score >= conf) & np.isin(data.dt.image, frames))


def added_false_positives(
    suite_a: SuiteInput, suite_b: SuiteInput, conf_a: float, conf_b: float, iou: float
) -> dict[str, Any]:
    """False positives of the new run with none of the base's near them (see the module)."""
    added: list[dict[str, Any]] = []
    for (_, data_a), (info_b, data_b) in _common(suite_a, suite_b):
        frames = np.intersect1d(data_a.reviewed_frames, data_b.reviewed_frames)
        base = _false_positives(data_a, conf_a, iou, frames)
        base = base[np.argsort(data_a.dt.image[base], kind="stable")]
        base_frames = data_a.dt.image[base]
        for i in _false_positives(data_b, conf_b, iou, frames):
            frame = data_b.dt.image[i]
            near = base[np.searchsorted(base_frames, frame) : np.searchsorted(base_frames, frame, "right")]
            overlap = box_iou(data_b.dt.xywh[[i]], data_a.dt.xywh[near], np.zeros(len(near), dtype=bool))
            if (overlap >= iou).any():
                continue
            added.append(
                {
                    "fingerprint": info_b["fingerprint"],
                    "filename": info_b["filename"],
                    "video_id": info_b["video_id"],
                    "frame": int(frame),
                    "box": [float(v) for v in data_b.dt.xywh[i]],
                    "score": float(data_b.dt.score[i]),
                    "class": data_b.classes[int(data_b.dt.category[i])],
                }
            )
    added.sort(key=lambda e: (-e["score"], e["filename"], e["fingerprint"], e["frame"]))
    return {"count": len(added), "items": added[:ADDED_FALSE_POSITIVES_LISTED]}


def gate_campaign(db: Database, name: str, *, against: str | None = None, iou: float = 0.5) -> dict[str, Any]:
    """Check the campaign's requirements on its pooled primary-protocol metrics (``passed``)."""
    info = get_campaign(db, name)
    requirements = parse_requirements(info.requirements)
    if needs_base(requirements) and against is None:
        relative = ", ".join(r.text for r in requirements if r.relative)
        raise ValidationError(
            f"Campaign '{name}' has requirements relative to a base ({relative}).",
            hint=f"Give the base campaign: 'vru-desktop campaign gate {name} --against BASE'.",
        )
    metrics = _score(db, name, iou)[0]["metrics"]
    base = _score(db, against, iou)[0]["metrics"] if against is not None else None
    checks = [r.check(metrics, base) for r in requirements]
    return {
        "campaign": name,
        "against": against,
        "passed": all(c["passed"] for c in checks),
        "checks": checks,
    }
