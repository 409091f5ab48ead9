"""Decoding the frame asked for off the UI thread.

A far seek in a long GOP takes a while: only the newest frame asked for is decoded, a frame from an
older request is dropped, and after :data:`DECODING_HINT_MS` a "decoding…" hint is asked for. Requests
made faster than frames decode (dragging along the timeline) are coalesced to the last one.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from vru_desktop.jobs.operations import Operations
from vru_desktop.media.reader import FrameReader
from vru_desktop.ui.viewer.view import image_from_bgr

#: A frame still decoding after this long shows the "decoding…" hint.
DECODING_HINT_MS = 100


class FrameFetcher(QObject):
    """``fetched(index, image)`` / ``failed(index, message)`` for the newest frame fetched;
    ``hintChanged(text)`` for the decoding hint ("" hides it); ``requested(index)`` for the last
    frame :meth:`request` was given once the events queued before it are handled."""

    fetched = Signal(int, QImage)
    failed = Signal(int, str)
    hintChanged = Signal(str)
    requested = Signal(int)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._ops = Operations(self)
        self._pending: int | None = None
        self._hint_shown = False
        self._hint_timer = QTimer(self, singleShot=True, interval=DECODING_HINT_MS)
        self._hint_timer.timeout.connect(self._show_hint)
        self._requested: int | None = None
        self._request_timer = QTimer(self, singleShot=True, interval=0)
        self._request_timer.timeout.connect(self._emit_requested)

    def fetch(self, reader: FrameReader, index: int) -> None:
        """Decode ``index`` on a worker (nothing new when it is the frame decoding already)."""
        if self._pending == index:
            return
        # The worker makes the QImage too (QImage, unlike QPixmap, may be made on any thread).
        self._ops.run(
            lambda _task: image_from_bgr(reader.read(index)),
            on_success=self._on_fetched,
            on_failure=self._on_failed,
            newest="frame",
        )
        self._pending = index
        if self._hint_shown:
            self._show_hint()
        elif not self._hint_timer.isActive():
            self._hint_timer.start()

    def pending(self) -> int | None:
        """The frame decoding (``None``: none)."""
        return self._pending

    def drop(self) -> None:
        """Forget the frame decoding: its picture is never delivered."""
        self._ops.cancel("frame")
        self._pending = None
        self._hint_timer.stop()
        self._hint_shown = False
        self.hintChanged.emit("")

    def request(self, index: int) -> None:
        self._requested = index
        if not self._request_timer.isActive():
            self._request_timer.start()

    def _emit_requested(self) -> None:
        if self._requested is not None:
            index, self._requested = self._requested, None
            self.requested.emit(index)

    def _show_hint(self) -> None:
        if self._pending is not None:
            self._hint_shown = True
            self.hintChanged.emit(f"decoding frame {self._pending}…")

    def _on_fetched(self, image: object) -> None:
        if self._pending is None:
            return
        assert isinstance(image, QImage)
        index = self._pending
        self.drop()
        self.fetched.emit(index, image)

    def _on_failed(self, message: str) -> None:
        if self._pending is None:
            return
        index = self._pending
        self.drop()
        self.failed.emit(index, message)
