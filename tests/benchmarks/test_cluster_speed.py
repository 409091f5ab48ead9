"""Detection throughput through a Ray cluster against the local in-process path, on the same videos.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_cluster_speed.py -s``

A real cluster on this machine (the tests' ``ray_cluster``: a head and two worker nodes of one CPU
each) and the shared OpenVINO model; three 640x360 clips of the street film. Each path first runs the
videos once to load the model (in this process, in each worker), then, alternated three times in one
process, each path runs them again; the best wall time of each is compared as frames per second:

* ``sequential``: one video after the other on the cluster ÷ the same locally: the cost of going
  through Ray (task submission, the results' round trip, the driver's commits). Target ≥ 0.9.
* ``together``: the three videos handed to the cluster at once (one task per video) ÷ local
  sequential. On one machine its nodes share the same cores, so this shows placement, not a speed-up.

Every cluster run's events equal the local run's of its video.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from vru_desktop.detection.executor import execute
from vru_desktop.detection.models import register_model
from vru_desktop.detection.pipeline import RunConfig, execute_run
from vru_desktop.detection.runs import create_run
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import DetectionEvent

pytestmark = pytest.mark.benchmark

MODEL = "yolo11n_int8_openvino_model"
FRAMES = (60, 64, 68)
CONFIG = RunConfig(batch=4)


def events_of(db, session_id: int) -> list[tuple]:
    with db.session() as session:
        rows = session.scalars(
            select(DetectionEvent)
            .where(DetectionEvent.session_id == session_id)
            .order_by(DetectionEvent.frame_number, DetectionEvent.id)
        )
        return [(e.frame_number, e.vru_type, e.x1, e.y1, e.x2, e.y2, e.confidence) for e in rows]


def test_cluster_throughput_against_local(
    db, data_dir: Path, shared_models: Path, make_street_clip: Callable[[int], Path], ray_cluster: str
) -> None:
    locations = resolve_locations(data_dir).ensure()
    model_id = register_model(db, shared_models / MODEL).id
    videos = []
    for frames in FRAMES:
        (outcome,) = import_paths(db, [make_street_clip(frames)])
        videos.append(outcome.video_id)
    reference: dict[int, list[tuple]] = {}

    def local() -> None:
        for video_id in videos:
            run = create_run(db, video_id, model_id, CONFIG)
            assert execute_run(db, run.id, locations).status == "completed"
            reference.setdefault(video_id, events_of(db, run.id))

    def on_cluster(run_ids: list[int]) -> None:
        summary = execute(db, run_ids.pop(0), locations, cluster=ray_cluster)
        assert summary.status == "completed", summary.error_message
        assert events_of(db, summary.session_id) == reference[summary.video_id]

    def sequential() -> None:
        run_ids = [create_run(db, v, model_id, CONFIG).id for v in videos]
        while run_ids:
            on_cluster(run_ids)

    def together() -> None:
        run_ids = [create_run(db, v, model_id, CONFIG).id for v in videos]
        threads = [threading.Thread(target=on_cluster, args=([run_id],)) for run_id in run_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    local()
    together()  # loads the model in every worker
    best = {"local": float("inf"), "sequential": float("inf"), "together": float("inf")}
    for _ in range(3):
        for name, path in (("local", local), ("sequential", sequential), ("together", together)):
            started = time.perf_counter()
            path()
            best[name] = min(best[name], time.perf_counter() - started)
    frames = sum(FRAMES)
    fps = {name: frames / seconds for name, seconds in best.items()}
    print(
        f"\n{frames} frames in 3 videos, best of 3: local {fps['local']:.1f} frames/s, cluster one "
        f"video at a time {fps['sequential']:.1f} frames/s, all at once {fps['together']:.1f} frames/s"
    )
    print(
        f"cluster ÷ local throughput: sequential {fps['sequential'] / fps['local']:.2f}, "
        f"together {fps['together'] / fps['local']:.2f}"
    )
    assert fps["sequential"] / fps["local"] >= 0.9
