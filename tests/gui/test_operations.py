"""The background-work helper: callbacks on the UI thread, newest-only, failures, cancel, shutdown."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pytest
from PySide6.QtCore import QObject, QThread
from PySide6.QtWidgets import QApplication

from vru_desktop.errors import Cancelled, VruError
from vru_desktop.jobs.operations import Operations, Task, wait_for_all


@pytest.fixture
def ops(qtbot) -> Operations:  # type: ignore[no-untyped-def]
    owner = QObject()
    operations = Operations(owner, "test")
    yield operations
    wait_for_all(5)
    owner.deleteLater()


def on_ui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


def test_callbacks_run_on_the_ui_thread_even_as_lambdas(ops: Operations, qtbot) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, object, bool]] = []
    worker_threads: list[bool] = []

    def work(task: Task) -> int:
        worker_threads.append(on_ui_thread())
        for i in range(3):
            task.progress(i, 3, f"step {i}")
        return 42

    ops.run(
        work,
        on_success=lambda result: seen.append(("success", result, on_ui_thread())),
        on_progress=lambda done, total, detail: seen.append(
            ("progress", (done, total, detail), on_ui_thread())
        ),
        on_done=lambda: seen.append(("done", None, on_ui_thread())),
    )
    qtbot.waitUntil(lambda: not ops.busy())
    assert worker_threads == [False]
    assert [kind for kind, _, _ in seen] == ["progress"] * 3 + ["success", "done"]
    assert seen[2][1] == (2, 3, "step 2") and seen[3][1] == 42
    assert all(ui for _, _, ui in seen)


def test_newest_only_runs_the_last_request_and_drops_stale_results(ops: Operations, qtbot) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()
    ran: list[int] = []
    delivered: list[int] = []

    def work(n: int) -> int:
        ran.append(n)
        if n == 0:
            release.wait(5)
        return n

    for n in range(5):
        ops.run(lambda _task, n=n: work(n), on_success=delivered.append, newest="frame")
        if n == 0:
            qtbot.waitUntil(lambda: ran == [0])
    release.set()
    qtbot.waitUntil(lambda: not ops.busy("frame"))
    assert ran == [0, 4]  # 1-3 were replaced while waiting
    assert delivered == [4]  # 0 finished after newer requests: stale


def test_a_result_finished_but_not_yet_delivered_is_stale_for_a_newer_request(ops: Operations, qtbot) -> None:  # type: ignore[no-untyped-def]
    finished = threading.Event()
    delivered: list[int] = []

    def first(_task: Task) -> int:
        finished.set()
        return 1

    ops.run(first, on_success=delivered.append, newest="frame")
    assert finished.wait(5)
    time.sleep(0.2)  # its worker is done; its result waits in the event queue
    ops.run(lambda _task: 2, on_success=delivered.append, newest="frame")
    qtbot.waitUntil(lambda: not ops.busy("frame"))
    assert delivered == [2]


def test_failures_say_what_happened(ops: Operations, qtbot, caplog) -> None:  # type: ignore[no-untyped-def]
    messages: list[str] = []

    def user_mistake(_task: Task) -> None:
        raise VruError("The file is not a video. Choose another.")

    def bug(_task: Task) -> None:
        raise KeyError("frame")

    ops.run(user_mistake, on_failure=messages.append)
    qtbot.waitUntil(lambda: not ops.busy())
    with caplog.at_level(logging.ERROR):
        ops.run(bug, on_failure=messages.append)
        qtbot.waitUntil(lambda: not ops.busy())
    assert messages[0] == "The file is not a video. Choose another."
    assert messages[1].startswith("Unexpected error: 'frame'. Details are in the log file")
    assert "KeyError: 'frame'" in caplog.text  # the traceback is logged


def test_a_failure_nobody_handles_goes_to_the_error_hook(ops: Operations, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    hooked: list[tuple[type, bool]] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, _value, _tb: hooked.append((kind, on_ui_thread())))
    ops.run(lambda _task: 1 / 0)
    qtbot.waitUntil(lambda: not ops.busy())
    assert hooked == [(ZeroDivisionError, True)]


def test_cancel_asks_the_function_and_reports_cancelled(ops: Operations, qtbot) -> None:  # type: ignore[no-untyped-def]
    started = threading.Event()
    cancelled: list[str] = []

    def work(task: Task) -> None:
        started.set()
        while not task.cancelled():
            time.sleep(0.01)
        raise Cancelled("Import cancelled.")

    task = ops.run(work, on_cancelled=cancelled.append)
    assert started.wait(5)
    task.cancel()
    qtbot.waitUntil(lambda: not ops.busy())
    assert cancelled == ["Import cancelled."]


def test_wait_for_all_stops_work_and_delivers_nothing(ops: Operations, qtbot) -> None:  # type: ignore[no-untyped-def]
    started = threading.Event()
    finished: list[str] = []

    def work(task: Task) -> str:
        started.set()
        while not task.cancelled():
            time.sleep(0.01)
        finished.append("stopped")
        return "late"

    delivered: list[object] = []
    ops.run(work, on_success=delivered.append, on_done=lambda: delivered.append("done"))
    assert started.wait(5)
    assert wait_for_all(5)
    assert finished == ["stopped"]
    qtbot.wait(50)
    assert delivered == []
    assert not ops.busy()
