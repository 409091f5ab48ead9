"""Shared fixtures: a fresh database file, tiny videos made with OpenCV, the shared real data."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VRU_SHARED_DIR", REPO.parent / "shared"))
SHARED_DATA = Path(os.environ.get("VRU_SHARED_DATA", SHARED / "data"))
SHARED_MODELS = Path(os.environ.get("VRU_SHARED_MODELS", SHARED / "models"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def db(data_dir: Path) -> Iterator:
    from vru_desktop.library.projects import ensure_default_project
    from vru_desktop.settings import resolve_locations
    from vru_desktop.store.db import open_database

    database = open_database(resolve_locations(data_dir).ensure().database)
    ensure_default_project(database)
    yield database
    database.close()


def write_video(
    path: Path,
    frames: int = 30,
    *,
    fps: float = 25.0,
    size: tuple[int, int] = (160, 120),
    fourcc: str = "mp4v",
    draw: Callable[[np.ndarray, int], None] | None = None,
) -> Path:
    """Write a small video with OpenCV; each frame is coloured by its index (or drawn by ``draw``)."""
    import cv2

    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for index in range(frames):
        image = np.full((height, width, 3), (index * 7) % 255, dtype=np.uint8)
        cv2.putText(image, str(index), (5, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        if draw is not None:
            draw(image, index)
        writer.write(image)
    writer.release()
    return path


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    def factory(name: str = "clip.mp4", frames: int = 30, **kwargs) -> Path:  # type: ignore[no-untyped-def]
        folder = tmp_path / "videos"
        folder.mkdir(exist_ok=True)
        return write_video(folder / name, frames, **kwargs)

    return factory


def open_reader(db, video_id: int, **kwargs):  # type: ignore[no-untyped-def]
    """A frame reader for a library video, using its stored frame table."""
    from vru_desktop.media.frames import FrameTable
    from vru_desktop.media.reader import FrameReader
    from vru_desktop.store.models import FrameIndex, Video

    with db.session() as session:
        video = session.get(Video, video_id)
        index = session.get(FrameIndex, video_id)
        table = FrameTable.from_bytes(index.times, index.keyframes)
        return FrameReader(video.file_path, table, video.kind, **kwargs)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (set VRU_SHARED_DIR)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return _require(SHARED_DATA)


@pytest.fixture
def shared_models() -> Path:
    return _require(SHARED_MODELS)


@pytest.fixture(scope="session")
def make_street_clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """Makes the first N frames of the shared street film (640x360) into an mp4v clip."""
    return lambda frames: _street_clip(tmp_path_factory.mktemp("street"), frames)


def _street_clip(folder: Path, frames: int) -> Path:
    import cv2

    from vru_desktop.media.frames import iter_frames

    film = _require(SHARED_DATA / "street_videos" / "market_street_1906.mp4")
    path = folder / f"street_clip_{frames}.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 360))
    for frame in iter_frames(film, stop=frames):
        writer.write(frame.image)
    writer.release()
    return path
