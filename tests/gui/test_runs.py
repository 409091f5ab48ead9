"""Detection runs in the window: the QThread worker (pause/resume/stop), the queue, the Runs tab,
the run dialog offline, the model manager's class map editor, and no torch at window start."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QDialog, QMessageBox
from sqlalchemy import func, select
from test_review_dialogs import double_click_in_model_dialog

from vru_desktop.detection.models import register_model, trust_question
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.detection.runs import create_run, queued_runs
from vru_desktop.errors import StoreError
from vru_desktop.jobs.detection import DetectionWorker
from vru_desktop.jobs.queue import RunQueue
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import Locations, resolve_locations
from vru_desktop.store.models import DetectionEvent, DetectorModel, TestSession, Video
from vru_desktop.ui.app import build_window
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.runs.config_dialog import RunConfigDialog
from vru_desktop.ui.runs.models_dialog import ModelManagerDialog
from vru_desktop.ui.runs.panel import MESSAGE, RunsPanel

REPO = Path(__file__).resolve().parents[2]
MODEL = "yolo11n_int8_openvino_model"


@pytest.fixture
def locations(data_dir: Path) -> Locations:
    return resolve_locations(data_dir).ensure()


@pytest.fixture(scope="module")
def street_clip(make_street_clip: Callable[[int], Path]) -> Path:
    """40 frames of the shared street film (640x360)."""
    return make_street_clip(40)


@pytest.fixture
def window(db, locations: Locations, qtbot) -> Iterator[MainWindow]:
    main = build_window(db, locations)
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()


def import_one(db, path: Path) -> int:
    (outcome,) = import_paths(db, [path])
    assert outcome.video_id is not None, outcome.message
    return outcome.video_id


class Recorder(QObject):
    """Receives a worker's signals on the test's (main) thread, as the window does."""

    def __init__(self, worker: DetectionWorker) -> None:
        super().__init__()
        self.states: list[str] = []
        self.committed: list[tuple[int, int, int, int, int]] = []
        self.progress: list[tuple] = []
        self.summaries: list = []
        self.ended = False
        self.thread_finished = False
        worker.stateChanged.connect(self.on_state)
        worker.detections.connect(self.on_detections)
        worker.progress.connect(self.on_progress)
        worker.finished.connect(self.on_finished)
        worker.ended.connect(self.on_ended)

    @Slot(int, str)
    def on_state(self, _session_id: int, state: str) -> None:
        self.states.append(state)

    @Slot(int, int, int, int, int)
    def on_detections(self, *args: int) -> None:
        self.committed.append(args)

    @Slot(int, int, int, int, float, float)
    def on_progress(self, *args: float) -> None:
        self.progress.append(args)

    @Slot(object)
    def on_finished(self, summary: object) -> None:
        self.summaries.append(summary)

    @Slot(int)
    def on_ended(self, _session_id: int) -> None:
        self.ended = True

    @Slot()
    def on_thread_finished(self) -> None:
        self.thread_finished = True


def test_worker_pauses_resumes_and_stops_within_a_second(
    db, locations: Locations, shared_models: Path, street_clip: Path, qtbot
) -> None:
    model = register_model(db, shared_models / MODEL)
    video_id = import_one(db, street_clip)
    run = create_run(db, video_id, model.id, RunConfig(batch=2, commit_frames=4))
    worker = DetectionWorker(db, locations, run.id, video_id)
    seen = Recorder(worker)
    thread = worker.start()  # referenced until the end: a running QThread must not be collected
    thread.finished.connect(seen.on_thread_finished)
    qtbot.waitUntil(lambda: len(seen.progress) > 0, timeout=60_000)
    worker.pause()
    qtbot.waitUntil(lambda: seen.states[-1:] == ["paused"], timeout=10_000)
    paused = db.session().get(TestSession, run.id)
    assert paused.status == "paused"
    qtbot.wait(500)
    assert db.session().get(TestSession, run.id).frames_processed == paused.frames_processed
    worker.resume()
    qtbot.waitUntil(lambda: seen.states[-1:] == ["running"], timeout=10_000)
    count = len(seen.progress)
    qtbot.waitUntil(lambda: len(seen.progress) > count, timeout=30_000)
    asked = time.monotonic()
    worker.stop()
    qtbot.waitUntil(lambda: seen.ended, timeout=10_000)
    stop_seconds = time.monotonic() - asked
    qtbot.waitUntil(lambda: seen.thread_finished, timeout=5_000)
    assert stop_seconds < 1.0, f"stop took {stop_seconds:.2f} s"
    (summary,) = seen.summaries
    assert summary.status == "stopped"
    assert seen.states == ["running", "paused", "running", "stopped"]
    stored = db.session().get(TestSession, run.id)
    assert stored.status == "stopped" and 0 <= stored.last_committed_frame < 39
    with db.session() as session:
        where = DetectionEvent.session_id == run.id
        events = session.scalar(select(func.count()).where(where))
        last = session.scalar(select(func.max(DetectionEvent.frame_number)).where(where))
    assert events == sum(c[4] for c in seen.committed) == summary.total_detections > 0
    assert last <= stored.last_committed_frame == seen.committed[-1][3]
    assert all(c[0] == video_id and c[1] == run.id for c in seen.committed)
    done, total = seen.progress[-1][1], seen.progress[-1][2]
    assert total == 40 and 0 < done < 40


def test_detect_all_videos_in_the_project_runs_one_at_a_time_and_relays_detections(
    window: MainWindow, db, shared_models: Path, make_video, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_model(db, shared_models / MODEL)
    first = import_one(db, make_video("a.mp4", frames=6, size=(320, 240)))
    second = import_one(db, make_video("b.mp4", frames=8, size=(320, 240)))
    window.refresh()
    project_id = db.session().get(Video, first).project_id
    window.library.select_project(project_id)
    workspace = window.detection  # type: ignore[attr-defined]

    def accept_dialog(dialog: RunConfigDialog) -> int:
        dialog.stride.setValue(2)
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(RunConfigDialog, "exec", accept_dialog)
    order: list[tuple[str, int]] = []
    workspace.queue.runStarted.connect(lambda sid: order.append(("start", sid)))
    workspace.queue.runFinished.connect(lambda sid, _status: order.append(("end", sid)))
    relayed: list[tuple[int, int]] = []
    window.detectionsChanged.connect(lambda vid, sid: relayed.append((vid, sid)))
    workspace.detect_project_action.trigger()
    assert window.tabs.currentWidget() is workspace.panel
    qtbot.waitUntil(lambda: len([o for o in order if o[0] == "end"]) == 2, timeout=90_000)
    runs = db.session().scalars(select(TestSession).order_by(TestSession.id)).all()
    assert [(r.video_id, r.status, r.config["stride"]) for r in runs] == [
        (first, "completed", 2),
        (second, "completed", 2),
    ]
    assert order == [("start", runs[0].id), ("end", runs[0].id), ("start", runs[1].id), ("end", runs[1].id)]
    assert {(first, runs[0].id), (second, runs[1].id)} <= set(relayed)
    panel = workspace.panel
    qtbot.waitUntil(lambda: panel.items[runs[1].id].text(3) == "completed", timeout=5_000)
    assert panel.bars[runs[0].id].value() == 1000
    assert db.session().get(Video, second).processing_status == "completed"


def test_runs_left_running_by_a_crash_show_as_interrupted_and_resume(
    db, locations: Locations, shared_models: Path, make_video, qtbot
) -> None:
    model = register_model(db, shared_models / MODEL)
    video_id = import_one(db, make_video("c.mp4", frames=6, size=(320, 240)))
    run = create_run(db, video_id, model.id, RunConfig())
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with db.transaction() as session:
        stored = session.get(TestSession, run.id)
        stored.status = "running"
        stored.provenance = {"owner": {"pid": gone.pid, "host": os.uname().nodename}}
    main = build_window(db, locations)
    qtbot.addWidget(main)
    panel: RunsPanel = main.detection.panel  # type: ignore[attr-defined]
    assert panel.items[run.id].text(3) == "interrupted"
    assert "stopped unexpectedly" in panel.items[run.id].text(MESSAGE)
    qtbot.waitUntil(lambda: main.detection.resume_dialog is not None)  # type: ignore[attr-defined]
    dialog = main.detection.resume_dialog  # type: ignore[attr-defined]
    assert f"run {run.id} on c.mp4: no frame was saved yet" in dialog.text()
    next(b for b in dialog.buttons() if b.text() == "Later").click()  # it stays in the Runs tab
    assert panel.items[run.id].text(3) == "interrupted"
    panel.select(run.id)
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()
    with qtbot.waitSignal(main.detection.queue.runFinished, timeout=60_000):  # type: ignore[attr-defined]
        panel.resume_button.click()
    assert db.session().get(TestSession, run.id).status == "completed"
    main.close()


def test_the_queue_survives_a_restart_and_queued_runs_can_be_cancelled(
    db, locations: Locations, shared_models: Path, make_video, qtbot
) -> None:
    model = register_model(db, shared_models / MODEL)
    videos = [import_one(db, make_video(f"v{i}.mp4", frames=4 + i, size=(320, 240))) for i in range(3)]
    before = RunQueue(db, locations)
    before.hold(True)
    ids = before.enqueue_videos(videos, model.id, RunConfig())
    assert queued_runs(db) == ids and not before.active
    before.shutdown()

    after = RunQueue(db, locations)  # the next start
    after.hold(True)
    panel = RunsPanel(after)
    qtbot.addWidget(panel)
    assert [panel.items[i].text(3) for i in ids] == ["queued"] * 3
    panel.select(ids[1])
    assert panel.cancel_button.isEnabled()
    panel.cancel_button.click()
    assert queued_runs(db) == [ids[0], ids[2]]
    assert panel.items[ids[1]].text(3) == "stopped"
    finished: list[int] = []
    after.runFinished.connect(lambda sid, _status: finished.append(sid))
    after.hold(False)
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=60_000)
    assert finished == [ids[0], ids[2]]
    after.shutdown()


def test_run_dialog_offline_offers_choose_model_file(
    db, locations: Locations, shared_models: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    dialog = RunConfigDialog(db, locations, video_count=3)
    qtbot.addWidget(dialog)
    assert dialog.model_box.currentData() == "yolo11n.pt"
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert not dialog.error_label.isHidden()
    assert dialog.error_label.text().startswith(
        "yolo11n.pt is not on this computer and cannot be downloaded without a network connection; "
        "choose a model file."
    )
    assert dialog.choose_button.text() == "Choose model file…" and dialog.choose_button.isDefault()

    double_click_in_model_dialog(monkeypatch, shared_models, MODEL)  # the OpenVINO folder itself
    dialog.choose_button.click()
    qtbot.waitUntil(lambda: dialog.error_label.isHidden(), timeout=30_000)  # added off the UI thread
    dialog.conf.setValue(0.4)
    dialog.tracker.setCurrentIndex(dialog.tracker.findData("bytetrack"))
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    model = db.session().get(DetectorModel, dialog.model_id)
    assert model.format == "openvino" and Path(model.path) == (shared_models / MODEL).resolve()
    config = dialog.config()
    assert (config.conf, config.tracker) == (0.4, "bytetrack")
    again = RunConfigDialog(db, locations, video_count=1)  # remembers the last choice
    qtbot.addWidget(again)
    assert again.model_box.currentData() == model.id and again.conf.value() == 0.4


def test_model_manager_edits_the_class_map_and_asks_before_trusting_pt_code(
    db, locations: Locations, shared_models: Path, tmp_path: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = ModelManagerDialog(db, locations)
    qtbot.addWidget(dialog)
    assert dialog.details.text() == "No model yet: add a model file."
    assert dialog.add_path(shared_models / MODEL)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 80, timeout=30_000)  # added off the UI thread
    model_id = db.session().scalar(select(DetectorModel.id))
    assert dialog.class_map_in_table()["bicycle"] == "vehicle:cyclist"
    assert "SHA-256" in dialog.details.text()
    dialog.set_mapping("dog", "pedestrian")
    dialog.set_mapping("person", None)
    dialog.save_button.click()
    stored = db.session().get(DetectorModel, model_id)
    assert stored.class_map["dog"] == "pedestrian" and stored.class_map["person"] is None

    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def answer(_parent, _title, text, *_args):  # type: ignore[no-untyped-def]
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr("vru_desktop.ui.runs.config_dialog.QMessageBox.warning", answer)
    marker = tmp_path / "payload-ran.txt"
    pt = tmp_path / "someone_elses.pt"
    with zipfile.ZipFile(pt, "w") as archive:  # the layout torch.save writes, with a pickle that runs code
        archive.writestr("someone_elses/data.pkl", pickle.dumps(_Payload(marker), protocol=2))
    assert dialog.add_path(pt) is False
    assert "names Python code (builtins.exec)" in asked[0]
    assert db.session().scalar(select(func.count()).select_from(DetectorModel)) == 1
    assert dialog.add_path(pt) is True  # trusted this time, and remembered
    qtbot.waitUntil(lambda: db.session().scalar(select(func.count()).select_from(DetectorModel)) == 2)
    assert trust_question(db, pt) is None
    assert len(asked) == 2 and not marker.exists()  # adding never loads it


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def test_the_window_starts_without_torch_or_ultralytics() -> None:
    code = (
        "import sys\n"
        "import vru_desktop.ui.main_window, vru_desktop.ui.workspaces, vru_desktop.ui.runs.workspace\n"
        "import vru_desktop.jobs.queue, vru_desktop.cli.detection\n"
        "heavy = [m for m in ('torch', 'ultralytics', 'openvino') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_cluster_line_is_read_off_the_ui_thread_and_only_polled_while_shown(
    window: MainWindow, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = window.detection.panel  # type: ignore[attr-defined]
    asked: list[bool] = []

    def lost(_db: object) -> str:
        asked.append(True)
        raise StoreError("The connection to the library's server was lost.")

    monkeypatch.setattr("vru_desktop.ui.runs.panel.cluster_choice", lost)
    panel.refresh_cluster()  # a store failure is shown on the line, not raised in the event loop
    qtbot.waitUntil(lambda: "was lost" in panel.cluster_label.text(), timeout=10_000)
    window.close()
    asked.clear()
    panel._poll_cluster()  # a closed window's timer asks nothing (its store may be gone)
    assert asked == []
