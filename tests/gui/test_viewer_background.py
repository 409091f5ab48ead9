"""Work off the UI thread: frames decode on a worker while the window stays responsive, and the timeline
follows edits by reading again only the edited frames."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from gui.test_viewer_identity import FRAMES, image_index
from PySide6.QtCore import QTimer
from unit.test_reader_videos import cached_identity_videos

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.frames import DECODING_HINT_MS
from vru_desktop.ui.viewer.timeline import REVIEWED_LABEL

#: A seek made slower than any real one here, so the test sees the window work while it runs.
SLOW_SEEK_S = 0.4
#: The stall a person notices; a busy CI machine stretches a 10 ms timer tick well past 50 ms.
STALL_LIMIT_S = 0.1


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def open_video(window: MainWindow, qtbot, path: Path):  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [path])
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: viewer.view.hasFocus())
    return viewer


def test_far_seek_keeps_the_event_loop_running_and_shows_only_the_newest_frame(
    window, qtbot, monkeypatch, request
) -> None:  # type: ignore[no-untyped-def]
    path = cached_identity_videos(request.config.cache, FRAMES)["h264_long_gop"]
    viewer = open_video(window, qtbot, path)
    assert viewer.current == 0 and image_index(viewer.view.shown_image()) == 0
    reads: list[int] = []
    read = viewer.reader.read

    def slow_read(index: int):  # type: ignore[no-untyped-def]
        reads.append(index)
        time.sleep(SLOW_SEEK_S)
        return read(index)

    monkeypatch.setattr(viewer.reader, "read", slow_read)
    shown: list[tuple[int, int | None]] = []
    viewer.frameChanged.connect(lambda index: shown.append((index, image_index(viewer.view.shown_image()))))
    ticks: list[float] = []
    probe = QTimer(interval=10)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    qtbot.wait(50)

    viewer.go_to(250)
    qtbot.wait(DECODING_HINT_MS + 50)
    assert viewer.pending_frame() == 250
    assert viewer.current == 0 and image_index(viewer.view.shown_image()) == 0, "the previous frame stays"
    assert viewer.status_bar.decoding_label.isVisible() and "250" in viewer.status_bar.decoding_label.text()
    viewer.go_to(260)  # asked for while 250 decodes: replaced by the next request before it starts
    viewer.go_to(270)
    assert viewer.status_bar.decoding_label.text() == "decoding frame 270…"
    qtbot.waitUntil(lambda: viewer.pending_frame() is None, timeout=5000)
    probe.stop()

    assert reads == [250, 270], "only the running decode and the newest request are decoded"
    assert shown == [(270, 270)], "the frame decoded for an older request is never shown"
    assert viewer.current == 270 and viewer.status_bar.position_label.text().startswith("Frame 270 / ")
    assert not viewer.status_bar.decoding_label.isVisible()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 2 * SLOW_SEEK_S / 0.01 * 0.5, "the probe timer ran all along"
    assert max(gaps) < STALL_LIMIT_S, f"the event loop stalled {max(gaps) * 1000:.0f} ms during the seek"

    # Stepping on: the frames read ahead after the seek are shown at once, without the worker.
    monkeypatch.setattr(viewer.reader, "read", read)
    for expected in (271, 272):
        qtbot.waitUntil(lambda expected=expected: expected in viewer.reader.cache, timeout=5000)
        viewer.step(1)
        assert viewer.pending_frame() is None and viewer.current == expected
        assert image_index(viewer.view.shown_image()) == expected


def test_opening_another_video_does_not_wait_for_a_decode_of_the_last_one(
    window, qtbot, monkeypatch, request, make_video
) -> None:  # type: ignore[no-untyped-def]
    path = cached_identity_videos(request.config.cache, FRAMES)["h264_long_gop"]
    viewer = open_video(window, qtbot, path)
    old_reader = viewer.reader
    decoding: list[int] = []
    load = old_reader._load

    def slow_load(index: int):  # type: ignore[no-untyped-def]
        if index == 250:  # only the far frame; read-ahead of the first frames may still be going on
            decoding.append(index)  # runs holding the reader's lock, as a real decode does
            time.sleep(SLOW_SEEK_S)
        return load(index)

    monkeypatch.setattr(old_reader, "_load", slow_load)
    viewer.go_to(250)
    qtbot.waitUntil(lambda: decoding == [250])
    (other,) = import_paths(window.db, [make_video("other.mp4", 10, size=(160, 120))])
    started = time.perf_counter()
    window.videoActivated.emit(other.video_id)
    assert time.perf_counter() - started < SLOW_SEEK_S / 2, "the old reader closes on its own thread"
    assert viewer.video.id == other.video_id and viewer.current == 0
    qtbot.wait(int(SLOW_SEEK_S * 1000) + 100)
    assert viewer.current == 0 and viewer.pending_frame() is None, "the old video's frame is dropped"
    assert viewer.view.shown_image().width() == 160
    qtbot.waitUntil(lambda: old_reader._closed and old_reader._container is None)


def test_an_edit_updates_the_timeline_lanes_from_the_edited_frames(
    window, qtbot, make_video, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    viewer = open_video(window, qtbot, make_video("street.mp4", 40, size=(320, 240)))
    qtbot.waitUntil(lambda: viewer.summary() is not None)
    assert viewer.timeline.lanes() == [REVIEWED_LABEL]
    full: list[int | None] = []
    summarize = viewer.editor.timeline_summary
    monkeypatch.setattr(
        viewer.editor, "timeline_summary", lambda session_id: full.append(session_id) or summarize(session_id)
    )

    viewer.editor.add_box(3, (10, 10, 60, 90), "cyclist")
    viewer.editor.add_box(7, (10, 10, 60, 90), "pedestrian")
    qtbot.waitUntil(lambda: viewer.timeline.lanes() == ["pedestrian", "cyclist", REVIEWED_LABEL])
    summary = viewer.summary()
    assert summary.annotations["cyclist"].tolist() == [3]
    assert summary.annotations["pedestrian"].tolist() == [7]
    assert viewer.timeline.drawn_rectangles() == 2

    viewer.editor.set_reviewed(3)
    viewer.editor.undo()  # the reviewed mark
    viewer.editor.undo()  # the pedestrian box
    viewer.editor.set_reviewed(5)
    qtbot.waitUntil(lambda: viewer.timeline.lanes() == ["cyclist", REVIEWED_LABEL])
    assert viewer.summary().reviewed == [(5, 5)]
    assert viewer.timeline.drawn_rectangles() == 2
    assert full == [], "edits read only the frames they changed"

    # A full summary on its way takes the edits made meanwhile.
    viewer._refresh_summary()
    viewer.editor.add_box(9, (10, 10, 60, 90), "scooter_rider")
    qtbot.waitUntil(lambda: "scooter_rider" in viewer.timeline.lanes())
    assert full == [None]
    assert viewer.summary().annotations["scooter_rider"].tolist() == [9]
