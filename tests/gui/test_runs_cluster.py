"""The window with detection on a real Ray cluster (a head and two worker nodes on this machine): Detect
All hands every video to the cluster at once with live progress and each run's node, the Runs tab shows
the cluster; closing the window leaves cluster runs interrupted and Resume continues them; an
unreachable cluster holds the queue with a clear message and loses nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog
from sqlalchemy import select

from vru_desktop.campaigns.definition import create_campaign, get_campaign
from vru_desktop.detection.models import register_model
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.detection.runs import create_run, queued_runs
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import CLUSTER, Locations, resolve_locations, set_setting
from vru_desktop.store.models import TestSession, Video
from vru_desktop.ui.app import build_window
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.runs.config_dialog import RunConfigDialog
from vru_desktop.ui.runs.panel import NODE, STATE, RunsPanel

pytestmark = pytest.mark.slow

MODEL = "yolo11n_int8_openvino_model"


@pytest.fixture
def locations(data_dir: Path) -> Locations:
    return resolve_locations(data_dir).ensure()


@pytest.fixture(scope="module")
def clips(make_street_clip: Callable[[int], Path]) -> dict[int, Path]:
    return {frames: make_street_clip(frames) for frames in (6, 8, 10, 40)}


def import_one(db, path: Path) -> int:
    (outcome,) = import_paths(db, [path])
    assert outcome.video_id is not None, outcome.message
    return outcome.video_id


def open_window(db, locations: Locations, qtbot) -> MainWindow:
    main = build_window(db, locations)
    qtbot.addWidget(main)
    main.show()
    return main


@pytest.fixture
def window(db, locations: Locations, qtbot, ray_cluster: str) -> Iterator[MainWindow]:
    set_setting(db, CLUSTER, ray_cluster)
    main = open_window(db, locations, qtbot)
    yield main
    main.close()


def test_detect_all_goes_to_the_cluster_with_live_progress_and_nodes(
    window: MainWindow,
    db,
    shared_models: Path,
    clips: dict[int, Path],
    qtbot,
    monkeypatch: pytest.MonkeyPatch,
    ray_cluster: str,
) -> None:
    register_model(db, shared_models / MODEL)
    videos = [import_one(db, clips[n]) for n in (6, 8, 10)]
    window.refresh()
    window.library.select_project(db.session().get(Video, videos[0]).project_id)
    workspace = window.detection  # type: ignore[attr-defined]
    panel: RunsPanel = workspace.panel

    def accept_dialog(dialog: RunConfigDialog) -> int:
        dialog.imgsz.setValue(320)
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(RunConfigDialog, "exec", accept_dialog)
    order: list[tuple[str, int]] = []
    workspace.queue.runStarted.connect(lambda sid: order.append(("start", sid)))
    workspace.queue.runFinished.connect(lambda sid, _status: order.append(("end", sid)))
    progress: list[int] = []
    workspace.queue.runProgress.connect(lambda sid, *_: progress.append(sid))
    workspace.detect_project_action.trigger()
    qtbot.waitUntil(lambda: len([o for o in order if o[0] == "end"]) == 3, timeout=180_000)
    runs = db.session().scalars(select(TestSession).order_by(TestSession.id)).all()
    assert sorted((r.video_id, r.status) for r in runs) == [(v, "completed") for v in videos]
    assert [o[0] for o in order[:3]] == ["start"] * 3  # all handed to the cluster at once
    assert {r.id for r in runs} <= set(progress)
    for run in runs:
        assert run.provenance["worker"]["host"]
        assert panel.items[run.id].text(NODE) == run.provenance["worker"]["host"]
    panel.refresh_cluster()
    qtbot.waitUntil(lambda: "3 nodes" in panel.cluster_label.text(), timeout=30_000)
    assert panel.cluster_label.text().startswith(f"Ray cluster {ray_cluster}: 3 nodes, CPUs ")


def test_closing_the_window_leaves_cluster_runs_interrupted_and_resume_continues_them(
    db, locations: Locations, shared_models: Path, clips: dict[int, Path], qtbot, ray_cluster: str
) -> None:
    set_setting(db, CLUSTER, ray_cluster)
    model = register_model(db, shared_models / MODEL)
    video_id = import_one(db, clips[40])
    run = create_run(db, video_id, model.id, RunConfig(imgsz=320, batch=1, commit_frames=1))
    main = open_window(db, locations, qtbot)
    committed: list[int] = []
    main.detection.queue.detectionsChanged.connect(lambda _vid, sid: committed.append(sid))  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: run.id in committed, timeout=120_000)
    main.close()
    stored = db.session().get(TestSession, run.id)
    assert stored.status == "interrupted" and 0 <= stored.last_committed_frame < 39
    assert "closed while this run was going on the cluster" in stored.error_message

    again = open_window(db, locations, qtbot)
    panel: RunsPanel = again.detection.panel  # type: ignore[attr-defined]
    assert panel.items[run.id].text(STATE) == "interrupted"
    assert queued_runs(db) == []  # it waits for Resume
    panel.select(run.id)
    with qtbot.waitSignal(again.detection.queue.runFinished, timeout=120_000):  # type: ignore[attr-defined]
        panel.resume_button.click()
    finished = db.session().get(TestSession, run.id)
    assert finished.status == "completed" and finished.frames_processed == 40
    again.close()


def test_an_unreachable_cluster_holds_the_queue_with_a_message_and_loses_nothing(
    db, locations: Locations, shared_models: Path, clips: dict[int, Path], qtbot, ray_cluster: str
) -> None:
    set_setting(db, CLUSTER, "127.0.0.1:9")
    model = register_model(db, shared_models / MODEL)
    video_id = import_one(db, clips[6])
    run = create_run(db, video_id, model.id, RunConfig(imgsz=320))
    main = open_window(db, locations, qtbot)
    panel: RunsPanel = main.detection.panel  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: "Cannot reach the Ray cluster at 127.0.0.1:9" in panel.held_label.text(), timeout=30_000
    )
    assert not panel.held_label.isHidden() and not panel.start_queue_button.isHidden()
    assert queued_runs(db) == [run.id] and panel.items[run.id].text(STATE) == "queued"
    qtbot.waitUntil(lambda: "Cannot reach" in panel.cluster_label.text(), timeout=30_000)

    set_setting(db, CLUSTER, ray_cluster)  # the cluster is back (Preferences)
    with qtbot.waitSignal(main.detection.queue.runFinished, timeout=120_000):  # type: ignore[attr-defined]
        panel.start_queue_button.click()
    assert db.session().get(TestSession, run.id).status == "completed"
    assert panel.held_label.isHidden() and panel.start_queue_button.isHidden()
    main.close()


def test_a_campaign_runs_on_the_cluster_from_the_window_with_live_progress(
    window: MainWindow, db, shared_models: Path, clips: dict[int, Path], qtbot
) -> None:
    model = register_model(db, shared_models / MODEL)
    videos = [import_one(db, clips[n]) for n in (6, 8)]
    create_campaign(db, "on the cluster", model.id, RunConfig(imgsz=320), video_ids=videos)
    panel = window.campaigns  # type: ignore[attr-defined]
    window.show_workspace(panel)
    panel.refresh()
    panel.list.selectRow(0)
    lines: list[str] = []
    queue = window.detection.queue  # type: ignore[attr-defined]
    queue.runProgress.connect(lambda *_: lines.append(panel.progress.text()))
    ended: list[int] = []
    queue.runFinished.connect(lambda sid, _status: ended.append(sid))
    panel.run_selected()
    qtbot.waitUntil(lambda: len(ended) == 2, timeout=180_000)
    info = get_campaign(db, "on the cluster")
    assert info.status == "completed"
    runs = [db.session().get(TestSession, v.run_id) for v in info.videos]
    assert all(r.status == "completed" and r.provenance["worker"]["host"] for r in runs)
    assert any("running" in line for line in lines)  # the progress line followed the runs
    panel.refresh()
    qtbot.waitUntil(lambda: "2 done" in panel.progress.text(), timeout=10_000)
