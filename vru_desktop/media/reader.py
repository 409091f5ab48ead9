"""Random access to frames by their 0-based decode index, for the viewer.

A :class:`FrameReader` keeps one decoder open. Reading frame ``i``:

* from the cache of decoded frames (LRU, bounded by bytes, default 512 MB), or
* by decoding forward when the decoder already stands before ``i`` and no keyframe lies between, or
* by seeking to the keyframe before ``i`` (from the stored frame table) and decoding forward,
  skipping the frames that no other frame refers to until close to ``i``.

Every decoded frame is identified by its presentation time, looked up in the stored frame table, so
the index never depends on how many frames a seek happened to skip. Frames just before a seek's
target are kept too (stepping backwards stays cheap), and after every read a background thread
decodes the next few frames ahead (only those the decoder reaches without a seek). Image sequences
are read file by file.

:meth:`FrameReader.cached` answers from the cache alone, never waiting for a decode: the viewer shows
cached frames at once and asks for the others off the UI thread.

A frame that cannot be decoded raises :class:`MediaError` for that frame only; the reader stays usable.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vru_desktop.errors import MediaError
from vru_desktop.media.frames import BgrConverter, FrameTable
from vru_desktop.media.probe import sequence_files

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024
#: Frames decoded ahead in the background after each read.
DEFAULT_READ_AHEAD = 6
#: Frames just before a seek's target that are kept, so stepping back after a seek needs no new seek.
KEEP_BEFORE_TARGET = 4
#: While seeking, frames no other frame refers to are not decoded until this close to the target.
SKIP_MARGIN = 12
#: Decoded frames whose time is this close to a table time (in frame periods) are that frame.
_MATCH_TOLERANCE = 0.45
#: Frame threads (FFmpeg's automatic choice) decode successive frames on several cores; with this
#: many cores or fewer their hand-overs cost a seek more than they gain (1080p H.264, 2 cores: median
#: seek 61 ms with slice threads against 90 ms; tests/benchmarks/test_viewer_speed.py compares them).
FEW_CORES = 2


def decoder_threading() -> str:
    """The decoder's thread type: slice threads on few cores, FFmpeg's automatic choice otherwise."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return "SLICE" if cores <= FEW_CORES else "AUTO"


class FrameCache:
    """Decoded frames by index, least recently used first out, bounded by their total bytes.

    Thread-safe on its own, so a look-up never waits for a decode that holds the reader's lock.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def __len__(self) -> int:
        return len(self._frames)

    def get(self, index: int) -> np.ndarray | None:
        with self._lock:
            image = self._frames.get(index)
            if image is None:
                self.misses += 1
                return None
            self._frames.move_to_end(index)
            self.hits += 1
            return image

    def put(self, index: int, image: np.ndarray) -> None:
        with self._lock:
            old = self._frames.pop(index, None)
            if old is not None:
                self.bytes -= old.nbytes
            if image.nbytes > self.max_bytes:
                return
            self._frames[index] = image
            self.bytes += image.nbytes
            while self.bytes > self.max_bytes:
                _, evicted = self._frames.popitem(last=False)
                self.bytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self.bytes = 0


class FrameReader:
    """Exact frames of one video (file or image sequence) by index. Thread-safe; close when done."""

    def __init__(
        self,
        path: str | Path,
        table: FrameTable,
        kind: str = "file",
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        read_ahead: int = DEFAULT_READ_AHEAD,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self.table = table
        self.cache = FrameCache(cache_bytes)
        self.read_ahead = read_ahead
        if not len(table):
            raise MediaError(f"{self.path.name}: the frame table is empty.", hint="Re-import the video.")
        if not self.path.exists():
            raise MediaError(
                f"{self.path}: file not found.", hint="Use Relink to point the library at its new place."
            )
        self._files: list[Path] = sequence_files(self.path) if kind == "image_sequence" else []
        deltas = np.diff(table.times)
        positive = deltas[deltas > 0]
        period = float(np.min(positive)) if len(positive) else 1.0
        self._tolerance = period * _MATCH_TOLERANCE
        self._lock = threading.Lock()
        self._container: Any = None
        self._to_bgr = BgrConverter()  # used under self._lock only
        self._stream: Any = None
        self._frames: Iterator[Any] | None = None
        #: Decoded frames just before the last target, converted to arrays only if asked for.
        self._recent: OrderedDict[int, Any] = OrderedDict()
        self._time_base = 0.0
        self._position = -1  # index of the last frame the decoder produced; -1 before the first
        self._last_request = -2
        self._ahead_goal = -1
        self._demand = 0
        self._closed = False
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        #: Seeks done so far (for tests and benchmarks).
        self.seeks = 0

    # -- public ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def read(self, index: int) -> np.ndarray:
        """The frame ``index`` as a BGR ``uint8`` array (do not modify it: it is shared with the cache).

        A cached frame is returned at once; otherwise this decodes, which may take a while (a far seek
        in a long GOP): the viewer calls it off the UI thread.
        """
        if not 0 <= index < len(self.table):
            raise IndexError(f"frame {index} is outside 0..{len(self.table) - 1}")
        image = self.cached(index)
        if image is not None:
            return image
        self._demand += 1
        try:
            with self._lock:
                if self._closed:
                    raise MediaError(f"{self.path.name}: the reader is closed.")
                image = self.cache.get(index)  # read ahead while this call waited for the lock
                if image is None:
                    image = self._load(index)
        finally:
            self._demand -= 1
        self._requested(index)
        return image

    def cached(self, index: int) -> np.ndarray | None:
        """The frame ``index`` if it is in the cache (``None`` otherwise); never decodes nor waits for
        a decode, so the UI thread may call it. A hit counts as a read for the read-ahead."""
        image = self.cache.get(index)
        if image is not None:
            self._requested(index)
        return image

    def time_of(self, index: int) -> float:
        return self.table.time_of(index)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
        with self._lock:
            self._close_decoder()
            self.cache.clear()

    # -- loading ----------------------------------------------------------------------------------
    def _load(self, index: int) -> np.ndarray:
        if self.kind == "image_sequence":
            return self._load_image(index)
        kept = self._recent.pop(index, None)
        if kept is not None:
            image = self._to_bgr(kept)
            self.cache.put(index, image)
            return image
        return self._decode_to(index)

    def _load_image(self, index: int) -> np.ndarray:
        import cv2

        path = self._files[index] if index < len(self._files) else None
        image = None if path is None else cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            name = path.name if path is not None else f"frame {index}"
            raise MediaError(f"Frame {index} ({name}) cannot be decoded.", hint="The image file is damaged.")
        self.cache.put(index, image)
        return image

    def _open_decoder(self) -> None:
        import av

        if not self.path.exists():
            raise MediaError(
                f"{self.path}: file not found.", hint="Use Relink to point the library at its new place."
            )
        try:
            self._container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise MediaError(f"{self.path.name}: cannot be opened ({exc}).") from exc
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = decoder_threading()
        self._time_base = float(self._stream.time_base)
        self._frames = None
        self._position = -1

    def _close_decoder(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = self._stream = self._frames = None
        self._position = -1
        self._recent.clear()

    def _seek(self, key: int) -> None:
        """Position the decoder so that its next frame is keyframe ``key`` (or the first frame)."""
        import av

        if self._container is None:
            self._open_decoder()
        self.seeks += 1
        if key > 0:
            target = round(self.table.time_of(key) / self._time_base)
            try:
                self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
            except av.FFmpegError as exc:
                raise MediaError(f"{self.path.name}: seeking to frame {key} failed ({exc}).") from exc
        else:
            self._close_decoder()
            self._open_decoder()
        self._frames = self._container.decode(self._stream)
        self._position = key - 1

    def _index_of(self, frame: Any) -> int | None:
        """The table index of a decoded frame, by its presentation time (``None``: not in the table)."""
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            return self._position + 1
        seconds = pts * self._time_base
        pos = int(np.searchsorted(self.table.times, seconds))
        best = None
        for candidate in (pos - 1, pos):
            if 0 <= candidate < len(self.table.times):
                gap = abs(self.table.times[candidate] - seconds)
                if gap <= self._tolerance and (best is None or gap < best[0]):
                    best = (gap, candidate)
        return None if best is None else best[1]

    def _next_frame(self) -> tuple[int, Any] | None:
        """Decode the next frame that belongs to the table; ``None`` at the end of the stream."""
        import av

        assert self._frames is not None
        while True:
            try:
                frame = next(self._frames, None)
            except av.FFmpegError as exc:
                failed = self._position + 1
                self._close_decoder()
                raise MediaError(f"Frame {failed} cannot be decoded ({exc}).") from exc
            if frame is None:
                return None
            index = self._index_of(frame)
            if index is not None:
                self._position = index
                return index, frame

    def _skip_non_reference(self, skip: bool) -> bool:
        """Let the decoder drop frames no other frame refers to (they are far before the target)."""
        if self._stream is not None:
            self._stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"
        return skip

    def _decode_to(self, index: int) -> np.ndarray:
        key = self.table.keyframe_before(index)
        sequential = self._frames is not None and self._position < index and key <= self._position + 1
        if not sequential:
            self._seek(key)
        # Frames decoded in flight (reordering, frame threads) trail the packets fed: stop skipping early.
        margin = KEEP_BEFORE_TARGET + SKIP_MARGIN + int(self._stream.codec_context.thread_count or 1)
        skipping = self._skip_non_reference(index - self._position > margin)
        retried = False
        while True:
            found = self._next_frame()
            if found is None:
                self._skip_non_reference(False)
                self._close_decoder()
                raise MediaError(
                    f"Frame {index} cannot be decoded (the stream ended before it).",
                    hint="The file may be truncated.",
                )
            decoded, frame = found
            if skipping and index - decoded <= margin:
                skipping = self._skip_non_reference(False)
            if decoded > index:
                # The seek landed after the target (an inexact container index) or the target was
                # skipped: decode again from an earlier keyframe, every frame.
                skipping = self._skip_non_reference(False)
                if not retried:
                    retried = True
                    key = self.table.keyframe_before(key - 1) if key > 0 else 0
                    self._seek(key)
                    continue
                self._close_decoder()
                raise MediaError(f"Frame {index} cannot be decoded (the decoder skipped it).")
            if decoded == index:
                image = self._to_bgr(frame)
                self.cache.put(index, image)
                return image
            if decoded >= index - KEEP_BEFORE_TARGET and decoded not in self.cache:
                self._recent[decoded] = frame
                while len(self._recent) > KEEP_BEFORE_TARGET:
                    self._recent.popitem(last=False)

    # -- read-ahead -------------------------------------------------------------------------------
    def _requested(self, index: int) -> None:
        """Note a frame handed out and read the next few ahead: after a seek the decoder stands just
        before them, so the first step forward is as instant as the following ones."""
        self._last_request = index
        if self.read_ahead > 0 and not self._closed:
            self._ahead_goal = index + self.read_ahead
            self._start_worker()
            self._wake.set()

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._read_ahead_loop, name="frame-read-ahead", daemon=True
            )
            self._worker.start()

    def _next_wanted(self) -> int | None:
        """The next frame to decode ahead, if the decoder can reach it without a seek."""
        for index in range(self._last_request + 1, min(self._ahead_goal, len(self.table) - 1) + 1):
            if index in self.cache:
                continue
            if self.kind == "image_sequence":
                return index
            if self._frames is not None and self._position < index:
                return index
            return None
        return None

    def _read_ahead_loop(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            while not self._closed:
                if self._demand:
                    time.sleep(0.0005)  # the viewer is waiting for the lock: let it go first
                    continue
                with self._lock:
                    if self._closed:
                        return
                    index = self._next_wanted()
                    if index is None:
                        break
                    try:
                        self._load(index)
                    except MediaError:
                        break
                time.sleep(0)
