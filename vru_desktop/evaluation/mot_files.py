"""Tracking evaluation of MOTChallenge text files (``evaluate-tracks``), as TrackEval's MOTChallenge
benchmark does it.

Layouts (comma- or space-separated, 1-based frames, top-left ``x, y, w, h`` in pixels):

* 2D MOT 2015, 10 columns: ``frame, id, x, y, w, h, conf, wx, wy, wz``. Ground-truth rows with
  ``conf = 0`` are left out; nothing else is.
* MOT16 / MOT17 / MOT20 ground truth, 9 columns: ``frame, id, x, y, w, h, consider, class,
  visibility``. Only pedestrians (class 1) with ``consider ≠ 0`` are ground truth. Tracker boxes
  matched (per frame, Hungarian on IoU ≥ 0.5) to a box of a distractor class (person on vehicle,
  static person, distractor, reflection; MOT20 also non-motorised vehicle) are removed first.

Result files have at least 7 columns (``frame, id, x, y, w, h, score``; more are ignored). The
ground-truth layout, told from its content as the MOT import tells it, decides the benchmark unless
one is given. Both files are read by the MOT format's reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vru_desktop.datasets.formats.mot import mot_layout, read_mot_table
from vru_desktop.errors import FormatError, NotFoundError, UsageError
from vru_desktop.evaluation.tracking import (
    TrackBoxes,
    TrackingMetrics,
    evaluate_tracking,
    remove_distractor_matches,
)

BENCHMARKS = ("MOT15", "MOT16", "MOT17", "MOT20")
PEDESTRIAN = 1
#: MOTChallenge class numbers whose boxes remove the tracker boxes they match.
DISTRACTORS = {"person_on_vehicle": 2, "static_person": 7, "distractor": 8, "reflection": 12}
MOT20_DISTRACTORS = {**DISTRACTORS, "non_mot_vehicle": 6}


def read_mot_text(path: str | Path, *, min_columns: int) -> np.ndarray:
    """The rows of a MOTChallenge text file as a float array (all rows padded to the widest with NaN),
    read by the MOT format's reader (:func:`~vru_desktop.datasets.formats.mot.read_mot_table`)."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path} does not exist.", hint="Give the path of a MOTChallenge .txt file.")
    table = read_mot_table(path, lambda line: f"{path.name} line {line}")
    if not len(table.values):
        return np.zeros((0, min_columns))
    short = table.widths < min_columns
    if short.all():
        raise FormatError(
            f"{path.name} has {table.values.shape[1]} columns; at least {min_columns} are needed.",
            hint="MOTChallenge rows are frame, id, x, y, w, h, … separated by commas.",
        )
    if short.any():
        row = int(np.argmax(short))
        raise FormatError(
            f"{table.where(row)} has {table.widths[row]} columns; at least {min_columns} are needed.",
            hint="MOTChallenge rows are frame, id, x, y, w, h, … separated by commas.",
        )
    values = table.values
    if ((values[:, 0] < 1) | (values[:, 0] % 1 != 0)).any():
        bad = int(np.argmax((values[:, 0] < 1) | (values[:, 0] % 1 != 0)))
        raise FormatError(
            f"{path.name}: frame {values[bad, 0]:g} in row {bad + 1} is not a frame number (1, 2, …).",
            hint="MOTChallenge frames are 1-based integers.",
        )
    return values


def ground_truth_benchmark(table: np.ndarray) -> str:
    """MOT15 for ground truth without a class column (the 2015 layout), else MOT17 (the layout told
    from the rows' content: :func:`~vru_desktop.datasets.formats.mot.mot_layout`)."""
    layout = mot_layout(table, lambda row: f"ground truth row {row + 1}")
    return "MOT17" if layout.has_class else "MOT15"


@dataclass(frozen=True)
class MotEvaluation:
    benchmark: str
    metrics: TrackingMetrics
    gt_tracks: int
    gt_boxes: int
    tracker_tracks: int
    tracker_boxes: int
    tracker_boxes_removed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "ground_truth": {"tracks": self.gt_tracks, "boxes": self.gt_boxes},
            "tracker": {
                "tracks": self.tracker_tracks,
                "boxes": self.tracker_boxes,
                "removed_as_distractor_matches": self.tracker_boxes_removed,
            },
            **self.metrics.to_dict(),
        }


def _boxes(table: np.ndarray) -> TrackBoxes:
    return TrackBoxes.of(table[:, 0], table[:, 1], table[:, 2:6])


def evaluate_mot_files(
    ground_truth: str | Path, results: str | Path, *, benchmark: str | None = None
) -> MotEvaluation:
    gt_table = read_mot_text(ground_truth, min_columns=8)
    tr_table = read_mot_text(results, min_columns=7)
    return evaluate_mot_tables(gt_table, tr_table, benchmark=benchmark)


def evaluate_mot_tables(
    gt_table: np.ndarray, tr_table: np.ndarray, *, benchmark: str | None = None
) -> MotEvaluation:
    """:func:`evaluate_mot_files` on the rows already read (:func:`read_mot_text`)."""
    chosen = benchmark.upper() if benchmark else ground_truth_benchmark(gt_table)
    if chosen not in BENCHMARKS:
        raise UsageError(f"Unknown benchmark {benchmark}.", hint=f"Use one of {', '.join(BENCHMARKS)}.")
    gt_all, tr_all = _boxes(gt_table), _boxes(tr_table)
    consider = gt_table[:, 6] != 0
    if chosen == "MOT15":
        gt_keep = consider
        tr_keep = np.ones(len(tr_all), dtype=bool)
    else:
        classes = gt_table[:, 7].astype(np.int64)
        names = MOT20_DISTRACTORS if chosen == "MOT20" else DISTRACTORS
        tr_keep = remove_distractor_matches(gt_all, np.isin(classes, list(names.values())), tr_all)
        gt_keep = consider & (classes == PEDESTRIAN)
    gt, tr = gt_all.subset(gt_keep), tr_all.subset(tr_keep)
    metrics = evaluate_tracking(gt, tr)
    return MotEvaluation(
        benchmark=chosen,
        metrics=metrics,
        gt_tracks=len(np.unique(gt.track)),
        gt_boxes=len(gt),
        tracker_tracks=len(np.unique(tr.track)),
        tracker_boxes=len(tr),
        tracker_boxes_removed=int((~tr_keep).sum()),
    )
