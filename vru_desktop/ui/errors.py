"""Errors nobody caught in the window: logged with their traceback and shown in one dialog.

``install(window)`` replaces ``sys.excepthook`` (exceptions in Qt slots and event handlers end there)
and ``threading.excepthook`` (exceptions in worker threads). Each error is logged; the dialog, in the
window, says what happened and names the log file. While it is open, further errors only go to the
log, so a failure that repeats every frame does not bury the window in dialogs.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from vru_desktop.settings import unexpected_error_message

log = logging.getLogger(__name__)


class ErrorReporter(QObject):
    """Logs uncaught exceptions from any thread and shows them in the window's thread."""

    _reported = Signal(str)

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: QMessageBox | None = None
        self._reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def _excepthook(
        self, kind: type[BaseException], value: BaseException, traceback: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, traceback)
            return
        log.error("unexpected error", exc_info=(kind, value, traceback))
        self._report(value)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if issubclass(args.exc_type, SystemExit) or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        info = (args.exc_type, args.exc_value, args.exc_traceback)
        log.error("unexpected error in thread %s", name, exc_info=info)
        self._report(args.exc_value)

    def _report(self, exc: BaseException) -> None:
        with contextlib.suppress(RuntimeError):  # the window is gone (closing): the log has the error
            self._reported.emit(unexpected_error_message(exc))

    def _show(self, message: str) -> None:
        if self.dialog is not None:
            return
        self.dialog = QMessageBox(QMessageBox.Icon.Critical, "VRU Desktop", message, parent=self.window)
        self.dialog.setObjectName("unexpectedErrorDialog")
        self.dialog.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dialog.finished.connect(self._closed)
        self.dialog.open()

    def _closed(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None


def install(window: QWidget) -> ErrorReporter:
    reporter = ErrorReporter(window)
    reporter.install()
    return reporter
