"""The detection run pipeline against the model's raw limit on the same frames.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_pipeline_limit.py -s``

* Raw limit: the first N frames of the shared street film (640x360 H.264) are decoded once and
  letterboxed to the model's input tensor (1x3x640x640 float, as Ultralytics feeds it); then the
  OpenVINO ``CompiledModel`` (THROUGHPUT hint) is driven by its own ``AsyncInferQueue`` over those
  tensors: no decoding, no Python pre/post-processing. The same compiled model run synchronously
  with the LATENCY hint (what Ultralytics' OpenVINO backend does) is printed beside it.
* Pipeline: ``execute_run`` on the same video and frames (decoding ahead, batched Ultralytics
  inference, class mapping, events written to SQLite), alternated with the raw limit three times so
  both see the same load; the best of each is compared (aim: pipeline / limit >= 0.9).
* Where the pipeline's time goes: one more run with Ultralytics' per-image preprocess / inference /
  postprocess times recorded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_detection_throughput import FILM, MODEL

from vru_desktop.detection.models import LoadedModel, register_model
from vru_desktop.detection.pipeline import RunConfig, execute_run
from vru_desktop.detection.runs import create_run
from vru_desktop.library.importer import import_paths
from vru_desktop.media.frames import iter_frames
from vru_desktop.settings import Locations, resolve_locations

pytestmark = pytest.mark.benchmark

FRAMES = int(os.environ.get("VRU_BENCH_LIMIT_FRAMES", "90"))


@pytest.fixture
def locations(data_dir: Path) -> Locations:
    return resolve_locations(data_dir).ensure()


def input_tensors(frames: int) -> list[np.ndarray]:
    """The model's input for each frame: letterboxed to 640x640, RGB, CHW, 0..1 float32."""
    from ultralytics.data.augment import LetterBox

    letterbox = LetterBox((640, 640), auto=False, stride=32)
    return [
        np.ascontiguousarray(letterbox(image=f.image)[..., ::-1].transpose(2, 0, 1)[None], dtype=np.float32)
        / np.float32(255)
        for f in iter_frames(FILM, stop=frames)
    ]


def compiled(model_dir: Path, hint: str) -> Any:
    import openvino as ov

    core = ov.Core()
    return core.compile_model(
        core.read_model(next(model_dir.glob("*.xml"))), "CPU", {"PERFORMANCE_HINT": hint}
    )


def async_seconds(model: Any, tensors: list[np.ndarray]) -> float:
    import openvino as ov

    jobs = ov.AsyncInferQueue(model, model.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    started = time.perf_counter()
    for tensor in tensors:
        jobs.start_async({0: tensor})
    jobs.wait_all()
    return time.perf_counter() - started


def sync_seconds(model: Any, tensors: list[np.ndarray]) -> float:
    request = model.create_infer_request()
    started = time.perf_counter()
    for tensor in tensors:
        request.infer({0: tensor})
    return time.perf_counter() - started


def test_pipeline_against_the_models_raw_limit(
    db: Any, locations: Locations, shared_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not FILM.exists():
        pytest.skip(f"shared street film not found at {FILM}")
    model_dir = shared_models / MODEL
    tensors = input_tensors(FRAMES)
    throughput, latency = compiled(model_dir, "THROUGHPUT"), compiled(model_dir, "LATENCY")
    (outcome,) = import_paths(db, [FILM])
    model_id = register_model(db, model_dir).id
    config = RunConfig(stop_frame=FRAMES)

    def pipeline() -> float:
        run = create_run(db, outcome.video_id, model_id, config)
        started = time.perf_counter()
        summary = execute_run(db, run.id, locations)
        elapsed = time.perf_counter() - started
        assert summary.status == "completed" and summary.frames_processed == FRAMES
        return elapsed

    async_seconds(throughput, tensors[:8])  # warm up
    sync_seconds(latency, tensors[:4])
    pipeline()  # loads the model once (kept loaded between runs, as in a queue of runs)
    raw, raw_sync, piped = [], [], []
    for _ in range(3):
        raw.append(async_seconds(throughput, tensors))
        raw_sync.append(sync_seconds(latency, tensors))
        piped.append(pipeline())

    speeds: list[dict[str, float]] = []
    convert = LoadedModel._convert

    def recording(self: LoadedModel, result: Any) -> Any:
        speeds.append(result.speed)
        return convert(self, result)

    monkeypatch.setattr(LoadedModel, "_convert", recording)
    t_profiled = pipeline()
    per_frame = {
        k: float(np.mean([s[k] for s in speeds])) for k in ("preprocess", "inference", "postprocess")
    }
    n_streams = throughput.get_property("NUM_STREAMS")
    limit, sync_fps, pipe_fps = FRAMES / min(raw), FRAMES / min(raw_sync), FRAMES / min(piped)
    print(
        f"\n{FRAMES} frames of {FILM.name} (640x360), OpenVINO {MODEL}, best of 3 alternated "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):"
        f"\n  raw limit, AsyncInferQueue THROUGHPUT ({n_streams} streams) {limit:6.2f} frames/s"
        f"\n  raw, sync LATENCY (as Ultralytics runs it)             {sync_fps:6.2f} frames/s"
        f"\n  run pipeline (execute_run)                             {pipe_fps:6.2f} frames/s"
        f"\n  pipeline / limit {pipe_fps / limit:.2f}, pipeline / sync {pipe_fps / sync_fps:.2f}"
        f"\n  pipeline per frame: {t_profiled / FRAMES * 1000:.0f} ms in all; Ultralytics preprocess "
        f"{per_frame['preprocess']:.1f} ms, inference {per_frame['inference']:.1f} ms, postprocess "
        f"{per_frame['postprocess']:.1f} ms; the raw limit {1000 / limit:.0f} ms"
    )
    assert pipe_fps > 0 and limit > 0
