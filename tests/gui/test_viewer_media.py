"""The viewer with difficult media: a missing file (Relink), a frame that cannot be decoded, image
sequences played by timer, and the Go-to entry."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from unit.test_reader_videos import pattern_frame, read_index

from vru_desktop.errors import ValidationError
from vru_desktop.library.importer import import_paths
from vru_desktop.media.frames import FrameTable
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.viewer.workspace import ViewerWorkspace, format_time, parse_position


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def shown_index(viewer: ViewerWorkspace) -> int | None:
    image = viewer.view.shown_image().convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return read_index(data[:, : image.width() * 3].reshape(image.height(), image.width(), 3))


def test_missing_file_offers_relink(window, qtbot, make_video, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = make_video("moved.mp4", 20)
    (outcome,) = import_paths(window.db, [path])
    new_place = tmp_path / "elsewhere" / "moved.mp4"
    new_place.parent.mkdir()
    shutil.move(path, new_place)
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer
    assert viewer.pages.currentWidget() is viewer.missing_page
    assert (
        "file not found" in viewer.missing_page.missing_label.text()
        and "Relink" in viewer.missing_page.missing_label.text()
    )
    assert not viewer.controls.next_action.isEnabled()

    wrong = make_video("other.mp4", 25)
    monkeypatch.setattr(viewer.missing_page, "ask_relink_path", lambda: str(wrong))
    qtbot.mouseClick(viewer.missing_page.relink_button, Qt.MouseButton.LeftButton)
    assert "not the same content" in viewer.missing_page.missing_label.text()

    monkeypatch.setattr(viewer.missing_page, "ask_relink_path", lambda: str(new_place))
    qtbot.mouseClick(viewer.missing_page.relink_button, Qt.MouseButton.LeftButton)
    assert viewer.pages.currentWidget() is viewer.view
    assert viewer.controls.next_action.isEnabled() and viewer.view.message() is None


def make_sequence(folder: Path, frames: int, broken: int) -> Path:
    folder.mkdir(parents=True)
    for index in range(frames):
        cv2.imwrite(str(folder / f"{index + 1:06d}.png"), pattern_frame(index, 160, 120))
    (folder / f"{broken + 1:06d}.png").write_bytes(b"\x89PNG damaged")
    return folder


def test_image_sequence_plays_by_timer_and_a_broken_frame_shows_a_message(
    window, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = make_sequence(tmp_path / "seq" / "img1", 30, broken=5)
    (outcome,) = import_paths(window.db, [folder], fps=50.0)
    assert outcome.status == "imported", outcome.line()
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.view.hasFocus())
    view = viewer.view
    for _ in range(4):
        qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: viewer.pending_frame() is None)  # frames are read off the UI thread
    assert viewer.current == 4 and shown_index(viewer) == 4 and view.message() is None
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: viewer.pending_frame() is None)
    assert viewer.current == 5
    assert "Frame 5 cannot be shown" in view.message() and "000006.png" in view.message()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: viewer.pending_frame() is None)
    assert viewer.current == 6 and shown_index(viewer) == 6
    assert view.message() is None, "the rest of the video stays usable"

    seen: list[tuple[int, int | None]] = []
    viewer.frameChanged.connect(lambda index: seen.append((index, shown_index(viewer))))
    qtbot.keyClick(view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not viewer.playback.is_playing(), timeout=10_000)  # plays to the end
    assert [index for index, _ in seen][:3] == [7, 8, 9]
    assert all(index == shown for index, shown in seen)
    assert viewer.current == 29 and shown_index(viewer) == 29
    # Playing through the broken frame: it is skipped with a message, playback goes on.
    viewer.go_to(2)
    qtbot.waitUntil(lambda: viewer.pending_frame() is None)
    seen.clear()
    viewer.toggle_play()
    qtbot.waitUntil(lambda: not viewer.playback.is_playing(), timeout=10_000)
    assert 5 not in [index for index, _ in seen] and 6 in [index for index, _ in seen]
    assert "Frame 5" in viewer.status_bar.status_label.text()


def test_parse_position_frames_and_times() -> None:
    table = FrameTable(np.array([10.0 + 0.04 * i for i in range(100)]), np.array([0], np.int32))
    assert parse_position("42", table) == 42
    assert parse_position("10.5s", table) == 12
    assert parse_position("0:10.5", table) == 12
    assert parse_position("0:0:11", table) == 25
    assert parse_position("1s", table) == 0, "before the first frame: the first frame"
    for bad in ("", "abc", "100", "1:00"):
        with pytest.raises(ValidationError):
            parse_position(bad, table)
    assert format_time(10.52) == "0:10.520" and format_time(3725.5) == "1:02:05.500"


def test_go_to_dialog_and_menus_show_shortcuts(window, qtbot, make_video, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QInputDialog

    (outcome,) = import_paths(window.db, [make_video("clip.mp4", 50)])
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("1.2s", True))
    qtbot.waitUntil(lambda: viewer.view.hasFocus())
    qtbot.keyClick(viewer.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: viewer.pending_frame() is None)
    assert viewer.current == 30
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("999", True))
    viewer.controls.goto_action.trigger()
    assert viewer.current == 30 and "outside the video" in viewer.status_bar.status_label.text()
    shortcuts = {a.text(): a.shortcut().toString() for a in window.menu("&Video").actions() if a.text()}
    assert shortcuts["&Play"] == "Space" and shortcuts["Forward 10 Frames"] == "Shift+Right"
    assert shortcuts["&Go to Frame or Time…"] == "Ctrl+G"
    edit = {a.text(): a.shortcut().toString() for a in window.menu("&Edit").actions() if a.text()}
    assert edit["Class 1: pedestrian"] == "1" and edit["Mark Frame &Reviewed"] == "F"


def test_timeline_and_frame_box_requests_show_only_the_last(window, qtbot, make_video, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [make_video("clip.mp4", 60)])
    window.videoActivated.emit(outcome.video_id)
    viewer = window.viewer
    reads: list[int] = []
    read = viewer.reader.read
    monkeypatch.setattr(viewer.reader, "read", lambda index: reads.append(index) or read(index))
    for frame in (5, 9, 14):  # a drag along the timeline while one frame decodes
        viewer.timeline.frameRequested.emit(frame)
    qtbot.waitUntil(lambda: viewer.current == 14)
    assert reads == [14]
    viewer.controls.frame_spin.setValue(33)
    qtbot.waitUntil(lambda: viewer.current == 33)
    assert reads == [14, 33] and viewer.status_bar.position_label.text().startswith("Frame 33 / 59")
