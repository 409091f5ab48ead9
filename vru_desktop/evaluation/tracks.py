"""Track-level safety metrics: for each ground-truth VRU track, how soon and how steadily it is seen.

A track's frames are its ground-truth boxes on reviewed frames. A frame counts as detected when the
box is matched (class-agnostic greedy matching: a VRU seen as the wrong VRU type is still seen) by
a detection with ``score >= conf`` at the IoU threshold. Per track:

* ``time_to_first_detection``: time of the first detected frame minus time of the first frame
  (seconds from the video's frame table; ``None`` when never detected), and the same in frames;
* ``detected_share``: detected frames / frames;
* ``longest_miss_streak``: the most consecutive track frames (in order) without a detection;
* ``longest_gap_s``: that gap as a duration (nuScenes' LGD for one track): from the first missed
  frame to the next track frame (one frame period after the last frame for a gap at the end);
* ``fragmentations``: times detection stopped between the first and the last detected frame
  (nuScenes / CLEAR MOT fragmentation, here for detection rather than identity);
* ``time_to_stable_detection``: time from the first frame to the first frame at which ``k`` of
  the last ``n`` track frames were detected (default 3 of 5), and the same in frames;
* ``height_bin``: the bin of the box height where the track appears (its first frame).

:func:`summarize_tracks` averages over tracks, and per height bin. LGD averages only tracks
detected at least once, as nuScenes does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vru_desktop.evaluation.ground_truth import EvaluationInput
from vru_desktop.evaluation.matching import greedy_match

#: A track is stably detected once ``k`` of its last ``n`` frames were detected.
STABLE_K_OF_N = (3, 5)


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
    longest_gap_s: float
    fragmentations: int
    first_stable_frame: int | None
    time_to_stable_detection: float | None
    frames_to_stable_detection: int | None
    height_bin: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of ``True`` in a 1-D boolean array."""
    if not flags.any():
        return 0
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def longest_gap_duration(times: np.ndarray, hits: np.ndarray, period: float) -> float:
    """Longest stretch of missed frames in seconds: first missed frame to the next track frame."""
    if hits.all():
        return 0.0
    ends = np.append(times[1:], times[-1] + period)
    padded = np.concatenate([[True], hits, [True]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2]  # missed stretches [start, stop)
    return float((ends[stops - 1] - times[starts]).max())


def first_stable(hits: np.ndarray, k: int, n: int) -> int | None:
    """Position of the first frame where ``k`` of the last ``n`` frames (itself included) were hits."""
    counts = np.cumsum(hits.astype(np.int64))
    window = counts - np.concatenate([np.zeros(n, dtype=np.int64), counts[:-n]])[: len(counts)]
    reached = np.flatnonzero(window >= k)
    return int(reached[0]) if len(reached) else None


def _bin_of(height: float, bins: dict[str, tuple[float, float]]) -> str | None:
    return next((name for name, (lo, hi) in bins.items() if lo <= height < hi), None)


def track_metrics(
    data: EvaluationInput,
    *,
    conf: float = 0.0,
    iou: float = 0.5,
    bins: dict[str, tuple[float, float]],
    stable: tuple[int, int] = STABLE_K_OF_N,
) -> list[TrackResult]:
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
    period = 1.0 / (data.video.get("fps") or 1.0)
    results = []
    for track_id, start, count in zip(ids, starts, counts, strict=True):
        rows = order[start : start + count]
        frames = data.gt.image[rows]
        times = data.time_of(frames)
        hits = detected[rows]
        first = int(frames[0])
        hit_positions = np.flatnonzero(hits)
        types, type_counts = np.unique(data.gt.category[rows], return_counts=True)
        vru_type = data.classes[int(types[np.argmax(type_counts)])]
        first_hit: int | None = None
        delay: float | None = None
        delay_frames: int | None = None
        fragmentations = 0
        if len(hit_positions):
            first_hit = int(frames[hit_positions[0]])
            delay = float(times[hit_positions[0]] - times[0])
            delay_frames = first_hit - first
            span = hits[hit_positions[0] : hit_positions[-1] + 1]
            fragmentations = int(np.count_nonzero(span[:-1] & ~span[1:]))
        stable_at = first_stable(hits, *stable)
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
                longest_gap_s=longest_gap_duration(times, hits, period),
                fragmentations=fragmentations,
                first_stable_frame=None if stable_at is None else int(frames[stable_at]),
                time_to_stable_detection=None if stable_at is None else float(times[stable_at] - times[0]),
                frames_to_stable_detection=None if stable_at is None else int(frames[stable_at]) - first,
                height_bin=_bin_of(float(data.gt.xywh[rows[0], 3]), bins),
            )
        )
    return results


def summarize_tracks(results: list[TrackResult]) -> dict[str, Any]:
    """Means and worst cases over the tracks (``None`` where no track qualifies), and per height bin."""
    summary = _summary(results)
    if results:
        names = dict.fromkeys(r.height_bin for r in results if r.height_bin is not None)
        summary["by_height"] = {
            name: _summary([r for r in results if r.height_bin == name]) for name in names
        }
    return summary


def _summary(results: list[TrackResult]) -> dict[str, Any]:
    if not results:
        return {"tracks": 0}
    delays = [r.time_to_first_detection for r in results if r.time_to_first_detection is not None]
    stable = [r.time_to_stable_detection for r in results if r.time_to_stable_detection is not None]
    gaps = [r.longest_gap_s for r in results if r.first_detected_frame is not None]
    return {
        "tracks": len(results),
        "never_detected": sum(r.first_detected_frame is None for r in results),
        "mean_time_to_first_detection": float(np.mean(delays)) if delays else None,
        "max_time_to_first_detection": float(np.max(delays)) if delays else None,
        "never_stable": sum(r.first_stable_frame is None for r in results),
        "mean_time_to_stable_detection": float(np.mean(stable)) if stable else None,
        "max_time_to_stable_detection": float(np.max(stable)) if stable else None,
        "mean_detected_share": float(np.mean([r.detected_share for r in results])),
        "max_miss_streak": max(r.longest_miss_streak for r in results),
        "mean_longest_gap_s": float(np.mean(gaps)) if gaps else None,
        "max_longest_gap_s": float(np.max(gaps)) if gaps else None,
        "fragmentations": sum(r.fragmentations for r in results),
    }
