"""The one way the window runs work off the UI thread.

A widget owns an :class:`Operations` and calls :meth:`Operations.run` with a function of one
argument, the :class:`Task` (its ``progress`` and ``cancelled`` go to core functions as
``progress=`` and ``should_cancel=``). The function runs on a worker thread; ``on_success``,
``on_failure``, ``on_progress``, ``on_cancelled`` and ``on_done`` run on the UI thread, so they may
be lambdas that touch widgets. ``newest="purpose"`` runs one task of that purpose at a time: a newer
request replaces the one waiting, and a result that a newer request made stale is never delivered.

Failures: a :class:`~vru_desktop.errors.VruError` gives ``on_failure`` its message, a database error
its one-line reason (:func:`~vru_desktop.store.db.database_failure`); an unexpected exception is
logged with its traceback and gives ``on_failure``
:func:`~vru_desktop.settings.unexpected_error_message`; without ``on_failure``, either goes to
``sys.excepthook``, where the window's error reporter (``ui/errors.py``) shows it. A
:class:`~vru_desktop.errors.Cancelled` raised by the function goes to ``on_cancelled``.

:func:`wait_for_all` (the window closing) cancels every task, drops its results and waits for its
thread.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from sqlalchemy.exc import SQLAlchemyError

from vru_desktop.errors import Cancelled, VruError
from vru_desktop.settings import unexpected_error_message
from vru_desktop.store.db import database_failure

log = logging.getLogger(__name__)

_lock = threading.RLock()
_live: set[Task] = set()  # tasks submitted and not yet finished on their thread
_threads: set[threading.Thread] = set()


class Task:
    """One operation. The worker calls :meth:`progress` and :meth:`cancelled`; anyone may :meth:`cancel`."""

    def __init__(
        self, owner: Operations, function: Callable[[Task], Any], callbacks: _Callbacks, purpose: str | None
    ) -> None:
        self.owner = owner
        self.function = function
        self.callbacks = callbacks
        self.purpose = purpose
        self._cancel = threading.Event()
        self.dropped = False  # its results are no longer wanted (newer request, cancel, shutdown)

    def cancel(self) -> None:
        """Ask the function to stop (it checks :meth:`cancelled`); callbacks still come."""
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def drop(self) -> None:
        """Cancel and deliver nothing more."""
        self.dropped = True
        self._cancel.set()

    def progress(self, done: int, total: int, detail: str = "") -> None:
        if self.callbacks.on_progress is not None and not self.dropped:
            self.owner._post(self, "progress", (done, total, detail))


@dataclass
class _Callbacks:
    on_success: Callable[[Any], None] | None = None
    on_failure: Callable[[str], None] | None = None
    on_progress: Callable[[int, int, str], None] | None = None
    on_cancelled: Callable[[str], None] | None = None
    on_done: Callable[[], None] | None = None


@dataclass
class _Lane:
    """One purpose's task waiting to run, and the thread that runs them one after another."""

    waiting: Task | None = None
    thread: threading.Thread | None = None


class Operations(QObject):
    """Runs a widget's background work; create one per widget (``Operations(self)``)."""

    _delivered = Signal(object)

    def __init__(self, parent: QObject, name: str = "") -> None:
        super().__init__(parent)
        self._name = name or type(parent).__name__
        self._lanes: dict[str, _Lane] = {}
        self._pending: set[Task] = set()  # submitted, final callback not yet run (UI thread only)
        # Queued: the slot runs on this object's (the UI) thread, whichever thread emitted.
        self._delivered.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.destroyed.connect(partial(_drop_all, self._pending))

    def run(
        self,
        function: Callable[[Task], Any],
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_cancelled: Callable[[str], None] | None = None,
        on_done: Callable[[], None] | None = None,
        newest: str | None = None,
    ) -> Task:
        """Run ``function(task)`` on a worker thread; with ``newest``, in place of that purpose's
        waiting task, and making every older one of that purpose stale. Call from the UI thread."""
        callbacks = _Callbacks(on_success, on_failure, on_progress, on_cancelled, on_done)
        task = Task(self, function, callbacks, newest)
        self._pending.add(task)
        with _lock:
            _live.add(task)
        if newest is None:
            _start_thread(partial(self._execute, task), f"{self._name}-operation")
            return task
        # Every older task of this purpose is stale: waiting, running, or finished with its result
        # still on the way to this thread.
        for older in self._pending:
            if older.purpose == newest and older is not task:
                older.drop()
        lane = self._lanes.setdefault(newest, _Lane())
        with _lock:
            if lane.waiting is not None:
                _live.discard(lane.waiting)
                self._pending.discard(lane.waiting)
            lane.waiting = task
            if lane.thread is None:
                lane.thread = _start_thread(partial(self._lane_loop, lane), f"{self._name}-{newest}")
        return task

    def cancel(self, purpose: str | None = None) -> None:
        """Drop the tasks of ``purpose`` (all tasks when ``None``): nothing more is delivered for them."""
        with _lock:
            for name, lane in self._lanes.items():
                if lane.waiting is not None and purpose in (None, name):
                    _live.discard(lane.waiting)
                    self._pending.discard(lane.waiting)
                    lane.waiting = None
        for task in self._pending:
            if purpose in (None, task.purpose):
                task.drop()

    def busy(self, purpose: str | None = None) -> bool:
        """Whether a task (of ``purpose``) has not yet had its last callback."""
        return any(purpose is None or task.purpose == purpose for task in self._pending)

    # -- worker side ------------------------------------------------------------------------------
    def _lane_loop(self, lane: _Lane) -> None:
        while True:
            with _lock:
                task = lane.waiting
                lane.waiting = None
                if task is None:
                    lane.thread = None
                    return
            self._execute(task)

    def _execute(self, task: Task) -> None:
        try:
            if task.dropped:
                return
            result = task.function(task)
        except Cancelled as exc:
            self._post(task, "cancelled", str(exc))
        except Exception as exc:
            if task.callbacks.on_failure is None:
                self._post(task, "error", exc)
            elif isinstance(exc, VruError):
                self._post(task, "failed", str(exc))
            elif isinstance(exc, SQLAlchemyError):
                log.exception("%s: background work failed", self._name)
                self._post(task, "failed", str(database_failure(exc)))
            else:
                log.exception("%s: background work failed", self._name)
                self._post(task, "failed", unexpected_error_message(exc))
        else:
            self._post(task, "succeeded", result)
        finally:
            self._post(task, "done", None)
            with _lock:
                _live.discard(task)

    def _post(self, task: Task, kind: str, value: object) -> None:
        with contextlib.suppress(RuntimeError):  # this object (its widget) is gone: nobody waits
            self._delivered.emit((task, kind, value))

    # -- UI side ----------------------------------------------------------------------------------
    def _deliver(self, message: tuple[Task, str, Any]) -> None:
        task, kind, value = message
        if kind == "done":
            was_pending = task in self._pending
            self._pending.discard(task)
            if was_pending and not task.dropped and task.callbacks.on_done is not None:
                task.callbacks.on_done()
            return
        if task.dropped:
            if kind == "error":
                log.error("%s: dropped background work failed", self._name, exc_info=value)
            return
        callbacks = task.callbacks
        if kind == "error":
            sys.excepthook(type(value), value, value.__traceback__)
        elif kind == "progress":
            assert callbacks.on_progress is not None
            callbacks.on_progress(*value)
        elif kind == "succeeded" and callbacks.on_success is not None:
            callbacks.on_success(value)
        elif kind == "failed" and callbacks.on_failure is not None:
            callbacks.on_failure(value)
        elif kind == "cancelled" and callbacks.on_cancelled is not None:
            callbacks.on_cancelled(value)


def _start_thread(target: Callable[[], None], name: str) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            with _lock:
                _threads.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _lock:
        _threads.add(thread)
    thread.start()
    return thread


def _drop_all(tasks: set[Task]) -> None:
    for task in list(tasks):
        task.drop()


def wait_for_all(timeout: float = 30.0) -> bool:
    """Cancel every task, deliver nothing more and wait (at most ``timeout`` seconds in all) for
    their threads; whether all ended."""
    with _lock:
        for task in _live:
            task.drop()
        threads = list(_threads)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
        if thread.is_alive():
            log.warning("background work %s did not end in time", thread.name)
    return not any(thread.is_alive() for thread in threads)
