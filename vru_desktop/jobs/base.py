"""A generic worker: runs a core function on its own QThread and reports through signals."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal
from sqlalchemy.exc import SQLAlchemyError

from vru_desktop.errors import Cancelled, VruError
from vru_desktop.settings import unexpected_error_message
from vru_desktop.store.db import database_failure

log = logging.getLogger(__name__)


class FunctionWorker(QObject):
    """Calls ``function(progress=..., should_cancel=...)`` off the UI thread.

    Signals: ``progress(done, total, detail)``, ``succeeded(result)``, ``failed(message)``,
    ``cancelled(message)``; ``done()`` always comes last.
    """

    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal(str)
    done = Signal()

    def __init__(self, function: Callable[..., Any]) -> None:
        super().__init__()
        self._function = function
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            result = self._function(progress=self._emit_progress, should_cancel=self._cancel.is_set)
        except Cancelled as exc:
            self.cancelled.emit(str(exc))
        except VruError as exc:
            self.failed.emit(str(exc))
        except SQLAlchemyError as exc:
            log.exception("background work failed")
            self.failed.emit(str(database_failure(exc)))
        except Exception as exc:
            log.exception("background work failed")
            self.failed.emit(unexpected_error_message(exc))
        else:
            self.succeeded.emit(result)
        finally:
            self.done.emit()

    def _emit_progress(self, done: int, total: int, detail: str) -> None:
        self.progress.emit(done, total, detail)


def start_in_thread(worker: QObject, parent: QObject | None = None) -> QThread:
    """Move ``worker`` to a new thread, start it with ``worker.run`` and clean both up at ``done``."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)  # type: ignore[attr-defined]
    worker.done.connect(thread.quit)  # type: ignore[attr-defined]
    worker.done.connect(worker.deleteLater)  # type: ignore[attr-defined]
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread
