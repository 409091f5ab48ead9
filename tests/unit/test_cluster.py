"""Detection runs on a real Ray cluster (a head and two worker nodes on this machine, started once for
the session) with the shared OpenVINO model: a campaign equals a local run event for event, also when a
worker process is killed mid-run; a video whose fingerprint differs on the worker is refused, an
unreachable cluster is refused with nothing queued lost; pause, resume and stop reach the remote task."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from vru_desktop.cli import main
from vru_desktop.detection.cluster import cluster_status, worker_path
from vru_desktop.detection.executor import execute
from vru_desktop.detection.models import register_model
from vru_desktop.detection.pipeline import RunCallbacks, RunConfig, RunControl, execute_run
from vru_desktop.detection.runs import create_run, queued_runs, requeue
from vru_desktop.errors import ClusterError, ValidationError
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import CLUSTER, CLUSTER_PATH_MAP, resolve_locations, set_setting
from vru_desktop.store.models import DetectionEvent, RunStatus, TestSession

pytestmark = pytest.mark.slow

MODEL = "yolo11n_int8_openvino_model"
CONFIG = RunConfig(imgsz=320, batch=2, commit_frames=2)


@pytest.fixture
def locations(data_dir: Path):
    return resolve_locations(data_dir).ensure()


@pytest.fixture
def model_id(db, shared_models: Path) -> int:
    return register_model(db, shared_models / MODEL).id


@pytest.fixture(scope="module")
def clips(make_street_clip: Callable[[int], Path]) -> dict[int, Path]:
    """Street film clips of 8, 10, 12 and 24 frames (640x360)."""
    return {frames: make_street_clip(frames) for frames in (8, 10, 12, 24)}


def import_one(db, path: Path) -> int:
    (outcome,) = import_paths(db, [path])
    assert outcome.status == "imported", outcome.message
    return outcome.video_id


def events_of(db, session_id: int) -> list[tuple]:
    with db.session() as session:
        rows = session.scalars(
            select(DetectionEvent)
            .where(DetectionEvent.session_id == session_id)
            .order_by(DetectionEvent.frame_number, DetectionEvent.id)
        )
        return [
            (e.frame_number, e.timestamp, e.vru_type, e.x1, e.y1, e.x2, e.y2, e.confidence, e.track_id)
            for e in rows
        ]


def local_events(db, locations, video_id: int, model_id: int, config: RunConfig = CONFIG) -> list[tuple]:
    run = create_run(db, video_id, model_id, config)
    assert execute_run(db, run.id, locations).status == "completed"
    events = events_of(db, run.id)
    assert events, "the reference run found nothing to compare"
    return events


def stored(db, session_id: int) -> TestSession:
    with db.session() as session:
        return session.get(TestSession, session_id)


def test_a_three_video_campaign_on_the_cluster_equals_a_local_run(
    db,
    data_dir: Path,
    locations,
    model_id: int,
    clips: dict[int, Path],
    shared_models: Path,
    ray_cluster: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    videos = [import_one(db, clips[n]) for n in (8, 10, 12)]

    def cli(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--data-dir", str(data_dir), *args])
        return code, capsys.readouterr().out

    config = ["--model", str(shared_models / MODEL), "--imgsz", "320", "--batch", "2", "--commit-frames", "2"]
    code, out = cli("campaign", "create", "cluster", "--videos", *map(str, videos), *config)
    assert code == 0, out
    code, out = cli("campaign", "run", "cluster", "--cluster", ray_cluster, "--json")
    assert code == 0, out
    campaign = json.loads(out)
    assert campaign["status"] == "completed" and len(campaign["runs"]) == 3
    for video_id in videos:
        (on_cluster,) = [v["run_id"] for v in campaign["videos"] if v["video_id"] == video_id]
        run = stored(db, on_cluster)
        assert run.provenance["worker"]["pid"] != os.getpid()  # computed in a Ray worker
        assert run.frames_processed == run.last_committed_frame + 1
        assert events_of(db, on_cluster) == local_events(db, locations, video_id, model_id)

    status = cluster_status(ray_cluster)
    assert len(status.nodes) == 3 and status.cpus == 3


def test_a_worker_killed_mid_run_is_replaced_and_the_run_equals_a_local_one(
    db, locations, model_id: int, clips: dict[int, Path], ray_cluster: str
) -> None:
    video_id = import_one(db, clips[24])
    run = create_run(db, video_id, model_id, CONFIG)
    killed: list[int] = []
    commits: list[tuple[int, int]] = []

    def committed(first: int, last: int, _count: int) -> None:
        commits.append((first, last))
        if not killed and last >= 5:
            pid = stored(db, run.id).provenance["worker"]["pid"]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    summary = execute(db, run.id, locations, cluster=ray_cluster, callbacks=RunCallbacks(committed=committed))
    assert killed, "the run ended before a worker could be killed"
    assert summary.status == "completed", summary.error_message
    assert stored(db, run.id).provenance["worker"]["pid"] != killed[0]
    # every frame committed exactly once, in order: no gap, no duplicate
    assert commits[0][0] == 0 and all(b[0] == a[1] + 1 for a, b in itertools.pairwise(commits))
    assert commits[-1][1] == 23 and summary.frames_processed == 24
    assert events_of(db, run.id) == local_events(db, locations, video_id, model_id)


def test_a_video_that_differs_on_the_worker_is_refused_before_decoding(
    db, locations, model_id: int, clips: dict[int, Path], ray_cluster: str, tmp_path: Path
) -> None:
    video_id = import_one(db, clips[8])
    mirror, other = tmp_path / "mirror", tmp_path / "other"
    mirror.mkdir()
    other.mkdir()
    (mirror / clips[8].name).write_bytes(clips[8].read_bytes())
    (other / clips[8].name).write_bytes(clips[10].read_bytes())

    set_setting(db, CLUSTER_PATH_MAP, {str(clips[8].parent): str(mirror)})
    mapped = create_run(db, video_id, model_id, CONFIG)
    assert execute(db, mapped.id, locations, cluster=ray_cluster).status == "completed"
    assert stored(db, mapped.id).frames_processed == 8

    set_setting(db, CLUSTER_PATH_MAP, {str(clips[8].parent): str(other)})
    refused = create_run(db, video_id, model_id, CONFIG)
    summary = execute(db, refused.id, locations, cluster=ray_cluster)
    assert summary.status == "failed"
    assert f"{other / clips[8].name} on the worker" in summary.error_message
    assert (
        "is not the video in the library (its fingerprint differs); it was not decoded"
        in summary.error_message
    )
    assert summary.frames_processed == 0 and events_of(db, refused.id) == []


def test_an_unreachable_cluster_is_refused_and_nothing_queued_is_lost(
    db, data_dir: Path, locations, model_id: int, clips: dict[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    video_id = import_one(db, clips[8])
    run = create_run(db, video_id, model_id, CONFIG)
    started = time.monotonic()
    with pytest.raises(
        ClusterError, match=r"Cannot reach the Ray cluster at 127\.0\.0\.1:9: .*queued runs stay"
    ):
        execute(db, run.id, locations, cluster="127.0.0.1:9")
    assert time.monotonic() - started < 10
    assert queued_runs(db) == [run.id] and stored(db, run.id).status == "created"

    code = main(["--data-dir", str(data_dir), "detect", str(video_id), "--cluster", "127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1 and "Cannot reach the Ray cluster at 127.0.0.1:9" in err and "Traceback" not in err
    assert queued_runs(db) == [run.id]  # the refused command queued nothing more
    with pytest.raises(ValidationError, match="must be local, ray or a Ray address"):
        set_setting(db, CLUSTER, "not an address")


def test_without_ray_choosing_the_cluster_says_how_to_install_it(db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(
        ValidationError, match=r"Ray is not installed\. .*pip install 'vru-desktop\[cluster\]'"
    ):
        set_setting(db, CLUSTER, "ray")
    assert set_setting(db, CLUSTER, "local") == "local"


def test_pause_resume_and_stop_reach_the_remote_task_within_two_seconds(
    db, locations, model_id: int, clips: dict[int, Path], ray_cluster: str
) -> None:
    video_id = import_one(db, clips[24])
    config = RunConfig(imgsz=320, batch=1, commit_frames=1)
    run = create_run(db, video_id, model_id, config)
    control = RunControl()
    states: list[tuple[str, float]] = []
    first_commit = threading.Event()
    result: dict[str, Any] = {}

    def go() -> None:
        callbacks = RunCallbacks(
            state=lambda s: states.append((s, time.monotonic())), committed=lambda *_: first_commit.set()
        )
        result["summary"] = execute(
            db, run.id, locations, cluster=ray_cluster, control=control, callbacks=callbacks
        )

    driver = threading.Thread(target=go)
    driver.start()
    assert first_commit.wait(120)
    asked = time.monotonic()
    control.pause()
    deadline = asked + 2
    while not any(s == "paused" for s, _ in states) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stored(db, run.id).status == "paused"
    paused_at = stored(db, run.id).frames_processed
    time.sleep(1.5)  # the task was cancelled: nothing more arrives
    assert stored(db, run.id).frames_processed == paused_at < 24

    control.resume()
    while stored(db, run.id).frames_processed <= paused_at and driver.is_alive():
        time.sleep(0.05)
    asked = time.monotonic()
    control.stop()
    driver.join(10)
    assert not driver.is_alive() and time.monotonic() - asked < 2
    assert result["summary"].status == "stopped"
    stopped_at = stored(db, run.id).last_committed_frame
    assert paused_at <= stopped_at < 23

    requeue(db, run.id)
    assert execute(db, run.id, locations, cluster=ray_cluster).status == "completed"
    assert [s for s, _ in states] == ["running", "paused", "running", "stopped"]
    assert events_of(db, run.id) == local_events(db, locations, video_id, model_id, config)
    assert stored(db, run.id).status == RunStatus.COMPLETED


def test_worker_paths_follow_the_longest_mapped_folder() -> None:
    path_map = {"/data": "/mnt/data", "/data/videos/": "/srv/v", "/other": "/x"}
    assert worker_path("/data/videos/a.mp4", path_map) == "/srv/v/a.mp4"
    assert worker_path("/data/b.mp4", path_map) == "/mnt/data/b.mp4"
    assert worker_path("/database/c.mp4", path_map) == "/database/c.mp4"
    assert worker_path("/elsewhere/d.mp4", {}) == "/elsewhere/d.mp4"


def test_a_local_run_never_imports_ray(db, data_dir: Path, shared_models: Path, make_video) -> None:
    video_id = import_one(db, make_video("local.mp4", frames=3))
    script = (
        "import sys\n"
        "from vru_desktop.cli import main\n"
        f"code = main(['--data-dir', {str(data_dir)!r}, 'detect', '{video_id}', '--imgsz', '320', "
        f"'--model', {str(shared_models / MODEL)!r}])\n"
        "assert code == 0, code\n"
        "assert 'ray' not in sys.modules, 'a local run imported ray'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env={**os.environ}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "completed" in result.stdout


def test_ray_joins_this_machines_cluster_and_a_resumed_tracking_run_keeps_its_track_ids(
    db, locations, model_id: int, clips: dict[int, Path], ray_cluster: str
) -> None:
    joined = subprocess.run(
        [
            sys.executable,
            "-c",
            "from vru_desktop.detection.cluster import cluster_status as s; print(s('ray').text())",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # "ray" joins the instance started last on this machine
    assert f"Ray cluster {ray_cluster}: 3 nodes" in joined.stdout, joined.stderr[-2000:]
    assert cluster_status(ray_cluster).cpus == 3
    with pytest.raises(
        ClusterError, match=f"joined to the Ray cluster {ray_cluster}; it can use ray after a restart"
    ):
        cluster_status("ray")
    video_id = import_one(db, clips[12])
    config = RunConfig(imgsz=320, tracker="bytetrack", commit_frames=2)
    run = create_run(db, video_id, model_id, config)
    control = RunControl()

    def committed(_first: int, last: int, _count: int) -> None:
        if last >= 3:
            control.stop()

    callbacks = RunCallbacks(committed=committed)
    first = execute(db, run.id, locations, cluster=ray_cluster, control=control, callbacks=callbacks)
    assert first.status == "stopped", first.error_message
    assert 3 <= stored(db, run.id).last_committed_frame < 11
    requeue(db, run.id)
    assert execute(db, run.id, locations, cluster=ray_cluster).status == "completed"
    events = events_of(db, run.id)
    assert any(e[-1] is not None for e in events)
    assert events == local_events(db, locations, video_id, model_id, config)
