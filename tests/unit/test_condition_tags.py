"""Condition tags: a project's vocabulary, tags on videos and frame ranges (core and CLI), evaluation
limited to the tagged frames, campaign slices by tag, and the migration down and up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import CAMPAIGN_CONF as CONF
from sqlalchemy import delete, inspect, select

from vru_desktop.annotations.tags import (
    project_tags,
    set_project_tags,
    tag_frames,
    tag_video,
    video_tags,
)
from vru_desktop.campaigns.definition import create_campaign, launch_campaign
from vru_desktop.campaigns.scoring import primary, score_campaign
from vru_desktop.cli import main
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.errors import ValidationError
from vru_desktop.evaluation.run import evaluate_run
from vru_desktop.library.projects import project_by_name
from vru_desktop.store.models import ReviewedFrame, TestSession


@pytest.fixture
def suite(campaign_suite: dict[str, Any]) -> dict[str, Any]:
    return campaign_suite


def _front(db: Any) -> int:
    return project_by_name(db, "front cams").id


def _run_of(db: Any, video_id: int) -> int:
    with db.session() as s:
        return s.scalars(select(TestSession.id).where(TestSession.video_id == video_id)).one()


def test_vocabulary_and_tags_on_videos_and_frames(db: Any, suite: dict[str, Any]) -> None:
    front = _front(db)
    video = suite["videos"][0]  # front cams, 8 frames
    assert set_project_tags(db, front, [" night ", "rain", "night"]) == ["night", "rain"]
    assert project_tags(db, front) == ["night", "rain"]

    tag_frames(db, video, ["night"], 2, 5)
    tag_frames(db, video, ["night"], 7, 7)
    tag_video(db, video, ["rain"])
    tags = video_tags(db, video)
    assert tags.to_dict() == {"video": ["rain"], "frames": {"night": [[2, 5], [7, 7]]}}
    assert tags.of_frame(3) == ["night", "rain"]
    assert tags.of_frame(6) == ["rain"]  # the video's tag holds on every frame

    tag_frames(db, video, ["night"], 4, 7, remove=True)
    tag_video(db, video, ["rain"], remove=True)
    assert video_tags(db, video).to_dict() == {"video": [], "frames": {"night": [[2, 3]]}}


def test_tags_outside_the_vocabulary_and_bad_ranges_are_refused(db: Any, suite: dict[str, Any]) -> None:
    front = _front(db)
    video, rear_video = suite["videos"][0], suite["videos"][1]
    set_project_tags(db, front, ["night"])
    with pytest.raises(ValidationError, match="fog is not among the condition tags"):
        tag_video(db, video, ["night", "fog"])
    with pytest.raises(ValidationError, match=r"\(none\)"):
        tag_video(db, rear_video, ["night"])  # the rear project has no tags
    with pytest.raises(ValidationError, match="not a range"):
        tag_frames(db, video, ["night"], 3, 8)  # 8 frames: 0-7
    with pytest.raises(ValidationError, match="not a range"):
        tag_frames(db, video, ["night"], 5, 2)
    with pytest.raises(ValidationError, match="1 to 100 characters"):
        set_project_tags(db, front, ["a,b"])
    assert video_tags(db, video).to_dict() == {"video": [], "frames": {}}

    tag_frames(db, video, ["night"], 0, 1)
    with pytest.raises(ValidationError, match="night is still on videos or frames"):
        set_project_tags(db, front, ["day"])
    assert project_tags(db, front) == ["night"]


def test_cli_tags_and_tag(db: Any, suite: dict[str, Any], data_dir: Path, capsys: Any) -> None:
    base = ["--data-dir", str(data_dir)]
    video = str(suite["videos"][0])
    assert main([*base, "tags", "front cams", "--set", "day", "night", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["day", "night"]
    assert main([*base, "tags", "front cams"]) == 0
    assert capsys.readouterr().out == "front cams: day, night\n"

    assert main([*base, "tag", video, "night", "--frames", "2-4"]) == 0
    assert capsys.readouterr().out == "night put on 3 frame(s) of video " + video + "\n"
    assert main([*base, "tag", video, "day"]) == 0
    assert main([*base, "tag", video, "night", "--frames", "3", "--remove"]) == 0
    capsys.readouterr()
    assert main([*base, "tag", video, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"video": ["day"], "frames": {"night": [[2, 2], [4, 4]]}}
    assert main([*base, "tag", video]) == 0
    assert capsys.readouterr().out == f"video {video}: day\n  night: frames 2, 4\n"

    assert main([*base, "tag", video, "fog"]) == 1
    assert "fog is not among the condition tags" in capsys.readouterr().err
    assert main([*base, "tag", video, "night", "--frames", "two-four"]) == 2
    assert "not a frame range" in capsys.readouterr().err
    assert main([*base, "tags", "front cams", "--set", "day"]) == 1
    assert "night is still on videos or frames" in capsys.readouterr().err


def _comparable(result: Any) -> dict[str, Any]:
    document = result.to_dict()
    document["run"].pop("tag")
    return document


def test_evaluate_with_a_tag_equals_the_run_with_only_those_frames_reviewed(
    db: Any, suite: dict[str, Any], data_dir: Path, capsys: Any
) -> None:
    video = suite["videos"][2]  # front cams, 10 frames, all reviewed
    run = _run_of(db, video)
    set_project_tags(db, _front(db), ["night", "rain"])
    tag_frames(db, video, ["night"], 3, 7)
    tag_video(db, video, ["rain"])

    whole = evaluate_run(db, run)
    assert _comparable(evaluate_run(db, run, tag="rain")) == _comparable(whole)
    tagged = evaluate_run(db, run, tag="night")
    assert tagged.data.n_frames == 5 and tagged.to_dict()["run"]["tag"] == "night"
    assert main(["--data-dir", str(data_dir), "evaluate", str(run), "--tag", "night", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reviewed_frames"] == 5
    assert main(["--data-dir", str(data_dir), "evaluate", str(run), "--tag", "fog"]) == 1
    assert "fog is not among the condition tags" in capsys.readouterr().err

    with db.transaction() as s:
        s.execute(
            delete(ReviewedFrame).where(
                ReviewedFrame.video_id == video, ~ReviewedFrame.frame_number.between(3, 7)
            )
        )
    only_those = evaluate_run(db, run)
    assert only_those.data.n_frames == 5
    assert _comparable(tagged) == _comparable(only_those)


def test_campaign_slices_by_tag(db: Any, suite: dict[str, Any]) -> None:
    v0, v1, v2, _ = suite["videos"]  # front, rear, front, rear (v3 has no review: left out)
    set_project_tags(db, _front(db), ["night", "rain"])
    set_project_tags(db, project_by_name(db, "rear cams").id, ["night"])
    tag_video(db, v0, ["night"])
    tag_frames(db, v1, ["night"], 0, 3)
    tag_frames(db, v2, ["rain"], 5, 9)
    create_campaign(db, "A", suite["model_id"], RunConfig(conf=CONF), projects=suite["projects"])
    launch_campaign(db, "A")
    slices = primary(score_campaign(db, "A", resamples=20))["slices"]

    assert set(slices["tag"]) == {"night", "rain"}
    night = [evaluate_run(db, _run_of(db, v), conf=CONF, tag="night") for v in (v0, v1)]
    assert slices["tag"]["night"]["videos"] == 2
    assert slices["tag"]["night"]["reviewed_frames"] == 8 + 4
    # frames of different videos never match: the slice's counts add up the videos' own
    for key in ("tp", "fp", "fn"):
        assert slices["tag"]["night"][key] == sum(getattr(r.metrics().overall, key) for r in night)
    rain = evaluate_run(db, _run_of(db, v2), conf=CONF, tag="rain").metrics().overall
    assert slices["tag"]["rain"]["videos"] == 1
    assert (slices["tag"]["rain"]["tp"], slices["tag"]["rain"]["fn"]) == (rain.tp, rain.fn)
    assert slices["tag"]["rain"]["recall"] == pytest.approx(rain.recall)


def test_migration_down_and_up(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from vru_desktop.store.db import MIGRATIONS_DIR, open_database

    path = tmp_path / "db.sqlite3"
    db = open_database(path)
    tables = {"condition_tags", "video_tags", "frame_tags"}
    assert tables <= set(inspect(db.engine).get_table_names())
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007_campaigns")
    assert not tables & set(inspect(db.engine).get_table_names())
    db.close()
    db = open_database(path)  # migrates up again
    assert tables <= set(inspect(db.engine).get_table_names())
    db.close()


def test_a_restricted_projects_tags_are_hidden_from_non_members(postgres_server, make_video) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    from vru_desktop.library.importer import Assignment, import_paths
    from vru_desktop.library.projects import ProjectFields, create_project, set_project_members
    from vru_desktop.store.db import open_database

    target = postgres_server.new_database("vru_template")
    db = open_database(target)
    fields = {"camera_model": "c", "camera_view": "front", "signal_type": "video"}
    secret = create_project(db, ProjectFields(name="Secret", **fields))
    [outcome] = import_paths(
        db, [make_video("s.mp4", frames=4)], assignment=Assignment(explicit_project_id=secret.id)
    )
    set_project_tags(db, secret.id, ["night"])
    tag_video(db, outcome.video_id, ["night"])
    tag_frames(db, outcome.video_id, ["night"], 1, 2)
    set_project_members(db, secret.id, ["alice"])
    db.close()

    name = target.rsplit("/", 1)[1]
    counts = "SELECT " + ", ".join(
        f"(SELECT count(*) FROM {table})" for table in ("condition_tags", "video_tags", "frame_tags")
    )
    with psycopg.connect(postgres_server.role("bob", name), autocommit=True) as conn:
        assert conn.execute(counts).fetchone() == (0, 0, 0)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO video_tags VALUES (%s, 'rain')", [outcome.video_id])
    with psycopg.connect(postgres_server.role("alice", name), autocommit=True) as conn:
        assert conn.execute(counts).fetchone() == (1, 1, 2)


def test_report_with_a_tag_covers_only_the_tagged_frames_and_leaves_device_events_out(
    db: Any, suite: dict[str, Any], data_dir: Path, capsys: Any, tmp_path: Path
) -> None:
    from vru_desktop.evaluation.events import import_device_events

    video = suite["videos"][2]  # front cams, 10 frames, all reviewed
    run = _run_of(db, video)
    set_project_tags(db, _front(db), ["night"])
    tag_frames(db, video, ["night"], 3, 7)
    events = tmp_path / "events.csv"
    events.write_text("time,type\n0.1,pedestrian\n")
    assert import_device_events(db, video, events) == 1
    base = ["--data-dir", str(data_dir), "report", str(run)]

    assert main([*base, "--out", str(tmp_path / "all.html")]) == 0
    whole = (tmp_path / "all.html").read_text()
    assert "10 reviewed frames;" in whole and "Device events" in whole
    assert main([*base, "--tag", "night", "--out", str(tmp_path / "night.html")]) == 0
    night = (tmp_path / "night.html").read_text()
    assert "5 reviewed frames carrying the condition tag night" in night
    assert "<h2>Device events" not in night
    assert main([*base, "--tag", "fog", "--out", str(tmp_path / "fog.html")]) == 1
    assert "fog is not among the condition tags" in capsys.readouterr().err
    assert not (tmp_path / "fog.html").exists()
