"""A full disk (a real small tmpfs): import, a detection run, MOT/CVAT exports and the HTML report
each end in a one-line message, leave nothing half written, and complete once space is freed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vru_desktop.cli import main
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, ReviewedFrame

MODEL = "yolo11n_int8_openvino_model"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts 8 MB tmpfs folders (root only; skipped where mounting is not allowed)."""
    mounted: list[Path] = []

    def mount(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; deleting it frees the space again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == 28
    try:
        while True:
            os.write(fd, b"\0")
    except OSError:
        pass
    os.close(fd)
    return filler


def cli_process(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vru_desktop", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )


def assert_one_line_full_disk(code: int, err: str) -> str:
    assert code == 1
    assert "is full" in err and "Free some space" in err
    assert "Traceback" not in err and "Logging error" not in err
    return err


def test_import_on_a_full_disk_says_so_and_works_once_space_is_freed(small_disk, make_video) -> None:
    disk = small_disk("disk")
    data = disk / "data"
    assert cli_process(data, "import", str(make_video("first.mp4", frames=5))).returncode == 0
    filler = fill(disk)
    second = make_video("second.mp4", frames=6)
    full = cli_process(data, "import", str(second))
    assert_one_line_full_disk(full.returncode, full.stderr + full.stdout)
    filler.unlink()
    again = cli_process(data, "import", str(second))
    assert again.returncode == 0 and "imported" in again.stdout
    videos = json.loads(cli_process(data, "videos", "--json").stdout)
    assert sorted(v["name"] for v in videos) == ["first.mp4", "second.mp4"]


RUN_UNTIL_THE_DISK_FILLS = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_full_disk import fill
from vru_desktop.detection.pipeline import RunCallbacks, execute_run
from vru_desktop.errors import VruError
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import open_database

locations = resolve_locations(sys.argv[1])
db = open_database(locations.database)
commits = []

def committed(first, last, count):
    commits.append(last)
    if len(commits) == 1:
        fill(Path(sys.argv[2]))

try:
    execute_run(db, int(sys.argv[4]), locations, callbacks=RunCallbacks(committed=committed))
except VruError as exc:
    print(f"error: {exc}")
    sys.exit(1)
"""


@pytest.mark.slow
def test_a_run_stopped_by_a_full_disk_resumes_to_the_same_events(
    small_disk, shared_models: Path, make_street_clip: Callable[[int], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    disk = small_disk("disk")
    data = disk / "data"
    clip = make_street_clip(24)
    assert main(["--data-dir", str(data), "import", str(clip)]) == 0
    assert main(["--data-dir", str(data), "add-model", str(shared_models / MODEL)]) == 0
    from vru_desktop.detection.pipeline import RunConfig
    from vru_desktop.detection.runs import create_run
    from vru_desktop.store.db import open_database

    database = open_database(resolve_locations(data).database)
    config = RunConfig(imgsz=320, commit_frames=8, commit_seconds=60.0, batch=4)
    run_id = create_run(database, 1, 1, config).id
    database.close()
    here = str(Path(__file__).parent)
    first = subprocess.run(
        [sys.executable, "-c", RUN_UNTIL_THE_DISK_FILLS, str(data), str(disk), here, str(run_id)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )
    assert_one_line_full_disk(first.returncode, first.stdout + first.stderr)
    database_file = resolve_locations(data).database
    (disk / "filler").unlink()
    with sqlite3.connect(database_file) as conn:
        (last,) = conn.execute(
            "SELECT last_committed_frame FROM test_sessions WHERE id = ?", (run_id,)
        ).fetchone()
        beyond = conn.execute(
            "SELECT count(*) FROM detection_events WHERE session_id = ? AND frame_number > ?", (run_id, last)
        ).fetchone()[0]
    conn.close()
    assert 0 <= last < 23 and beyond == 0  # the batch in hand when the disk filled was not half written
    assert main(["--data-dir", str(data), "resume", str(run_id)]) == 0
    assert (
        main(
            ["--data-dir", str(data), "detect", "1", "--model", str(shared_models / MODEL), "--imgsz", "320"]
        )
        == 0
    )
    with sqlite3.connect(database_file) as conn:
        rows = conn.execute(
            "SELECT session_id, frame_number, vru_type, x1, y1, x2, y2, confidence FROM detection_events "
            "ORDER BY session_id, frame_number, x1, y1"
        ).fetchall()
    conn.close()
    resumed = [r[1:] for r in rows if r[0] == run_id]
    uninterrupted = [r[1:] for r in rows if r[0] != run_id]
    assert resumed == uninterrupted and len({r[0] for r in resumed}) > 12

    # The report of that run into a full folder.
    reports = small_disk("reports")
    filler = fill(reports)
    code = main(["--data-dir", str(data), "report", str(run_id), "--out", str(reports / "run.html")])
    assert code == 1
    assert sorted(p.name for p in reports.iterdir()) == ["filler"]
    filler.unlink()
    assert main(["--data-dir", str(data), "report", str(run_id), "--out", str(reports / "run.html")]) == 0
    assert (reports / "run.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("fmt", ["mot", "cvat-video"])
def test_an_export_into_a_full_folder_leaves_nothing_and_keeps_the_old_dataset(
    small_disk, db: Database, data_dir: Path, make_video, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from vru_desktop.library.importer import import_paths

    [outcome] = import_paths(db, [make_video("gate.mp4", frames=12)])
    with db.transaction() as session:
        for frame in range(12):
            box = {"x1": 10 + frame, "y1": 20, "x2": 40 + frame, "y2": 90}
            session.add(
                Annotation(
                    video_id=outcome.video_id,
                    frame_number=frame,
                    vru_type="pedestrian",
                    validated=True,
                    track_id=1,
                    **box,
                )
            )
            session.add(ReviewedFrame(video_id=outcome.video_id, frame_number=frame))
    disk = small_disk("exports")
    out = disk / "dataset"
    export = ["--data-dir", str(data_dir), "export", "--format", fmt, "--out", str(out), "--video", "1"]
    if fmt == "mot":
        export.append("--images")
    assert main(export) == 0
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    filler = fill(disk)
    capsys.readouterr()
    code = main([*export, "--overwrite"])
    err = assert_one_line_full_disk(code, capsys.readouterr().err)
    assert f"The disk holding {out} is full" in err
    assert sorted(p.name for p in disk.iterdir()) == ["dataset", "filler"]  # no hidden leftovers
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    filler.unlink()
    assert main([*export, "--overwrite"]) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before


# -- the log file -------------------------------------------------------------------------------------
def _one_warning(err: str, log: Path) -> None:
    assert err.count("warning: cannot write the log file") == 1, err
    assert f"warning: cannot write the log file {log} (" in err
    assert "Logging error" not in err and "Traceback" not in err


def test_a_read_only_log_file_falls_back_to_stderr_with_one_warning(data_dir: Path, make_video) -> None:
    log = resolve_locations(data_dir).ensure().logs_dir / "vru_desktop.log"
    log.touch()
    if subprocess.run(["chattr", "+i", str(log)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i (an unwritable file even for root) is not available here")
    try:
        done = cli_process(data_dir, "import", str(make_video("a.mp4", frames=4)), str(data_dir / "none.mp4"))
    finally:
        subprocess.run(["chattr", "-i", str(log)], check=True)
    assert done.returncode == 1 and "imported" in done.stdout and "refused" in done.stdout
    _one_warning(done.stderr, log)
    assert log.stat().st_size == 0


def test_a_full_log_disk_falls_back_to_stderr_with_one_warning(
    small_disk, data_dir: Path, make_video
) -> None:
    logs = small_disk("data/logs")  # the logs folder of data_dir, on its own small disk
    assert logs == resolve_locations(data_dir).logs_dir
    fill(logs)
    done = cli_process(data_dir, "import", str(make_video("a.mp4", frames=4)), str(data_dir / "none.mp4"))
    assert done.returncode == 1 and "imported" in done.stdout and "refused" in done.stdout
    _one_warning(done.stderr, logs / "vru_desktop.log")
