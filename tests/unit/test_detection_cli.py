"""The detection commands: detect, runs, resume, models, add-model, and a run in a real process
killed with SIGKILL mid-way that resumes to exactly the events of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from vru_desktop.cli import main
from vru_desktop.detection.models import register_model
from vru_desktop.library.importer import import_paths

pytestmark = pytest.mark.slow

MODEL = "yolo11n_int8_openvino_model"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """The command line, called in this process (the kill test below uses a real separate process)."""
    monkeypatch.setenv("YOLO_OFFLINE", "1")

    def run(data_dir: Path, *args: str) -> Result:
        capsys.readouterr()
        code = main(["--data-dir", str(data_dir), *args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture(scope="module")
def street_clip(make_street_clip: Callable[[int], Path]) -> Path:
    """40 frames of the shared street film (640x360), a keyframe every 12 frames."""
    return make_street_clip(40)


def events(database: Path, run_id: int) -> list[tuple]:
    with sqlite3.connect(database) as con:
        return con.execute(
            "SELECT frame_number, timestamp, vru_type, x1, y1, x2, y2, confidence FROM detection_events "
            "WHERE session_id = ? ORDER BY frame_number, id",
            (run_id,),
        ).fetchall()


def test_killed_run_resumes_to_the_events_of_an_uninterrupted_run(
    db, cli, data_dir: Path, shared_models: Path, street_clip: Path
) -> None:
    (outcome,) = import_paths(db, [street_clip])
    video = str(outcome.video_id)
    model = str(shared_models / MODEL)
    args = ("detect", video, "--model", model, "--batch", "2", "--commit-frames", "4")
    process = subprocess.Popen(
        [sys.executable, "-m", "vru_desktop", "--data-dir", str(data_dir), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )
    deadline = time.monotonic() + 120
    committed = -1
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(db.path) as con:
            row = con.execute("SELECT last_committed_frame FROM test_sessions WHERE id = 1").fetchone()
        committed = -1 if row is None else row[0]
        if committed >= 7:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    with sqlite3.connect(db.path) as con:
        status, last = con.execute(
            "SELECT status, last_committed_frame FROM test_sessions WHERE id = 1"
        ).fetchone()
    assert status == "running" and 7 <= last < 39
    kept = events(db.path, 1)
    assert kept and max(e[0] for e in kept) <= last

    listed = cli(data_dir, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "interrupted" and run["last_committed_frame"] == last

    resumed = cli(data_dir, "resume", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "run 1 (video 1): completed, 40 frames (0 failed)" in resumed.stdout

    again = cli(data_dir, "detect", video, "--model", model, "--json")
    assert again.returncode == 0, again.stderr
    (summary,) = json.loads(again.stdout)
    assert summary["status"] == "completed" and summary["session_id"] == 2

    interrupted, uninterrupted = events(db.path, 1), events(db.path, 2)
    frames = [e[0] for e in interrupted]
    assert sorted(set(frames)) == sorted({e[0] for e in uninterrupted})  # no gap
    assert len(interrupted) == len(uninterrupted)  # no duplicate
    for a, b in zip(interrupted, uninterrupted, strict=True):
        assert a[:3] == b[:3]
        assert a[3:] == pytest.approx(b[3:], abs=0.05)
    assert summary["total_detections"] == len(interrupted)


def test_cli_messages_and_exit_codes(
    db, cli, data_dir: Path, shared_models: Path, make_video, tmp_path: Path
) -> None:
    (outcome,) = import_paths(db, [make_video("clip.mp4", frames=4)])
    video = str(outcome.video_id)

    offline = cli(data_dir, "detect", video)
    assert offline.returncode == 1
    assert offline.stderr.startswith(
        "error: yolo11n.pt is not on this computer and cannot be downloaded without a network connection; "
        "choose a model file."
    )
    assert "Traceback" not in offline.stderr

    bad = tmp_path / "model.onnx"
    bad.write_text("hello")
    refused = cli(data_dir, "detect", video, "--model", str(bad))
    assert refused.returncode == 1
    assert "model.onnx: not a ONNX (.onnx) model" in refused.stderr

    assert cli(data_dir, "detect", "--model", str(bad)).returncode == 2
    assert cli(data_dir, "detect", video, "--conf", "3", "--model", str(bad)).returncode == 1
    missing = cli(data_dir, "resume", "99")
    assert missing.returncode == 1 and "There is no run 99" in missing.stderr

    added = cli(data_dir, "add-model", str(shared_models / "yolov8n_int8.tflite"))
    assert added.returncode == 0, added.stderr
    models = json.loads(cli(data_dir, "models", "--json").stdout)
    assert [m["format"] for m in models] == ["tflite"]
    assert models[0]["class_map"]["person"] == "pedestrian"

    pt = tmp_path / "custom.pt"
    pt.write_text("not a zip")
    warned = cli(data_dir, "add-model", str(pt))
    assert warned.returncode == 1 and "custom.pt: not a PyTorch" in warned.stderr


def test_detect_a_project_with_the_tflite_model_and_list_runs(
    db, cli, data_dir: Path, shared_models: Path, shared_data: Path
) -> None:
    import_paths(db, [shared_data / "mot17_mini" / "videos" / "MOT17-05-FRCNN_first6.mp4"])
    register_model(db, shared_models / "yolov8n_int8.tflite")
    done = cli(
        data_dir, "detect", "--project", "Default", "--model", str(shared_models / "yolov8n_int8.tflite")
    )
    assert done.returncode == 0, done.stderr
    assert "completed, 6 frames (0 failed)" in done.stdout
    listed = cli(data_dir, "runs", "--video", "1")
    assert "yolov8n_int8.tflite  completed" in listed.stdout
    assert "pedestrian" in json.loads(cli(data_dir, "runs", "--json").stdout)[0]["detections_by_type"]
