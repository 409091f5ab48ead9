"""The viewer's Tags line: the current frame's condition tags, and the menu (Shift+T) that puts a
project tag on the frame or takes it off."""

from __future__ import annotations

from pathlib import Path

import pytest

from vru_desktop.annotations.tags import set_project_tags, tag_video, video_tags
from vru_desktop.library.importer import import_paths
from vru_desktop.library.projects import ensure_default_project
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.resize(1200, 720)
    window.show()
    qtbot.waitExposed(window)
    return window


def _menu_action(viewer, tag: str):  # type: ignore[no-untyped-def]
    viewer.frame_tags._fill_tags_menu()
    (action,) = [a for a in viewer.frame_tags.tags_menu.actions() if a.text() == tag]
    return action


def test_tags_line_and_menu_toggle_a_tag_on_the_frame(window, qtbot, make_video) -> None:  # type: ignore[no-untyped-def]
    (outcome,) = import_paths(window.db, [make_video("street.mp4", 10, size=(160, 120))])
    video = outcome.video_id
    set_project_tags(window.db, ensure_default_project(window.db).id, ["night", "rain"])
    window.videoActivated.emit(video)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.video is not None and viewer.video.id == video)
    assert viewer.frame_tags.tags_label.text() == "Tags: none"
    assert viewer.controls.tags_action.shortcut().toString() == "Shift+T"

    viewer.go_to(4)
    qtbot.waitUntil(lambda: viewer.current == 4)
    _menu_action(viewer, "night").trigger()
    assert viewer.frame_tags.tags_label.text() == "Tags: night"
    assert video_tags(window.db, video).frames == {"night": [[4, 4]]}
    viewer.go_to(5)
    qtbot.waitUntil(lambda: viewer.current == 5)
    assert viewer.frame_tags.tags_label.text() == "Tags: none"

    tag_video(window.db, video, ["rain"])
    viewer.frame_tags.load()
    assert viewer.frame_tags.tags_label.text() == "Tags: rain"
    rain = _menu_action(viewer, "rain")
    assert rain.isChecked() and not rain.isEnabled()  # on the whole video: not a frame's to change

    viewer.go_to(4)
    qtbot.waitUntil(lambda: viewer.current == 4)
    _menu_action(viewer, "night").trigger()
    assert viewer.frame_tags.tags_label.text() == "Tags: rain"
    assert video_tags(window.db, video).frames == {}
