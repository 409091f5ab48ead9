"""Frame identity through the real viewer: whatever it shows under an index is the frame with that index.

The videos paint their own index into their pixels (``unit/test_reader_videos.py``). The viewer is
driven as a person would: keys for stepping, Home/End, the Go-to entry, Space to play and pause.
After every move the pixels on screen must decode to the index the viewer displays.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from unit.test_reader_videos import cached_identity_videos, read_index

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.main_window import MainWindow

FRAMES = 300


def image_index(image: QImage) -> int | None:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = rgb.width(), rgb.height()
    data = np.frombuffer(rgb.constBits(), np.uint8).reshape(height, rgb.bytesPerLine())
    return read_index(data[:, : width * 3].reshape(height, width, 3))


@pytest.fixture(scope="module")
def identity_videos(request: pytest.FixtureRequest) -> dict[str, Path]:
    return cached_identity_videos(request.config.cache, FRAMES)


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def open_in_viewer(window: MainWindow, qtbot, path: Path):  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [path])
    assert outcome.status == "imported", outcome.line()
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer  # type: ignore[attr-defined]
    assert window.tabs.currentWidget() is viewer
    qtbot.waitUntil(lambda: viewer.view.hasFocus())
    return viewer


def assert_shows(qtbot, viewer, index: int) -> None:  # type: ignore[no-untyped-def]
    """Once the frame asked for has arrived (decoding runs off the UI thread), everything names it."""
    qtbot.waitUntil(lambda: viewer.pending_frame() is None, timeout=5000)
    assert viewer.current == index
    assert viewer.status_bar.position_label.text().startswith(f"Frame {index} / ")
    assert viewer.controls.frame_spin.value() == index
    shown = image_index(viewer.view.shown_image())
    assert shown == index, f"the viewer says frame {index} but shows frame {shown}"


@pytest.mark.parametrize(
    "name", ["h264_long_gop", "vfr", "late_start", "late_start_mkv", "audio_first", "mp4v_opencv"]
)
def test_viewer_shows_the_frame_it_names(window, qtbot, identity_videos, name: str) -> None:  # type: ignore[no-untyped-def]
    viewer = open_in_viewer(window, qtbot, identity_videos[name])
    view = viewer.view
    assert_shows(qtbot, viewer, 0)
    for expected in (1, 2, 3):
        qtbot.keyClick(view, Qt.Key.Key_Right)
        assert_shows(qtbot, viewer, expected)
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert_shows(qtbot, viewer, 13)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert_shows(qtbot, viewer, 12)
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert_shows(qtbot, viewer, FRAMES - 1)
    qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert_shows(qtbot, viewer, FRAMES - 11)
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert_shows(qtbot, viewer, 0)
    rng = random.Random(name)
    for _ in range(12):
        target = rng.randrange(FRAMES)
        viewer.go_to_text(str(target))
        assert_shows(qtbot, viewer, target)
        qtbot.keyClick(view, Qt.Key.Key_Left)
        assert_shows(qtbot, viewer, max(target - 1, 0))
    # By time: the frame shown at a time is the last frame that starts at or before it.
    start = viewer.table.time_of(0)
    viewer.go_to_text(f"{start + 2.0:.3f}s")
    assert_shows(qtbot, viewer, viewer.table.index_at(start + 2.0))


@pytest.mark.parametrize(
    "name", ["h264_long_gop", "vfr", "late_start", "late_start_mkv", "audio_first", "mp4v_opencv"]
)
def test_playback_pause_and_step_keep_identity(window, qtbot, identity_videos, name: str) -> None:  # type: ignore[no-untyped-def]
    viewer = open_in_viewer(window, qtbot, identity_videos[name])
    view = viewer.view
    viewer.go_to_text("40")
    seen: list[tuple[int, int | None]] = []
    viewer.frameChanged.connect(lambda index: seen.append((index, image_index(view.shown_image()))))
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert viewer.playback.is_playing()
    qtbot.waitUntil(lambda: len(seen) >= 15, timeout=10_000)
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert not viewer.playback.is_playing()
    played = [index for index, _ in seen]
    assert played[0] >= 40 and played[-1] > played[0] + 10, played
    wrong = [(index, shown) for index, shown in seen if index != shown]
    assert not wrong, f"frames shown under another index while playing: {wrong[:5]}"
    paused_at = viewer.current
    assert_shows(qtbot, viewer, paused_at)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert_shows(qtbot, viewer, paused_at + 1)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert_shows(qtbot, viewer, paused_at - 1)
    # Play again from a seek, at double speed.
    viewer.go_to_text("200")
    viewer.controls.change_speed(+2)
    assert viewer.playback.rate() == 2.0
    seen.clear()
    qtbot.keyClick(view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(seen) >= 10, timeout=10_000)
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert seen[0][0] >= 200
    assert all(index == shown for index, shown in seen), seen
    assert_shows(qtbot, viewer, viewer.current)
