"""Shared fixtures: a fresh database (a file, or on a real PostgreSQL server where a test module
asks for the ``backend`` fixture), tiny videos made with OpenCV, the shared real data."""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def _trackeval(
    gt_file: Path, results_file: Path, benchmark: str, workdir: Path
) -> dict[str, dict[str, np.ndarray]]:
    """TrackEval's combined HOTA, CLEAR and Identity results for one sequence (test oracle only)."""
    import contextlib
    import io
    import shutil

    import trackeval

    seq = "SEQ-01"
    gt_dir = workdir / "gt" / seq
    (gt_dir / "gt").mkdir(parents=True)
    shutil.copy(gt_file, gt_dir / "gt" / "gt.txt")
    frames = max(
        int(float(line.replace(",", " ").split()[0]))
        for file in (gt_file, results_file)
        for line in file.read_text().splitlines()
        if line.strip()
    )
    (gt_dir / "seqinfo.ini").write_text(f"[Sequence]\nname={seq}\nseqLength={frames}\n")
    seqmap = workdir / "seqmap.txt"
    seqmap.write_text(f"name\n{seq}\n")
    tracker_dir = workdir / "trackers" / "T" / "data"
    tracker_dir.mkdir(parents=True)
    shutil.copy(results_file, tracker_dir / f"{seq}.txt")
    config = {
        "GT_FOLDER": str(workdir / "gt"),
        "TRACKERS_FOLDER": str(workdir / "trackers"),
        "BENCHMARK": benchmark,
        "SEQMAP_FILE": str(seqmap),
        "SKIP_SPLIT_FOL": True,
        "TRACKERS_TO_EVAL": ["T"],
        "GT_LOC_FORMAT": "{gt_folder}/{seq}/gt/gt.txt",
        "PRINT_CONFIG": False,
    }
    evaluator = trackeval.Evaluator(
        {
            "USE_PARALLEL": False,
            "PRINT_RESULTS": False,
            "PRINT_CONFIG": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "TIME_PROGRESS": False,
            "DISPLAY_LESS_PROGRESS": True,
            "PRINT_ONLY_COMBINED": True,
        }
    )
    metrics = [
        trackeval.metrics.HOTA(),
        trackeval.metrics.CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False}),
        trackeval.metrics.Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False}),
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        results, messages = evaluator.evaluate([trackeval.datasets.MotChallenge2DBox(config)], metrics)
    assert messages["MotChallenge2DBox"]["T"] == "Success", messages
    return results["MotChallenge2DBox"]["T"][seq]["pedestrian"]


@pytest.fixture
def trackeval_oracle(tmp_path: Path) -> Callable[..., dict[str, dict[str, np.ndarray]]]:
    """``oracle(gt_file, results_file, benchmark="MOT17")``: TrackEval's numbers for the pair of files."""
    runs = iter(range(1_000_000))

    def run(gt_file: Path, results_file: Path, benchmark: str = "MOT17") -> dict[str, dict[str, np.ndarray]]:
        return _trackeval(Path(gt_file), Path(results_file), benchmark, tmp_path / f"trackeval{next(runs)}")

    return run


#: ByteTrack result files for the mot17_mini sequences (see tests/data/mot17_bytetrack/SOURCES.txt).
BYTETRACK_RESULTS = REPO / "tests" / "data" / "mot17_bytetrack"


@pytest.fixture
def mot17_tracked_run(db: Any, shared_data: Path) -> tuple[int, Path, list[list[float]], float]:
    """MOT17-10 (5 frames) in the library with its ground truth imported, and ByteTrack's boxes and
    ids stored as a completed run with confidence 0.4: ``(run_id, gt.txt, result rows, conf)``."""
    from vru_desktop.datasets.importer import ImportOptions, import_annotations
    from vru_desktop.library.importer import import_paths
    from vru_desktop.store.models import DetectionEvent, TestSession

    sequence, conf = "MOT17-10-FRCNN", 0.4
    root = shared_data / "mot17_mini"
    (outcome,) = import_paths(db, [root / "videos" / f"{sequence}_first5.mp4"])
    gt_file = root / "train" / sequence / "gt" / "gt.txt"
    import_annotations(
        db, "mot", gt_file.parent.parent, ImportOptions(video_id=outcome.video_id, unmapped="ignore")
    )
    text = (BYTETRACK_RESULTS / f"{sequence}.txt").read_text()
    rows = [[float(v) for v in line.split(",")] for line in text.splitlines()]
    with db.transaction() as s:
        run = TestSession(video_id=outcome.video_id, config={"conf": conf}, status="completed")
        s.add(run)
        s.flush()
        for frame, track, x, y, w, h, score, *_ in rows:
            s.add(
                DetectionEvent(
                    session_id=run.id,
                    video_id=outcome.video_id,
                    frame_number=int(frame) - 1,  # MOT frames are 1-based
                    timestamp=(frame - 1) / 30,
                    vru_type="pedestrian",
                    confidence=score,
                    x1=x,
                    y1=y,
                    x2=x + w,
                    y2=y + h,
                    track_id=int(track),
                )
            )
        run_id = run.id
    return run_id, gt_file, rows, conf


# -- campaigns: synthetic suites written straight to the store ------------------------------------


CAMPAIGN_CLASSES = ("pedestrian", "cyclist")
CAMPAIGN_CONF = 0.3


def _campaign_model(db: Any, folder: Path) -> int:
    from vru_desktop.detection.models import file_sha256
    from vru_desktop.store.models import DetectorModel

    path = folder / "detector.onnx"
    path.write_bytes(b"a detector model, for tests only")
    with db.transaction() as s:
        model = DetectorModel(name="detector.onnx", path=str(path), sha256=file_sha256(path), format="onnx")
        s.add(model)
        s.flush()
        return model.id


def _campaign_run(
    db: Any, video_id: int, model_id: int, frames: int, seed: int, *, reviewed: bool = True
) -> int:
    """Random ground truth on every frame (reviewed) and noisy detections as a completed run."""
    from vru_desktop.detection.pipeline import RunConfig
    from vru_desktop.store.models import Annotation, DetectorModel, ReviewedFrame, TestSession

    rng = np.random.default_rng(seed)
    with db.transaction() as s:
        sha = s.get(DetectorModel, model_id).sha256
        run = TestSession(
            video_id=video_id,
            model_id=model_id,
            config=RunConfig(conf=CAMPAIGN_CONF).to_dict(),
            provenance={"model_sha256": sha},
            status="completed",
            progress=1.0,
        )
        s.add(run)
        s.flush()
        for frame in range(frames):
            if reviewed:
                s.add(ReviewedFrame(video_id=video_id, frame_number=frame))
            for _ in range(int(rng.integers(0, 5))):
                x, y = rng.uniform(0, 500, 2)
                w, h = rng.uniform(8, 150, 2)
                kind = CAMPAIGN_CLASSES[int(rng.integers(0, 2))]
                s.add(
                    Annotation(
                        video_id=video_id,
                        frame_number=frame,
                        vru_type=kind,
                        validated=True,
                        crowd=bool(rng.random() < 0.05),
                        x1=x,
                        y1=y,
                        x2=x + w,
                        y2=y + h,
                    )
                )
                if rng.random() < 0.8:
                    jx, jy = rng.normal(0, 0.12 * w), rng.normal(0, 0.12 * h)
                    s.add(campaign_event(run, video_id, frame, kind, rng.random(), x + jx, y + jy, w, h))
            for _ in range(int(rng.integers(0, 3))):
                x, y = rng.uniform(0, 500, 2)
                s.add(
                    campaign_event(
                        run,
                        video_id,
                        frame,
                        CAMPAIGN_CLASSES[int(rng.integers(0, 2))],
                        rng.random(),
                        x,
                        y,
                        40,
                        90,
                    )
                )
        return run.id


def campaign_event(run: Any, video_id: int, frame: int, kind: str, score: float, *box: float) -> Any:
    """A detection of ``run`` with box ``x, y, w, h``."""
    from vru_desktop.store.models import DetectionEvent

    x, y, w, h = box
    return DetectionEvent(
        session_id=run.id,
        video_id=video_id,
        frame_number=frame,
        timestamp=frame / 25,
        vru_type=kind,
        confidence=float(score),
        x1=float(x),
        y1=float(y),
        x2=float(x + w),
        y2=float(y + h),
    )


@pytest.fixture
def campaign_suite(db: Any, make_video: Any, tmp_path: Path) -> dict[str, Any]:
    """Two projects (different cameras), four videos with completed runs; video 4 has no review."""
    from vru_desktop.library.importer import Assignment, import_paths
    from vru_desktop.library.projects import ProjectFields, create_project

    projects = []
    for name, view in (("front cams", "front"), ("rear cams", "rear")):
        fields = ProjectFields(name=name, camera_model=f"cam-{view}", camera_view=view, signal_type="video")
        projects.append(create_project(db, fields).id)
    model_id = _campaign_model(db, tmp_path)
    videos = []
    for i in range(4):
        path = make_video(f"v{i}.mp4", frames=8 + i)
        assignment = Assignment(explicit_project_id=projects[i % 2])
        (outcome,) = import_paths(db, [path], assignment=assignment)
        videos.append(outcome.video_id)
        _campaign_run(db, outcome.video_id, model_id, 8 + i, seed=i, reviewed=i != 3)
    return {"model_id": model_id, "videos": videos, "projects": ["front cams", "rear cams"]}


@pytest.fixture(autouse=True)
def _qt_garbage_freed_on_the_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test with widgets, free its cycles here: the collector otherwise runs in whichever
    thread allocates next, and a Qt object destroyed on a worker thread takes Qt's locks there and
    then waits for the GIL that the main thread holds while it waits for those locks."""
    yield
    if "qapp" in request.fixturenames:
        gc.collect()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep what collecting the suite created (every test module and what it imports, torch among
    them) out of the garbage collector's full passes, whose pauses the event-loop stall probes would
    otherwise charge to the window."""
    gc.collect()
    gc.freeze()


_RAY_CLUSTER: dict[str, Callable[[], None]] = {}  # how to stop the running test cluster


def _stop_ray_cluster() -> None:
    stop = _RAY_CLUSTER.pop("stop", None)
    if stop is not None:
        stop()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A real Ray cluster on this machine: a head and two worker nodes of one CPU each, shared by every
    test that asks for it and stopped after the last of them (its idle processes would slow the rest of
    the suite); its address. Its workers import this checkout."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from vru_desktop.detection import cluster as ray_runs

    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), path) if p)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})

    def stop() -> None:
        ray_runs.disconnect()
        cluster.shutdown()
        if path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = path

    _RAY_CLUSTER["stop"] = stop
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        _stop_ray_cluster()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that use the Ray cluster run one after the other (where the first of them is), so the
    cluster lives only while they run."""
    users = [item for item in items if "ray_cluster" in getattr(item, "fixturenames", ())]
    if users:
        first = items.index(users[0])
        others = [item for item in items if item not in set(users)]
        items[:] = others[:first] + users + others[first:]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Stop the test cluster once no later test asks for it."""
    if "stop" not in _RAY_CLUSTER or "ray_cluster" not in getattr(item, "fixturenames", ()):
        return
    later = item.session.items[item.session.items.index(item) + 1 :]
    if not any("ray_cluster" in getattr(other, "fixturenames", ()) for other in later):
        _stop_ray_cluster()
