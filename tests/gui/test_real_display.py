"""The window on a real X server (Xvfb + openbox, Qt's xcb platform), not the offscreen one.

Playing a video makes Qt convert frames with OpenGL, which puts Mesa's driver (and its LLVM) in the
process; a detection run started afterwards used to segfault while torch loaded triton's LLVM.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vru_desktop.detection.models import register_model
from vru_desktop.library.importer import import_paths
from vru_desktop.library.projects import ensure_default_project
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import open_database
from vru_desktop.store.models import DetectionEvent, TestSession

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("xcb_play_then_detect.py")
MODEL = "yolo11n_int8_openvino_model"


@pytest.fixture(scope="module")
def x_display() -> Iterator[str]:
    """A fresh Xvfb display (the server picks a free number) with openbox managing its windows."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb openbox): no real X server to test on")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    display = f":{number}"
    manager = None
    if shutil.which("openbox"):
        manager = subprocess.Popen(
            ["openbox"],
            env={**os.environ, "DISPLAY": display},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    yield display
    for process in (manager, server):
        if process is not None:
            process.terminate()
            process.wait(10)


def run_window(display: str, *args: object, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, str(CHILD), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_detection_run_after_playback_completes_in_the_same_process(
    x_display: str, tmp_path: Path, shared_models: Path, make_street_clip: Callable[[int], Path]
) -> None:
    data_dir = tmp_path / "data"
    locations = resolve_locations(data_dir).ensure()
    db = open_database(locations.database)
    ensure_default_project(db)
    (outcome,) = import_paths(db, [make_street_clip(100)])
    assert outcome.video_id is not None, outcome.message
    model_id = register_model(db, shared_models / MODEL).id
    db.close()

    frames = 16
    result = run_window(x_display, data_dir, outcome.video_id, model_id, 2.5, frames)
    log_text = (locations.logs_dir / "vru_desktop.log").read_text(encoding="utf-8")
    details = f"exit {result.returncode}\n{result.stderr[-3000:]}\nlog:\n{log_text[-3000:]}"
    assert result.returncode == 0, details
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # the conditions of the crash: frames really played, through Mesa's OpenGL driver
    assert len(report["played"]) >= 10, report
    assert any("LLVM" in name for name in report["gl_libraries"]), (
        f"playback did not load Mesa's OpenGL driver, so this test cannot reproduce the crash: {report}"
    )
    assert report["status"] == "completed", (report, details)

    db = open_database(locations.database)
    try:
        with db.session() as session:
            (run_id,) = report["runs"]
            run = session.get(TestSession, run_id)
            assert run is not None and run.status == "completed"
            assert run.frames_processed == frames and run.last_committed_frame == frames - 1
            events = session.scalar(select(func.count()).where(DetectionEvent.session_id == run_id))
        assert events and events > 0
    finally:
        db.close()
    assert "Fatal Python error" not in log_text
