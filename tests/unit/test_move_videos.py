"""Moving videos to another project: one core function for the window and ``move-video``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vru_desktop.cli import main
from vru_desktop.errors import NotFoundError
from vru_desktop.library.importer import import_paths
from vru_desktop.library.projects import ProjectFields, create_project, move_videos
from vru_desktop.store.models import Video


def _project(db, name: str) -> int:  # type: ignore[no-untyped-def]
    fields = ProjectFields(name=name, camera_model="m", camera_view="front", signal_type="video")
    return create_project(db, fields).id


def _projects_of(db) -> dict[int, int | None]:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return {v.id: v.project_id for v in session.query(Video)}


def test_move_videos_all_or_nothing(db, make_video) -> None:  # type: ignore[no-untyped-def]
    ids = [o.video_id for o in import_paths(db, [make_video("a.mp4", 5), make_video("b.mp4", 6)])]
    target = _project(db, "Rear")
    assert move_videos(db, ids, target) == 2
    assert set(_projects_of(db).values()) == {target}
    assert move_videos(db, ids, target) == 0, "already there"
    other = _project(db, "Side")
    with pytest.raises(NotFoundError, match=r"No video with id 999 .*nothing was moved"):
        move_videos(db, [ids[0], 999], other)
    assert set(_projects_of(db).values()) == {target}
    with pytest.raises(NotFoundError, match="Project 12345 does not exist"):
        move_videos(db, ids, 12345)


def run(capsys, data_dir: Path, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_move_video_command(capsys, data_dir: Path, make_video) -> None:  # type: ignore[no-untyped-def]
    paths = [str(make_video("a.mp4", 5)), str(make_video("b.mp4", 6))]
    code, out, _ = run(capsys, data_dir, "import", "--json", *paths)
    ids = [str(entry["video_id"]) for entry in json.loads(out)]
    run(capsys, data_dir, "create-project", "Rear", "--camera-model", "m", "--camera-view", "rear",
        "--signal-type", "video")  # fmt: skip
    code, out, _ = run(capsys, data_dir, "move-video", *ids, "--project", "rear")
    assert code == 0 and out.strip() == "2 video(s) moved to project 'Rear'"
    code, out, _ = run(capsys, data_dir, "videos", "--project", "Rear", "--json")
    assert sorted(str(v["id"]) for v in json.loads(out)) == sorted(ids)

    code, _, err = run(capsys, data_dir, "move-video", ids[0], "--project", "Nowhere")
    assert code == 2 and "No project named 'Nowhere'" in err and "Traceback" not in err
    code, _, err = run(capsys, data_dir, "move-video", ids[0], "777", "--project", "Default")
    assert code == 1 and "No video with id 777" in err
    code, out, _ = run(capsys, data_dir, "videos", "--project", "Default", "--json")
    assert json.loads(out) == [], "a refused move moved nothing"
