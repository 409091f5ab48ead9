"""Playback: QMediaPlayer + QVideoSink for video files, a timer over the frame reader for image sequences.

Every frame shown while playing is given its index through the stored frame table: Qt reports a
frame's start time relative to the container's start, so the container's start time is added back
before looking the time up. Paused or stepping, the viewer shows the reader's exact frame instead.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink

from vru_desktop.errors import MediaError
from vru_desktop.media.frames import FrameTable
from vru_desktop.media.probe import container_start_time
from vru_desktop.media.reader import FrameReader
from vru_desktop.ui.viewer.view import image_from_bgr

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0, 4.0)
#: Added to Qt's microsecond start times before the table lookup (Qt rounds to whole microseconds).
_TIME_SLACK = 0.0005
_LOADING = (QMediaPlayer.MediaStatus.NoMedia, QMediaPlayer.MediaStatus.LoadingMedia)


class Playback(QObject):
    """Plays one video and reports each frame it shows with its index.

    Signals: ``frameShown(index, image)`` while playing; ``playingChanged(bool)``; ``failed(message)``.
    """

    frameShown = Signal(int, QImage)
    playingChanged = Signal(bool)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._table: FrameTable | None = None
        self._reader: FrameReader | None = None
        self._kind = "file"
        self._origin = 0.0
        self._playing = False
        self._rate = 1.0
        self._index = 0
        self._first = 0  # frames before this one, still queued from before a seek, are not shown
        self._pending_position: int | None = None
        self._player: QMediaPlayer | None = None
        self._sink: QVideoSink | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    # -- set-up ---------------------------------------------------------------------------------
    def open(self, path: Path, kind: str, table: FrameTable, reader: FrameReader) -> None:
        self.stop()
        self._table, self._reader, self._kind = table, reader, kind
        self._index = 0
        if kind == "image_sequence":
            self._release_player()
            return
        self._origin = container_start_time(path)
        if self._player is None:
            self._player = QMediaPlayer(self)
            self._sink = QVideoSink(self)
            self._player.setVideoSink(self._sink)
            self._sink.videoFrameChanged.connect(self._on_video_frame)
            self._player.mediaStatusChanged.connect(self._on_status)
            self._player.errorOccurred.connect(self._on_error)
        self._player.setSource(QUrl.fromLocalFile(str(path)))
        self._player.setPlaybackRate(self._rate)

    def close(self) -> None:
        self.stop()
        self._release_player()
        self._table = self._reader = None

    def _release_player(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._player.setSource(QUrl())

    # -- control --------------------------------------------------------------------------------
    def is_playing(self) -> bool:
        return self._playing

    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        self._rate = rate
        if self._player is not None:
            self._player.setPlaybackRate(rate)
        if self._timer.isActive():
            self._timer.setInterval(self._interval())

    def play(self, from_index: int) -> None:
        if self._table is None or self._playing:
            return
        last = len(self._table) - 1
        self._index = 0 if from_index >= last else from_index
        self._first = self._index
        self._playing = True
        if self._kind == "image_sequence":
            self._timer.start(self._interval())
        else:
            assert self._player is not None
            offset = self._table.time_of(self._index) - self._origin
            self._pending_position = max(0, math.ceil(offset * 1000 + 0.5))
            if self._player.mediaStatus() not in _LOADING:
                self._start_player()
        self.playingChanged.emit(True)

    def _start_player(self) -> None:
        assert self._player is not None and self._pending_position is not None
        self._player.setPosition(self._pending_position)
        self._pending_position = None
        self._player.play()

    def pause(self) -> int:
        """Stop playing; returns the index of the last frame shown."""
        if self._playing:
            self._playing = False
            self._pending_position = None
            self._timer.stop()
            if self._player is not None:
                self._player.pause()
            self.playingChanged.emit(False)
        return self._index

    def stop(self) -> None:
        self.pause()
        if self._player is not None:
            self._player.stop()

    def index_of_time(self, start_us: int) -> int:
        """The frame index of a QVideoFrame start time (microseconds from the container's start)."""
        assert self._table is not None
        return self._table.index_at(self._origin + start_us / 1_000_000 + _TIME_SLACK)

    # -- frames ---------------------------------------------------------------------------------
    def _interval(self) -> int:
        if self._table is None or len(self._table) < 2:
            return 40
        period = (self._table.times[-1] - self._table.times[0]) / (len(self._table) - 1)
        return max(1, round(period * 1000 / self._rate))

    def _tick(self) -> None:
        assert self._table is not None and self._reader is not None
        if self._index >= len(self._table) - 1:
            self.pause()
            return
        self._index += 1
        try:
            image = self._reader.read(self._index)
        except MediaError as exc:
            self.failed.emit(str(exc))
            return
        self.frameShown.emit(self._index, image_from_bgr(image))

    def _on_video_frame(self, frame: QVideoFrame) -> None:
        if not self._playing or not frame.isValid() or frame.startTime() < 0 or self._table is None:
            return
        index = self.index_of_time(frame.startTime())
        if index < self._first:
            return
        image = frame.toImage()
        if image.isNull():
            return
        self._first = 0
        self._index = index
        self.frameShown.emit(index, image)

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status not in _LOADING and self._playing and self._pending_position is not None:
            self._start_player()
            return
        if status == QMediaPlayer.MediaStatus.EndOfMedia and self._playing:
            assert self._table is not None
            self._index = len(self._table) - 1
            self.pause()

    def _on_error(self, _error: QMediaPlayer.Error, message: str) -> None:
        if self._playing:
            self.pause()
        self.failed.emit(f"Playback failed: {message}")
