"""One run's full evaluation against the video's ground truth: what ``evaluate``, the view and the
report show. Built from :func:`~vru_desktop.evaluation.ground_truth.load_run` once; the threshold
metrics can then be asked again at any confidence without touching the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from vru_desktop.annotations.tags import check_run_tag
from vru_desktop.errors import ValidationError
from vru_desktop.evaluation.coco import CocoData, CocoEvaluation, evaluate
from vru_desktop.evaluation.ground_truth import EvaluationInput, load_run
from vru_desktop.evaluation.metrics import OperatingPoints, ThresholdMetrics
from vru_desktop.evaluation.pedestrian import HeightBinResult, by_height, log_average_miss_rate
from vru_desktop.evaluation.protocols import Protocol, ProtocolResult, evaluate_protocol, protocol_lines
from vru_desktop.evaluation.tide import TideResult, format_tide, tide
from vru_desktop.evaluation.tracking import TrackingMetrics, format_tracking, run_tracking
from vru_desktop.evaluation.tracks import STABLE_K_OF_N, TrackResult, summarize_tracks, track_metrics
from vru_desktop.settings import HEIGHT_BINS, STABLE_DETECTION, get_setting
from vru_desktop.store.db import Database

DEFAULT_CONF = 0.25


def default_conf(data: EvaluationInput) -> float:
    """The run's own confidence threshold (its configuration), else 0.25."""
    return float(data.run["config"].get("conf", DEFAULT_CONF))


@dataclass
class RunEvaluation:
    """Evaluation of one run; ``points`` answers threshold questions without re-matching."""

    data: EvaluationInput
    iou: float
    conf: float
    height_bins: dict[str, tuple[float, float]]
    stable: tuple[int, int] = STABLE_K_OF_N
    protocols: tuple[Protocol, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 < self.iou < 1.0:
            raise ValidationError(f"IoU threshold {self.iou} is outside 0…1.", hint="Use e.g. 0.5.")
        if not 0.0 <= self.conf <= 1.0:
            raise ValidationError(f"Confidence threshold {self.conf} is outside 0…1.", hint="Use e.g. 0.25.")

    def with_conf(self, conf: float) -> RunEvaluation:
        """The same run at another confidence threshold, sharing the matching already done."""
        other = RunEvaluation(self.data, self.iou, conf, self.height_bins, self.stable, self.protocols)
        for name in ("points", "coco", "tide", "protocol_results"):  # threshold-free cached results
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    @cached_property
    def points(self) -> OperatingPoints:
        d = self.data
        return OperatingPoints(
            d.gt, d.dt, d.classes, self.iou, dt_ids=d.dt_ids, gt_ids=d.gt_ids, frames=d.reviewed_frames
        )

    @cached_property
    def coco(self) -> CocoEvaluation:
        d = self.data
        return evaluate(CocoData(d.gt, d.dt, d.reviewed_frames.tolist(), d.classes, d.classes))

    @cached_property
    def tide(self) -> TideResult:
        """TIDE's error breakdown over all detections (frames are the images)."""
        return tide(self.data.gt, self.data.dt)

    @cached_property
    def protocol_results(self) -> list[ProtocolResult]:
        """The log-average miss rate under each chosen protocol, over the reviewed frames."""
        d = self.data
        frame = d.gt_frame_size
        if frame is None:
            size = [float(d.video.get("width") or np.nan), float(d.video.get("height") or np.nan)]
            frame = np.tile(size, (len(d.gt), 1))
        return [
            evaluate_protocol(p, d.gt, d.dt, d.classes, d.n_frames, d.gt_conditions, frame)
            for p in self.protocols
        ]

    def metrics(self, conf: float | None = None) -> ThresholdMetrics:
        return self.points.at(self.conf if conf is None else conf)

    @cached_property
    def tracks(self) -> list[TrackResult]:
        return track_metrics(
            self.data, conf=self.conf, iou=self.iou, bins=self.height_bins, stable=self.stable
        )

    @cached_property
    def tracking(self) -> TrackingMetrics | None:
        """CLEAR MOT, IDF1 and HOTA of the tracker ids at ``conf`` (``None`` without tracks on both sides)."""
        return run_tracking(self.data, conf=self.conf)

    def heights(self, category: str | None = None) -> list[HeightBinResult]:
        d = self.data
        k = d.classes.index(category) if category in d.classes else None
        return by_height(
            d.gt, d.dt, d.n_frames, conf=self.conf, iou=self.iou, bins=self.height_bins, category=k
        )

    def miss_rates(self) -> dict[str, float | None]:
        """Log-average miss rate per class with ground truth, and for all classes together."""
        p = self.points
        out: dict[str, float | None] = {}
        for k, name in enumerate(self.data.classes):
            if p.n_pos[k]:
                mine = self.data.dt.category == k
                out[name] = log_average_miss_rate(
                    self.data.dt.score[mine],
                    p.dt_tp[mine],
                    p.dt_fp[mine],
                    int(p.n_pos[k]),
                    self.data.n_frames,
                )
        out["all"] = log_average_miss_rate(
            self.data.dt.score, p.dt_tp, p.dt_fp, int(p.n_pos.sum()), self.data.n_frames
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        d = self.data
        metrics = self.metrics()
        best_conf, best_f1 = self.points.best_f1()
        return {
            "run": {k: v for k, v in d.run.items() if k != "provenance"},
            "video": {k: v for k, v in d.video.items() if k != "ignore_regions"},
            "reviewed_frames": d.n_frames,
            "ground_truth_boxes": int(self.points.n_pos.sum()),
            "crowd_boxes": int(d.gt.crowd.sum()),
            "detections_evaluated": len(d.dt),
            "detections_total": d.total_detections,
            "in_ignore_regions": {
                "ground_truth": d.gt_in_ignore_regions,
                "detections": d.dt_in_ignore_regions,
            },
            "iou": self.iou,
            "conf": self.conf,
            "thresholds": metrics.to_dict(),
            "best_f1": {"conf": best_conf, "f1": best_f1},
            "coco": self.coco.stats_dict(),
            "coco_per_class": self.coco.per_category(),
            "tide": self.tide.to_dict(),
            "log_average_miss_rate": self.miss_rates(),
            "height_bins": [b.to_dict() for b in self.heights()],
            "tracks": summarize_tracks(self.tracks),
            "track_details": [t.to_dict() for t in self.tracks],
            "tracking": None if self.tracking is None else self.tracking.to_dict(),
            "protocols": [r.to_dict() for r in self.protocol_results],
        }


def height_bins_setting(db: Database) -> dict[str, tuple[float, float]]:
    return {name: (lo, hi) for name, (lo, hi) in get_setting(db, HEIGHT_BINS).items()}


def stable_setting(db: Database) -> tuple[int, int]:
    k, n = get_setting(db, STABLE_DETECTION)
    return k, n


def evaluate_run(
    db: Database,
    session_id: int,
    *,
    iou: float = 0.5,
    conf: float | None = None,
    protocols: list[Protocol] | tuple[Protocol, ...] = (),
    tag: str | None = None,
) -> RunEvaluation:
    """Load run ``session_id`` and its ground truth; ``conf`` defaults to the run's own threshold.
    With ``tag`` only the reviewed frames carrying that condition tag are scored."""
    if tag is not None:
        check_run_tag(db, session_id, tag)
    data = load_run(db, session_id, tag=tag)
    chosen = default_conf(data) if conf is None else conf
    return RunEvaluation(data, iou, chosen, height_bins_setting(db), stable_setting(db), tuple(protocols))


def format_text(result: RunEvaluation) -> list[str]:
    """The lines ``evaluate`` prints."""
    d = result.data
    m = result.metrics()
    lines = [
        f"run {d.session_id}: {d.run['model_name']} on video {d.video_id} ({d.video['filename']})"
        + (f", frames tagged {d.run['tag']}" if d.run.get("tag") else ""),
        f"reviewed frames {d.n_frames}, ground-truth boxes {int(result.points.n_pos.sum())}, "
        f"detections evaluated {len(d.dt)} of {d.total_detections}",
        f"at confidence >= {result.conf:g}, IoU >= {result.iou:g}:",
        f"  {'class':<16}{'TP':>7}{'FP':>7}{'FN':>7}{'precision':>11}{'recall':>9}{'F1':>8}",
    ]
    for name, c in [*m.per_class.items(), ("overall", m.overall)]:
        lines.append(
            f"  {name:<16}{c.tp:>7}{c.fp:>7}{c.fn:>7}{_f(c.precision):>11}{_f(c.recall):>9}{_f(c.f1):>8}"
        )
    lines.append("  errors: " + ", ".join(f"{k} {v}" for k, v in m.error_counts.items()))
    stats = result.coco.stats_dict()
    lines.append(
        "COCO: " + "  ".join(f"{k} {_f(v if v >= 0 else None)}" for k, v in stats.items() if k in _COCO_SHOWN)
    )
    lines.extend(format_tide(result.tide))
    lamr = result.miss_rates()
    lines.append("log-average miss rate: " + ", ".join(f"{k} {_f(v)}" for k, v in lamr.items()))
    lines.append(
        "by height: "
        + ", ".join(f"{b.name} recall {_f(b.recall)} ({b.positives} boxes)" for b in result.heights())
    )
    lines.extend(protocol_lines(result.protocol_results))
    summary = summarize_tracks(result.tracks)
    if summary["tracks"]:
        lines.append(
            f"tracks {summary['tracks']}: never detected {summary['never_detected']}, "
            f"mean time to first detection {_f(summary['mean_time_to_first_detection'])} s, "
            f"mean detected share {_f(summary['mean_detected_share'])}, "
            f"longest miss streak {summary['max_miss_streak']} frames"
        )
        k, n = result.stable
        lines.append(
            f"  mean time to stable detection ({k} of {n} frames) "
            f"{_f(summary['mean_time_to_stable_detection'])} s (never {summary['never_stable']}), "
            f"mean longest gap {_f(summary['mean_longest_gap_s'])} s, "
            f"fragmentations {summary['fragmentations']}"
        )
        for name, part in summary["by_height"].items():
            lines.append(
                f"  {name}: {part['tracks']} tracks, "
                f"first detection {_f(part['mean_time_to_first_detection'])} s, "
                f"stable {_f(part['mean_time_to_stable_detection'])} s, "
                f"longest gap {_f(part['mean_longest_gap_s'])} s"
            )
    if result.tracking is not None:
        lines.append(f"tracking (tracker ids, all VRU types, confidence >= {result.conf:g}, IoU >= 0.5):")
        lines.extend(f"  {line}" for line in format_tracking(result.tracking))
    return lines


_COCO_SHOWN = ("AP", "AP50", "AP75", "AR100")


def _f(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.3f}"
