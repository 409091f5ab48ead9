"""Timeline speed for a 100 000-frame video with 1 000 000 annotation boxes and 1 000 000 detections.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_timeline_speed.py -s``

Printed side by side in one run:

* ``timeline_summary`` (aggregate SQL) against reading every row and grouping in NumPy;
* ``update_summary`` after one edit against a full ``timeline_summary``;
* ``set_summary`` plus a repaint of the widget with pixel binning against drawing the exact
  per-frame runs (what the widget would draw without binning).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.annotations.views import TimelineSummary
from vru_desktop.store.db import Database
from vru_desktop.store.models import TestSession, Video
from vru_desktop.ui.viewer.timeline import TimelineWidget, occupied_runs

pytestmark = pytest.mark.benchmark

FRAMES = 100_000
BOXES = 1_000_000
TYPES = np.array(["pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider"])


def timed(work: Callable[[], object], repeats: int = 3) -> tuple[float, object]:
    """Best wall time of ``repeats`` runs (the machine is shared), and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def fill(db: Database) -> tuple[int, int]:
    """A 100 000-frame video with 1 000 000 boxes and a run with 1 000 000 detections."""
    with db.transaction() as session:
        video = Video(
            filename="long.mp4", file_path="/nowhere/long.mp4", fingerprint="bench", frame_count=FRAMES
        )
        video.fps = 25.0
        session.add(video)
        session.flush()
        run = TestSession(video_id=video.id, status="completed")
        session.add(run)
        session.flush()
        video_id, run_id = video.id, run.id
    rng = np.random.default_rng(0)
    frames = np.sort(rng.integers(0, FRAMES, BOXES)).tolist()
    types = TYPES[rng.choice(len(TYPES), BOXES, p=[0.6, 0.2, 0.1, 0.05, 0.05])].tolist()
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.executemany(
            "INSERT INTO annotations (video_id, frame_number, timestamp, vru_type, validated, occluded,"
            " truncated, crowd, is_keyframe, outside, source, attributes, created_at, updated_at,"
            " x1, y1, x2, y2) VALUES (?, ?, 0, ?, 1, 0, 0, 0, 1, 0, 'manual', '{}',"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, 0, 10, 10)",
            ((video_id, frame, vru_type) for frame, vru_type in zip(frames, types, strict=True)),
        )
        cursor.executemany(
            "INSERT INTO detection_events (session_id, video_id, frame_number, timestamp, vru_type,"
            " confidence, class_name, x1, y1, x2, y2) VALUES (?, ?, ?, 0, ?, 0.5, '', 0, 0, 10, 10)",
            ((run_id, video_id, frame, vru_type) for frame, vru_type in zip(frames, types, strict=True)),
        )
        cursor.executemany(
            "INSERT INTO reviewed_frames (video_id, frame_number, reviewed_at) VALUES (?, ?, '2026-01-01')",
            ((video_id, frame) for frame in range(FRAMES) if (frame // 300) % 3 == 0),
        )
        connection.commit()
    finally:
        connection.close()
    return video_id, run_id


def summary_by_reading_rows(db: Database, video_id: int, run_id: int) -> TimelineSummary:
    """The reference: every row out of SQLite, grouped in NumPy."""

    def group(rows: list[tuple[str, int]]) -> dict[str, np.ndarray]:
        types = np.array([row[0] for row in rows])
        frames = np.array([row[1] for row in rows], dtype=np.int64)
        return {str(t): np.unique(frames[types == t]) for t in np.unique(types)}

    connection = db.engine.raw_connection()
    try:
        annotations = connection.execute(
            "SELECT vru_type, frame_number FROM annotations WHERE video_id = ? AND outside = 0", (video_id,)
        ).fetchall()
        detections = connection.execute(
            "SELECT vru_type, frame_number FROM detection_events WHERE session_id = ?", (run_id,)
        ).fetchall()
        reviewed = np.array(
            [
                r[0]
                for r in connection.execute(
                    "SELECT frame_number FROM reviewed_frames WHERE video_id = ?", (video_id,)
                )
            ]
        )
    finally:
        connection.close()
    breaks = np.flatnonzero(np.diff(reviewed) > 1)
    ranges = list(
        zip(
            reviewed[np.r_[0, breaks + 1]].tolist(),
            reviewed[np.r_[breaks, len(reviewed) - 1]].tolist(),
            strict=True,
        )
    )
    return TimelineSummary(FRAMES, group(annotations), group(detections), ranges)


def test_timeline_speed_100000_frames_1000000_boxes(db: Database, qtbot) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    video_id, run_id = fill(db)
    elapsed = time.perf_counter() - start
    print(f"\nfilled {BOXES:,} boxes + {BOXES:,} detections on {FRAMES:,} frames in {elapsed:.1f} s")
    editor = AnnotationEditor(db, video_id)

    sql_time, summary = timed(lambda: editor.timeline_summary(run_id))
    rows_time, reference = timed(lambda: summary_by_reading_rows(db, video_id, run_id), repeats=1)
    assert isinstance(summary, TimelineSummary) and isinstance(reference, TimelineSummary)
    for kind in ("annotations", "detections"):
        ours, theirs = getattr(summary, kind), getattr(reference, kind)
        assert set(ours) == set(theirs)
        assert all(np.array_equal(ours[t], theirs[t]) for t in ours)
    assert summary.reviewed == reference.reviewed
    print(
        f"timeline_summary (aggregate SQL): {sql_time * 1000:.0f} ms | every row into NumPy: "
        f"{rows_time * 1000:.0f} ms | ratio {rows_time / sql_time:.1f}x"
    )

    changed: list[set[int]] = []
    editor.add_listener(changed.append)
    editor.add_box(54_321, (0, 0, 5, 5), "wheelchair_user", track_id=1)
    editor.add_box(54_400, (0, 0, 5, 5), "wheelchair_user", track_id=1)
    update_time, updated = timed(lambda: editor.update_summary(summary, changed[-1]))
    full_time, full = timed(lambda: editor.timeline_summary(run_id), repeats=1)
    assert isinstance(updated, TimelineSummary) and isinstance(full, TimelineSummary)
    assert all(np.array_equal(updated.annotations[t], full.annotations[t]) for t in full.annotations)
    print(
        f"after an edit: update_summary {update_time * 1000:.1f} ms | full timeline_summary "
        f"{full_time * 1000:.0f} ms | ratio {full_time / update_time:.0f}x"
    )

    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(1600, 140)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_video(FRAMES, 25.0)

    def show(value: TimelineSummary) -> int:
        widget.set_summary(value)
        widget.repaint()
        QApplication.processEvents()
        return widget.drawn_rectangles()

    draw_time, rectangles = timed(lambda: show(full))
    exact_runs = sum(
        len(occupied_runs(frames, 0, FRAMES - 1, 1))
        for frames in [*full.annotations.values(), *full.detections.values()]
    ) + len(full.reviewed)
    print(
        f"set_summary + repaint, 1600 px wide: {draw_time * 1000:.1f} ms, {rectangles} rectangles | "
        f"exact per-frame runs would be {exact_runs:,} rectangles "
        f"({exact_runs / max(rectangles, 1):.0f}x more)"
    )
    view = widget.getPlotItem().getViewBox()
    zooms = [(40_000 + 37 * step, 41_000 + 37 * step) for step in range(10)]
    start = time.perf_counter()
    for left, right in zooms:
        view.setXRange(left, right, padding=0)
        widget.repaint()
    zoom_time = (time.perf_counter() - start) / len(zooms)
    print(
        f"pan/zoom at 1 000 frames wide: {zoom_time * 1000:.1f} ms per step, "
        f"{widget.drawn_rectangles()} rectangles"
    )
    assert rectangles < 10 * widget.viewport().width()


def test_track_edit_speed_grows_with_the_frames_it_rewrites(db: Database) -> None:
    """Moving the middle of a track, and undoing it, on a 50-frame and a 5 000-frame track."""
    with db.transaction() as session:
        video = Video(filename="t.mp4", file_path="/nowhere/t.mp4", fingerprint="tracks", frame_count=FRAMES)
        video.fps = 25.0
        session.add(video)
        session.flush()
        video_id = video.id
    editor = AnnotationEditor(db, video_id)
    figures: dict[int, tuple[float, float, float]] = {}
    for length in (50, 5_000):
        first = editor.add_box(length * 3, (0, 0, 10, 10), "pedestrian")
        start = time.perf_counter()
        created = editor.propagate(first, length)
        propagate_time = time.perf_counter() - start
        start = time.perf_counter()
        editor.move_box(created[length // 2], (50, 50, 60, 60))
        move_time = time.perf_counter() - start
        start = time.perf_counter()
        editor.undo()
        undo_time = time.perf_counter() - start
        figures[length] = (propagate_time, move_time, undo_time)
        print(
            f"\n{length:>5}-frame track: propagate {propagate_time * 1000:.0f} ms, move middle "
            f"{move_time * 1000:.0f} ms, undo {undo_time * 1000:.0f} ms"
        )
    small, large = figures[50], figures[5_000]
    print("5 000 vs 50 frames: " + ", ".join(f"{b / a:.0f}x" for a, b in zip(small, large, strict=True)))
