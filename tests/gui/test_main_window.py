"""The main window driven as a person would: drop real files, read the table, the summary, the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QThread, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox, QPushButton, QWidget
from sqlalchemy import select

from vru_desktop.library.projects import (
    ProjectFields,
    create_project,
    ensure_default_project,
)
from vru_desktop.library.thumbnails import thumbnail_path
from vru_desktop.settings import USER_DEFAULT_PROJECT, get_setting, resolve_locations
from vru_desktop.store.models import Video
from vru_desktop.ui.app import build_window
from vru_desktop.ui.library_view import EMPTY_TEXT
from vru_desktop.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(db, data_dir: Path, qtbot) -> Iterator[MainWindow]:
    main = build_window(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()


def send_drop(window: MainWindow, paths: list[Path], target: QWidget | None = None) -> None:
    """Drag ``paths`` over ``target`` (the window by default) and drop them there."""
    target = target or window
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(
        QPoint(300, 300),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        QPointF(300, 300),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)
    assert event.isAccepted()


def send_drop_and_wait(window: MainWindow, paths: list[Path], qtbot, target: QWidget | None = None):  # type: ignore[no-untyped-def]
    """Drop ``paths`` and wait for the import to start (the folders are scanned off the UI thread first)."""
    before = window.library.importer.last_import
    send_drop(window, paths, target)
    qtbot.waitUntil(lambda: window.library.importer.last_import is not before, timeout=10_000)
    return window.library.importer.last_import


def drop(window: MainWindow, paths: list[Path], qtbot, target: QWidget | None = None) -> list:
    """Drop ``paths``, wait for the import's summary and return its rows."""
    runner = send_drop_and_wait(window, paths, qtbot, target)
    qtbot.waitUntil(lambda: runner.summary is not None, timeout=30_000)
    return runner.summary.rows()


def _videos(db) -> list[Video]:
    with db.session() as session:
        return list(session.scalars(select(Video).order_by(Video.id)))


def test_empty_library_says_what_to_do(window: MainWindow) -> None:
    library = window.library
    assert library.middle.currentWidget() is library.empty_label
    assert library.empty_label.text() == EMPTY_TEXT == "Drop videos here or File → Import"
    assert [library.projects.item(i).text() for i in range(library.projects.count())] == ["Default  (0)"]
    assert window.status_label.text() == "1 project · 0 videos"
    assert window.menu("&File").actions()[0].shortcut().toString() == "Ctrl+O"


def test_drop_files_imports_them_and_shows_summary_table_and_thumbnails(
    window: MainWindow, db, data_dir: Path, make_video, tmp_path: Path, qtbot
) -> None:
    good = make_video("walk.mp4", 30, fps=25.0, size=(160, 120))
    other = make_video("ride.mp4", 45, fps=15.0, size=(192, 108))
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.avi"
    text.write_text("minutes of the meeting\n" * 40)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(other.read_bytes()[: other.stat().st_size // 2])

    # Dropped on the "Drop videos here" text; the window takes the drop.
    rows = drop(window, [good, empty, other, text, cut], qtbot, window.library.empty_label)

    assert [(status, name) for status, name, _ in rows] == [
        ("imported", "walk.mp4"),
        ("imported", "ride.mp4"),
        ("refused", "empty.mp4"),
        ("refused", "notes.avi"),
        ("refused", "cut.mp4"),
    ]
    reasons = {name: details for status, name, details in rows if status == "refused"}
    assert "empty (0 bytes)" in reasons["empty.mp4"]
    assert reasons["notes.avi"].startswith("Not a video file")  # the File column names the file
    assert "truncated" in reasons["cut.mp4"]
    summary = window.library.importer.last_import.summary
    assert summary.isVisible() and summary.headline.text() == "2 imported, 3 refused"

    table = window.library.video_rows()
    assert table == [
        {
            "Name": "ride.mp4",
            "Duration": "0:03.00",
            "FPS": "15",
            "Resolution": "192x108",
            "Frames": "45",
            "Size": table[0]["Size"],
            "Status": "ok",
            "Reviewed": "0 %",
        },
        {
            "Name": "walk.mp4",
            "Duration": "0:01.20",
            "FPS": "25",
            "Resolution": "160x120",
            "Frames": "30",
            "Size": table[1]["Size"],
            "Status": "ok",
            "Reviewed": "0 %",
        },
    ]
    assert table[1]["Size"].endswith("KB")
    assert window.library.middle.currentWidget() is window.library.videos
    assert [(v.filename, v.frame_count, v.fps) for v in _videos(db)] == [
        ("walk.mp4", 30, 25.0),
        ("ride.mp4", 45, 15.0),
    ]
    assert window.status_label.text() == "1 project · 2 videos"

    cache = resolve_locations(data_dir).cache_dir
    # the table asks for thumbnails when it paints, which may come after this line
    made = lambda: all(thumbnail_path(cache, v.fingerprint).exists() for v in _videos(db))  # noqa: E731
    qtbot.waitUntil(lambda: made() and not window.library.thumbnails.pending(), timeout=20_000)
    for video in _videos(db):
        assert thumbnail_path(cache, video.fingerprint).stat().st_size > 500
    model = window.library.video_model
    icon = model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole)
    assert icon.pixmap(96, 54).toImage().pixelColor(80, 30).name() != "#3a3f44"  # not the placeholder


def test_dropping_the_same_file_again_reports_a_duplicate(window: MainWindow, db, make_video, qtbot) -> None:
    path = make_video("once.mp4", 12)
    drop(window, [path], qtbot)
    rows = drop(window, [path], qtbot)
    assert rows[0][0] == "duplicate" and "already in the library" in rows[0][2]
    assert len(_videos(db)) == 1


def test_dropping_shared_mot17_and_street_videos(window: MainWindow, db, shared_data: Path, qtbot) -> None:
    rows = drop(
        window,
        [shared_data / "mot17_mini" / "train", shared_data / "street_videos" / "market_street_1906.mp4"],
        qtbot,
    )
    assert [status for status, _, _ in rows] == ["imported"] * 8
    assert sorted(name for _, name, _ in rows)[:2] == ["MOT17-02-FRCNN", "MOT17-04-FRCNN"]
    table = {row["Name"]: row for row in window.library.video_rows()}
    assert table["market_street_1906.mp4"]["Frames"] == "1799"
    assert table["market_street_1906.mp4"]["FPS"] == "29.97"
    assert table["market_street_1906.mp4"]["Resolution"] == "640x360"
    assert table["market_street_1906.mp4"]["Duration"] == "1:00.03"
    assert (table["MOT17-05-FRCNN"]["FPS"], table["MOT17-05-FRCNN"]["Frames"]) == ("14", "6")
    assert table["MOT17-13-FRCNN"]["FPS"] == "25"
    assert {v.kind for v in _videos(db)} == {"file", "image_sequence"}


def test_frame_folder_without_seqinfo_asks_for_its_fps(
    window: MainWindow, db, tmp_path: Path, monkeypatch, qtbot
) -> None:
    import cv2
    import numpy as np

    folder = tmp_path / "kitti_0004"
    folder.mkdir()
    for index in range(8):
        cv2.imwrite(str(folder / f"{index:06d}.png"), np.full((30, 40, 3), index * 25, np.uint8))
    asked: list[str] = []

    def answer(_parent, _title, label, *_args):  # type: ignore[no-untyped-def]
        asked.append(label)
        return 12.5, True

    monkeypatch.setattr(QInputDialog, "getDouble", answer)
    rows = drop(window, [folder], qtbot)
    assert rows == [("imported", "kitti_0004", rows[0][2])] and "8 frames, 12.5 fps" in rows[0][2]
    assert len(asked) == 1 and "no seqinfo.ini" in asked[0]
    [video] = _videos(db)
    assert (video.kind, video.fps, video.frame_count) == ("image_sequence", 12.5, 8)


def test_declining_the_fps_question_refuses_that_folder_only(
    window: MainWindow, db, tmp_path: Path, make_video, monkeypatch, qtbot
) -> None:
    import cv2
    import numpy as np

    folder = tmp_path / "clip_frames"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index}.jpg"), np.zeros((20, 20, 3), np.uint8))
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *_args: (0.0, False))
    rows = drop(window, [folder, make_video("fine.mp4", 9)], qtbot)
    assert [(s, n) for s, n, _ in rows] == [("imported", "fine.mp4"), ("refused", "clip_frames")]
    assert "no seqinfo.ini" in rows[1][2]


def test_cancel_button_keeps_what_was_imported(
    window: MainWindow, db, make_video, monkeypatch, qtbot
) -> None:
    from vru_desktop.library import importer

    paths = [make_video(f"c{i}.mp4", 10 + i) for i in range(4)]
    first_file_started, cancel_clicked = threading.Event(), threading.Event()
    real_probe = importer.probe

    def probe_after_cancel(path, **kwargs):  # type: ignore[no-untyped-def]
        # Holds the first file until Cancel is clicked, so the click lands mid-import.
        first_file_started.set()
        cancel_clicked.wait(10)
        return real_probe(path, **kwargs)

    monkeypatch.setattr(importer, "probe", probe_after_cancel)
    runner = send_drop_and_wait(window, paths, qtbot)
    assert first_file_started.wait(10)
    runner.progress.findChild(QPushButton).click()  # the progress dialog's Cancel button
    cancel_clicked.set()
    qtbot.waitUntil(lambda: runner.summary is not None, timeout=30_000)
    assert [s for s, _, _ in runner.summary.rows()] == ["imported", "cancelled", "cancelled", "cancelled"]
    assert [v.filename for v in _videos(db)] == ["c0.mp4"]
    assert runner.summary.headline.text() == "1 imported, 3 cancelled"


def test_active_project_and_my_default_project(
    window: MainWindow, db, make_video, monkeypatch, qtbot
) -> None:
    gate = create_project(
        db, ProjectFields(name="Gate", camera_model="M", camera_view="front", signal_type="video")
    )
    window.refresh()
    library = window.library
    library.select_project(gate.id)
    drop(window, [make_video("a.mp4", 7)], qtbot)
    assert [(v.filename, v.project_id) for v in _videos(db)] == [("a.mp4", gate.id)]

    library.project_actions.user_default_action.trigger()
    assert get_setting(db, USER_DEFAULT_PROJECT) == gate.id
    assert library.project_actions.user_default_action.isChecked()
    library.select_project(ensure_default_project(db).id)  # "no project chosen": my default decides
    drop(window, [make_video("b.mp4", 8)], qtbot)
    assert _videos(db)[-1].project_id == gate.id
    assert library.current_project_id() == gate.id  # the view follows the videos
    assert [row["Name"] for row in library.video_rows()] == ["a.mp4", "b.mp4"]


def _fill_and_save_project_dialog(qtbot, **values: str) -> None:
    from vru_desktop.ui.project_dialog import ProjectDialog

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ProjectDialog)
        for name, value in values.items():
            widget = getattr(dialog, name)
            (widget.setText if hasattr(widget, "setText") else widget.setCurrentText)(value)
        dialog.save()

    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, fill)


def test_create_edit_delete_project_through_the_actions(
    window: MainWindow, db, make_video, monkeypatch, qtbot
) -> None:
    library = window.library
    _fill_and_save_project_dialog(
        qtbot, name="Harbour", camera_model="Cam X", camera_view="side", signal_type="video"
    )
    library.project_actions.new_project_action.trigger()
    names = [library.projects.item(i).text() for i in range(library.projects.count())]
    assert names == ["Default  (0)", "Harbour  (0)"]
    assert library.projects.currentItem().text() == "Harbour  (0)"
    drop(window, [make_video("h.mp4", 6)], qtbot)

    _fill_and_save_project_dialog(qtbot, name="Harbour North", camera_view="rear")
    library.project_actions.edit_project_action.trigger()
    assert library.projects.currentItem().text() == "Harbour North  (1)"
    assert "rear" in library.details.toPlainText()

    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    library.project_actions.delete_project_action.trigger()
    assert [library.projects.item(i).text() for i in range(library.projects.count())] == ["Default  (1)"]
    assert (
        not library.project_actions.delete_project_action.isEnabled()
    )  # the system default cannot be deleted
    assert len(_videos(db)) == 1


def test_remove_video_keeps_the_file_and_asks_first(
    window: MainWindow, db, make_video, monkeypatch, qtbot
) -> None:
    path = make_video("keep.mp4", 9)
    drop(window, [path], qtbot)
    window.library.videos.selectRow(0)
    questions: list[str] = []
    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])

    def ask(_parent, _title, text):  # type: ignore[no-untyped-def]
        questions.append(text)
        return next(answers)

    monkeypatch.setattr(QMessageBox, "question", ask)
    window.library.video_actions.remove_action.trigger()
    assert len(_videos(db)) == 1
    window.library.video_actions.remove_action.trigger()
    qtbot.waitUntil(lambda: window.library.middle.currentWidget() is window.library.empty_label)
    assert _videos(db) == [] and path.is_file()
    assert "files stay on disk" in questions[0]
    assert window.library.middle.currentWidget() is window.library.empty_label


def test_missing_video_is_marked_and_relinked_by_folder_search(
    window: MainWindow, db, make_video, tmp_path: Path, monkeypatch, qtbot
) -> None:
    path = make_video("moving.mp4", 11)
    drop(window, [path], qtbot)
    moved = tmp_path / "archive" / "moving.mp4"
    moved.parent.mkdir()
    path.rename(moved)
    window.refresh(check_files=True)
    qtbot.waitUntil(lambda: window.library.video_rows()[0]["Status"] == "missing")
    assert window.status_label.text() == "1 project · 1 video · 1 missing"
    shown: list[str] = []
    on_ui_thread: list[bool] = []

    def information(_parent, _title, text):  # type: ignore[no-untyped-def]
        on_ui_thread.append(QThread.currentThread() is QApplication.instance().thread())
        shown.append(text)

    monkeypatch.setattr(QMessageBox, "information", information)
    window.library.video_actions.relink_search(str(tmp_path / "archive"))
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert "Found 1 missing video" in shown[0]
    assert on_ui_thread == [True]  # the search ran on a worker; its answer is shown by the UI thread
    assert window.library.video_rows()[0]["Status"] == "ok"
    assert _videos(db)[0].file_path == str(moved.resolve())


def test_doctor_action_reports(window: MainWindow, monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: shown.append(text))
    window.doctor_action.trigger()
    assert shown == ["ok: database healthy, nothing to repair"]


def test_window_state_is_remembered(db, data_dir: Path, qtbot) -> None:
    locations = resolve_locations(data_dir).ensure()
    gate = create_project(
        db, ProjectFields(name="Gate", camera_model="M", camera_view="front", signal_type="video")
    )
    first = build_window(db, locations)
    qtbot.addWidget(first)
    first.show()
    first.library.select_project(gate.id)
    first.library.splitter.setSizes([300, 700, 200])
    sizes = first.library.splitter.sizes()
    last_tab = first.tabs.count() - 1
    first.tabs.setCurrentIndex(last_tab)
    first.close()
    second = build_window(db, locations)
    qtbot.addWidget(second)
    second.show()
    assert second.library.current_project_id() == gate.id
    assert second.tabs.currentIndex() == last_tab
    second.show_workspace(second.library)
    restored = second.library.splitter.sizes()
    assert (restored[0], restored[2]) == (sizes[0], sizes[2]) == (300, 200)
    second.close()


def test_window_starts_without_torch_or_ultralytics(data_dir: Path) -> None:
    code = (
        "import sys, json\n"
        "from vru_desktop.settings import resolve_locations\n"
        "from vru_desktop.store.db import open_database\n"
        "from vru_desktop.library.projects import ensure_default_project\n"
        "from vru_desktop.ui.app import application, build_window\n"
        "app = application()\n"
        f"loc = resolve_locations({str(data_dir)!r}).ensure()\n"
        "db = open_database(loc.database); ensure_default_project(db)\n"
        "w = build_window(db, loc); w.show(); app.processEvents()\n"
        "print(json.dumps(sorted(m for m in ('torch', 'ultralytics', 'torchvision') if m in sys.modules)))\n"
        "w.close()\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_dropping_a_folder_without_videos_says_so(window: MainWindow, tmp_path: Path, qtbot) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(b"%PDF-1.4")
    assert drop(window, [folder], qtbot) == []
    headline = window.library.importer.last_import.summary.headline.text()
    assert headline == "Nothing found to import (no video files or frame folders)."


def test_relink_action_with_a_chosen_file(
    window: MainWindow, db, make_video, tmp_path: Path, monkeypatch, qtbot
) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QFileDialog

    path = make_video("walked_off.mp4", 13)
    drop(window, [path], qtbot)
    moved = tmp_path / "new_home.mp4"
    path.rename(moved)
    window.refresh(check_files=True)
    qtbot.waitUntil(lambda: window.library.video_rows()[0]["Status"] == "missing")
    window.library.videos.selectRow(0)
    assert window.library.video_actions.relink_action.isEnabled()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args: (str(moved), ""))
    asked: list[str] = []

    def choose_file() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        [button] = [b for b in box.buttons() if b.text() == "Choose File…"]
        button.click()

    QTimer.singleShot(0, choose_file)
    window.library.video_actions.relink_action.trigger()
    assert "walked_off.mp4" in asked[0] and str(path) in asked[0]
    [video] = _videos(db)
    assert (video.status, video.file_path, video.filename) == ("ok", str(moved.resolve()), "new_home.mp4")
    assert (window.library.video_rows()[0]["Status"], window.library.video_rows()[0]["Name"]) == (
        "ok",
        "new_home.mp4",
    )


def test_sorting_by_a_column_sorts_by_value(window: MainWindow, make_video, qtbot) -> None:
    drop(window, [make_video("b.mp4", 9), make_video("a.mp4", 100), make_video("c.mp4", 10)], qtbot)
    library = window.library
    assert [r["Name"] for r in library.video_rows()] == ["a.mp4", "b.mp4", "c.mp4"]
    library.videos.sortByColumn(5, Qt.SortOrder.DescendingOrder)  # frames, as numbers not text
    assert [r["Frames"] for r in library.video_rows()] == ["100", "10", "9"]
    library.videos.selectRow(0)
    assert library.selected_video_ids() == [library.video_model.video_id(0)]
    assert "a.mp4" in library.details.toPlainText()
