"""Track-level safety metrics: for each ground-truth VRU track, how soon and how steadily it is seen.

A track's frames are its ground-truth boxes on reviewed frames. A frame counts as detected when the
box is matched (class-agnostic greedy matching: a VRU seen as the wrong VRU type is still seen) by
a detection with ``score >= conf`` at the IoU threshold. Per track:

* ``time_to_first_detection``: time of the first detected frame minus time of the first frame
  (seconds from the video's frame table; ``None`` when never detected), and the same in frames;
* ``detected_share``: detected frames / frames;
* ``longest_miss_streak``: the most consecutive track frames (in order) without a detection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vru_desktop.evaluation.ground_truth import EvaluationInput
from vru_desktop.evaluation.matching import greedy_match


@dataclass(frozen=True)
class TrackResult:
    track_id: int
    vru_type: str
    frames: int
    first_frame: int
    first_detected_frame: int | None
    time_to_first_detection: float | None
    frames_to_first_detection: int | None
    detected_share: float
    longest_miss_streak: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of ``True`` in a 1-D boolean array."""
    if not flags.any():
        return 0
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def track_metrics(data: EvaluationInput, *, conf: float = 0.0, iou: float = 0.5) -> list[TrackResult]:
    tracked = np.flatnonzero((data.gt_track >= 0) & ~data.gt.crowd)
    if not len(tracked):
        return []
    matching = greedy_match(data.gt, data.dt, [iou], class_agnostic=True)
    matched = matching.gt_dt[0, 0]
    hit_score = np.full(len(matched), -np.inf)
    hit_score[matched >= 0] = data.dt.score[matched[matched >= 0]]
    detected = hit_score >= conf
    order = tracked[np.lexsort((data.gt.image[tracked], data.gt_track[tracked]))]
    ids, starts, counts = np.unique(data.gt_track[order], return_index=True, return_counts=True)
    results = []
    for track_id, start, count in zip(ids, starts, counts, strict=True):
        rows = order[start : start + count]
        frames = data.gt.image[rows]
        hits = detected[rows]
        first = int(frames[0])
        hit_positions = np.flatnonzero(hits)
        types, type_counts = np.unique(data.gt.category[rows], return_counts=True)
        vru_type = data.classes[int(types[np.argmax(type_counts)])]
        first_hit: int | None = None
        delay: float | None = None
        delay_frames: int | None = None
        if len(hit_positions):
            first_hit = int(frames[hit_positions[0]])
            delay = float(data.time_of(np.array([first_hit]))[0] - data.time_of(np.array([first]))[0])
            delay_frames = first_hit - first
        results.append(
            TrackResult(
                track_id=int(track_id),
                vru_type=vru_type,
                frames=int(count),
                first_frame=first,
                first_detected_frame=first_hit,
                time_to_first_detection=delay,
                frames_to_first_detection=delay_frames,
                detected_share=float(hits.mean()),
                longest_miss_streak=longest_run(~hits),
            )
        )
    return results


def summarize_tracks(results: list[TrackResult]) -> dict[str, Any]:
    """Means and worst cases over the tracks (``None`` where no track qualifies)."""
    if not results:
        return {"tracks": 0}
    delays = [r.time_to_first_detection for r in results if r.time_to_first_detection is not None]
    return {
        "tracks": len(results),
        "never_detected": sum(r.first_detected_frame is None for r in results),
        "mean_time_to_first_detection": float(np.mean(delays)) if delays else None,
        "max_time_to_first_detection": float(np.max(delays)) if delays else None,
        "mean_detected_share": float(np.mean([r.detected_share for r in results])),
        "max_miss_streak": max(r.longest_miss_streak for r in results),
    }
