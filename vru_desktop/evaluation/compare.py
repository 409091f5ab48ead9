"""Compare two runs on the same video: which ground-truth boxes the new run misses or finds, and which
false positives it adds or removes, each run at its own confidence threshold and the same IoU.

Only frames both runs processed and a person reviewed count. A false positive of one run is
"shared" when the other run has a false positive of the same class on the same frame with IoU at
least the IoU threshold; the others are the run's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vru_desktop.errors import ValidationError
from vru_desktop.evaluation.matching import box_iou
from vru_desktop.evaluation.run import RunEvaluation

#: Kinds of difference, from the new run's point of view.
DIFFERENCE_KINDS = ("missed by new", "found by new", "new false positive", "false positive removed")


@dataclass(frozen=True)
class Difference:
    kind: str
    frame: int
    box: tuple[float, float, float, float]
    vru_type: str
    score: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Comparison:
    base_run: int
    new_run: int
    frames: int
    base_tp: int
    new_tp: int
    base_fp: int
    new_fp: int
    differences: list[Difference]

    def count(self, kind: str) -> int:
        return sum(d.kind == kind for d in self.differences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_run": self.base_run,
            "new_run": self.new_run,
            "frames": self.frames,
            "base": {"tp": self.base_tp, "fp": self.base_fp},
            "new": {"tp": self.new_tp, "fp": self.new_fp},
            "counts": {k: self.count(k) for k in DIFFERENCE_KINDS},
            "differences": [d.to_dict() for d in self.differences],
        }


def compare_runs(base: RunEvaluation, new: RunEvaluation) -> Comparison:
    if base.data.video_id != new.data.video_id:
        raise ValidationError(
            f"Runs {base.data.session_id} and {new.data.session_id} are on different videos.",
            hint="Compare two runs of the same video.",
        )
    if base.iou != new.iou:
        raise ValidationError("Both runs must be evaluated at the same IoU threshold.")
    frames = np.intersect1d(base.data.reviewed_frames, new.data.reviewed_frames)
    classes = new.data.classes
    differences: list[Difference] = []

    def detected(result: RunEvaluation) -> dict[int, bool]:
        p = result.points
        in_frames = np.isin(result.data.gt.image, frames) & p.gt_counted
        hit = p.gt_hit_score >= result.conf
        return {
            int(i): bool(h) for i, h, keep in zip(result.data.gt_ids, hit, in_frames, strict=True) if keep
        }

    seen_base, seen_new = detected(base), detected(new)
    rows = {int(i): k for k, i in enumerate(new.data.gt_ids)}
    for ann_id in sorted(set(seen_base) & set(seen_new), key=lambda i: int(new.data.gt.image[rows[i]])):
        if seen_base[ann_id] == seen_new[ann_id]:
            continue
        k = rows[ann_id]
        differences.append(
            Difference(
                "missed by new" if seen_base[ann_id] else "found by new",
                int(new.data.gt.image[k]),
                tuple(float(v) for v in new.data.gt_xyxy[k]),  # type: ignore[arg-type]
                classes[int(new.data.gt.category[k])],
                None,
            )
        )

    base_fp, new_fp = _false_positives(base, frames), _false_positives(new, frames)
    for result, own, other, other_fp, kind in (
        (new, new_fp, base, base_fp, "new false positive"),
        (base, base_fp, new, new_fp, "false positive removed"),
    ):
        shared = _shared(result, own, other, other_fp, new.iou)
        for i in own[~shared]:
            differences.append(
                Difference(
                    kind,
                    int(result.data.dt.image[i]),
                    tuple(float(v) for v in result.data.dt_xyxy[i]),  # type: ignore[arg-type]
                    result.data.classes[int(result.data.dt.category[i])],
                    float(result.data.dt.score[i]),
                )
            )
    differences.sort(key=lambda d: (d.frame, DIFFERENCE_KINDS.index(d.kind)))

    def tp(result: RunEvaluation) -> int:
        return sum(detected(result).values())

    return Comparison(
        base.data.session_id,
        new.data.session_id,
        len(frames),
        tp(base),
        tp(new),
        len(base_fp),
        len(new_fp),
        differences,
    )


def _false_positives(result: RunEvaluation, frames: np.ndarray) -> np.ndarray:
    mask = result.points.dt_fp & (result.data.dt.score >= result.conf) & np.isin(result.data.dt.image, frames)
    return np.flatnonzero(mask)


def _shared(
    result: RunEvaluation, own: np.ndarray, other: RunEvaluation, other_fp: np.ndarray, iou: float
) -> np.ndarray:
    """For each of ``own``'s false positives: does ``other`` have one of its class overlapping it?"""
    out = np.zeros(len(own), dtype=bool)
    if not len(own) or not len(other_fp):
        return out
    d, o = result.data, other.data
    other_types = np.array(o.classes)[o.dt.category[other_fp]]
    for n, i in enumerate(own):
        same = other_fp[
            (o.dt.image[other_fp] == d.dt.image[i]) & (other_types == d.classes[int(d.dt.category[i])])
        ]
        if len(same):
            overlap = box_iou(d.dt.xywh[i : i + 1], o.dt.xywh[same], np.zeros(len(same), dtype=bool))
            out[n] = bool((overlap >= iou).any())
    return out
