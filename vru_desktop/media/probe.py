"""Probing: does the file really decode, what are its metadata, what is its content fingerprint.

Metadata come from a fallback chain: the container's own fields, then the decoder (first frame),
then counting the frames' packets when the container lies or says nothing. The frame table (the
presentation time of every frame, and the keyframes) comes from demuxing every packet of the
video stream, which needs no decoding and so is fast.
"""

from __future__ import annotations

import configparser
import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from vru_desktop.errors import MediaError
from vru_desktop.files import check_regular_file, read_ini

log = logging.getLogger(__name__)

MAX_FPS = 240.0
#: Below one frame every ten seconds a frame rate says the file's time scale is broken, not the camera.
MIN_FPS = 0.1
VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".mpg",
        ".mpeg",
        ".ts",
        ".mts",
        ".m2ts",
        ".wmv",
        ".flv",
        ".3gp",
    }
)
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
_SAMPLE_BYTES = 1 << 20
_NUMBER = re.compile(r"(\d+)(?!.*\d)")


@dataclass
class VideoInfo:
    """What probing found out about a video file or an image sequence folder."""

    path: Path
    kind: str  # "file" | "image_sequence"
    file_size: int
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    codec: str
    start_time: float
    fingerprint: str
    metadata_source: str
    frame_times: np.ndarray = field(repr=False)
    keyframes: np.ndarray = field(repr=False)
    is_vfr: bool = False
    #: Frames at the end the container lists but that do not decode (left out of the frame table).
    undecodable_tail: int = 0

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"


def fingerprint_file(path: Path, size: int | None = None) -> str:
    """SHA-256 over the size and three 1 MiB samples (start, middle, end): stable across moves."""
    size = path.stat().st_size if size is None else size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        for offset in sorted({0, max(0, size // 2 - _SAMPLE_BYTES // 2), max(0, size - _SAMPLE_BYTES)}):
            handle.seek(offset)
            digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()


def content_fingerprint(path: Path, kind: str, fps: float) -> str:
    """The fingerprint the library keeps of a video file or an image sequence folder (``kind``)."""
    if kind == "image_sequence":
        return probe(path, fps=fps).fingerprint
    return fingerprint_file(path)


def _sequence_files(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    numbered = [p for p in files if _NUMBER.search(p.stem)]
    return sorted(numbered, key=lambda p: (int(_NUMBER.search(p.stem).group(1)), p.name))  # type: ignore[union-attr]


def is_image_sequence(folder: Path) -> bool:
    """A folder holding at least two numbered images (a MOTChallenge ``img1/``, a KITTI sequence)."""
    try:
        return folder.is_dir() and len(_sequence_files(folder)) >= 2
    except OSError:  # an unreadable folder: probing it says why
        return False


def sequence_files(folder: Path) -> list[Path]:
    """The frames of an image sequence folder in frame order (by the number in the name)."""
    return _sequence_files(folder)


def read_seqinfo(folder: Path) -> dict[str, str]:
    """The ``[Sequence]`` section of a MOTChallenge ``seqinfo.ini`` beside or above ``folder``."""
    for candidate in (folder / "seqinfo.ini", folder.parent / "seqinfo.ini"):
        if candidate.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            read_ini(candidate, parser, MediaError)
            if parser.has_section("Sequence"):
                return dict(parser.items("Sequence"))
    return {}


def sequence_name(folder: Path) -> str:
    """A readable name for an image sequence: ``MOT17-02-FRCNN`` rather than ``img1``."""
    info = read_seqinfo(folder)
    if info.get("name"):
        return info["name"]
    return (
        folder.parent.name if folder.name.lower() in {"img1", "images", "image_02", "frames"} else folder.name
    )


def probe_image_sequence(folder: Path, fps: float | None = None) -> VideoInfo:
    """Probe a folder of numbered frames. Its frame rate comes from ``seqinfo.ini``, else ``fps``."""
    import cv2

    files = _sequence_files(folder)
    if len(files) < 2:
        raise MediaError(f"{folder}: no numbered image frames found in this folder.")
    seqinfo = read_seqinfo(folder)
    source = "image-sequence"
    if seqinfo.get("frameRate"):
        try:
            fps = float(seqinfo["frameRate"])
        except ValueError as exc:
            raise MediaError(
                f"{folder}: seqinfo.ini gives the frame rate '{seqinfo['frameRate']}', which is not a number."
            ) from exc
        source = "seqinfo.ini"
    if fps is None:
        raise MediaError(
            f"{folder}: this image sequence has no seqinfo.ini giving its frame rate.",
            hint="Give the frame rate (for example --fps 30).",
        )
    if not 0 < fps <= MAX_FPS:
        raise MediaError(f"{folder}: frame rate {fps} is outside (0, {MAX_FPS:g}].")
    first = cv2.imread(str(files[0]), cv2.IMREAD_COLOR)
    if first is None:
        raise MediaError(f"{files[0]}: this image cannot be decoded.")
    height, width = first.shape[:2]
    digest = hashlib.sha256()
    total = 0
    for path in files:
        size = path.stat().st_size
        total += size
        digest.update(f"{path.name}:{size};".encode())
    digest.update(fingerprint_file(files[0]).encode())
    digest.update(fingerprint_file(files[-1]).encode())
    count = len(files)
    times = np.arange(count, dtype=np.float64) / fps
    return VideoInfo(
        path=folder,
        kind="image_sequence",
        file_size=total,
        width=width,
        height=height,
        fps=float(fps),
        frame_count=count,
        duration=count / fps,
        codec=files[0].suffix.lower().lstrip("."),
        start_time=0.0,
        fingerprint=digest.hexdigest(),
        metadata_source=source,
        frame_times=times,
        keyframes=np.arange(count, dtype=np.int32),
    )


def _looks_like_iso_media(path: Path) -> bool:
    """An MP4/MOV file starts with an ``ftyp`` box (or ``moov``/``mdat``/``free``/``wide``) at byte 4."""
    with path.open("rb") as handle:
        head = handle.read(12)
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide")


def _describe_av_error(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "moov atom not found" in text or "End of file" in text:
        return f"{path.name}: the file is truncated or incomplete (its index is missing)."
    if "Invalid data" in text and _looks_like_iso_media(path):
        return (
            f"{path.name}: the file is truncated or incomplete: it is an MP4/MOV file whose index "
            "(the moov box) is missing, as when a recording or copy was cut short."
        )
    if "Invalid data" in text:
        return f"{path.name}: not a video file that can be decoded (the container is not recognised)."
    return f"{path.name}: cannot be read as a video ({text})."


def container_start_time(path: Path) -> float:
    """The container's start time in seconds: the origin of the times a media player reports."""
    import av

    with av.open(str(path)) as container:
        start = container.start_time
    return 0.0 if start is None else start / 1_000_000


def probe_video_file(path: Path) -> VideoInfo:
    """Probe a video file, checking that it really decodes. Raises :class:`MediaError` with a reason."""
    import av

    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise MediaError(f"{path}: cannot read the folder (permission denied).")
        raise MediaError(f"{path}: this is a folder without numbered image frames, not a video.")
    size = check_regular_file(path, MediaError)
    if not os.access(path, os.R_OK):
        raise MediaError(f"{path.name}: cannot read the file (permission denied).")
    if size == 0:
        raise MediaError(f"{path.name}: the file is empty (0 bytes).")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise MediaError(_describe_av_error(path, exc)) from exc
    try:
        if not container.streams.video:
            raise MediaError(f"{path.name}: the file has no video stream.")
        stream = container.streams.video[0]
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):
            kind = stream.codec_context.name.upper() if stream.codec_context is not None else "picture"
            raise MediaError(
                f"{path.name}: a still image ({kind}), not a video.",
                hint="Import a folder of numbered images to make a video of them.",
            )
        if stream.codec_context is None:
            raise MediaError(
                f"{path.name}: the video codec is not supported (no decoder for it is available).",
                hint="Convert the file to H.264 or MPEG-4 (for example with ffmpeg) and import the copy.",
            )
        time_base = stream.time_base or Fraction(1, 1_000_000)
        codec = stream.codec_context.name
        declared_frames = int(stream.frames or 0)
        sources = ["container"]

        # Demux every packet: presentation times and keyframes without decoding. Raw streams
        # (.h264, .m4v) carry no timestamps: their frames are numbered and timed from the rate.
        pts_list: list[int] = []
        keys: list[bool] = []
        untimed: list[bool] = []
        packets_seen = 0
        discarded = 0  # frames the container's edit list leaves out of the playing time
        try:
            for packet in container.demux(stream):
                packets_seen += 1
                if getattr(packet, "is_discard", False):
                    discarded += 1
                    continue
                if packet.size == 0:
                    continue
                stamp = packet.pts if packet.pts is not None else packet.dts
                untimed.append(stamp is None)
                pts_list.append(len(pts_list) if stamp is None else stamp)
                keys.append(packet.is_keyframe)
        except av.FFmpegError as exc:
            raise MediaError(_describe_av_error(path, exc)) from exc
        if not pts_list:
            raise MediaError(f"{path.name}: the video stream holds no frames.")
        if discarded > len(pts_list):
            raise MediaError(
                f"{path.name}: the file lists {discarded + len(pts_list)} frames but its timing places only "
                f"{len(pts_list)} inside its playing time: the track's time scale is probably damaged.",
                hint="Re-encode or remux the file (for example with ffmpeg) and import the copy.",
            )
        if any(untimed):
            rate = stream.average_rate or stream.guessed_rate
            if not rate or not 0 < float(rate) <= MAX_FPS:
                raise MediaError(f"{path.name}: the stream has neither timestamps nor a usable frame rate.")
            pts_list = list(range(len(pts_list)))
            time_base = 1 / Fraction(rate)
            sources.append("packet-order")

        # The decoder: the first frame must really decode (in a fresh container: raw streams
        # cannot seek back).
        width, height = stream.codec_context.width, stream.codec_context.height
        try:
            with av.open(str(path), metadata_errors="ignore") as decoding:
                first = next(decoding.decode(decoding.streams.video[0]), None)
        except av.FFmpegError as exc:
            raise MediaError(
                f"{path.name}: the video cannot be decoded (codec '{codec or 'unknown'}' failed: {exc})."
            ) from exc
        if first is None:
            raise MediaError(
                f"{path.name}: no frame of the video can be decoded (codec '{codec or 'unknown'}')."
            )
        if not width or not height:
            width, height = first.width, first.height
            sources.append("decoder")

        pts = np.sort(np.asarray(pts_list, dtype=np.int64))
        undecodable_tail = 0
        if not any(untimed):
            key_pts = [stamp for stamp, key in zip(pts_list, keys, strict=True) if key]
            last = _last_decodable_pts(path, max((k for k in key_pts if k <= pts[-1]), default=int(pts[0])))
            if last is None:
                raise MediaError(
                    f"{path.name}: the end of the video cannot be decoded (the file is damaged or cut short)."
                )
            undecodable_tail = int(np.count_nonzero(pts > last))
            if undecodable_tail:
                log.warning("%s: the last %d frames do not decode; left out", path, undecodable_tail)
                pts = pts[pts <= last]
                sources.append("decodable-tail")
        times = pts.astype(np.float64) * float(time_base)
        frame_count = len(times)
        deltas = np.diff(times)
        step = float(np.median(deltas)) if len(deltas) else 0.0
        if declared_frames and declared_frames != frame_count:
            # Empty packets (AVI "drop frames") are listed by the container but hold no picture, and
            # some containers list their length in ticks: only frames missing before the declared
            # end of the stream mean the file was cut short.
            declared_end = float(stream.duration * stream.time_base) if stream.duration else None
            cut_short = declared_end is None or times[-1] + step < declared_end * 0.98
            if packets_seen < declared_frames * 0.98 - 1 and cut_short:
                raise MediaError(
                    f"{path.name}: the file is truncated: its container lists {declared_frames} frames "
                    f"but only {frame_count} can be read."
                )
            sources.append("frame-count")
        elif not declared_frames:
            sources.append("frame-count")
        key_stamps = {stamp for stamp, key in zip(pts_list, keys, strict=True) if key and stamp <= pts[-1]}
        key_set = np.asarray(sorted(key_stamps), dtype=np.int64)
        keyframes = np.searchsorted(pts, key_set).astype(np.int32)

        fps = float(stream.average_rate) if stream.average_rate else 0.0
        if not 0 < fps <= MAX_FPS:
            fps = frame_count / (times[-1] - times[0] + step) if step > 0 else 0.0
            sources.append("derived-fps")
        if not MIN_FPS <= fps <= MAX_FPS:
            shown = f" ({fps:.3g} fps)" if fps > 0 else ""
            raise MediaError(
                f"{path.name}: no usable frame rate{shown}: the container and the frames' timestamps "
                "disagree (its time scale is probably damaged).",
                hint="Re-encode or remux the file (for example with ffmpeg) and import the copy.",
            )
        frame_period = step or 1.0 / fps
        duration = float(times[-1] - times[0] + frame_period)
        is_vfr = bool(len(deltas) > 1 and np.max(np.abs(deltas - frame_period)) > 0.25 * frame_period)
    finally:
        container.close()
    return VideoInfo(
        path=path,
        kind="file",
        file_size=size,
        width=int(width),
        height=int(height),
        fps=round(fps, 6),
        frame_count=frame_count,
        duration=duration,
        codec=codec,
        start_time=float(times[0]),
        fingerprint=fingerprint_file(path, size),
        metadata_source="+".join(sources),
        frame_times=times,
        keyframes=keyframes,
        is_vfr=is_vfr,
        undecodable_tail=undecodable_tail,
    )


def _last_decodable_pts(path: Path, key_pts: int) -> int | None:
    """The latest presentation time decoded from the keyframe at ``key_pts`` on, up to the first
    decoding error (where a sequential decode of the video, as a run or an export does, stops)."""
    import av

    last: int | None = None
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        container.seek(key_pts, stream=stream, backward=True, any_frame=False)
        try:
            for frame in container.decode(stream):
                if frame.pts is not None and (last is None or frame.pts > last):
                    last = int(frame.pts)
        except av.FFmpegError as exc:
            log.info("%s: decoding stops after pts %s: %s", path, last, exc)
    return last


def probe(path: str | os.PathLike[str], *, fps: float | None = None) -> VideoInfo:
    """Probe a video file or an image sequence folder."""
    target = Path(path)
    if target.is_dir() and is_image_sequence(target):
        return probe_image_sequence(target, fps)
    return probe_video_file(target)
