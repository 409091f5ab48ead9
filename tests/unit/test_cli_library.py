"""The CLI contract: one line per file, exit 0/1/2, JSON documents, --data-dir and its variable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vru_desktop.cli import main
from vru_desktop.settings import DATA_DIR_ENV

pytestmark = pytest.mark.usefixtures("backend")

REPO = Path(__file__).resolve().parents[2]


def run(capsys, data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_import_prints_one_line_per_file_and_exits_0(capsys, data_dir: Path, make_video) -> None:
    paths = [make_video("a.mp4", 10), make_video("b.mp4", 12)]
    code, out, _ = run(capsys, data_dir, "import", *map(str, paths))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert (
        lines[0].startswith("imported") and "a.mp4" in lines[0] and "10 frames, 25 fps, 160x120" in lines[0]
    )
    code, out, _ = run(capsys, data_dir, "import", str(paths[0]))
    assert code == 0 and out.startswith("duplicate")


def test_import_with_a_refused_file_exits_1_and_keeps_the_rest(capsys, data_dir: Path, make_video) -> None:
    good = make_video("good.mp4", 10)
    empty = good.parent / "empty.mp4"
    empty.touch()
    code, out, _ = run(capsys, data_dir, "import", str(empty), str(good))
    assert code == 1
    refused, imported = out.splitlines()
    assert refused.startswith("refused") and "empty (0 bytes)" in refused
    assert imported.startswith("imported")
    code, out, _ = run(capsys, data_dir, "videos", "--json")
    assert [v["name"] for v in json.loads(out)] == ["good.mp4"]


def test_usage_errors_exit_2(capsys, data_dir: Path, make_video) -> None:
    assert run(capsys, data_dir, "import")[0] == 2
    assert run(capsys, data_dir, "frobnicate")[0] == 2
    code, _, err = run(capsys, data_dir, "import", str(make_video("a.mp4", 5)), "--project", "Nope")
    assert code == 2 and "No project named 'Nope'" in err
    assert run(capsys, data_dir, "relink", "1")[0] == 2
    assert run(capsys, data_dir, "videos", "--json")[1].strip() == "[]"


def test_json_documents_hold_the_stored_fields(capsys, data_dir: Path, make_video) -> None:
    code, _, _ = run(
        capsys,
        data_dir,
        "create-project",
        "Gate",
        "--camera-model",
        "M1",
        "--camera-view",
        "front",
        "--signal-type",
        "video",
        "--frame-rate",
        "25",
    )
    assert code == 0
    run(
        capsys,
        data_dir,
        "import",
        str(make_video("clip.mp4", 15, fps=15.0, size=(96, 64))),
        "--project",
        "gate",
    )
    code, out, _ = run(capsys, data_dir, "projects", "--json")
    projects = {p["name"]: p for p in json.loads(out)}
    assert code == 0 and set(projects) == {"Default", "Gate"}
    assert projects["Default"]["is_default"] and projects["Gate"]["frame_rate"] == 25.0
    assert {"id", "camera_model", "camera_view", "signal_type", "status"} <= set(projects["Gate"])
    code, out, _ = run(capsys, data_dir, "videos", "--project", "Gate", "--json")
    [video] = json.loads(out)
    assert code == 0
    assert video["project_id"] == projects["Gate"]["id"] and video["project"] == "Gate"
    assert (video["name"], video["fps"], video["frame_count"], video["width"], video["height"]) == (
        "clip.mp4",
        15.0,
        15,
        96,
        64,
    )
    assert video["status"] == "ok" and isinstance(video["id"], int)
    assert json.loads(run(capsys, data_dir, "videos", "--project", "Default", "--json")[1]) == []


def test_invalid_project_is_refused_with_its_reason(capsys, data_dir: Path) -> None:
    code, _, err = run(
        capsys,
        data_dir,
        "create-project",
        "X",
        "--camera-model",
        " ",
        "--camera-view",
        "f",
        "--signal-type",
        "v",
    )
    assert code == 1 and "required: camera model" in err


def test_relink_and_doctor(capsys, data_dir: Path, make_video, tmp_path: Path) -> None:
    path = make_video("clip.mp4", 9)
    run(capsys, data_dir, "import", str(path))
    moved = tmp_path / "moved" / "clip.mp4"
    moved.parent.mkdir()
    shutil.move(path, moved)
    code, out, _ = run(capsys, data_dir, "doctor")
    assert code == 0 and "marked missing (ids 1)" in out
    assert json.loads(run(capsys, data_dir, "videos", "--json")[1])[0]["status"] == "missing"
    code, out, _ = run(capsys, data_dir, "relink", "--search", str(tmp_path / "moved"))
    assert code == 0 and out.strip() == f"video 1 now at {moved.resolve()}"
    code, _, err = run(capsys, data_dir, "relink", "1", str(make_video("other.mp4", 4)))
    assert code == 1 and "not the same content" in err
    code, out, _ = run(capsys, data_dir, "doctor")
    assert code == 0 and out.strip() == "ok: database healthy, nothing to repair"


def _subprocess(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != DATA_DIR_ENV} | env_extra
    return subprocess.run(
        [sys.executable, "-m", "vru_desktop", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_entry_point_with_data_dir_option(tmp_path: Path, make_video) -> None:
    data = tmp_path / "explicit"
    result = _subprocess(["--data-dir", str(data), "import", str(make_video("a.mp4", 6))], {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported")
    assert (data / "vru_desktop.sqlite3").is_file() and (data / "logs" / "vru_desktop.log").is_file()


def test_entry_point_with_environment_variable(tmp_path: Path, make_video) -> None:
    data = tmp_path / "from_env"
    env = {DATA_DIR_ENV: str(data)}
    assert _subprocess(["import", str(make_video("a.mp4", 6))], env).returncode == 0
    result = _subprocess(["videos", "--json"], env)
    assert result.returncode == 0, result.stderr
    assert [v["frame_count"] for v in json.loads(result.stdout)] == [6]
    bad = _subprocess(["import", str(tmp_path / "missing.mp4")], env)
    assert bad.returncode == 1 and "file not found" in bad.stdout
    assert _subprocess(["import", "--no-such-flag"], env).returncode == 2


@pytest.mark.parametrize("command", [["projects"], ["videos"]])
def test_plain_listings(capsys, data_dir: Path, make_video, command: list[str]) -> None:
    run(capsys, data_dir, "import", str(make_video("clip.mp4", 7)))
    code, out, _ = run(capsys, data_dir, *command)
    assert code == 0
    assert ("Default (default)" in out) if command == ["projects"] else ("clip.mp4  7 frames  25 fps" in out)


def test_a_data_dir_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    from vru_desktop.errors import StoreError
    from vru_desktop.settings import resolve_locations

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match=r"Cannot use .*a_file as a data folder.*--data-dir"):
        resolve_locations(blocker).ensure()


def test_cli_answers_a_data_dir_that_is_a_file_with_its_reason(capsys, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code = main(["--data-dir", str(blocker), "videos"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: Cannot use ") and "Traceback" not in err


def test_ignore_regions_command_sets_shows_and_clears(capsys, data_dir: Path, tmp_path: Path) -> None:
    regions = tmp_path / "regions.json"
    regions.write_text("[[[0, 0], [100, 0], [100, 50]]]")
    code, _, _ = run(
        capsys,
        data_dir,
        "create-project",
        "Cam 7",
        "--camera-model",
        "M",
        "--camera-view",
        "front",
        "--signal-type",
        "video",
    )
    assert code == 0
    code, out, _ = run(capsys, data_dir, "ignore-regions", "cam 7", "--set", str(regions))
    assert code == 0 and json.loads(out) == [[[0.0, 0.0], [100.0, 0.0], [100.0, 50.0]]]
    regions.write_text("[[[0, 0], [100, 0]]]")
    code, _, err = run(capsys, data_dir, "ignore-regions", "Cam 7", "--set", str(regions))
    assert code == 1 and "ignore region 1 must be at least three" in err
    code, out, _ = run(capsys, data_dir, "ignore-regions", "Cam 7")
    assert json.loads(out) == [[[0.0, 0.0], [100.0, 0.0], [100.0, 50.0]]]
    code, out, _ = run(capsys, data_dir, "ignore-regions", "Cam 7", "--clear")
    assert code == 0 and json.loads(out) == []
