"""Run by tests/gui/test_real_display.py in its own process, on a real X server (xcb).

Starts the window as ``vru-desktop`` does (``run_gui``), opens video ``VIDEO_ID``, plays it for
``PLAY_SECONDS``, pauses, queues a detection run of its first ``FRAMES`` frames with model
``MODEL_ID`` (the first model load of the process), waits for the run to end and closes the window.
Prints one JSON line with what happened; the exit status is ``run_gui``'s.

Usage: python xcb_play_then_detect.py DATA_DIR VIDEO_ID MODEL_ID PLAY_SECONDS FRAMES
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer

from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.ui.app import application, run_gui
from vru_desktop.ui.main_window import MainWindow

WATCHDOG_S = 240


def mapped_libraries() -> set[str]:
    """File names of the shared libraries mapped into this process."""
    lines = Path("/proc/self/maps").read_text().splitlines()
    return {Path(line.split()[-1]).name for line in lines if ".so" in line}


def main() -> None:
    data_dir, video_id, model_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    play_ms, frames = int(float(sys.argv[4]) * 1000), int(sys.argv[5])
    report: dict[str, object] = {"played": []}
    started = time.monotonic()

    def window() -> MainWindow:
        (main_window,) = [w for w in application().topLevelWidgets() if isinstance(w, MainWindow)]
        return main_window

    def open_video() -> None:
        main_window = window()
        main_window.viewer.playback.frameShown.connect(lambda index, _image: report["played"].append(index))
        main_window.openVideoRequested.emit(video_id, 0, None)
        QTimer.singleShot(1000, play)

    def play() -> None:
        window().viewer.toggle_play()
        QTimer.singleShot(play_ms, pause)

    def pause() -> None:
        main_window = window()
        main_window.viewer.toggle_play()
        report["gl_libraries"] = sorted(n for n in mapped_libraries() if "LLVM" in n or "dri" in n)
        queue = main_window.detection.queue
        queue.runFinished.connect(finished)
        queue.runFailed.connect(lambda _id, message: report.setdefault("failed", message))
        report["runs"] = main_window.detection.queue_runs(
            model_id, RunConfig(stop_frame=frames), video_ids=[video_id]
        )

    def finished(session_id: int, status: str) -> None:
        report["status"] = status
        report["seconds"] = round(time.monotonic() - started, 1)
        window().close()

    def watchdog() -> None:
        report["status"] = "timed out"
        window().close()

    application()
    QTimer.singleShot(500, open_video)
    QTimer.singleShot(WATCHDOG_S * 1000, watchdog)
    code = run_gui(data_dir)
    report["played"] = sorted(set(report["played"]))  # type: ignore[arg-type]
    print(json.dumps(report), flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
