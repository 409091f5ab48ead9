"""Frame identity proof for the core: stored frame tables and the reader agree with a full decode.

The videos carry their own index in their pixels (see ``test_reader_videos``): H.264 with a
250-frame GOP and B-frames, variable frame rate, files that start at 3.5 s and 10 s, one whose sound
starts a second before its picture, and OpenCV mp4v.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import open_reader
from test_reader_videos import cached_identity_videos, decode_all, read_index

from vru_desktop.library.importer import import_paths
from vru_desktop.library.projects import ensure_default_project
from vru_desktop.store.db import open_database
from vru_desktop.store.models import FrameIndex, Video

FRAMES = 300
NAMES = ("h264_long_gop", "vfr", "late_start", "late_start_mkv", "audio_first", "mp4v_opencv")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict:
    root = tmp_path_factory.mktemp("identity")
    videos = cached_identity_videos(request.config.cache, FRAMES)
    db = open_database(root / "library.sqlite")
    ensure_default_project(db)
    outcomes = import_paths(db, list(videos.values()))
    assert [o.status for o in outcomes] == ["imported"] * len(videos), [o.line() for o in outcomes]
    ids = {name: outcome.video_id for name, outcome in zip(videos, outcomes, strict=True)}
    yield {"db": db, "paths": videos, "ids": ids}
    db.close()


@pytest.mark.parametrize("name", NAMES)
def test_stored_frame_table_matches_full_decode(library: dict, name: str) -> None:
    db, video_id = library["db"], library["ids"][name]
    times, shown = decode_all(library["paths"][name])
    with db.session() as session:
        video = session.get(Video, video_id)
        index = session.get(FrameIndex, video_id)
        stored = np.frombuffer(index.times, dtype="<f8")
        assert video.frame_count == index.frame_count == len(times) == FRAMES
        assert video.start_time == pytest.approx(times[0])
        keyframes = np.frombuffer(index.keyframes, dtype="<i4")
    np.testing.assert_allclose(stored, times, atol=1e-9)
    assert shown == list(range(FRAMES)), "decode order must be the index painted in each frame"
    assert keyframes[0] == 0 and np.all(np.diff(keyframes) > 0)


def test_frame_tables_capture_the_difficult_timing(library: dict) -> None:
    with library["db"].session() as session:
        videos = {name: session.get(Video, vid) for name, vid in library["ids"].items()}
        vfr_index = session.get(FrameIndex, library["ids"]["vfr"])
        assert vfr_index.is_vfr
    assert videos["late_start"].start_time == pytest.approx(10.0)
    assert videos["late_start_mkv"].start_time == pytest.approx(3.5)
    assert videos["audio_first"].start_time == pytest.approx(1.0), "the picture's start, not the sound's"
    assert videos["h264_long_gop"].codec == "h264" and videos["mp4v_opencv"].codec == "mpeg4"


@pytest.mark.parametrize("name", NAMES)
def test_reader_shows_the_frame_with_that_index(library: dict, name: str) -> None:
    rng = random.Random(name)
    with open_reader(library["db"], library["ids"][name]) as reader:
        order = [rng.randrange(FRAMES) for _ in range(40)]  # random seeks
        order += [FRAMES - 1, 0, FRAMES - 1]  # the ends and back
        order += list(range(120, 140))  # stepping forward (read-ahead)
        order += list(range(260, 240, -1))  # stepping backward across a seek
        order += [rng.randrange(FRAMES) for _ in range(20)]
        for index in order:
            image = reader.read(index)
            assert read_index(image) == index, f"{name}: asked for {index}, got {read_index(image)}"
        assert reader.time_of(order[-1]) == pytest.approx(reader.table.times[order[-1]])


def test_reader_sequential_pass_matches_every_frame(library: dict) -> None:
    with open_reader(library["db"], library["ids"]["h264_long_gop"]) as reader:
        shown = [read_index(reader.read(index)) for index in range(FRAMES)]
        assert shown == list(range(FRAMES))
        assert reader.seeks == 1, "a forward pass must decode on without seeking"
