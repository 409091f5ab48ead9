"""A large annotation import in another process commits in chunks: other commands get their turn
between two chunks, and an import that stops part-way takes back what it wrote."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vru_desktop.cli import main
from vru_desktop.datasets import importer
from vru_desktop.errors import Cancelled
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import Database

FRAMES, TRACKS = 1000, 40
CLI = [sys.executable, "-m", "vru_desktop"]
CREATE = ["create-project", "Gate", "--camera-model", "M", "--camera-view", "front", "--signal-type", "rgb"]


def mot_dataset(folder: Path, name: str) -> Path:
    """A MOTChallenge folder with FRAMES × TRACKS pedestrian boxes for the video called ``name``."""
    sequence = folder / "mot" / name
    (sequence / "gt").mkdir(parents=True)
    lines = [f"{f},{t},{t},{5},{8},{20},1,1,1" for f in range(1, FRAMES + 1) for t in range(1, TRACKS + 1)]
    (sequence / "gt" / "gt.txt").write_text("\n".join(lines) + "\n")
    (sequence / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nframeRate=25\nseqLength={FRAMES}\n")
    return folder / "mot"


def count(database: Path, table: str) -> int:
    with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as conn:
        (value,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    conn.close()
    return int(value)


@pytest.mark.slow
def test_other_commands_write_while_another_process_imports(
    data_dir: Path, make_video, tmp_path: Path
) -> None:
    video = make_video("gate.mp4", frames=FRAMES, size=(64, 48))
    assert main(["--data-dir", str(data_dir), "import", str(video)]) == 0
    dataset = mot_dataset(tmp_path, "gate")
    database = resolve_locations(data_dir).database
    other = subprocess.Popen(
        [*CLI, "--data-dir", str(data_dir), "import-annotations", "--format", "mot", str(dataset)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    deadline = time.monotonic() + 120
    while count(database, "annotations") == 0 and other.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert main(["--data-dir", str(data_dir), *CREATE]) == 0  # waits at most one chunk for its turn
    written_meanwhile = count(database, "annotations")
    out, err = other.communicate(timeout=240)
    assert other.returncode == 0, err
    assert 0 < written_meanwhile < FRAMES * TRACKS, written_meanwhile  # it wrote between two chunks
    assert count(database, "annotations") == FRAMES * TRACKS
    assert f"{FRAMES * TRACKS} boxes" in out.splitlines()[0]


def test_an_import_stopped_after_some_chunks_takes_them_back(
    db: Database, make_video, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [outcome] = import_paths(db, [make_video("gate.mp4", frames=FRAMES, size=(64, 48))])
    dataset = mot_dataset(tmp_path, "gate")
    monkeypatch.setattr(importer, "WRITE_CHUNK", 4000)
    asked: list[int] = []

    def cancel_at_the_third_chunk() -> bool:
        asked.append(count(db.path, "annotations"))
        return len(asked) == 3  # asked once while preparing, then before each chunk after the first

    with pytest.raises(Cancelled, match="nothing was written"):
        importer.import_annotations(db, "mot", dataset, should_cancel=cancel_at_the_third_chunk)
    assert asked == [0, 4000, 8000]
    assert count(db.path, "annotations") == 0 and count(db.path, "reviewed_frames") == 0
    assert count(db.path, "annotation_imports") == 0
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT ground_truth_generated FROM videos").fetchone() == (0,)
    conn.close()
    result = importer.import_annotations(db, "mot", dataset)
    assert result.boxes == FRAMES * TRACKS and count(db.path, "reviewed_frames") == FRAMES
    assert outcome.video_id == result.videos[0].video_id
