"""Scoring a campaign: pooled over all its videos, per video, per class, per camera slice and per
condition tag (only the frames carrying the tag; a tag on a video holds for all its frames).

Pooling is what pycocotools does with many images: every reviewed frame of every video is one
image (frame ids are made unique across videos), and the pooled input goes through the same
:class:`~vru_desktop.evaluation.run.RunEvaluation` a single run uses. Track ids are made unique
across videos too, so CLEAR / identity / HOTA pool as TrackEval combines sequences; only videos
whose run and ground truth both have tracks count for them.

A video is left out (and listed with the reason) when it has no finished run or no reviewed frame
the run processed. Confidence intervals come from :mod:`vru_desktop.campaigns.bootstrap`.

Device events (a camera's own event log, :mod:`vru_desktop.evaluation.events`): the scored videos
that have them are validated as ``evaluate-events`` does (tolerance 1 s, any VRU type) and pooled:
every video's episodes, judged events and false alarms together over their summed reviewed
duration. That gives ``false_alarms_per_hour``, ``ttfd_p95`` (95th percentile of the episodes' time
to first event) and ``event_hit_rate``; ``None`` when no scored video has device events.

Protocols: a campaign stores the names of the protocols to score; each is scored by
:func:`score_protocol`. ``default`` is the program's COCO / miss-rate evaluation; named pedestrian
protocols plug in there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select

from vru_desktop.annotations.tags import vocabulary_of_videos
from vru_desktop.campaigns.bootstrap import BootstrapInput, intervals
from vru_desktop.errors import ValidationError
from vru_desktop.evaluation.events import EventValidation, device_event_count, evaluate_events
from vru_desktop.evaluation.ground_truth import EvaluationInput, load_run
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes
from vru_desktop.evaluation.protocols import BoxConditions, Protocol, available
from vru_desktop.evaluation.run import RunEvaluation, height_bins_setting, stable_setting
from vru_desktop.settings import PROTOCOLS, get_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import Project, ReviewedFrame, RunStatus, Video

#: The protocol name of the plain evaluation (COCO rules, every box, the all-box miss rate).
DEFAULT_PROTOCOL = "default"
#: Camera metadata a suite is sliced by (the video's project's fields).
SLICE_FIELDS = ("camera_model", "camera_view", "lens_type", "resolution", "frame_rate", "signal_type")
BOOTSTRAP_RESAMPLES = 1000
#: The metrics of the videos' device events (see the module's docstring).
EVENT_METRICS = ("false_alarms_per_hour", "ttfd_p95", "event_hit_rate")
BOOTSTRAP_SEED = 0


def check_protocols(db: Database, names: list[str]) -> dict[str, Protocol | None]:
    """The named protocols (``None`` for the default evaluation); an unknown name is refused."""
    known: dict[str, Protocol | None] = {DEFAULT_PROTOCOL: None, **available(get_setting(db, PROTOCOLS))}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValidationError(
            f"Unknown protocol {', '.join(unknown)}.",
            hint=f"Known protocols: {', '.join(known)} (vru-desktop protocols).",
        )
    return {n: known[n] for n in names}


@dataclass
class SuiteInput:
    """The campaign's videos that count (each with its loaded run) and those left out, with why."""

    videos: list[dict[str, Any]] = field(default_factory=list)  # filename, fingerprint, camera, …
    inputs: list[EvaluationInput] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    #: Condition tag → the runs loaded with only the frames carrying it (videos without any left out).
    tagged: dict[str, list[EvaluationInput]] = field(default_factory=dict)
    #: Each counted video's device-event validation (``None``: the video has no device events).
    events: list[EventValidation | None] = field(default_factory=list)


def load_suite(db: Database, name: str) -> SuiteInput:
    """Load every campaign video's run and ground truth; list what cannot count and why."""
    from vru_desktop.campaigns.definition import get_campaign

    info = get_campaign(db, name)
    suite = SuiteInput()
    for v in info.videos:
        entry = {
            "video_id": v.video_id,
            "filename": v.filename,
            "fingerprint": v.fingerprint,
            "run_id": v.run_id,
        }
        if v.video_id is None:
            suite.excluded.append(entry | {"reason": "removed from the library"})
            continue
        if v.run_id is None:
            reason = (
                "its run was removed; 'campaign run' makes a new one"
                if info.launched_at
                else "no run yet (the campaign was not launched)"
            )
            suite.excluded.append(entry | {"reason": reason})
            continue
        if v.run_status != RunStatus.COMPLETED:
            suite.excluded.append(entry | {"reason": f"its run {v.run_id} is {v.run_status}, not completed"})
            continue
        data = load_run(db, v.run_id)
        if data.n_frames == 0:
            stride = int(data.run["config"].get("stride", 1) or 1)
            reason = "no reviewed ground truth" + (
                f" on the frames the run processed (every {stride}th)" if stride > 1 else ""
            )
            suite.excluded.append(entry | {"reason": reason})
            continue
        camera, reviewed_now = _video_facts(db, v.video_id)
        suite.videos.append(
            entry
            | {
                "reused": v.reused,
                "camera": camera,
                "reviewed_frames_at_creation": v.reviewed_frames,
                "ground_truth_changed": reviewed_now != v.reviewed_frames,
            }
        )
        suite.inputs.append(data)
        suite.events.append(evaluate_events(db, v.video_id) if device_event_count(db, v.video_id) else None)
    for tag in vocabulary_of_videos(db, [int(info["video_id"]) for info in suite.videos]):
        loaded = [load_run(db, int(info["run_id"]), tag=tag) for info in suite.videos]
        suite.tagged[tag] = [data for data in loaded if data.n_frames]
    return suite


def _video_facts(db: Database, video_id: int) -> tuple[dict[str, Any], int]:
    """The camera metadata of the video's project (the video's own size and rate where the project
    has none), and how many of its frames are reviewed now."""
    with db.session() as session:
        video = session.get(Video, video_id)
        assert video is not None
        project = session.get(Project, video.project_id) if video.project_id is not None else None

        def field_of(key: str) -> Any:
            return getattr(project, key) if project is not None else None

        camera = {
            "camera_model": field_of("camera_model") or "",
            "camera_view": field_of("camera_view") or "",
            "lens_type": field_of("lens_type") or "",
            "resolution": field_of("resolution") or video.resolution,
            "frame_rate": field_of("frame_rate") or round(video.fps, 3),
            "signal_type": field_of("signal_type") or "",
        }
        reviewed = session.scalar(
            select(func.count()).select_from(ReviewedFrame).where(ReviewedFrame.video_id == video_id)
        )
        return camera, int(reviewed or 0)


@dataclass(frozen=True)
class Pooled:
    """Many runs as one evaluation input, and which video every box and frame came from."""

    data: EvaluationInput
    video_of_gt: np.ndarray
    video_of_dt: np.ndarray
    frames_per_video: np.ndarray


def pool(inputs: list[EvaluationInput], *, conf: float) -> Pooled:
    """One input over all ``inputs``: frame ids and track ids offset per video so none repeats; class
    indices mapped into the union of the videos' class lists (in first-seen order)."""
    classes: list[str] = []
    for d in inputs:
        classes += [c for c in d.classes if c not in classes]
    frame_offset = track_offset = 0
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("gi", "gc", "gx", "gs", "gr", "gt", "gid", "gxy")}
    parts |= {k: [] for k in ("di", "dc", "dx", "ds", "dsc", "dt", "did", "dxy", "frames", "vg", "vd")}
    parts |= {k: [] for k in ("ci", "cv", "co", "ct", "ch", "size")}
    for v, d in enumerate(inputs):
        remap = np.array([classes.index(c) for c in d.classes], dtype=np.int64)
        span = int(d.reviewed_frames.max(initial=-1)) + 1
        tracks = int(max(d.gt_track.max(initial=-1), d.dt_track.max(initial=-1))) + 1
        parts["gi"].append(d.gt.image + frame_offset)
        parts["gc"].append(remap[d.gt.category])
        parts["gx"].append(d.gt.xywh)
        parts["gs"].append(d.gt.size)
        parts["gr"].append(d.gt.crowd)
        parts["gt"].append(np.where(d.gt_track >= 0, d.gt_track + track_offset, -1))
        parts["gid"].append(d.gt_ids)
        parts["gxy"].append(d.gt_xyxy)
        parts["di"].append(d.dt.image + frame_offset)
        parts["dc"].append(remap[d.dt.category])
        parts["dx"].append(d.dt.xywh)
        parts["ds"].append(d.dt.size)
        parts["dsc"].append(d.dt.score)
        parts["dt"].append(np.where(d.dt_track >= 0, d.dt_track + track_offset, -1))
        parts["did"].append(d.dt_ids)
        parts["dxy"].append(d.dt_xyxy)
        parts["frames"].append(d.reviewed_frames + frame_offset)
        parts["vg"].append(np.full(len(d.gt), v, dtype=np.int64))
        parts["vd"].append(np.full(len(d.dt), v, dtype=np.int64))
        conditions = d.gt_conditions or BoxConditions.unknown(len(d.gt))
        parts["ci"].append(conditions.ignore)
        parts["cv"].append(conditions.visibility)
        parts["co"].append(conditions.occlusion)
        parts["ct"].append(conditions.truncation)
        parts["ch"].append(conditions.height)
        size = [float(d.video.get("width") or np.nan), float(d.video.get("height") or np.nan)]
        parts["size"].append(
            d.gt_frame_size if d.gt_frame_size is not None else np.tile(size, (len(d.gt), 1))
        )
        frame_offset += span
        track_offset += tracks

    def cat(key: str, dtype: Any, width: int = 0) -> np.ndarray:
        empty = np.zeros((0, width) if width else 0, dtype=dtype)
        return np.concatenate([empty, *parts[key]]).astype(dtype)

    gt = GroundTruthBoxes(
        cat("gi", np.int64), cat("gc", np.int64), cat("gx", float, 4), cat("gs", float), cat("gr", bool)
    )
    dt = DetectionBoxes(
        cat("di", np.int64), cat("dc", np.int64), cat("dx", float, 4), cat("ds", float), cat("dsc", float)
    )
    data = EvaluationInput(
        session_id=0,
        video_id=0,
        classes=classes,
        reviewed_frames=cat("frames", np.int64),
        frame_times=np.zeros(0),
        gt=gt,
        gt_ids=cat("gid", np.int64),
        gt_xyxy=cat("gxy", float, 4),
        gt_track=cat("gt", np.int64),
        dt=dt,
        dt_ids=cat("did", np.int64),
        dt_xyxy=cat("dxy", float, 4),
        dt_track=cat("dt", np.int64),
        total_detections=sum(d.total_detections for d in inputs),
        gt_in_ignore_regions=sum(d.gt_in_ignore_regions for d in inputs),
        dt_in_ignore_regions=sum(d.dt_in_ignore_regions for d in inputs),
        video={"filename": f"{len(inputs)} videos", "fps": 1.0},
        run={"config": {"conf": conf}},
        gt_conditions=BoxConditions(
            cat("ci", bool), cat("cv", float), cat("co", np.int64), cat("ct", float), cat("ch", float)
        ),
        gt_frame_size=cat("size", float, 2),
    )
    frames = np.array([d.n_frames for d in inputs], dtype=np.int64)
    return Pooled(data, cat("vg", np.int64), cat("vd", np.int64), frames)


def summary_metrics(result: RunEvaluation) -> dict[str, Any]:
    """The named metrics (:data:`~vru_desktop.campaigns.requirements.METRICS`) of one evaluation."""
    overall = result.metrics().overall
    coco = {k.lower(): (v if v >= 0 else None) for k, v in result.coco.stats_dict().items()}
    tracking = _tracking(result)
    return {
        "recall": overall.recall,
        "precision": overall.precision,
        "f1": overall.f1,
        "tp": overall.tp,
        "fp": overall.fp,
        "fn": overall.fn,
        **coco,
        "mr": result.protocol_results[0].log_average_miss_rate
        if result.protocols
        else result.miss_rates()["all"],
        "mota": tracking["clear"]["MOTA"] if tracking else None,
        "idf1": tracking["identity"]["IDF1"] if tracking else None,
        "hota": tracking["hota"]["HOTA"] if tracking else None,
    }


def device_events(validations: list[EventValidation | None]) -> dict[str, Any] | None:
    """The pooled device-event validation of the videos that have device events (``None``: none has)."""
    present = [v for v in validations if v is not None]
    if not present:
        return None
    document = EventValidation.pooled(present).to_dict()
    del document["latencies_s"]
    return document | {"videos": len(present)}


def event_metrics(validations: list[EventValidation | None]) -> dict[str, Any]:
    """``false_alarms_per_hour``, ``ttfd_p95`` and ``event_hit_rate`` of :func:`device_events`."""
    pooled = device_events(validations)
    if pooled is None:
        return dict.fromkeys(EVENT_METRICS)
    return {
        "false_alarms_per_hour": pooled["false_alarms_per_hour"],
        "ttfd_p95": None if pooled["latency_s"] is None else pooled["latency_s"]["p95"],
        "event_hit_rate": pooled["hit_rate"],
    }


def _tracking(result: RunEvaluation) -> dict[str, Any] | None:
    tracking = result.tracking
    return None if tracking is None else tracking.to_dict()


def _evaluate(
    db: Database, inputs: list[EvaluationInput], *, iou: float, conf: float, protocol: Protocol | None = None
) -> tuple[Pooled, RunEvaluation]:
    pooled = pool(inputs, conf=conf)
    protocols = () if protocol is None else (protocol,)
    return pooled, RunEvaluation(
        pooled.data, iou, conf, height_bins_setting(db), stable_setting(db), protocols
    )


def _tracked(inputs: list[EvaluationInput]) -> list[EvaluationInput]:
    return [d for d in inputs if (d.gt_track >= 0).any() and (d.dt_track >= 0).any()]


def score_protocol(
    db: Database,
    suite: SuiteInput,
    protocol: str,
    *,
    iou: float,
    conf: float,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Pooled, per-class, per-video and per-slice results of one protocol, with bootstrap intervals
    (pooled, per class and per slice; ``resamples`` 0 gives none)."""
    chosen = check_protocols(db, [protocol])[protocol]
    out: dict[str, Any] = {
        "protocol": protocol,
        "iou": iou,
        "conf": conf,
        "videos_scored": len(suite.inputs),
        "excluded": suite.excluded,
    }
    if not suite.inputs:
        return out | {"metrics": {}, "per_video": [], "per_class": {}, "slices": {}, "intervals": {}}
    pooled, result = _evaluate(db, suite.inputs, iou=iou, conf=conf, protocol=chosen)
    metrics = summary_metrics(result) | event_metrics(suite.events)
    tracked = _tracked(suite.inputs)
    if tracked and len(tracked) < len(suite.inputs):
        tracking_result = _evaluate(db, tracked, iou=iou, conf=conf)[1]
        tr = summary_metrics(tracking_result)
        metrics |= {k: tr[k] for k in ("mota", "idf1", "hota")}
        tracking = _tracking(tracking_result)
    else:
        tracking = _tracking(result)
    m = result.metrics()
    per_video = []
    for info, data, events in zip(suite.videos, suite.inputs, suite.events, strict=True):
        single = RunEvaluation(data, iou, conf, result.height_bins, result.stable, result.protocols)
        per_video.append(
            {
                k: info[k]
                for k in (
                    "video_id",
                    "filename",
                    "fingerprint",
                    "run_id",
                    "reused",
                    "camera",
                    "reviewed_frames_at_creation",
                    "ground_truth_changed",
                )
            }
            | {"reviewed_frames": data.n_frames, "ground_truth_boxes": int(single.points.n_pos.sum())}
            | summary_metrics(single)
            | event_metrics([events])
        )
    slices: dict[str, dict[str, Any]] = {}
    for key in SLICE_FIELDS:
        groups: dict[str, list[int]] = {}
        for i, info in enumerate(suite.videos):
            groups.setdefault(str(info["camera"][key]), []).append(i)
        slices[key] = {
            value: {"videos": len(members)}
            | _slice(db, [suite.inputs[i] for i in members], iou, conf, chosen, resamples, seed)
            for value, members in groups.items()
        }
    by_tag = {
        tag: {"videos": len(inputs), "reviewed_frames": sum(d.n_frames for d in inputs)}
        | _slice(db, inputs, iou, conf, chosen, resamples, seed)
        for tag, inputs in suite.tagged.items()
        if inputs
    }
    if by_tag:
        slices["tag"] = by_tag
    boot = BootstrapInput.of(result, pooled)
    per_category, miss_rates = result.coco.per_category(), result.miss_rates()
    return out | {
        "reviewed_frames": result.data.n_frames,
        "ground_truth_boxes": int(result.points.n_pos.sum()),
        "detections_evaluated": len(result.data.dt),
        "metrics": metrics,
        "coco": result.coco.stats_dict(),
        "per_class": {
            name: counts.to_dict()
            | per_category.get(name, {})
            | {
                "mr": miss_rates.get(name),
                "intervals": intervals(
                    BootstrapInput.of(result, pooled, result.data.classes.index(name)),
                    resamples=resamples,
                    seed=seed,
                )
                if len(suite.inputs) >= 2
                else None,
            }
            for name, counts in m.per_class.items()
        },
        "log_average_miss_rate": miss_rates,
        "tracking": tracking,
        "device_events": device_events(suite.events),
        "per_video": sort_videos(per_video, "recall"),
        "slices": slices,
        "intervals": _intervals(boot, chosen, resamples, seed),
        "bootstrap": {"resamples": resamples, "seed": seed, "level": 0.95, "over": "videos"},
    }


def _intervals(boot: BootstrapInput, protocol: Protocol | None, resamples: int, seed: int) -> dict[str, Any]:
    """Bootstrap intervals; none for the miss rate of a protocol with the reference's quirks (its FPPI
    points and curve ends, which the resampling does not repeat)."""
    found = intervals(boot, resamples=resamples, seed=seed)
    quirks = protocol is not None and protocol.reference_quirks
    return {k: v for k, v in found.items() if k != "mr"} if quirks else found


def _slice(
    db: Database,
    inputs: list[EvaluationInput],
    iou: float,
    conf: float,
    protocol: Protocol | None,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """A slice's metrics and its bootstrap intervals over its own videos, drawn as the pooled ones
    are. ``intervals`` is ``None`` for a slice of one video: every resample would be that video, so
    the interval would be the point and say nothing of the spread over videos."""
    pooled, result = _evaluate(db, inputs, iou=iou, conf=conf, protocol=protocol)
    metrics = summary_metrics(result)
    found = (
        _intervals(BootstrapInput.of(result, pooled), protocol, resamples, seed) if len(inputs) >= 2 else None
    )
    return {k: metrics[k] for k in ("recall", "precision", "f1", "ap", "ap50", "mr", "tp", "fp", "fn")} | {
        "intervals": found
    }


def sort_videos(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Worst first by ``metric`` (lowest, or highest for the miss rate); videos without a value last."""
    from vru_desktop.campaigns.requirements import METRICS

    if metric not in METRICS:
        raise ValidationError(
            f"Cannot sort by '{metric}'.", hint="Known metrics: " + ", ".join(METRICS) + "."
        )
    higher_better = METRICS[metric][1]

    def key(row: dict[str, Any]) -> tuple[int, float]:
        value = row.get(metric)
        if value is None:
            return (1, 0.0)
        return (0, value if higher_better else -value)

    return sorted(rows, key=key)


def score_campaign(
    db: Database,
    name: str,
    *,
    iou: float = 0.5,
    conf: float | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Every protocol of the campaign scored; ``conf`` defaults to the campaign's run threshold."""
    from vru_desktop.campaigns.definition import get_campaign

    info = get_campaign(db, name)
    chosen = float(info.config.get("conf", 0.25)) if conf is None else conf
    suite = load_suite(db, name)
    return {
        "campaign": info.name,
        "model": {"name": info.model_name, "sha256": info.model_sha256},
        "config": info.config,
        "status": info.status,
        "protocols": {
            p: score_protocol(db, suite, p, iou=iou, conf=chosen, resamples=resamples, seed=seed)
            for p in info.protocols
        },
        "primary": info.protocols[0],
    }


def primary(scores: dict[str, Any]) -> dict[str, Any]:
    """The primary protocol's result of :func:`score_campaign`."""
    return scores["protocols"][scores["primary"]]


def suite_bootstrap(db: Database, suite: SuiteInput, *, iou: float, conf: float) -> BootstrapInput:
    """What the bootstrap needs of a suite (for intervals of differences between campaigns)."""
    pooled, result = _evaluate(db, suite.inputs, iou=iou, conf=conf)
    return BootstrapInput.of(result, pooled)
