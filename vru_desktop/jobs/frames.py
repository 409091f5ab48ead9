"""Work the viewer asks for again and again, where only the newest request matters.

A :class:`NewestOnlyWorker` runs one task at a time on its own thread. Submitting a task while one
runs replaces whatever was waiting: a drag along the timeline asks for fifty frames while one
decodes, and only the last one asked for is decoded next. A task that finished after a newer one was
submitted is stale: its result is not reported. The viewer uses one worker for frames (the reader
itself stays free of Qt) and one for full timeline summaries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from vru_desktop.errors import VruError
from vru_desktop.settings import unexpected_error_message

log = logging.getLogger(__name__)


class NewestOnlyWorker(QObject):
    """Runs the newest submitted task off the UI thread; reports it unless a newer one was submitted.

    Signals (delivered on the thread this object lives in): ``finished(ticket, result)`` and
    ``failed(ticket, message)``, with the ticket :meth:`submit` returned.
    """

    finished = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._condition = threading.Condition()
        self._waiting: tuple[int, Callable[[], Any]] | None = None
        self._ticket = 0
        self._running: int | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, task: Callable[[], Any]) -> int:
        """Run ``task()`` next, in place of any task still waiting; returns its ticket."""
        with self._condition:
            if self._closed:
                raise RuntimeError(f"{self._name} worker is closed")
            self._ticket += 1
            self._waiting = (self._ticket, task)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._condition.notify()
            return self._ticket

    def cancel(self) -> None:
        """Forget the waiting task; the running one, if any, finishes unreported."""
        with self._condition:
            self._ticket += 1
            self._waiting = None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread once its running task is done (waiting at most ``timeout`` seconds)."""
        with self._condition:
            self._closed = True
            self._waiting = None
            self._condition.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._condition:
                while self._waiting is None and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                assert self._waiting is not None
                ticket, task = self._waiting
                self._waiting = None
                self._running = ticket
            try:
                result = task()
            except VruError as exc:
                self._report(ticket, self.failed, str(exc))
            except Exception as exc:
                log.exception("%s task failed", self._name)
                self._report(ticket, self.failed, unexpected_error_message(exc))
            else:
                self._report(ticket, self.finished, result)
            finally:
                with self._condition:
                    self._running = None

    def _report(self, ticket: int, signal: Any, value: object) -> None:
        with self._condition:
            current = ticket == self._ticket and not self._closed
        if current:
            try:
                signal.emit(ticket, value)
            except RuntimeError:  # the receiving window is gone: nobody waits for the result
                log.debug("%s result dropped: its receiver was deleted", self._name)
