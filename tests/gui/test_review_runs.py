"""The Runs tab while a real run goes: the header's counts, time left while paused, live detections."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from vru_desktop.detection.models import register_model
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.jobs.queue import RunQueue
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import TestSession
from vru_desktop.ui.runs.panel import DETECTIONS, ETA, FPS, STATE, RunsPanel

MODEL = "yolo11n_int8_openvino_model"


@pytest.fixture(scope="module")
def long_street_clip(make_street_clip: Callable[[int], Path]) -> Path:
    """120 frames of the shared street film: long enough to pause a run in the middle."""
    return make_street_clip(120)


def test_header_time_left_and_detections_follow_the_running_run(
    db, data_dir: Path, shared_models: Path, long_street_clip: Path, make_video, qtbot
) -> None:
    model = register_model(db, shared_models / MODEL)
    videos = [import_paths(db, [long_street_clip])[0].video_id]
    videos += [import_paths(db, [make_video(f"q{i}.mp4", 4 + i)])[0].video_id for i in range(2)]
    queue = RunQueue(db, resolve_locations(data_dir).ensure())
    queue.hold(True)
    first, *_queued = queue.enqueue_videos(videos, model.id, RunConfig(commit_frames=4, batch=1))
    panel = RunsPanel(queue)
    qtbot.addWidget(panel)
    assert panel.summary.text() == "0 running, 0 paused, 3 queued, 0 interrupted"

    queue.hold(False)
    item = panel.items[first]
    qtbot.waitUntil(lambda: item.text(STATE) == "running", timeout=60_000)
    assert panel.summary.text() == "1 running, 0 paused, 2 queued, 0 interrupted"
    # The Detections cell counts the events stored so far, while the run goes on.
    qtbot.waitUntil(lambda: item.text(DETECTIONS) not in ("", "0"), timeout=60_000)
    queue.pause(first)
    qtbot.waitUntil(lambda: item.text(STATE) == "paused", timeout=10_000)
    live = int(item.text(DETECTIONS))
    assert live > 0
    assert panel.summary.text() == "0 running, 1 paused, 2 queued, 0 interrupted"
    assert item.text(ETA) == "paused" and item.text(FPS) == ""
    with db.session() as session:  # the bar shows what the run committed on pausing
        stored = session.get(TestSession, first)
        assert panel.bars[first].value() == round(stored.progress * 1000) > 0
    qtbot.wait(400)  # progress reports sent before the pause change nothing
    assert item.text(ETA) == "paused"

    panel.refresh()  # rebuilt from the database: still paused, detections so far
    item = panel.items[first]
    assert item.text(ETA) == "paused" and int(item.text(DETECTIONS)) >= live
    assert panel.summary.text() == "0 running, 1 paused, 2 queued, 0 interrupted"

    queue.resume(first)
    qtbot.waitUntil(lambda: panel.items[first].text(STATE) == "running", timeout=10_000)
    assert panel.items[first].text(ETA) != "paused"
    queue.hold(True)
    queue.stop(first)
    qtbot.waitUntil(lambda: panel.items[first].text(STATE) == "stopped", timeout=10_000)
    queue.shutdown()
