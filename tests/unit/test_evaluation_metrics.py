"""Threshold metrics, confusion, error types, pedestrian and track metrics on a run in a real database.

The scene (10 fps, reviewed frames 0–9; frame 50 has boxes but is not reviewed):

* pedestrian track 1, box A on frames 0–9 (100 px tall: near); detected at 0.9 on frames 2–9,
  plus a duplicate on frame 4 (0.5);
* cyclist track 2, box B on frames 0–9 (50 px tall: medium); seen as a pedestrian on frame 0
  (0.8), as a cyclist on frames 5–9 (0.6), and badly placed on frame 1 (0.3, IoU 1/3);
* a crowd box on frame 3 with a pedestrian detection inside it (0.7): ignored;
* a background false positive on frame 6 (0.4);
* an ignore region holding a ground-truth box and a detection on frame 7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vru_desktop.errors import NotFoundError, ValidationError
from vru_desktop.evaluation.ground_truth import load_run, points_in_polygons
from vru_desktop.evaluation.pedestrian import log_average_miss_rate
from vru_desktop.evaluation.run import evaluate_run, format_text
from vru_desktop.media.frames import FrameTable
from vru_desktop.settings import STABLE_DETECTION, set_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    Annotation,
    DetectionEvent,
    FrameIndex,
    Project,
    ReviewedFrame,
    TestSession,
    Video,
)

A = (10.0, 10.0, 50.0, 110.0)
B = (200.0, 10.0, 240.0, 60.0)
CROWD = (300.0, 0.0, 400.0, 100.0)


def build_scene(db: Database, tmp_path: Path) -> int:
    """Store the scene; returns the run id."""
    with db.transaction() as s:
        project = Project(
            name="Scene",
            camera_model="cam",
            camera_view="front",
            signal_type="event",
            ignore_regions=[[[600, 0], [700, 0], [700, 100], [600, 100]]],
        )
        s.add(project)
        s.flush()
        video = Video(
            project_id=project.id,
            filename="scene.mp4",
            file_path=str(tmp_path / "scene.mp4"),
            fps=10.0,
            frame_count=100,
            duration=10.0,
            width=800,
            height=400,
            fingerprint="scene-fingerprint",
        )
        s.add(video)
        s.flush()
        times, keys = FrameTable(np.arange(100) / 10.0, np.array([0])).to_bytes()
        s.add(FrameIndex(video_id=video.id, frame_count=100, times=times, keyframes=keys))
        run = TestSession(video_id=video.id, config={"conf": 0.25, "stride": 1}, status="completed")
        s.add(run)
        s.flush()

        def gt(frame: int, vru: str, box: tuple[float, ...], track: int | None = None, **kw: object) -> None:
            s.add(
                Annotation(
                    video_id=video.id,
                    frame_number=frame,
                    timestamp=frame / 10,
                    vru_type=vru,
                    track_id=track,
                    x1=box[0],
                    y1=box[1],
                    x2=box[2],
                    y2=box[3],
                    **{"validated": True, **kw},
                )
            )

        def det(frame: int, vru: str, box: tuple[float, ...], conf: float) -> None:
            s.add(
                DetectionEvent(
                    session_id=run.id,
                    video_id=video.id,
                    frame_number=frame,
                    timestamp=frame / 10,
                    vru_type=vru,
                    confidence=conf,
                    x1=box[0],
                    y1=box[1],
                    x2=box[2],
                    y2=box[3],
                )
            )

        for f in range(10):
            s.add(ReviewedFrame(video_id=video.id, frame_number=f))
            gt(f, "pedestrian", A, 1)
            gt(f, "cyclist", B, 2)
        gt(3, "pedestrian", CROWD, crowd=True)
        gt(7, "pedestrian", (610, 10, 650, 90))  # in the ignore region
        gt(5, "pedestrian", (0, 0, 5, 5), validated=False)  # not validated: not ground truth
        gt(6, "pedestrian", (0, 300, 40, 390), outside=True)  # outside: not ground truth
        gt(50, "pedestrian", A)  # frame not reviewed
        for f in range(2, 10):
            det(f, "pedestrian", A, 0.9)
        det(4, "pedestrian", (12, 10, 52, 110), 0.5)
        det(0, "pedestrian", B, 0.8)
        for f in range(5, 10):
            det(f, "cyclist", B, 0.6)
        det(1, "cyclist", (220, 10, 260, 60), 0.3)
        det(3, "pedestrian", (320, 10, 360, 90), 0.7)
        det(6, "pedestrian", (500, 300, 540, 380), 0.4)
        det(7, "pedestrian", (620, 10, 660, 90), 0.95)  # in the ignore region
        det(50, "pedestrian", A, 0.9)  # frame not reviewed
        return run.id


@pytest.fixture
def run_id(db: Database, tmp_path: Path) -> int:
    return build_scene(db, tmp_path)


def test_ground_truth_is_validated_boxes_on_reviewed_frames(db: Database, run_id: int) -> None:
    data = load_run(db, run_id)
    assert data.n_frames == 10
    assert len(data.gt) == 21  # 2 × 10 + the crowd box
    assert int(data.gt.crowd.sum()) == 1
    assert len(data.dt) == 18 and data.total_detections == 20
    assert (data.gt_in_ignore_regions, data.dt_in_ignore_regions) == (1, 1)
    assert data.classes[:2] == ["pedestrian", "cyclist"]


def test_counts_at_two_thresholds(db: Database, run_id: int) -> None:
    result = evaluate_run(db, run_id)
    assert result.conf == 0.25  # the run's own threshold
    m = result.metrics()
    ped, cyc = m.per_class["pedestrian"], m.per_class["cyclist"]
    assert (ped.tp, ped.fp, ped.fn) == (8, 3, 2)
    assert (cyc.tp, cyc.fp, cyc.fn) == (5, 1, 5)
    assert (m.overall.tp, m.overall.fp, m.overall.fn) == (13, 4, 7)
    assert m.overall.precision == pytest.approx(13 / 17)
    assert m.overall.recall == pytest.approx(13 / 20)
    assert m.overall.f1 == pytest.approx(26 / (26 + 4 + 7))
    high = result.metrics(0.5)
    assert (high.per_class["pedestrian"].fp, high.per_class["cyclist"].fp) == (2, 0)
    assert high.overall.tp == 13
    assert result.metrics(0.95).overall.tp == 0


def test_error_types_and_confusion(db: Database, run_id: int) -> None:
    result = evaluate_run(db, run_id)
    m = result.metrics()
    assert m.error_counts == {
        "localisation": 1,
        "duplicate": 1,
        "class_confusion": 1,
        "background": 1,
        "missed": 7,
    }
    labels = m.confusion_labels
    ped, cyc, bg = labels.index("pedestrian"), labels.index("cyclist"), labels.index("background")
    c = m.confusion
    assert (c[ped, ped], c[cyc, cyc], c[cyc, ped]) == (8, 5, 1)
    assert (c[bg, ped], c[bg, cyc]) == (2, 1)  # duplicate + background; the misplaced cyclist
    assert (c[ped, bg], c[cyc, bg]) == (2, 4)  # missed boxes (class-agnostic matching)
    assert c.sum() == 8 + 5 + 1 + 3 + 6

    errors = result.points.errors(0.25)
    rows = [errors.row(i, result.data.classes) for i in range(len(errors))]
    assert [r["frame"] for r in rows] == sorted(r["frame"] for r in rows)
    loc = next(r for r in rows if r["kind"] == "localisation")
    assert loc["frame"] == 1 and loc["box"] == [220, 10, 260, 60] and loc["ref_box"] == list(B)
    missed = [r for r in rows if r["kind"] == "missed"]
    assert {(r["frame"], r["class"]) for r in missed if r["class"] == "pedestrian"} == {
        (0, "pedestrian"),
        (1, "pedestrian"),
    }
    assert all(r["score"] is None for r in missed)


def test_timeline_curves_and_histograms(db: Database, run_id: int) -> None:
    result = evaluate_run(db, run_id)
    line = result.points.timeline(0.25)
    assert line["frame"].tolist() == list(range(10))
    assert line["tp"].tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 2, 2]
    assert line["fn"].tolist() == [2, 2, 1, 1, 1, 0, 0, 0, 0, 0]
    assert int(line["fp"].sum()) == 4
    curve = result.points.curves["pedestrian"]
    assert curve["recall"].max() == pytest.approx(0.8)
    assert curve["precision"][0] == 1.0
    hist = result.points.score_histograms(10)
    assert int(hist["tp"].sum()) == 13 and int(hist["fp"].sum()) == 4
    best_conf, best_f1 = result.points.best_f1()
    assert best_conf == pytest.approx(0.6) and best_f1 == pytest.approx(26 / (26 + 1 + 7))


def test_coco_pedestrian_and_tracks(db: Database, run_id: int) -> None:
    result = evaluate_run(db, run_id)
    assert result.coco.per_category()["pedestrian"]["AP50"] == pytest.approx(81 / 101)
    assert result.miss_rates()["pedestrian"] == pytest.approx(0.2)
    bins = {b.name: b for b in result.heights()}
    assert (bins["near"].positives, bins["near"].true_positives) == (10, 8)
    assert (bins["medium"].positives, bins["medium"].true_positives) == (10, 5)
    assert bins["far"].positives == 0 and bins["far"].recall is None
    tracks = {t.track_id: t for t in result.tracks}
    assert tracks[1].time_to_first_detection == pytest.approx(0.2)
    assert (tracks[1].detected_share, tracks[1].longest_miss_streak) == (0.8, 2)
    assert tracks[2].time_to_first_detection == 0.0
    assert (tracks[2].detected_share, tracks[2].longest_miss_streak) == (0.6, 4)
    document = result.to_dict()
    assert document["thresholds"]["overall"]["tp"] == 13
    assert any("pedestrian" in line for line in format_text(result))


def test_track_gaps_fragmentations_and_stable_detection_follow_the_confidence(
    db: Database, run_id: int
) -> None:
    result = evaluate_run(db, run_id)  # the run's confidence, 0.25
    tracks = {t.track_id: t for t in result.tracks}
    # Track 1 is missed on frames 0–1; track 2 is seen on frame 0, missed on 1–4, seen on 5–9.
    assert (tracks[1].longest_gap_s, tracks[1].fragmentations) == (pytest.approx(0.2), 0)
    assert (tracks[2].longest_gap_s, tracks[2].fragmentations) == (pytest.approx(0.4), 1)
    # 3 of the last 5 frames detected: track 1 on frame 4 (2, 3, 4), track 2 on frame 7 (5, 6, 7).
    assert (tracks[1].first_stable_frame, tracks[1].time_to_stable_detection) == (4, pytest.approx(0.4))
    assert (tracks[2].first_stable_frame, tracks[2].frames_to_stable_detection) == (7, 7)
    assert (tracks[1].height_bin, tracks[2].height_bin) == ("near", "medium")
    summary = result.to_dict()["tracks"]
    assert summary["mean_longest_gap_s"] == pytest.approx(0.3) and summary["fragmentations"] == 1
    assert summary["mean_time_to_stable_detection"] == pytest.approx(0.55)
    assert summary["by_height"]["medium"]["mean_time_to_stable_detection"] == pytest.approx(0.7)
    assert summary["by_height"]["near"]["tracks"] == 1
    assert result.tracking is None  # the run has no tracker ids
    assert any("stable detection (3 of 5 frames)" in line for line in format_text(result))

    strict = result.with_conf(0.7)  # track 2's cyclist detections (0.6) no longer count
    track_2 = {t.track_id: t for t in strict.tracks}[2]
    assert track_2.first_stable_frame is None and track_2.fragmentations == 0
    assert track_2.longest_gap_s == pytest.approx(0.9)  # frames 1–9, to one frame after the last

    set_setting(db, STABLE_DETECTION, [2, 2])
    assert {t.track_id: t for t in evaluate_run(db, run_id).tracks}[2].first_stable_frame == 6
    with pytest.raises(ValidationError, match="k of n"):
        set_setting(db, STABLE_DETECTION, [3, 2])


def test_strided_run_counts_only_processed_frames(db: Database, run_id: int) -> None:
    with db.transaction() as s:
        s.get(TestSession, run_id).config = {"conf": 0.25, "stride": 2}
    data = load_run(db, run_id)
    assert data.reviewed_frames.tolist() == [0, 2, 4, 6, 8]


def test_log_average_miss_rate_caltech_rule() -> None:
    # 4 positives, 100 frames. Scores: TP, FP, TP, FP …: at FPPI 0.01 one FP is allowed.
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    tp = np.array([True, False, True, False])
    fp = ~tp
    lamr = log_average_miss_rate(scores, tp, fp, 4, 100)
    # FPPI points: 0 (recall .25), .01 (.25), .01 (.5), .02 (.5): refs .01 → .5, refs >= .02 → .5;
    # so every reference point has miss rate 0.5.
    assert lamr == pytest.approx(0.5)
    assert log_average_miss_rate(scores, tp, fp, 0, 100) is None
    # Nothing found before the first reference FPPI: miss rate 1 there.
    only_fp = log_average_miss_rate(np.array([0.9]), np.array([False]), np.array([True]), 1, 10)
    assert only_fp == pytest.approx(1.0)


def test_points_in_polygons() -> None:
    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    inside = points_in_polygons(np.array([[5, 5], [15, 5], [0.5, 9.5]]), [square])
    assert inside.tolist() == [True, False, True]


def test_bad_requests(db: Database, run_id: int) -> None:
    with pytest.raises(NotFoundError, match="no detection run 999"):
        evaluate_run(db, 999)
    with pytest.raises(ValidationError, match="IoU"):
        evaluate_run(db, run_id, iou=1.5)


def test_height_bins_come_from_the_setting(db: Database, run_id: int) -> None:
    from vru_desktop.settings import HEIGHT_BINS, set_setting

    set_setting(db, HEIGHT_BINS, {"tall": [60, 1e9], "short": [0, 60]})
    bins = {b.name: b for b in evaluate_run(db, run_id).heights()}
    assert list(bins) == ["tall", "short"]
    assert (bins["tall"].positives, bins["short"].positives) == (10, 10)
    pedestrians = {b.name: b for b in evaluate_run(db, run_id).heights("pedestrian")}
    assert (pedestrians["tall"].positives, pedestrians["short"].positives) == (10, 0)


def test_runs_without_detections_or_ground_truth(db: Database, run_id: int, tmp_path: Path) -> None:
    from vru_desktop.evaluation.report import render_report
    from vru_desktop.evaluation.statistics import compute_statistics

    with db.transaction() as s:
        video_id = s.get(TestSession, run_id).video_id
        empty_run = TestSession(video_id=video_id, config={"conf": 0.25}, status="completed")
        other = Video(filename="b.mp4", file_path=str(tmp_path / "b.mp4"), fps=25.0, fingerprint="b")
        s.add_all([empty_run, other])
        s.flush()
        unreviewed_run = TestSession(video_id=other.id, status="completed")
        s.add(unreviewed_run)
        s.flush()
        s.add(
            DetectionEvent(
                session_id=unreviewed_run.id,
                video_id=other.id,
                frame_number=0,
                timestamp=0.0,
                vru_type="pedestrian",
                confidence=0.9,
                x1=0,
                y1=0,
                x2=10,
                y2=30,
            )
        )
        ids = (empty_run.id, unreviewed_run.id)
    nothing_found = evaluate_run(db, ids[0])
    m = nothing_found.metrics()
    assert (m.overall.tp, m.overall.fp, m.overall.fn) == (0, 0, 20)
    assert m.overall.precision is None and m.overall.recall == 0.0
    assert m.error_counts["missed"] == 20 and nothing_found.miss_rates()["all"] == pytest.approx(1.0)
    assert all(t.first_detected_frame is None for t in nothing_found.tracks)
    assert "<svg" in render_report(nothing_found)
    assert compute_statistics(db, ids[0]).detection_accuracy == 0.0

    no_ground_truth = evaluate_run(db, ids[1])
    assert no_ground_truth.data.n_frames == 0 and len(no_ground_truth.data.dt) == 0
    assert no_ground_truth.coco.stats.tolist() == [-1.0] * 12
    assert no_ground_truth.metrics().overall.f1 is None
    assert compute_statistics(db, ids[1]).detection_accuracy is None
    assert "<svg" in render_report(no_ground_truth)
