"""The run loop with the real shared detector: MOT17 pedestrians, the street film, stop/pause/resume,
failing frames, corrupt videos, statistics, provenance, queue and crash recovery."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from vru_desktop.datasets.importer import import_annotations
from vru_desktop.detection.models import file_sha256, register_model
from vru_desktop.detection.pipeline import (
    Progress,
    RunCallbacks,
    RunConfig,
    RunControl,
    execute_run,
    owner_tag,
)
from vru_desktop.detection.runs import (
    cancel_queued,
    create_run,
    list_runs,
    queue_project,
    queued_runs,
    recover_interrupted,
    requeue,
)
from vru_desktop.errors import ValidationError
from vru_desktop.evaluation.ground_truth import load_run
from vru_desktop.evaluation.tracking import run_tracking
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import DetectionEvent, SessionStatistics, TestSession, Video

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("backend")]


@pytest.fixture
def locations(data_dir: Path):
    return resolve_locations(data_dir).ensure()


@pytest.fixture
def model_id(db, shared_models: Path) -> int:
    return register_model(db, shared_models / "yolo11n_int8_openvino_model").id


@pytest.fixture(scope="module")
def street_clip(make_street_clip: Callable[[int], Path]) -> Path:
    """32 frames of the shared street film (640x360) re-encoded with a keyframe every 12 frames."""
    return make_street_clip(32)


def import_one(db, path: Path) -> int:
    (outcome,) = import_paths(db, [path])
    assert outcome.status == "imported", outcome.message
    assert outcome.video_id is not None
    return outcome.video_id


def events_of(db, session_id: int) -> list[tuple]:
    with db.session() as session:
        rows = session.scalars(
            select(DetectionEvent)
            .where(DetectionEvent.session_id == session_id)
            .order_by(DetectionEvent.frame_number, DetectionEvent.id)
        )
        return [
            (e.frame_number, e.timestamp, e.vru_type, e.x1, e.y1, e.x2, e.y2, e.confidence, e.vehicle_class)
            for e in rows
        ]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def test_pedestrians_in_the_mot17_frames(
    db, model_id: int, locations, shared_data: Path, shared_models: Path
) -> None:
    outcomes = import_paths(db, [shared_data / "mot17_mini" / "videos"])
    assert len(outcomes) == 7 and all(o.status == "imported" for o in outcomes)
    project_id = db.session().get(Video, outcomes[0].video_id).project_id
    config = RunConfig(conf=0.25)
    runs = queue_project(db, project_id, model_id, config)
    assert queued_runs(db) == [r.id for r in runs]
    total_matched = total_gt = 0
    for run in runs:
        summary = execute_run(db, run.id, locations)
        assert summary.status == "completed", summary.error_message
        with db.session() as session:
            video = session.get(Video, run.video_id)
            sequence = video.filename.split("_first")[0]
            assert video.processing_status == "completed"
            stored = session.get(TestSession, run.id)
            stats = session.get(SessionStatistics, run.id)
        assert summary.frames_processed == video.frame_count == stored.frames_processed
        assert stored.last_committed_frame == video.frame_count - 1
        assert stored.config["conf"] == 0.25
        assert stored.provenance["model_sha256"] == file_sha256(shared_models / "yolo11n_int8_openvino_model")
        assert "openvino" in stored.provenance["libraries"]
        events = events_of(db, run.id)
        assert stats.total_detections == len(events) == summary.total_detections
        assert stats.detections_by_type == summary.detections_by_type
        assert stats.frames_per_second > 0
        gt = np.loadtxt(shared_data / "mot17_mini" / "train" / sequence / "gt" / "gt.txt", delimiter=",")
        matched = gt_count = 0
        for frame in range(video.frame_count):
            rows = gt[(gt[:, 0] == frame + 1) & (gt[:, 7] == 1) & (gt[:, 6] == 1)]
            truth = np.c_[rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]]
            found = np.array([e[3:7] for e in events if e[0] == frame and e[2] in ("pedestrian", "cyclist")])
            assert len(found) > 0, f"{sequence}: no pedestrian found on frame {frame}"
            iou = box_iou(truth, found)
            matched += int(np.sum(iou.max(axis=1) >= 0.5))
            gt_count += len(truth)
            # Detections stay in the frame and within a plausible count of the ground truth.
            assert len(found) <= 2 * len(truth) + 5
            assert np.all(found[:, 2] <= video.width + 1) and np.all(found[:, 3] <= video.height + 1)
        assert matched / gt_count >= 0.25, f"{sequence}: {matched}/{gt_count} pedestrians found"
        total_matched += matched
        total_gt += gt_count
    assert total_matched / total_gt >= 0.35


def test_pedestrians_in_a_slice_of_the_street_film(db, model_id: int, locations, shared_data: Path) -> None:
    video_id = import_one(db, shared_data / "street_videos" / "market_street_1906.mp4")
    run = create_run(db, video_id, model_id, RunConfig(stride=10, stop_frame=300))
    reports: list[Progress] = []
    summary = execute_run(db, run.id, locations, callbacks=RunCallbacks(progress=reports.append))
    assert summary.status == "completed"
    assert summary.frames_processed == 30
    events = events_of(db, run.id)
    frames = sorted({e[0] for e in events})
    assert all(f % 10 == 0 and f < 300 for f in frames)
    assert len(frames) >= 27  # people on (almost) every sampled frame of a busy 1906 street
    assert summary.detections_by_type.get("pedestrian", 0) >= 100
    with db.session() as session:
        from vru_desktop.media.frames import FrameTable

        index = session.get(Video, video_id).frame_index
        table = FrameTable.from_bytes(index.times, index.keyframes)
    assert all(e[1] == pytest.approx(table.time_of(e[0])) for e in events)
    assert reports[-1].done == reports[-1].total == 30


def test_stop_keeps_what_was_computed_and_resume_equals_an_uninterrupted_run(
    db,
    model_id: int,
    locations,
    street_clip: Path,
) -> None:
    video_id = import_one(db, street_clip)
    config = RunConfig(commit_frames=4, batch=4)
    full = create_run(db, video_id, model_id, config)
    assert execute_run(db, full.id, locations).status == "completed"

    control = RunControl()
    commits: list[tuple[int, int, int]] = []

    def committed(first: int, last: int, count: int) -> None:
        commits.append((first, last, count))
        if last >= 11:
            control.stop()

    partial = create_run(db, video_id, model_id, config)
    summary = execute_run(
        db, partial.id, locations, control=control, callbacks=RunCallbacks(committed=committed)
    )
    assert summary.status == "stopped"
    stored = db.session().get(TestSession, partial.id)
    assert 11 <= stored.last_committed_frame < 31
    assert commits[0][0] == 0 and all(b[0] == a[1] + 1 for a, b in itertools.pairwise(commits))
    kept = events_of(db, partial.id)
    assert kept and max(e[0] for e in kept) <= stored.last_committed_frame
    assert kept == [e for e in events_of(db, full.id) if e[0] <= stored.last_committed_frame]

    requeue(db, partial.id)
    resumed = execute_run(db, partial.id, locations)
    assert resumed.status == "completed"
    assert events_of(db, partial.id) == events_of(db, full.id)
    assert resumed.frames_processed == 32
    assert resumed.total_detections == len(events_of(db, full.id))
    sittings = db.session().get(TestSession, partial.id).provenance["sittings"]
    assert [s["from_frame"] for s in sittings] == [0, stored.last_committed_frame + 1]


def test_pause_waits_without_cpu_then_resumes(db, model_id: int, locations, street_clip: Path) -> None:
    video_id = import_one(db, street_clip)
    run = create_run(db, video_id, model_id, RunConfig(batch=2, stop_frame=16))
    control = RunControl()
    states: list[str] = []
    first_progress = threading.Event()

    def progress(_p: Progress) -> None:
        if not first_progress.is_set():
            control.pause()
            first_progress.set()

    result = {}
    worker = threading.Thread(
        target=lambda: result.update(
            summary=execute_run(
                db,
                run.id,
                locations,
                control=control,
                callbacks=RunCallbacks(progress=progress, state=states.append),
            )
        )
    )
    worker.start()
    assert first_progress.wait(60)
    deadline = time.monotonic() + 10
    while "paused" not in states and time.monotonic() < deadline:
        time.sleep(0.02)
    assert db.session().get(TestSession, run.id).status == "paused"
    time.sleep(0.3)  # let the decoder fill its queue and block
    cpu_before = time.process_time()
    time.sleep(1.0)
    cpu_paused = time.process_time() - cpu_before
    assert cpu_paused < 0.1, f"paused run used {cpu_paused:.2f} s of CPU in 1 s"
    paused_at = db.session().get(TestSession, run.id).frames_processed
    assert paused_at < 16
    control.resume()
    worker.join(60)
    assert result["summary"].status == "completed"
    assert result["summary"].frames_processed == 16
    assert states == ["running", "paused", "running", "completed"]


def _sequence(tmp_path: Path, shared_data: Path, broken: list[int]) -> Path:
    """A copy of the MOT17-05 frame folder (6 frames) with some frames replaced by garbage."""
    folder = tmp_path / "MOT17-05-broken"
    shutil.copytree(shared_data / "mot17_mini" / "train" / "MOT17-05-FRCNN" / "img1", folder / "img1")
    shutil.copy(
        shared_data / "mot17_mini" / "train" / "MOT17-05-FRCNN" / "seqinfo.ini", folder / "seqinfo.ini"
    )
    for index in broken:
        (folder / "img1" / f"{index + 1:06}.jpg").write_bytes(b"not a jpeg at all")
    return folder / "img1"


def test_frames_that_fail_to_decode_are_skipped_and_counted(
    db,
    model_id: int,
    locations,
    shared_data: Path,
    tmp_path: Path,
) -> None:
    video_id = import_one(db, _sequence(tmp_path, shared_data, broken=[2]))
    run = create_run(db, video_id, model_id, RunConfig())
    summary = execute_run(db, run.id, locations)
    assert summary.status == "completed"
    assert (summary.frames_processed, summary.frames_failed) == (6, 1)
    frames = {e[0] for e in events_of(db, run.id)}
    assert 2 not in frames and {0, 1, 3, 4, 5} <= frames


def test_many_failing_frames_in_a_row_fail_the_run_with_a_clear_message(
    db,
    model_id: int,
    locations,
    shared_data: Path,
    tmp_path: Path,
) -> None:
    video_id = import_one(db, _sequence(tmp_path, shared_data, broken=[1, 2, 3, 4]))
    run = create_run(db, video_id, model_id, RunConfig(max_consecutive_failures=3))
    summary = execute_run(db, run.id, locations)
    assert summary.status == "failed"
    assert "3 frames in a row could not be decoded (up to frame 3)" in (summary.error_message or "")
    stored = db.session().get(TestSession, run.id)
    assert stored.error_message == summary.error_message
    assert {e[0] for e in events_of(db, run.id)} == {0}


def test_a_corrupt_video_fails_with_a_clear_message(db, model_id: int, locations, make_video) -> None:
    path = make_video("damaged.mp4", frames=10, size=(320, 240))
    video_id = import_one(db, path)
    path.write_bytes(b"\x00" * 4096)
    summary = execute_run(db, create_run(db, video_id, model_id, RunConfig()).id, locations)
    assert summary.status == "failed"
    assert summary.error_message.startswith("damaged.mp4: cannot be opened")
    assert db.session().get(Video, video_id).processing_status == "failed"


def test_a_model_file_that_disappeared_fails_the_run_clearly(
    db,
    locations,
    shared_models: Path,
    make_video,
    tmp_path: Path,
) -> None:
    copy = tmp_path / "gone.tflite"
    shutil.copy(shared_models / "yolov8n_int8.tflite", copy)
    model = register_model(db, copy)
    copy.unlink()
    video_id = import_one(db, make_video("clip.mp4", frames=5))
    summary = execute_run(db, create_run(db, video_id, model.id, RunConfig()).id, locations)
    assert summary.status == "failed"
    assert "gone.tflite: model file not found" in summary.error_message


def test_tracking_without_lap_says_what_to_install(
    db, model_id: int, locations, make_video, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "lap" else real_find_spec(name, *a)
    )
    video_id = import_one(db, make_video("clip.mp4", frames=5))
    summary = execute_run(
        db, create_run(db, video_id, model_id, RunConfig(tracker="bytetrack")).id, locations
    )
    assert summary.status == "failed"
    assert "Tracking (ByteTrack) needs the Python package 'lap'" in summary.error_message


@pytest.mark.skipif(__import__("importlib").util.find_spec("lap") is None, reason="tracking needs lap")
def test_tracking_fills_track_ids(db, model_id: int, locations, street_clip: Path) -> None:
    video_id = import_one(db, street_clip)
    run = create_run(db, video_id, model_id, RunConfig(tracker="bytetrack", stop_frame=20))
    assert execute_run(db, run.id, locations).status == "completed"
    with db.session() as session:
        ids = [
            e.track_id
            for e in session.scalars(select(DetectionEvent).where(DetectionEvent.session_id == run.id))
        ]
    assert ids and sum(i is not None for i in ids) >= 0.8 * len(ids)
    assert len({i for i in ids if i is not None}) < len(ids)  # the same people keep their ids over frames


@pytest.mark.skipif(__import__("importlib").util.find_spec("lap") is None, reason="tracking needs lap")
def test_a_resumed_tracking_run_keeps_the_track_ids_of_an_uninterrupted_run(
    db, model_id: int, locations, shared_data: Path, tmp_path: Path
) -> None:
    sequence = "MOT17-04-FRCNN"
    shutil.copytree(shared_data / "mot17_mini" / "train" / sequence, tmp_path / "train" / sequence)
    video_id = import_one(db, shared_data / "mot17_mini" / "videos" / f"{sequence}_first8.mp4")
    import_annotations(db, "mot", tmp_path / "train")
    config = RunConfig(tracker="bytetrack", commit_frames=1)
    full = create_run(db, video_id, model_id, config)
    assert execute_run(db, full.id, locations).status == "completed"

    control = RunControl()

    def committed(_first: int, last: int, _count: int) -> None:
        if last >= 3:
            control.stop()

    partial = create_run(db, video_id, model_id, config)
    stopped = execute_run(
        db, partial.id, locations, control=control, callbacks=RunCallbacks(committed=committed)
    )
    assert stopped.status == "stopped"
    assert db.session().get(TestSession, partial.id).last_committed_frame == 3
    requeue(db, partial.id)
    resumed = execute_run(db, partial.id, locations)
    assert resumed.status == "completed" and resumed.frames_processed == 8

    def tracked(session_id: int) -> list[tuple]:
        with db.session() as session:
            rows = session.scalars(
                select(DetectionEvent)
                .where(DetectionEvent.session_id == session_id)
                .order_by(DetectionEvent.frame_number, DetectionEvent.id)
            )
            return [(e.frame_number, e.track_id, e.x1, e.y1, e.x2, e.y2, e.confidence) for e in rows]

    events = tracked(full.id)
    assert {e[0] for e in events} == set(range(8)) and all(e[1] is not None for e in events)
    assert tracked(partial.id) == events
    metrics = [run_tracking(load_run(db, run_id), conf=0.25) for run_id in (full.id, partial.id)]
    assert metrics[0] is not None and metrics[0].clear["CLR_TP"] > 0
    assert metrics[1].to_dict() == metrics[0].to_dict()


def test_queue_cancel_requeue_and_recovery(db, model_id: int, make_video) -> None:
    first = import_one(db, make_video("a.mp4", frames=5))
    second = import_one(db, make_video("b.mp4", frames=6))
    third = import_one(db, make_video("c.mp4", frames=7))
    project_id = db.session().get(Video, first).project_id
    runs = queue_project(db, project_id, model_id, RunConfig(stride=2))
    assert [r.video_id for r in runs] == [first, second, third]
    assert queue_project(db, project_id, model_id, RunConfig()) == []  # already queued: not twice
    cancel_queued(db, runs[0].id)
    assert queued_runs(db) == [runs[1].id, runs[2].id]
    assert db.session().get(Video, first).processing_status == "stopped"
    with pytest.raises(ValidationError, match="only queued runs can be cancelled"):
        cancel_queued(db, runs[0].id)
    requeue(db, runs[0].id)
    assert queued_runs(db) == [runs[0].id, runs[1].id, runs[2].id]

    # A run left "running" by a process that is gone becomes interrupted, also when its pid now
    # belongs to another process; a run whose process lives stays running.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = os.uname().nodename
    owners = {
        runs[0].id: {"pid": dead.pid, "host": host},
        runs[1].id: owner_tag(),
        runs[2].id: {"pid": os.getpid(), "host": host, "started": "an earlier boot:12345"},
    }
    with db.transaction() as session:
        for run_id, owner in owners.items():
            run = session.get(TestSession, run_id)
            run.status = "running"
            run.provenance = {**run.provenance, "owner": owner}
    assert recover_interrupted(db) == [runs[0].id, runs[2].id]
    rows = {r.id: r for r in list_runs(db)}
    assert rows[runs[0].id].status == rows[runs[2].id].status == "interrupted"
    assert "Resume continues from there" in rows[runs[0].id].error_message
    assert rows[runs[1].id].status == "running"
    with pytest.raises(ValidationError, match="only interrupted, stopped, failed runs can be resumed"):
        requeue(db, runs[1].id)
