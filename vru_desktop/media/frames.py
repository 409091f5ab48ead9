"""Frame access by the one frame identity: the 0-based decode index.

:func:`iter_frames` decodes sequentially (detection runs, exports): it never seeks per frame.
Random access with a cache for the viewer lives in :mod:`vru_desktop.media.reader`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vru_desktop.errors import MediaError
from vru_desktop.media.probe import sequence_files


@dataclass(frozen=True)
class FrameTable:
    """Presentation time (seconds) of every frame, and the keyframe indices."""

    times: np.ndarray
    keyframes: np.ndarray

    def __len__(self) -> int:
        return len(self.times)

    def time_of(self, index: int) -> float:
        return float(self.times[index])

    def index_at(self, seconds: float) -> int:
        """The frame shown at ``seconds``: the last frame whose time is not after it."""
        pos = int(np.searchsorted(self.times, seconds + 1e-9, side="right")) - 1
        return min(max(pos, 0), len(self.times) - 1)

    def keyframe_before(self, index: int) -> int:
        if not len(self.keyframes):
            return 0
        pos = int(np.searchsorted(self.keyframes, index, side="right")) - 1
        return int(self.keyframes[max(pos, 0)])

    def to_bytes(self) -> tuple[bytes, bytes]:
        return (
            self.times.astype("<f8").tobytes(),
            self.keyframes.astype("<i4").tobytes(),
        )

    @classmethod
    def from_bytes(cls, times: bytes, keyframes: bytes) -> FrameTable:
        return cls(np.frombuffer(times, dtype="<f8").copy(), np.frombuffer(keyframes, dtype="<i4").copy())


class BgrConverter:
    """Decoded PyAV frames to BGR arrays through one reused scaler.

    ``frame.to_ndarray(format="bgr24")`` sets up a new scaling context for every frame; keeping one
    gives the same pixels about three times faster (1.5 ms instead of 4.3 ms a 1080p frame). Not
    thread-safe: one converter per decoding loop.
    """

    def __init__(self) -> None:
        from av.video.reformatter import VideoReformatter

        self._reformatter = VideoReformatter()

    def __call__(self, frame: Any) -> np.ndarray:
        return self._reformatter.reformat(frame, format="bgr24").to_ndarray()


@dataclass
class DecodedFrame:
    index: int
    time: float
    image: np.ndarray | None  # BGR uint8, None when this frame failed to decode
    error: str | None = None


def iter_frames(
    path: str | Path,
    kind: str = "file",
    *,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
    table: FrameTable | None = None,
) -> Iterator[DecodedFrame]:
    """Decode frames ``start, start+stride, … < stop`` in order, as BGR arrays.

    Frames of a video file are numbered by decode order; with ``table`` given, each decoded frame's
    index is found from its presentation time, so the numbering matches the stored frame table even
    when decoding starts after a seek. A frame that fails to decode is yielded with ``image=None``
    and an ``error`` (image sequences), or the decode stops with :class:`MediaError` (files).
    """
    path = Path(path)
    if stride < 1:
        raise ValueError("stride must be >= 1")
    if kind == "image_sequence":
        yield from _iter_sequence(path, start, stop, stride, table)
        return
    yield from _iter_file(path, start, stop, stride, table)


def _iter_sequence(
    folder: Path, start: int, stop: int | None, stride: int, table: FrameTable | None
) -> Iterator[DecodedFrame]:
    import cv2

    files = sequence_files(folder)
    end = len(files) if stop is None else min(stop, len(files))
    for index in range(start, end, stride):
        image = cv2.imread(str(files[index]), cv2.IMREAD_COLOR)
        error = None if image is not None else f"{files[index].name} cannot be decoded"
        yield DecodedFrame(index, table.time_of(index) if table is not None else 0.0, image, error)


def _iter_file(
    path: Path, start: int, stop: int | None, stride: int, table: FrameTable | None
) -> Iterator[DecodedFrame]:
    import av

    if not path.exists():
        raise MediaError(f"{path}: file not found.", hint="Use Relink to point the library at its new place.")
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name}: cannot be opened ({exc}).") from exc
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        time_base = float(stream.time_base)
        to_bgr = BgrConverter()
        index = 0
        if table is not None and start > 0:
            key = table.keyframe_before(start)
            if key > 0:
                target_pts = round(table.time_of(key) / time_base)
                container.seek(target_pts, stream=stream, backward=True, any_frame=False)
                index = -1  # found from the first decoded frame's time
        try:
            for frame in container.decode(stream):
                frame_time = None if frame.pts is None else frame.pts * time_base
                if index == -1:
                    if table is None or frame_time is None:
                        raise MediaError(f"{path.name}: decoded frame after a seek has no timestamp.")
                    index = int(np.searchsorted(table.times, frame_time - 1e-6))
                if stop is not None and index >= stop:
                    break
                if index >= start and (index - start) % stride == 0:
                    yield DecodedFrame(
                        index,
                        table.time_of(index)
                        if table is not None and index < len(table)
                        else (frame_time or 0.0),
                        to_bgr(frame),
                    )
                index += 1
                if stop is not None and index >= stop:
                    break  # frames after ``stop`` need not decode (a damaged tail is not in the table)
        except av.FFmpegError as exc:
            raise MediaError(f"{path.name}: decoding failed at frame {index} ({exc}).") from exc
    finally:
        container.close()
