"""Videos whose frames carry their own index, for the frame-identity proofs (reader and viewer).

Each frame shows its index as 16 black/white cells across the top (bit 15 first) and, below them,
the same cells inverted; a cell reads as 1 when its upper half is brighter than its lower half,
which survives lossy compression. The rest of the frame moves, so encoders make real P and B frames.

The GUI tests import these helpers (``from unit.test_reader_videos import ...``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

BITS = 16


def draw_index(image: np.ndarray, index: int) -> None:
    """Paint ``index`` into the top band of a BGR or grey image, in place."""
    height, width = image.shape[:2]
    cell_w = width // BITS
    band = max(8, height // 8)
    for bit in range(BITS):
        on = (index >> (BITS - 1 - bit)) & 1
        x0, x1 = bit * cell_w, (bit + 1) * cell_w
        image[0:band, x0:x1] = 255 if on else 0
        image[band : 2 * band, x0:x1] = 0 if on else 255


def read_index(image: np.ndarray) -> int | None:
    """The index painted by :func:`draw_index`, or ``None`` when the cells are not readable."""
    grey = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    height, width = grey.shape[:2]
    cell_w = width // BITS
    band = max(8, height // 8)
    value = 0
    for bit in range(BITS):
        x0, x1 = bit * cell_w + cell_w // 4, (bit + 1) * cell_w - cell_w // 4
        upper = grey[band // 4 : band - band // 4, x0:x1].mean()
        lower = grey[band + band // 4 : 2 * band - band // 4, x0:x1].mean()
        if abs(upper - lower) < 80:
            return None
        value = (value << 1) | int(upper > lower)
    return value


def pattern_frame(index: int, width: int, height: int) -> np.ndarray:
    """A BGR frame: moving texture below, the index cells on top."""
    y, x = np.mgrid[0:height, 0:width]
    texture = ((x * 3 + y * 2 + index * 9) % 256).astype(np.uint8)
    image = np.dstack([texture, np.roll(texture, index * 5, axis=1), 255 - texture]).copy()
    draw_index(image, index)
    return image


def encode_pattern_video(
    path: Path,
    frames: int,
    *,
    size: tuple[int, int] = (320, 240),
    codec: str = "libx264",
    fps: int = 25,
    gop: int = 250,
    bframes: int = 3,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    crf: int = 23,
    audio: bool = False,
) -> Path:
    """Encode ``frames`` pattern frames with PyAV.

    ``pts`` (in ``time_base`` units) gives each frame's presentation time: irregular steps make a
    variable-frame-rate file, a first value above zero makes a file that does not start at zero.
    ``audio`` adds a silent audio track starting at zero (so the container starts before the video).
    """
    import av

    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        sound = container.add_stream("aac", rate=48_000) if audio else None
        samples = 0
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if time_base is not None:
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
        if codec == "libx264":
            stream.options = {
                "preset": "veryfast",
                "crf": str(crf),
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}",
            }
        else:
            stream.codec_context.gop_size = gop
            stream.codec_context.max_b_frames = bframes
            stream.options = {"qscale": "3"}
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern_frame(index, width, height), format="bgr24")
            if pts is not None:
                frame.pts = pts[index]
                frame.time_base = time_base
            container.mux(stream.encode(frame))
            end = (pts[index] * time_base if pts is not None and time_base else index / fps) + 1 / fps
            while sound is not None and samples < end * 48_000:
                chunk = av.AudioFrame.from_ndarray(
                    np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts, chunk.time_base = 48_000, samples, Fraction(1, 48_000)
                samples += 1024
                container.mux(sound.encode(chunk))
        container.mux(stream.encode(None))
        if sound is not None:
            container.mux(sound.encode(None))
    return path


def vfr_pts(frames: int, seed: int = 7) -> list[int]:
    """Irregular presentation times in milliseconds: steps of 20–120 ms."""
    steps = np.random.default_rng(seed).choice([20, 33, 40, 67, 120], size=frames)
    return [int(v) for v in np.concatenate([[0], np.cumsum(steps[:-1])])]


def make_identity_videos(folder: Path, frames: int = 300) -> dict[str, Path]:
    """The proof's videos: long-GOP H.264 with B-frames, VFR, late starts (one with sound starting
    before the picture), and OpenCV mp4v."""
    from conftest import write_video

    folder.mkdir(parents=True, exist_ok=True)
    return {
        "h264_long_gop": encode_pattern_video(folder / "h264_gop250.mp4", frames, gop=250, bframes=3),
        "vfr": encode_pattern_video(
            folder / "vfr.mp4", frames, gop=60, pts=vfr_pts(frames), time_base=Fraction(1, 1000)
        ),
        "late_start": encode_pattern_video(
            folder / "late_start.mp4",
            frames,
            gop=50,
            pts=[10_000 + 40 * i for i in range(frames)],
            time_base=Fraction(1, 1000),
        ),
        "late_start_mkv": encode_pattern_video(
            folder / "late_start.mkv",
            frames,
            gop=100,
            pts=[3_500 + 40 * i for i in range(frames)],
            time_base=Fraction(1, 1000),
        ),
        "audio_first": encode_pattern_video(
            folder / "audio_first.mp4",
            frames,
            gop=75,
            pts=[1_000 + 40 * i for i in range(frames)],
            time_base=Fraction(1, 1000),
            audio=True,
        ),
        "mp4v_opencv": write_video(
            folder / "opencv_mp4v.mp4",
            frames,
            size=(320, 240),
            fourcc="mp4v",
            draw=lambda image, index: draw_index(image, index),
        ),
    }


def cached_identity_videos(cache: pytest.Cache, frames: int = 300) -> dict[str, Path]:
    """:func:`make_identity_videos`, made once and kept in pytest's cache folder (keyed by this file's
    content, so changing the generator makes them again). Written aside and renamed when complete."""
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    name = f"identity-videos-{frames}-{digest}"
    folder = cache.mkdir(name)
    index = folder / "videos.json"
    if not index.exists():
        partial = folder.parent / f"{name}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        videos = make_identity_videos(partial, frames)
        (partial / "videos.json").write_text(json.dumps({key: path.name for key, path in videos.items()}))
        shutil.rmtree(folder)
        partial.rename(folder)
    return {key: folder / file for key, file in json.loads(index.read_text()).items()}


def decode_all(path: Path) -> tuple[list[float], list[int | None]]:
    """Every frame of a file in presentation order: its time (seconds) and the index it shows."""
    import av

    times: list[float] = []
    shown: list[int | None] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            times.append(float(frame.pts * stream.time_base))
            shown.append(read_index(frame.to_ndarray(format="bgr24")))
    return times, shown


@pytest.mark.parametrize("index", [0, 1, 2, 255, 256, 1000, 40_000, 65_535])
def test_pattern_round_trip(index: int) -> None:
    assert read_index(pattern_frame(index, 320, 240)) == index


def test_pattern_survives_h264(tmp_path: Path) -> None:
    path = encode_pattern_video(tmp_path / "p.mp4", 40, gop=20, crf=35)
    _, shown = decode_all(path)
    assert shown == list(range(40))


def test_unreadable_frame_is_none() -> None:
    assert read_index(np.full((240, 320, 3), 128, np.uint8)) is None
