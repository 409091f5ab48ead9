"""Projects (camera setups) and the doctor's repairs, on a real database file."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from vru_desktop.errors import DuplicateError, NotFoundError, ValidationError
from vru_desktop.library.doctor import run_doctor
from vru_desktop.library.importer import Assignment, import_paths
from vru_desktop.library.projects import (
    ProjectFields,
    create_project,
    delete_project,
    ensure_default_project,
    list_projects,
    parse_ignore_regions,
    project_by_name,
    set_ignore_regions,
    update_project,
    video_counts,
    video_ignore_regions,
)
from vru_desktop.settings import USER_DEFAULT_PROJECT, get_setting, set_setting
from vru_desktop.store.models import Video

pytestmark = pytest.mark.usefixtures("backend")


def _fields(name: str = "North gate", **values) -> ProjectFields:  # type: ignore[no-untyped-def]
    return ProjectFields(
        name=name,
        camera_model=values.pop("camera_model", "AXIS Q1700"),
        camera_view=values.pop("camera_view", "front"),
        signal_type=values.pop("signal_type", "video"),
        **values,
    )


def test_default_project_exists_once(db) -> None:
    first = ensure_default_project(db)
    again = ensure_default_project(db)
    assert first.id == again.id and first.is_default
    assert [p.name for p in list_projects(db)] == ["Default"]


def test_create_stores_every_camera_field(db) -> None:
    project = create_project(
        db,
        _fields(
            description="gate camera",
            lens_type="wide angle",
            resolution="1920x1080",
            frame_rate=25.0,
            status="active",
        ),
    )
    stored = project_by_name(db, "north GATE")
    assert stored.id == project.id
    assert (stored.camera_model, stored.camera_view, stored.signal_type) == ("AXIS Q1700", "front", "video")
    assert (stored.lens_type, stored.resolution, stored.frame_rate) == ("wide angle", "1920x1080", 25.0)
    assert stored.description == "gate camera" and not stored.is_default


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "  "}, "required: name"),
        ({"camera_model": ""}, "required: camera model"),
        ({"camera_view": ""}, "required: camera view"),
        ({"signal_type": ""}, "required: signal type"),
        ({"frame_rate": 300.0}, "frame rate must be between 0 and 240"),
        ({"resolution": "big"}, "resolution must look like 1920x1080"),
        ({"vru_classes": []}, "at least one VRU class"),
    ],
)
def test_validation_names_the_problem_and_writes_nothing(db, changes: dict, expected: str) -> None:
    data = _fields()
    for key, value in changes.items():
        setattr(data, key, value)
    with pytest.raises(ValidationError, match=expected):
        create_project(db, data)
    assert len(list_projects(db)) == 1


def test_duplicate_names_are_refused_case_insensitively(db) -> None:
    create_project(db, _fields("Cam A"))
    with pytest.raises(DuplicateError):
        create_project(db, _fields("cam a"))
    other = create_project(db, _fields("Cam B"))
    with pytest.raises(DuplicateError):
        update_project(db, other.id, _fields("CAM A"))


def test_update_and_delete_move_videos_to_default(db, make_video) -> None:
    project = create_project(db, _fields("Cam A"))
    update_project(db, project.id, _fields("Cam A2", camera_view="rear"))
    assert project_by_name(db, "Cam A2").camera_view == "rear"
    outcomes = import_paths(db, [make_video("a.mp4", 5), make_video("b.mp4", 6)])
    with db.transaction() as session:
        for video in session.scalars(select(Video)):
            video.project_id = project.id
    set_setting(db, USER_DEFAULT_PROJECT, project.id)
    assert delete_project(db, project.id) == 2
    default = ensure_default_project(db)
    assert video_counts(db) == {default.id: 2}
    assert get_setting(db, USER_DEFAULT_PROJECT) is None
    assert all(o.status == "imported" for o in outcomes)
    with pytest.raises(ValidationError, match="default project cannot be deleted"):
        delete_project(db, default.id)
    with pytest.raises(NotFoundError):
        delete_project(db, 999)


def test_doctor_moves_videos_without_a_project_to_default(db, make_video) -> None:
    project = create_project(db, _fields("Temp"))
    import_paths(db, [make_video("a.mp4", 5), make_video("b.mp4", 7)])
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE videos SET project_id = :p"), {"p": project.id})
        conn.execute(text("DELETE FROM projects WHERE id = :p"), {"p": project.id})  # ON DELETE SET NULL
        assert conn.execute(text("SELECT count(*) FROM videos WHERE project_id IS NULL")).scalar() == 2
    report = run_doctor(db)
    assert report.healthy
    assert report.lines() == ["repaired: 2 video(s) without a project moved to 'Default'"]
    assert video_counts(db) == {ensure_default_project(db).id: 2}
    assert run_doctor(db).lines() == ["ok: database healthy, nothing to repair"]


def test_doctor_marks_missing_files(db, make_video) -> None:
    path = make_video("gone.mp4", 5)
    [outcome] = import_paths(db, [path])
    path.unlink()
    report = run_doctor(db)
    assert any(f"ids {outcome.video_id}" in line for line in report.lines())
    with db.session() as session:
        assert session.get(Video, outcome.video_id).status == "missing"


def test_ignore_regions_are_validated_parsed_and_stored(db) -> None:
    regions = parse_ignore_regions(
        "[[[0, 0], [400, 0], [400, 200.5]], [[10, 10], [20, 10], [20, 20], [10, 20]]]"
    )
    assert regions == [
        [[0.0, 0.0], [400.0, 0.0], [400.0, 200.5]],
        [[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0]],
    ]
    assert parse_ignore_regions("  ") == []
    stored = create_project(db, _fields(ignore_regions=regions))
    assert project_by_name(db, "North gate").ignore_regions == regions == stored.ignore_regions

    with pytest.raises(ValidationError, match=r"not valid JSON \(line 1, column 3"):
        parse_ignore_regions("[[")
    with pytest.raises(ValidationError, match="ignore region 2 must be at least three"):
        parse_ignore_regions("[[[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1]]]")
    with pytest.raises(ValidationError, match="ignore region 1 must be at least three"):
        parse_ignore_regions('[[[0, 0], [1, "a"], [1, 1]]]')
    with pytest.raises(ValidationError, match="ignore regions must be a list of polygons"):
        create_project(db, _fields("Other", ignore_regions={"x": 1}))  # type: ignore[arg-type]
    assert [p.name for p in list_projects(db)] == ["Default", "North gate"]


def test_set_ignore_regions_validates_as_the_json_path_and_keeps_the_rest(db, make_video) -> None:
    project = create_project(db, _fields(description="kept"))
    (outcome,) = import_paths(
        db, [make_video("a.mp4", 5)], assignment=Assignment(explicit_project_id=project.id)
    )
    assert video_ignore_regions(db, outcome.video_id) == (project.id, [])
    drawn = [(10.5, 20.0), (200.0, 20.0), (200.0, 90.0)]
    assert set_ignore_regions(db, project.id, [drawn]) == [[[10.5, 20.0], [200.0, 20.0], [200.0, 90.0]]]
    stored = project_by_name(db, "North gate")
    assert stored.ignore_regions == parse_ignore_regions("[[[10.5, 20], [200, 20], [200, 90]]]")
    assert stored.description == "kept"
    with pytest.raises(ValidationError, match="ignore region 2 must be at least three"):
        set_ignore_regions(db, project.id, [drawn, [(0.0, 0.0), (5.0, 5.0)]])
    with pytest.raises(ValidationError, match="ignore region 1 must be at least three"):
        set_ignore_regions(db, project.id, [[(-1.0, 0.0), (5.0, 5.0), (0.0, 5.0)]])
    assert project_by_name(db, "North gate").ignore_regions == stored.ignore_regions, (
        "a refused set changes nothing"
    )
    with pytest.raises(NotFoundError):
        set_ignore_regions(db, 999, [drawn])
    assert video_ignore_regions(db, outcome.video_id) == (project.id, stored.ignore_regions)
    assert video_ignore_regions(db, 999) == (None, [])
