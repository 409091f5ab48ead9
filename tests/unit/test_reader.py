"""The frame reader: cache bound, read-ahead, image sequences, and frames that cannot be decoded."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import open_reader
from test_reader_videos import encode_pattern_video, pattern_frame, read_index

from vru_desktop.errors import MediaError
from vru_desktop.media.frames import FrameTable
from vru_desktop.media.probe import probe
from vru_desktop.media.reader import FrameCache, FrameReader


def _reader(path: Path, **kwargs) -> FrameReader:  # type: ignore[no-untyped-def]
    info = probe(path, fps=25.0)
    return FrameReader(path, FrameTable(info.frame_times, info.keyframes), info.kind, **kwargs)


def test_cache_is_bounded_by_bytes() -> None:
    cache = FrameCache(max_bytes=10 * 1000)
    for index in range(50):
        cache.put(index, np.zeros(1000, np.uint8))
    assert cache.bytes <= 10 * 1000 and len(cache) == 10
    assert 49 in cache and 0 not in cache
    cache.get(40)
    cache.put(50, np.zeros(1000, np.uint8))
    assert 40 in cache and 41 not in cache, "the least recently used frame goes first"


def test_reader_cache_stays_within_its_bound(tmp_path: Path) -> None:
    path = encode_pattern_video(tmp_path / "v.mp4", 120, gop=30)
    frame_bytes = 320 * 240 * 3
    with _reader(path, cache_bytes=frame_bytes * 7 + 10) as reader:
        for index in range(0, 120, 3):
            assert read_index(reader.read(index)) == index
            assert reader.cache.bytes <= frame_bytes * 7 + 10
        assert len(reader.cache) == 7


def test_forward_steps_are_read_ahead(tmp_path: Path) -> None:
    path = encode_pattern_video(tmp_path / "v.mp4", 60, gop=60)
    with _reader(path, read_ahead=5) as reader:
        reader.read(10)
        reader.read(11)
        deadline = time.monotonic() + 5
        while not all(i in reader.cache for i in range(12, 17)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(i in reader.cache for i in range(12, 17))
        assert 17 not in reader.cache
        hits = reader.cache.hits
        assert read_index(reader.read(12)) == 12
        assert reader.cache.hits == hits + 1


def test_a_seek_reads_the_next_frames_ahead(tmp_path: Path) -> None:
    path = encode_pattern_video(tmp_path / "v.mp4", 120, gop=60)
    with _reader(path, read_ahead=3) as reader:
        reader.read(80)
        seeks = reader.seeks
        deadline = time.monotonic() + 5
        while not all(i in reader.cache for i in range(81, 84)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(i in reader.cache for i in range(81, 84)) and 84 not in reader.cache
        assert reader.seeks == seeks, "read ahead by decoding on from the target, without a seek"
        assert read_index(reader.cached(81)) == 81


def test_stepping_back_after_a_seek_reuses_kept_frames(tmp_path: Path) -> None:
    path = encode_pattern_video(tmp_path / "v.mp4", 100, gop=100)
    with _reader(path, read_ahead=0) as reader:
        reader.read(90)
        seeks = reader.seeks
        for index in range(89, 85, -1):
            assert read_index(reader.read(index)) == index
        assert reader.seeks == seeks


def test_image_sequence_read_by_file_and_a_broken_image_fails_alone(tmp_path: Path) -> None:
    folder = tmp_path / "seq"
    folder.mkdir()
    for index in range(12):
        cv2.imwrite(str(folder / f"{index + 1:06d}.png"), pattern_frame(index, 160, 120))
    (folder / "000006.png").write_bytes(b"not an image")
    with _reader(folder) as reader:
        assert reader.kind == "image_sequence"
        assert read_index(reader.read(4)) == 4
        with pytest.raises(MediaError, match=r"Frame 5 \(000006.png\) cannot be decoded"):
            reader.read(5)
        assert read_index(reader.read(6)) == 6
        assert read_index(reader.read(11)) == 11


def test_truncated_file_fails_only_for_the_lost_frames(tmp_path: Path) -> None:
    path = encode_pattern_video(tmp_path / "v.mkv", 120, gop=30)
    info = probe(path)
    table = FrameTable(info.frame_times, info.keyframes)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with FrameReader(path, table) as reader:
        with pytest.raises(MediaError, match="Frame 119 cannot be decoded"):
            reader.read(119)
        assert read_index(reader.read(3)) == 3
        assert read_index(reader.read(40)) == 40


def test_missing_file_is_a_media_error_with_relink_hint(tmp_path: Path, db, make_video) -> None:  # type: ignore[no-untyped-def]
    from vru_desktop.library.importer import import_paths

    path = make_video("gone.mp4", 10)
    (outcome,) = import_paths(db, [path])
    path.unlink()
    with pytest.raises(MediaError, match="Relink"):
        open_reader(db, outcome.video_id)


def test_index_outside_the_video_is_refused(tmp_path: Path) -> None:
    path = encode_pattern_video(tmp_path / "v.mp4", 10, gop=10)
    with _reader(path) as reader, pytest.raises(IndexError):
        reader.read(10)


def test_a_far_seek_skips_frames_nothing_refers_to(tmp_path: Path) -> None:
    path = encode_pattern_video(tmp_path / "v.mp4", 240, gop=240, bframes=3)

    class Counting(FrameReader):
        decoded = 0

        def _next_frame(self):  # type: ignore[no-untyped-def]
            found = super()._next_frame()
            self.decoded += found is not None
            return found

    info = probe(path)
    with Counting(path, FrameTable(info.frame_times, info.keyframes), read_ahead=0) as reader:
        assert read_index(reader.read(200)) == 200
        assert reader.decoded < 150, "B-frames far before the target are not decoded"
        assert [read_index(reader.read(i)) for i in (199, 198, 201)] == [199, 198, 201]
