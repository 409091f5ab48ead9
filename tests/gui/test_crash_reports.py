"""What is left after something goes wrong: uncaught exceptions are logged and shown once, a native
crash writes its stacks to the log file, and the next start offers to resume the run it cut short."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from vru_desktop.detection.models import register_model
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.detection.runs import queue_videos
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import LOG_FILENAME, Locations, configure_logging, log_file, resolve_locations
from vru_desktop.store.models import TestSession
from vru_desktop.ui import errors
from vru_desktop.ui.app import build_window
from vru_desktop.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]
MODEL = "yolo11n_int8_openvino_model"


@pytest.fixture
def locations(data_dir: Path) -> Locations:
    return resolve_locations(data_dir).ensure()


@pytest.fixture
def window(db, locations: Locations, qtbot, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    main = build_window(db, locations)
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()


def error_dialogs(window: MainWindow) -> list[QMessageBox]:
    return [d for d in window.findChildren(QMessageBox, "unexpectedErrorDialog") if d.isVisible()]


def test_uncaught_errors_are_logged_and_shown_in_one_dialog_naming_the_log_file(
    window: MainWindow, locations: Locations, qtbot
) -> None:
    configure_logging(locations)  # the first call in this process chooses the file
    log = log_file()
    assert log is not None
    errors.install(window)

    def broken_slot() -> None:
        raise LookupError("no such box 41")

    QTimer.singleShot(0, broken_slot)  # an exception in a Qt slot goes to sys.excepthook
    qtbot.waitUntil(lambda: len(error_dialogs(window)) == 1)
    (dialog,) = error_dialogs(window)
    assert dialog.text() == f"Unexpected error: no such box 41. Details are in the log file {log}."

    worker = threading.Thread(target=lambda: 1 / 0, name="broken-worker")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: "broken-worker" in log.read_text(encoding="utf-8"))
    qtbot.wait(100)
    assert len(error_dialogs(window)) == 1  # the second error is logged, not shown in a second dialog
    text = log.read_text(encoding="utf-8")
    assert "LookupError: no such box 41" in text and "ZeroDivisionError: division by zero" in text
    assert "in broken_slot" in text

    dialog.accept()
    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: len(error_dialogs(window)) == 1)  # once closed, the next error shows again


def wait_for_commit(database: Path, process: subprocess.Popen[bytes], timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(database) as con:
            row = con.execute("SELECT status, last_committed_frame FROM test_sessions").fetchone()
        if row is not None and row[0] == "running" and row[1] >= 0:
            return int(row[1])
        time.sleep(0.02)
    raise AssertionError(f"the run never committed a frame (window exit status {process.poll()})")


@pytest.mark.slow
def test_a_crash_leaves_its_stacks_in_the_log_and_the_next_start_offers_resume(
    db,
    locations: Locations,
    shared_models: Path,
    make_street_clip: Callable[[int], Path],
    qtbot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (outcome,) = import_paths(db, [make_street_clip(60)])
    assert outcome.video_id is not None, outcome.message
    model = register_model(db, shared_models / MODEL)
    (run,) = queue_videos(db, [outcome.video_id], model.id, RunConfig(batch=2, commit_frames=4))

    # the window starts the queued run; a segmentation fault ends it half-way
    window = subprocess.Popen(
        [sys.executable, "-m", "vru_desktop", "--data-dir", str(locations.data_dir)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        last = wait_for_commit(db.path, window)
        window.send_signal(signal.SIGSEGV)
        assert window.wait(30) == -signal.SIGSEGV
    finally:
        if window.poll() is None:
            window.kill()
    text = (locations.logs_dir / LOG_FILENAME).read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in text
    assert "vru_desktop/detection/pipeline.py" in text  # the run's thread, among every thread's stack

    # the next start says so and offers Resume
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    main = build_window(db, locations)
    qtbot.addWidget(main)
    main.show()
    panel = main.detection.panel  # type: ignore[attr-defined]
    assert panel.items[run.id].text(3) == "interrupted"
    qtbot.waitUntil(lambda: main.detection.resume_dialog is not None)  # type: ignore[attr-defined]
    dialog: QMessageBox = main.detection.resume_dialog  # type: ignore[attr-defined]
    assert "VRU Desktop stopped unexpectedly while 1 detection run(s) were going" in dialog.text()
    assert f"run {run.id} on street_clip_60.mp4: frames up to " in dialog.text()
    with qtbot.waitSignal(main.detection.queue.runFinished, timeout=120_000):  # type: ignore[attr-defined]
        next(b for b in dialog.buttons() if b.text() == "Resume").click()
    with db.session() as session:
        resumed = session.get(TestSession, run.id)
        assert resumed is not None and resumed.status == "completed"
        assert resumed.frames_processed == 60 and resumed.last_committed_frame == 59 > last
    main.close()
