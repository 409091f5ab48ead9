"""Window start-up time (target < 2 s, without torch or ultralytics) and import time per video.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_startup_import.py -s``

Start-up is measured in fresh processes (median of several), beside the same window with the
Library workspace only (what the other workspaces add) and a bare process that only creates a
QApplication and an empty QMainWindow (what Qt itself costs).
Import time per video (probe, fingerprint, frame table, one transaction) is printed beside the time
a full decode of the same video takes, which is what a naive "count the frames" import would cost.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vru_desktop.library.importer import import_paths

REPO = Path(__file__).resolve().parents[2]
RUNS = 5

WINDOW = """
import sys, time
start = time.perf_counter()
if sys.argv[2] == "library-only":
    import vru_desktop.ui.workspaces
    vru_desktop.ui.workspaces.WORKSPACE_MODULES = ()
from vru_desktop.library.projects import ensure_default_project
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import open_database
from vru_desktop.ui.app import application, build_window
app = application()
locations = resolve_locations(sys.argv[1]).ensure()
db = open_database(locations.database)
ensure_default_project(db)
window = build_window(db, locations)
window.show()
app.processEvents()
shown = time.perf_counter() - start
assert "torch" not in sys.modules and "ultralytics" not in sys.modules
print(shown)
window.close()
"""

BARE = """
import sys, time
start = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.show()
app.processEvents()
print(time.perf_counter() - start)
"""


def _timed_process(code: str, *args: str) -> tuple[float, float]:
    """(seconds from process start to window shown, measured inside; whole process wall time)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    begin = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - begin
    return float(result.stdout.strip().splitlines()[-1]), wall


@pytest.mark.benchmark
def test_window_start_time(tmp_path: Path, shared_data: Path) -> None:
    data = tmp_path / "data"
    # A library with the shared videos in it, as a returning user has.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vru_desktop",
            "--data-dir",
            str(data),
            "import",
            str(shared_data / "mot17_mini"),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    runs: dict[str, list[tuple[float, float]]] = {"full": [], "library-only": [], "bare": []}
    for _ in range(RUNS):  # interleaved, so load changes hit all three alike
        runs["full"].append(_timed_process(WINDOW, str(data), "full"))
        runs["library-only"].append(_timed_process(WINDOW, str(data), "library-only"))
        runs["bare"].append(_timed_process(BARE))
    inside = {k: statistics.median(a for a, _ in v) for k, v in runs.items()}
    wall = {k: statistics.median(w for _, w in v) for k, v in runs.items()}
    print(f"\nwindow shown, median of {RUNS} fresh processes (in-process time / process wall time):")
    for name, label in (
        ("full", "main window, all workspaces"),
        ("library-only", "main window, Library only"),
        ("bare", "bare QMainWindow"),
    ):
        print(
            f"  {label:28} {inside[name] * 1000:6.0f} ms / {wall[name] * 1000:6.0f} ms"
            f"   ({wall[name] / wall['bare']:.1f}x bare)"
        )
    assert inside["full"] < 2.0


def _encode_1080p(path: Path, seconds: int = 10, fps: int = 30) -> Path:
    import av

    rng = np.random.default_rng(1)
    background = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": "60"})
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        for index in range(seconds * fps):
            image = np.roll(background, index * 8, axis=1)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def _full_decode_seconds(path: Path) -> float:
    import av

    begin = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return time.perf_counter() - begin


@pytest.mark.benchmark
def test_import_time_per_video(db, tmp_path: Path, shared_data: Path) -> None:
    videos = [
        shared_data / "street_videos" / "market_street_1906.mp4",
        *sorted((shared_data / "mot17_mini" / "videos").glob("*.mp4"))[:3],
        shared_data / "mot17_mini" / "train" / "MOT17-04-FRCNN" / "img1",
        _encode_1080p(tmp_path / "generated_1080p_10s.mp4"),
    ]
    print(f"\n{'video':34} {'frames':>6} {'size':>9} {'import':>9} {'full decode':>12} {'ratio':>6}")
    for path in videos:
        begin = time.perf_counter()
        [outcome] = import_paths(db, [path])
        seconds = time.perf_counter() - begin
        assert outcome.status == "imported", outcome.line()
        with db.session() as session:
            from vru_desktop.store.models import Video

            video = session.get(Video, outcome.video_id)
            frames, size = video.frame_count, video.file_size
        decode = _full_decode_seconds(path) if path.is_file() else float("nan")
        name = path.parent.name if path.name == "img1" else path.name
        print(
            f"{name[:34]:34} {frames:6d} {size / 1e6:7.1f}MB {seconds * 1000:7.0f}ms "
            f"{decode * 1000:10.0f}ms {decode / seconds if path.is_file() else float('nan'):5.1f}x"
        )
        assert seconds < 5.0


@pytest.mark.benchmark
def test_library_table_with_5000_videos(db, data_dir: Path, qtbot) -> None:
    from vru_desktop.library.projects import ensure_default_project
    from vru_desktop.library.views import video_rows
    from vru_desktop.settings import resolve_locations
    from vru_desktop.store.models import Video
    from vru_desktop.ui.library_view import LibraryView

    project = ensure_default_project(db)
    with db.transaction() as session:
        session.add_all(
            Video(
                project_id=project.id,
                filename=f"clip_{i:05d}.mp4",
                file_path=f"/archive/clip_{i:05d}.mp4",
                fingerprint=f"{i:064x}",
                fps=30.0,
                frame_count=900 + i,
                width=1920,
                height=1080,
                duration=30.0,
                file_size=50_000_000,
                status="missing",
            )
            for i in range(5000)
        )
    view = LibraryView(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(view)
    view.refresh()
    begin = time.perf_counter()
    rows = video_rows(db, project.id)
    query = time.perf_counter() - begin
    timings = []
    for _ in range(RUNS):
        begin = time.perf_counter()
        view.refresh()
        timings.append(time.perf_counter() - begin)
    refresh = statistics.median(timings)
    print(
        f"\n5000 videos: query {query * 1000:.0f} ms, whole Library refresh (projects, table, details) "
        f"{refresh * 1000:.0f} ms ({refresh / query:.1f}x the query)"
    )
    assert len(rows) == view.video_model.rowCount() == 5000
    assert refresh < 1.0
