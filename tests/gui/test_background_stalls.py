"""Work that used to block the window runs off the UI thread: each test slows the core function and
checks with a stall probe that the event loop kept running while it ran."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gui.stall_probe import STALL_LIMIT_S, stall_probe
from PySide6.QtWidgets import QDialog, QMessageBox

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.main_window import MainWindow

#: Longer than any stall the test allows, so work left on the UI thread fails it.
SLOW_S = 0.5


def slowed(function: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_S)
        return function(*args, **kwargs)

    return slow


@pytest.fixture
def window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_file_check_on_refresh(
    window: MainWindow, db, make_video, tmp_path: Path, qtbot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import vru_desktop.ui.library_view as library_view

    path = make_video("moved.mp4", 5)
    import_paths(db, [path])
    window.refresh()
    path.rename(tmp_path / "elsewhere.mp4")
    monkeypatch.setattr(library_view, "refresh_status", slowed(library_view.refresh_status))
    with stall_probe() as longest:
        window.refresh(check_files=True)
        qtbot.waitUntil(lambda: window.library.video_rows()[0]["Status"] == "missing", timeout=10_000)
        stall = longest()
    assert window.status_label.text() == "1 project · 1 video · 1 missing"
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"


def test_removing_videos(window: MainWindow, db, make_video, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import vru_desktop.ui.library_videos as library_videos

    import_paths(db, [make_video("a.mp4", 5), make_video("b.mp4", 6)])
    window.refresh()
    window.library.videos.selectAll()
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(library_videos, "remove_videos", slowed(library_videos.remove_videos))
    with stall_probe() as longest:
        window.library.video_actions.remove_action.trigger()
        qtbot.waitUntil(lambda: window.library.video_rows() == [], timeout=10_000)
        stall = longest()
    assert window.status_label.text() == "1 project · 0 videos"
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"


@pytest.fixture
def evaluation(window: MainWindow, db, tmp_path: Path, qtbot):  # type: ignore[no-untyped-def]
    """The Evaluation tab showing a run, with a second run on the same video to compare against."""
    from gui.test_evaluation_view import A, _scene

    from vru_desktop.store.models import DetectionEvent, TestSession

    video_id, run_id = _scene(db, tmp_path)
    with db.transaction() as s:
        other = TestSession(video_id=video_id, config={"conf": 0.25}, status="completed")
        s.add(other)
        s.flush()
        for frame in range(5):
            s.add(
                DetectionEvent(
                    session_id=other.id,
                    video_id=video_id,
                    frame_number=frame,
                    timestamp=frame / 10,
                    vru_type="pedestrian",
                    confidence=0.8,
                    x1=A[0],
                    y1=A[1],
                    x2=A[2],
                    y2=A[3],
                )
            )
    window.evaluation.view.refresh_runs()
    window.show_workspace(window.evaluation)
    view = window.evaluation.view
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        view.show_run(run_id)
    return view


def test_evaluation_compare(evaluation, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import vru_desktop.ui.evaluation.compare_panel as compare_module

    view = evaluation
    monkeypatch.setattr(compare_module, "compare_runs", slowed(compare_module.compare_runs))
    with stall_probe() as longest:
        view.compare.compare_combo.setCurrentIndex(1)
        qtbot.waitUntil(lambda: view.compare.comparison is not None, timeout=10_000)
        stall = longest()
    assert view.compare.compare_label.text().startswith(f"Run #{view.current_run_id()} against run #")
    assert view.compare.compare_table.rowCount() == len(view.compare.comparison.differences) > 0
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"


def test_evaluation_recalculate(evaluation, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import vru_desktop.ui.evaluation.view as view_module

    view = evaluation
    monkeypatch.setattr(view_module, "link_detection_events", slowed(view_module.link_detection_events))
    with qtbot.waitSignal(view.loaded, timeout=30_000), stall_probe() as longest:
        view.recalculate()
        # recalculated: the run is evaluated again (and redrawn, which is not measured here)
        qtbot.waitUntil(lambda: view.summary.text().startswith("Evaluating run"), timeout=10_000)
        stall = longest()
    assert "linked 8 annotations" in view.statistics_label.text()
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"


def test_evaluation_report(evaluation, tmp_path: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import vru_desktop.ui.evaluation.view as view_module

    view = evaluation
    out = tmp_path / "report.html"
    monkeypatch.setattr(view_module, "write_report", slowed(view_module.write_report))
    with stall_probe() as longest:
        view.export_report(str(out))
        qtbot.waitUntil(lambda: view.statistics_label.text().startswith("Report written to"), timeout=10_000)
        stall = longest()
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"


def test_dataset_manager_row_load(window: MainWindow, db, make_video, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import vru_desktop.ui.datasets.manager as manager_module
    from vru_desktop.ui.datasets.workspace import dataset_manager

    manager = dataset_manager(window)
    window.show_workspace(manager)
    qtbot.waitUntil(lambda: manager.model.rowCount() == 0 and not manager._ops.busy())
    import_paths(db, [make_video("a.mp4", 5), make_video("b.mp4", 6)])
    monkeypatch.setattr(manager_module, "load_rows", slowed(manager_module.load_rows))
    with stall_probe() as longest:
        with qtbot.waitSignal(manager.rowsChanged, timeout=10_000):
            manager.refresh()
        stall = longest()
    assert manager.model.rowCount() == 2
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"


def test_model_registration(db, data_dir: Path, shared_models: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gui.test_runs import MODEL

    import vru_desktop.ui.runs.config_dialog as config_dialog

    dialog = config_dialog.RunConfigDialog(db, resolve_locations(data_dir).ensure(), video_count=1)
    qtbot.addWidget(dialog)
    dialog.show()

    def choose_the_folder(picker: config_dialog.ModelFileDialog) -> int:
        picker.chosen = shared_models / MODEL
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(config_dialog.ModelFileDialog, "exec", choose_the_folder)
    monkeypatch.setattr(config_dialog, "register_model", slowed(config_dialog.register_model))
    with stall_probe() as longest:
        dialog.choose_button.click()
        qtbot.waitUntil(lambda: isinstance(dialog.model_box.currentData(), int), timeout=30_000)
        stall = longest()
    assert dialog.model_box.currentText().startswith(f"{MODEL}  (openvino, ")
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"


def test_import_dialog_reads_the_dataset(
    window: MainWindow, db, make_video, tmp_path: Path, qtbot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import vru_desktop.ui.datasets.import_dialog as import_dialog
    from vru_desktop.ui.datasets import actions

    [outcome] = import_paths(db, [make_video("walk.mp4", frames=4, size=(64, 48))])
    gt = tmp_path / "walk" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,1,1,1,5,5,1,1,1\n2,1,2,1,5,5,1,1,1\n")
    dialog = actions.open_import(window)
    dialog.format.setCurrentIndex(dialog.format.findData("mot"))
    dialog.path.setText(str(gt))
    dialog.video.setCurrentIndex(dialog.video.findData(outcome.video_id))
    monkeypatch.setattr(import_dialog, "read_dataset", slowed(import_dialog.read_dataset))
    with stall_probe() as longest:
        dialog.next_button.click()
        qtbot.waitUntil(lambda: dialog.mapping_dialog is not None, timeout=10_000)
        stall = longest()
    assert dialog.mapping_dialog.isVisible() and dialog.status.text().startswith("Read 2 boxes")
    dialog.mapping_dialog.reject()
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"


def test_frame_folder_scan_on_drop(window: MainWindow, db, tmp_path: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import cv2
    import numpy as np
    from gui.test_main_window import send_drop
    from PySide6.QtWidgets import QInputDialog

    import vru_desktop.ui.library_import as library_import

    folder = tmp_path / "kitti_0004"
    folder.mkdir()
    for index in range(4):
        cv2.imwrite(str(folder / f"{index:06d}.png"), np.full((30, 40, 3), index * 25, np.uint8))
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *_args: (12.5, True))
    monkeypatch.setattr(library_import, "sequences_needing_fps", slowed(library_import.sequences_needing_fps))
    with stall_probe() as longest:
        send_drop(window, [folder])
        qtbot.waitUntil(lambda: window.library.importer.last_import is not None, timeout=10_000)
        stall = longest()
    qtbot.waitUntil(lambda: window.library.importer.last_import.summary is not None, timeout=30_000)
    assert [row[0] for row in window.library.importer.last_import.summary.rows()] == ["imported"]
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms"
