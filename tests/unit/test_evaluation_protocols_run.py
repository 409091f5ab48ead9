"""Protocols on a run: per-box visibility and ignore from the database, clipping to the frame, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vru_desktop.cli import main
from vru_desktop.settings import PROTOCOLS, set_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, DetectionEvent, Project, ReviewedFrame, TestSession, Video

WIDTH, HEIGHT, FRAMES = 640, 360, 20


def _scene(db: Database, tmp_path: Path) -> int:
    with db.transaction() as s:
        project = Project(name="Street", camera_model="cam", camera_view="front", signal_type="event")
        s.add(project)
        s.flush()
        video = Video(
            project_id=project.id,
            filename="street.mp4",
            file_path=str(tmp_path / "street.mp4"),
            fps=10.0,
            frame_count=FRAMES,
            duration=2.0,
            width=WIDTH,
            height=HEIGHT,
            fingerprint="street",
        )
        s.add(video)
        s.flush()
        run = TestSession(video_id=video.id, config={"conf": 0.25}, status="completed")
        s.add(run)
        s.flush()

        def gt(frame: int, box: tuple[float, ...], **kw: object) -> None:
            s.add(
                Annotation(
                    video_id=video.id,
                    frame_number=frame,
                    vru_type="pedestrian",
                    validated=True,
                    x1=box[0],
                    y1=box[1],
                    x2=box[2],
                    y2=box[3],
                    **kw,
                )
            )

        def det(frame: int, box: tuple[float, ...], conf: float) -> None:
            s.add(
                DetectionEvent(
                    session_id=run.id,
                    video_id=video.id,
                    frame_number=frame,
                    timestamp=frame / 10,
                    vru_type="pedestrian",
                    confidence=conf,
                    x1=box[0],
                    y1=box[1],
                    x2=box[2],
                    y2=box[3],
                )
            )

        for f in range(FRAMES):
            s.add(ReviewedFrame(video_id=video.id, frame_number=f))
            gt(f, (50, 100, 90, 200))  # fully visible, 100 px
            gt(f, (300, 250, 400, 550))  # runs 190 px past the bottom of the frame
            gt(f, (450, 100, 620, 200), ignore=True)  # a group: an ignore region
            gt(f, (150, 100, 190, 200), visibility=0.3, occlusion=2)  # heavily occluded
            det(f, (50, 100, 90, 200), 0.9)
            det(f, (300, 250, 400, 360), 0.8)  # the visible part; IoU 0.37 with the unclipped box
            det(f, (460, 100, 500, 200), 0.7)  # two detections inside the group
            det(f, (560, 100, 600, 200), 0.6)
    return run.id


def test_protocols_on_a_run_from_the_cli(db: Database, data_dir: Path, tmp_path: Path, capsys) -> None:
    run_id = _scene(db, tmp_path)
    set_setting(
        db,
        PROTOCOLS,
        [{"name": "reasonable-clipped", "visibility": [0.65, None], "clip_to_frame": True}],
    )
    base = ["--data-dir", str(data_dir)]
    args = [
        "evaluate",
        str(run_id),
        "--protocol",
        "citypersons-reasonable",
        "--protocol",
        "reasonable-clipped",
    ]
    assert main([*base, *args, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    # Outside the protocols the group counts as a crowd box: its two detections are neither TP nor FP.
    overall = document["thresholds"]["overall"]
    assert (overall["tp"], overall["fp"], overall["fn"]) == (FRAMES, FRAMES, 2 * FRAMES)
    rows = {r["protocol"]: r for r in document["protocols"]}
    plain, clipped = rows["citypersons-reasonable"], rows["reasonable-clipped"]
    # The group and the occluded person are ignore boxes; the group absorbs its two detections.
    assert plain["positives"] == clipped["positives"] == 2 * FRAMES
    assert plain["ignored"] == clipped["ignored"] == 2 * FRAMES
    # Unclipped, the cut-off person is missed every frame and its detection is a false positive.
    assert plain["log_average_miss_rate"] == pytest.approx(0.5)
    assert clipped["log_average_miss_rate"] == pytest.approx(1e-10)
    assert clipped["definition"]["clip_to_frame"] is True

    assert main([*base, *args]) == 0
    out = capsys.readouterr().out
    assert "log-average miss rate by protocol" in out and "reasonable-clipped" in out

    report = tmp_path / "r.html"
    assert main([*base, "report", str(run_id), "--out", str(report), "--protocol", "caltech-heavy"]) == 0
    text = report.read_text(encoding="utf-8")
    assert "Log-average miss rate by protocol" in text and "caltech-heavy" in text and "Dollár" in text

    assert main([*base, "protocols"]) == 0
    assert "reasonable-clipped" in capsys.readouterr().out


def test_box_conditions_migration_keeps_existing_boxes(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from vru_desktop.store.db import MIGRATIONS_DIR, open_database

    path = tmp_path / "db.sqlite3"
    db = open_database(path)
    _scene(db, tmp_path)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003_annotation_imports")
    db.close()
    # Reopening migrates the boxes written before the columns existed: not ignore, nothing known.
    db = open_database(path)
    with db.session() as s:
        rows = s.query(Annotation).all()
        assert len(rows) == 4 * FRAMES
        assert {(a.ignore, a.visibility, a.occlusion, a.truncation, a.visible_box) for a in rows} == {
            (False, None, None, None, None)
        }
    db.close()
