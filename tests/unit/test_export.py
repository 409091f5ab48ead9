"""Exports: temporary folder + rename, cancel, refusals; pycocotools and Ultralytics accept them; CSV."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vru_desktop.datasets.exporter import ExportOptions, export_dataset
from vru_desktop.errors import Cancelled, MediaError, NotFoundError, ValidationError
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame, TestSession, Video

pytestmark = pytest.mark.usefixtures("backend")


def add_boxes(db: Database, video_id: int, frames: range, per_frame: int = 2) -> int:
    with db.transaction() as session:
        for frame in frames:
            for k in range(per_frame):
                x = 10 + 30 * k + frame
                session.add(
                    Annotation(
                        video_id=video_id,
                        frame_number=frame,
                        vru_type=("pedestrian", "cyclist")[k % 2],
                        validated=True,
                        track_id=k + 1,
                        x1=x,
                        y1=20,
                        x2=x + 25,
                        y2=90,
                        crowd=(frame == 0 and k == 0),
                    )
                )
            session.add(ReviewedFrame(video_id=video_id, frame_number=frame))
    return len(frames) * per_frame


@pytest.fixture
def two_videos(db: Database, make_video) -> tuple[Database, list[int]]:
    ids = []
    for name, frames in (("north.mp4", 12), ("south.mp4", 14)):
        [outcome] = import_paths(db, [make_video(name, frames=frames, size=(160, 120))])
        add_boxes(db, outcome.video_id, range(0, 10))
        ids.append(outcome.video_id)
    return db, ids


def test_coco_loads_in_pycocotools_with_the_right_counts(two_videos, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    db, ids = two_videos
    out = tmp_path / "coco"
    export_dataset(db, ExportOptions("coco", out, video_ids=ids))
    coco = COCO(str(out / "annotations.json"))
    assert len(coco.getImgIds()) == 20
    assert len(coco.getAnnIds()) == 40
    assert len(coco.getAnnIds(iscrowd=True)) == 2
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())][:2] == ["pedestrian", "cyclist"]
    assert min(coco.getCatIds()) == 1
    assert len(coco.getAnnIds(catIds=[coco.getCatIds(catNms=["cyclist"])[0]])) == 20
    image = coco.loadImgs(coco.getImgIds())[0]
    assert (out / "images" / image["file_name"]).is_file()
    assert image["file_name"] == f"north_v{ids[0]}_000000.jpg" and image["frame_number"] == 0
    ann = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]], iscrowd=False))[0]
    assert ann["attributes"]["track_id"] == 2 and ann["bbox"] == [40.0, 20.0, 25.0, 70.0]


def test_yolo_split_is_by_video_and_deterministic(db: Database, make_video, tmp_path: Path) -> None:
    ids = []
    for number in range(6):
        [outcome] = import_paths(db, [make_video(f"clip{number}.mp4", frames=3 + number, size=(64, 48))])
        add_boxes(db, outcome.video_id, range(3), per_frame=1)
        ids.append(outcome.video_id)
    first = export_dataset(db, ExportOptions("yolo", tmp_path / "a", video_ids=ids))
    export_dataset(db, ExportOptions("yolo", tmp_path / "b", video_ids=list(reversed(ids))))
    assert first.counts["val_videos"] == 1 and first.counts["train_videos"] == 5
    for split in ("train", "val"):
        names_a = sorted(p.name for p in (tmp_path / "a" / "images" / split).iterdir())
        names_b = sorted(p.name for p in (tmp_path / "b" / "images" / split).iterdir())
        assert names_a == names_b
        labels = sorted(p.stem for p in (tmp_path / "a" / "labels" / split).iterdir())
        assert labels == [Path(n).stem for n in names_a]
    train = {n.rsplit("_", 1)[0] for n in os.listdir(tmp_path / "a" / "images" / "train")}
    val = {n.rsplit("_", 1)[0] for n in os.listdir(tmp_path / "a" / "images" / "val")}
    assert train and val and not train & val


@pytest.mark.slow
def test_yolo_export_trains_one_epoch_with_ultralytics(two_videos, tmp_path: Path) -> None:
    db, ids = two_videos
    out = tmp_path / "yolo"
    export_dataset(db, ExportOptions("yolo", out, video_ids=ids))
    config = tmp_path / "ultralytics_config"
    config.mkdir()
    # Ultralytics checks for Arial.ttf in its config folder and downloads it when missing: give it a
    # local font under that name (matplotlib's DejaVuSans), and run offline.
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    (config / "Arial.ttf").write_bytes(font.read_bytes())
    script = textwrap.dedent(
        f"""
        from ultralytics import YOLO
        model = YOLO("yolov8n.yaml")
        model.train(data={str(out / "data.yaml")!r}, epochs=1, imgsz=64, batch=4, workers=0, device="cpu",
                    plots=False, amp=False, val=True, project={str(tmp_path / "runs")!r}, name="t",
                    exist_ok=True, verbose=False)
        """
    )
    env = {**os.environ, "YOLO_CONFIG_DIR": str(config), "YOLO_OFFLINE": "1", "MPLCONFIGDIR": str(config)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=280
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "runs" / "t" / "weights" / "last.pt").is_file()
    assert "Downloading" not in done.stderr + done.stdout


def test_refuses_a_folder_that_holds_files(two_videos, tmp_path: Path) -> None:
    db, ids = two_videos
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ValidationError, match="already holds files"):
        export_dataset(db, ExportOptions("coco", out, video_ids=ids))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    export_dataset(db, ExportOptions("mot", out, video_ids=ids, overwrite=True))
    assert sorted(p.name for p in out.iterdir()) == [f"north_v{ids[0]}", f"south_v{ids[1]}"]


def test_cancel_leaves_nothing(two_videos, tmp_path: Path) -> None:
    db, ids = two_videos
    out = tmp_path / "cancelled"
    calls = []

    def cancel_after_first_report() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Cancelled):
        export_dataset(db, ExportOptions("coco", out, video_ids=ids), should_cancel=cancel_after_first_report)
    assert sorted(os.listdir(tmp_path)) == sorted(n for n in os.listdir(tmp_path) if not n.startswith("."))
    assert not out.exists()


def test_failure_midway_leaves_nothing(two_videos, tmp_path: Path) -> None:
    db, ids = two_videos
    with db.transaction() as session:
        video = session.get(Video, ids[1])
        broken = Path(video.file_path).with_name("gone.mp4")
        video.file_path = str(broken)
    out = tmp_path / "failed"
    with pytest.raises(MediaError, match="file not found"):
        export_dataset(db, ExportOptions("yolo", out, video_ids=ids))
    assert not out.exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".failed")]


def test_unknown_video_and_project(two_videos, tmp_path: Path) -> None:
    db, _ = two_videos
    with pytest.raises(NotFoundError, match="999"):
        export_dataset(db, ExportOptions("coco", tmp_path / "x", video_ids=[999]))
    with pytest.raises(NotFoundError, match="Nowhere"):
        export_dataset(db, ExportOptions("coco", tmp_path / "x", project="Nowhere"))
    assert not (tmp_path / "x").exists()


def test_project_export_and_mot_images(two_videos, tmp_path: Path) -> None:
    db, ids = two_videos
    result = export_dataset(db, ExportOptions("mot", tmp_path / "mot", project="Default", mot_images=True))
    assert result.videos == 2 and result.frames_written == 20
    seq = tmp_path / "mot" / f"north_v{ids[0]}"
    assert sorted(p.name for p in (seq / "img1").iterdir())[:2] == ["000001.jpg", "000002.jpg"]
    lines = (seq / "gt" / "gt.txt").read_text().splitlines()
    assert len(lines) == 20 and lines[0].startswith("1,1,10.00,20.00,25.00,70.00,0,1,")
    assert "seqLength=12" in (seq / "seqinfo.ini").read_text()


def test_csv_of_detection_events(two_videos, tmp_path: Path) -> None:
    db, ids = two_videos
    with db.transaction() as session:
        run = TestSession(video_id=ids[0], status="completed", provenance={"model_name": "yolov8n.pt"})
        session.add(run)
        session.flush()
        for frame in range(5):
            session.add(
                DetectionEvent(
                    session_id=run.id,
                    video_id=ids[0],
                    frame_number=frame,
                    timestamp=frame / 25,
                    vru_type="pedestrian",
                    confidence=0.9,
                    class_name="person",
                    track_id=3,
                    x1=1,
                    y1=2,
                    x2=3,
                    y2=4,
                )
            )
        run_id = run.id
    result = export_dataset(db, ExportOptions("csv", tmp_path / "csv", run_ids=[run_id]))
    assert result.counts == {"runs": 1, "events": 5}
    with (tmp_path / "csv" / "detections.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5
    assert (
        rows[1]["frame"] == "1" and rows[1]["video_file"] == "north.mp4" and rows[1]["model"] == "yolov8n.pt"
    )
    by_video = export_dataset(db, ExportOptions("csv", tmp_path / "csv2", video_ids=ids))
    assert by_video.counts == {"runs": 1, "events": 5}


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_overwrite_keeps_the_old_dataset_until_the_new_one_is_in_place(
    two_videos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vru_desktop.datasets import exporter

    db, ids = two_videos
    out = tmp_path / "mot"
    export_dataset(db, ExportOptions("mot", out, video_ids=ids))
    old = _tree(out)
    add_boxes(db, ids[0], range(10, 12))
    seen: list[dict[str, bytes]] = []

    def crash(path: Path, **_kwargs: object) -> None:  # killed while removing the replaced dataset
        seen.append(_tree(out))
        raise KeyboardInterrupt

    monkeypatch.setattr(exporter.shutil, "rmtree", crash)
    with pytest.raises(KeyboardInterrupt):
        export_dataset(db, ExportOptions("mot", out, video_ids=ids, overwrite=True))
    monkeypatch.undo()
    new = _tree(out)
    assert seen and all(tree == new for tree in seen) and new != old  # new in place before any removal
    assert [p.name.startswith(".mot.part-") for p in tmp_path.iterdir() if p.name.startswith(".")] == [True]
    export_dataset(db, ExportOptions("mot", out, video_ids=ids, overwrite=True))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # leftovers cleaned
    assert _tree(out) == new


def test_a_dataset_left_aside_by_a_killed_two_rename_replace_is_put_back(two_videos, tmp_path: Path) -> None:
    db, ids = two_videos
    out = tmp_path / "mot"
    export_dataset(db, ExportOptions("mot", out, video_ids=ids))
    old = _tree(out)
    # Where folders cannot be swapped in one step, a kill between the two renames leaves these:
    out.rename(tmp_path / ".mot.old-1a2b3c4d")
    (tmp_path / ".mot.part-999-5e6f7a8b").mkdir()
    with pytest.raises(ValidationError, match="already holds files"):
        export_dataset(db, ExportOptions("mot", out, video_ids=ids))
    assert _tree(out) == old
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
