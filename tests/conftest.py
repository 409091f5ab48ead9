"""Shared fixtures: a fresh database (a file, or on a real PostgreSQL server where a test module
asks for the ``backend`` fixture), tiny videos made with OpenCV, the shared real data."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
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


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free local port, run as a non-root user."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="vru_pg_"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            shutil.chown(self.folder, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        data = self.folder / "data"
        self._run(str(self.bin_dir / "initdb"), "-D", str(data), "-U", "vru", "-A", "trust", "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "log")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres", user: str = "vru") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def execute(self, *statements: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(
            self.url(database).replace("postgresql", "postgres", 1), autocommit=True
        ) as conn:
            for statement in statements:
                conn.execute(statement)

    def role(self, name: str, database: str) -> str:
        """A login role ``name`` (made once) that may use every table of ``database``; its URL there."""
        import psycopg

        with contextlib.suppress(psycopg.errors.DuplicateObject):
            self.execute(f"CREATE ROLE {name} LOGIN")
        self.execute(
            f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {name}",
            f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {name}",
            database=database,
        )
        return self.url(database, user=name)

    def new_database(self, template: str = "template1") -> str:
        """A new empty database's URL (from ``template``: a migrated one makes this fast)."""
        name = f"vru_test_{next(self._names)}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session, with a migrated template database ``vru_template``."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb) found: apt-get install postgresql")
    pytest.importorskip("psycopg", reason="the team extra (psycopg) is not installed")
    server = PostgresServer(bin_dir)
    server.start()
    try:
        from vru_desktop.store.db import open_database

        server.execute("CREATE DATABASE vru_template")
        open_database(server.url("vru_template")).close()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The store's backend. A test module runs on both with
    ``pytestmark = pytest.mark.usefixtures("backend")``."""
    return request.param


@pytest.fixture
def database_target(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> str | Path:
    """The database of this test: the file in ``data_dir``, or a fresh server database that the CLI
    finds through ``VRU_DESKTOP_DATABASE`` too."""
    from vru_desktop.settings import DATABASE_ENV, resolve_locations

    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.new_database("vru_template")
        monkeypatch.setenv(DATABASE_ENV, url)
        return url
    return resolve_locations(data_dir).ensure().database


@pytest.fixture
def db(database_target: str | Path) -> Iterator:
    from vru_desktop.library.projects import ensure_default_project
    from vru_desktop.store.db import open_database

    database = open_database(database_target)
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
