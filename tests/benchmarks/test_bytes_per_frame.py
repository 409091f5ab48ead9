"""Bytes per frame, for sizing a cluster: encoded bytes a worker reads, decoded bytes it holds, and the
bytes a run writes to the store.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_bytes_per_frame.py -s``

Videos: the shared street film (640x360 H.264, whole file), the shared MOT17 clips (1080p and 480p
MPEG-4), and a 1080p H.264 clip made from the film as ``test_detection_throughput`` makes it
(libx264 veryfast, CRF 23). Encoded bytes per frame = file size / frames (container included: what
is read over the network). Decoded = the BGR frame the decoder hands over, and the frame after the
run's shrink to the model's letterbox size (what the decode-ahead queue holds). Store = growth of the
SQLite file (WAL checkpointed) over a run of the shared OpenVINO model on the first frames, per frame
and per event.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from test_detection_throughput import FILM, MODEL, encode, upscaled

from vru_desktop.detection.models import register_model
from vru_desktop.detection.pipeline import RunConfig, _Shrink, execute_run
from vru_desktop.detection.runs import create_run
from vru_desktop.library.importer import import_paths
from vru_desktop.media.frames import iter_frames
from vru_desktop.settings import Locations, resolve_locations

pytestmark = pytest.mark.benchmark

RUN_FRAMES = 90
MODEL_INPUT = _Shrink(640, 640)


@pytest.fixture
def locations(data_dir: Path) -> Locations:
    return resolve_locations(data_dir).ensure()


def encoded_and_decoded(path: Path) -> tuple[int, float, int, int, str, float]:
    """Frames, encoded bytes per frame, decoded BGR bytes, shrunk bytes, size, decoded frames/s."""
    frames, decoded, shrunk, size = 0, 0, 0, ""
    started = time.perf_counter()
    for frame in iter_frames(path):
        assert frame.image is not None
        if not frames:
            decoded = frame.image.nbytes
            size = f"{frame.image.shape[1]}x{frame.image.shape[0]}"
            shrunk = MODEL_INPUT(frame)[0].image.nbytes  # type: ignore[union-attr]
        frames += 1
    rate = frames / (time.perf_counter() - started)
    return frames, path.stat().st_size / frames, decoded, shrunk, size, rate


def store_bytes(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return database.stat().st_size


def test_bytes_per_frame(
    db: Any, locations: Locations, shared_models: Path, shared_data: Path, tmp_path: Path
) -> None:
    if not FILM.exists():
        pytest.skip(f"shared street film not found at {FILM}")
    clip = encode(tmp_path / "street_1080p.mp4", upscaled(RUN_FRAMES), (1920, 1080))
    videos = [FILM, clip, *sorted((shared_data / "mot17_mini" / "videos").glob("*.mp4"))]
    columns = ("encoded B", "decoded B", "shrunk B", "decode/s")
    print(f"\n{'video':<28}{'size':>10}{'frames':>7}" + "".join(f"{c:>11}" for c in columns))
    for path in videos:
        frames, encoded, decoded, shrunk, size, rate = encoded_and_decoded(path)
        print(f"{path.name:<28}{size:>10}{frames:>7}{encoded:>11.0f}{decoded:>11}{shrunk:>11}{rate:>11.0f}")
    print(
        f"(bytes per frame; decode/s: frames decoded a second by one iter_frames loop, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )

    model_id = register_model(db, shared_models / MODEL).id
    database = locations.database
    print(f"store (SQLite) over a {RUN_FRAMES}-frame run of {MODEL} (load average {os.getloadavg()[0]:.1f}):")
    for path in (FILM, clip):
        (outcome,) = import_paths(db, [path])
        run = create_run(db, outcome.video_id, model_id, RunConfig(stop_frame=RUN_FRAMES))
        before = store_bytes(database)
        summary = execute_run(db, run.id, locations)
        grown = store_bytes(database) - before
        assert summary.status == "completed" and summary.frames_processed == RUN_FRAMES
        events = summary.total_detections
        print(
            f"  {path.name:<26} {events / RUN_FRAMES:5.1f} events/frame, {grown / RUN_FRAMES:7.0f} B/frame, "
            f"{grown / max(events, 1):5.0f} B/event"
        )
        assert grown > 0
