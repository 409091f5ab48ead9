"""Probing real files: metadata with fallbacks, the frame table, bad input with its one-line reason."""

from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vru_desktop.errors import MediaError
from vru_desktop.library.importer import import_paths
from vru_desktop.media.frames import FrameTable, iter_frames
from vru_desktop.media.probe import (
    fingerprint_file,
    is_image_sequence,
    probe,
    read_seqinfo,
    sequence_files,
    sequence_name,
)

MOT17_SEQUENCES = {
    # name: (frames shipped, fps, width, height), from mot17_mini/SOURCES.txt
    "MOT17-02-FRCNN": (4, 30.0, 1920, 1080),
    "MOT17-04-FRCNN": (8, 30.0, 1920, 1080),
    "MOT17-05-FRCNN": (6, 14.0, 640, 480),
    "MOT17-09-FRCNN": (4, 30.0, 1920, 1080),
    "MOT17-10-FRCNN": (5, 30.0, 1920, 1080),
    "MOT17-11-FRCNN": (7, 30.0, 1920, 1080),
    "MOT17-13-FRCNN": (5, 25.0, 1920, 1080),
}


def encode(
    path: Path,
    frames: int = 20,
    *,
    codec: str = "libx264",
    container_format: str | None = None,
    rate: int = 25,
    tick_ms: int | None = None,
    options: dict[str, str] | None = None,
    size: tuple[int, int] = (160, 120),
) -> Path:
    """Write a clip with PyAV. ``tick_ms`` stamps frame ``i`` at ``i * tick_ms`` ms whatever ``rate`` says."""
    rng = np.random.default_rng(frames)
    with av.open(str(path), "w", format=container_format, options=options or {}) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if tick_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for index in range(frames):
            image = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if tick_ms is not None:
                frame.pts = index * tick_ms
                frame.time_base = Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


# -- real third-party data ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MOT17_SEQUENCES))
def test_mot17_videos_match_their_published_metadata(shared_data: Path, name: str) -> None:
    frames, fps, width, height = MOT17_SEQUENCES[name]
    info = probe(shared_data / "mot17_mini" / "videos" / f"{name}_first{frames}.mp4")
    assert (info.frame_count, info.fps, info.width, info.height) == (frames, fps, width, height)
    assert info.kind == "file"
    assert info.codec == "mpeg4"
    assert info.duration == pytest.approx(frames / fps)
    np.testing.assert_allclose(info.frame_times, np.arange(frames) / fps, atol=1e-6)
    assert info.keyframes[0] == 0


@pytest.mark.parametrize("name", sorted(MOT17_SEQUENCES))
def test_mot17_frame_folders_are_image_sequences_with_seqinfo_fps(shared_data: Path, name: str) -> None:
    frames, fps, width, height = MOT17_SEQUENCES[name]
    folder = shared_data / "mot17_mini" / "train" / name / "img1"
    assert is_image_sequence(folder)
    info = probe(folder)
    assert info.kind == "image_sequence"
    assert (info.frame_count, info.fps, info.width, info.height) == (frames, fps, width, height)
    assert info.metadata_source == "seqinfo.ini"
    assert sequence_name(folder) == name
    assert [p.name for p in sequence_files(folder)] == [f"{i:06d}.jpg" for i in range(1, frames + 1)]
    assert info.file_size == sum(p.stat().st_size for p in sequence_files(folder))


def test_street_video_metadata(shared_data: Path) -> None:
    path = shared_data / "street_videos" / "market_street_1906.mp4"
    info = probe(path)
    assert (info.frame_count, info.width, info.height, info.codec) == (1799, 640, 360, "h264")
    assert info.fps == pytest.approx(30000 / 1001, abs=1e-4)
    assert info.duration == pytest.approx(1799 * 1001 / 30000, abs=1e-3)
    assert info.file_size == path.stat().st_size
    assert not info.is_vfr
    assert len(info.frame_times) == 1799 and np.all(np.diff(info.frame_times) > 0)
    assert info.keyframes[0] == 0 and len(info.keyframes) > 1


def test_opencv_video_from_the_fixture(make_video) -> None:
    info = probe(make_video("clip.mp4", 30, fps=25.0, size=(160, 120)))
    assert (info.frame_count, info.fps, info.width, info.height) == (30, 25.0, 160, 120)
    assert info.duration == pytest.approx(1.2)
    assert info.metadata_source == "container"


# -- the fallback chain ---------------------------------------------------------------------------------


def test_raw_stream_without_timestamps_or_frame_count_is_counted(tmp_path: Path) -> None:
    info = probe(encode(tmp_path / "raw.h264", 40, container_format="h264", rate=25))
    assert (info.frame_count, info.fps) == (40, 25.0)
    assert info.duration == pytest.approx(1.6)
    assert "packet-order" in info.metadata_source and "frame-count" in info.metadata_source


def test_container_without_frame_count_is_counted(tmp_path: Path) -> None:
    info = probe(encode(tmp_path / "clip.m4v", 33, codec="mpeg4", container_format="m4v"))
    assert info.frame_count == 33
    assert "frame-count" in info.metadata_source


def test_mjpeg_avi(tmp_path: Path) -> None:
    info = probe(encode(tmp_path / "clip.avi", 30, codec="mjpeg", rate=10))
    assert (info.frame_count, info.fps, info.codec) == (30, 10.0, "mjpeg")
    assert info.duration == pytest.approx(3.0)


@pytest.mark.parametrize("suffix", [".mkv", ".flv"])
def test_lying_frame_rate_is_derived_from_count_and_duration(tmp_path: Path, suffix: str) -> None:
    # The container declares 1000 fps; the frames are 40 ms apart.
    path = encode(tmp_path / f"lie{suffix}", 30, rate=1000, tick_ms=40)
    with av.open(str(path)) as container:
        assert float(container.streams.video[0].average_rate) == 1000
    info = probe(path)
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 30
    assert info.duration == pytest.approx(1.2)
    assert "derived-fps" in info.metadata_source


def test_avi_listing_its_length_in_ticks_is_not_called_truncated(tmp_path: Path) -> None:
    info = probe(encode(tmp_path / "ticks.avi", 30, rate=1000, tick_ms=40))
    assert info.frame_count == 30
    assert 24 < info.fps < 27
    assert "derived-fps" in info.metadata_source


# -- bad input --------------------------------------------------------------------------------------


def _refusal(path: Path) -> str:
    with pytest.raises(MediaError) as caught:
        probe(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message
    return message


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    assert "empty (0 bytes)" in _refusal(path)


def test_missing_path(tmp_path: Path) -> None:
    assert "file not found" in _refusal(tmp_path / "nowhere.mp4")


def test_text_file_with_video_extension(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("these are meeting notes, not a video\n" * 20)
    assert "not a video file" in _refusal(path)


def test_truncated_mp4_with_index_at_the_end(tmp_path: Path) -> None:
    whole = encode(tmp_path / "whole.mp4", 60)
    data = whole.read_bytes()
    assert data.find(b"moov") > data.find(b"mdat")  # index written after the frames
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    message = _refusal(cut)
    assert "truncated" in message and "moov" in message


def test_truncated_faststart_mp4(tmp_path: Path) -> None:
    whole = encode(tmp_path / "fast.mp4", 60, options={"movflags": "faststart"})
    data = whole.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index before the frames
    cut = tmp_path / "cut_fast.mp4"
    cut.write_bytes(data[: len(data) // 2])
    message = _refusal(cut)
    assert "truncated" in message and "lists 60 frames" in message


def test_unsupported_codec(tmp_path: Path) -> None:
    data = encode(tmp_path / "ok.mp4", 10).read_bytes()
    path = tmp_path / "alien.mp4"
    path.write_bytes(data.replace(b"avc1", b"zq9x"))  # a codec tag no decoder knows
    assert "codec is not supported" in _refusal(path)


def test_folder_without_frames(tmp_path: Path) -> None:
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    assert "folder" in _refusal(folder)


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: every file is readable")
def test_unreadable_file(make_video) -> None:
    path = make_video("locked.mp4", 5)
    path.chmod(0)
    try:
        assert "permission denied" in _refusal(path)
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: every folder is readable")
def test_unreadable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0)
    try:
        assert "permission denied" in _refusal(folder)
    finally:
        folder.chmod(0o755)


# -- image sequences and fingerprints -----------------------------------------------------------------


def _frames_folder(root: Path, count: int = 5) -> Path:
    import cv2

    folder = root / "seq_a" / "frames"
    folder.mkdir(parents=True)
    for index in range(count):
        cv2.imwrite(str(folder / f"{index + 1:04d}.png"), np.full((48, 64, 3), index * 20, np.uint8))
    return folder


def test_image_sequence_without_seqinfo_needs_fps(tmp_path: Path) -> None:
    folder = _frames_folder(tmp_path)
    with pytest.raises(MediaError, match=r"no seqinfo\.ini"):
        probe(folder)
    info = probe(folder, fps=12.5)
    assert (info.frame_count, info.fps, info.width, info.height) == (5, 12.5, 64, 48)
    assert info.duration == pytest.approx(0.4)
    assert sequence_name(folder) == "seq_a"
    with pytest.raises(MediaError, match="outside"):
        probe(folder, fps=500)


def test_seqinfo_frame_rate_wins_and_a_bad_one_is_named(tmp_path: Path) -> None:
    folder = _frames_folder(tmp_path)
    (folder / "seqinfo.ini").write_text("[Sequence]\nname=cam7\nframeRate=20\n")
    info = probe(folder, fps=5)
    assert (info.fps, info.metadata_source, sequence_name(folder)) == (20.0, "seqinfo.ini", "cam7")
    assert read_seqinfo(folder)["name"] == "cam7"
    (folder / "seqinfo.ini").write_text("[Sequence]\nframeRate=fast\n")
    with pytest.raises(MediaError, match="'fast'"):
        probe(folder)


def test_fingerprint_is_stable_across_a_move_and_differs_by_content(tmp_path: Path, make_video) -> None:
    first = make_video("a.mp4", 20)
    second = make_video("b.mp4", 21)
    before = fingerprint_file(first)
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    shutil.move(first, moved)
    assert fingerprint_file(moved) == before
    assert fingerprint_file(second) != before


def test_faststart_mp4_cut_at_99_percent_keeps_only_the_frames_that_decode(tmp_path: Path, db) -> None:
    data = encode(tmp_path / "fast.mp4", 200, options={"movflags": "faststart"}).read_bytes()
    cut = tmp_path / "cut99.mp4"
    cut.write_bytes(data[: int(len(data) * 0.99)])
    with av.open(str(cut)) as container:
        decodable = 0
        with pytest.raises(av.FFmpegError):
            for _frame in container.decode(container.streams.video[0]):
                decodable += 1
    info = probe(cut)
    assert info.frame_count == decodable < 200
    assert info.undecodable_tail > 0 and "decodable-tail" in info.metadata_source
    table = FrameTable(info.frame_times, info.keyframes)
    frames = list(iter_frames(cut, start=0, stop=len(table), table=table))
    assert [f.index for f in frames] == list(range(decodable))  # every frame of the table decodes
    (outcome,) = import_paths(db, [cut])
    assert outcome.status == "imported"
    assert f"the last {info.undecodable_tail} frames do not decode and were left out" in outcome.message


def test_a_still_image_named_like_a_video_is_refused(tmp_path: Path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "photo.png"), np.zeros((48, 64, 3), np.uint8))
    path = tmp_path / "photo.mp4"
    shutil.copy(tmp_path / "photo.png", path)
    assert "a still image (PNG), not a video" in _refusal(path)


# 512 ticks a frame: at 25 ticks/s frames fall 20.48 s apart, at 1280 ticks/s 0.4 s apart; the edit
# list still plays 1.2 s, which holds 1 and 3 of them.
@pytest.mark.parametrize(("ticks", "placed"), [(25, 1), (1280, 3)])
def test_a_damaged_time_scale_is_refused(tmp_path: Path, ticks: int, placed: int) -> None:
    data = bytearray(encode(tmp_path / "ok.mp4", 30).read_bytes())
    mdhd = data.find(b"mdhd")
    offset = mdhd + 8 + (16 if data[mdhd + 4] == 1 else 8)  # version/flags, then the two dates
    assert int.from_bytes(data[offset : offset + 4], "big") == 12800
    data[offset : offset + 4] = ticks.to_bytes(4, "big")  # the track's ticks per second, made wrong
    path = tmp_path / "broken_timescale.mp4"
    path.write_bytes(bytes(data))
    message = _refusal(path)
    assert f"lists 30 frames but its timing places only {placed} inside its playing time" in message
    assert "time scale is probably damaged" in message


def test_a_frame_rate_below_one_frame_in_ten_seconds_is_refused(tmp_path: Path) -> None:
    # Declared 1000 fps (out of range); the timestamps put frames 20 s apart: 0.05 fps.
    path = encode(tmp_path / "slow.mkv", 10, rate=1000, tick_ms=20_000)
    assert "no usable frame rate (0.05 fps)" in _refusal(path)
