"""The library's read views (what the window and the CLI show), on a real database and real videos."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import update

from vru_desktop.errors import NotFoundError, VruError
from vru_desktop.library.importer import import_paths
from vru_desktop.library.projects import (
    ProjectFields,
    create_project,
    ensure_default_project,
    move_videos,
    update_project,
)
from vru_desktop.library.views import (
    all_video_details,
    available_video_count,
    library_counts,
    load_video,
    project_summary,
    project_view,
    project_views,
    video_choices,
    video_details,
    video_rows,
)
from vru_desktop.media.probe import container_start_time
from vru_desktop.store.models import VRU_TYPES, ReviewedFrame, Video, VideoStatus


@pytest.fixture
def library(db, make_video):  # type: ignore[no-untyped-def]
    outcomes = import_paths(db, [make_video("a.mp4", 12), make_video("b.mp4", 8, size=(320, 240))])
    ids = [o.video_id for o in outcomes]
    with db.transaction() as session:
        session.add_all(ReviewedFrame(video_id=ids[0], frame_number=f) for f in (0, 1, 2))
        session.execute(update(Video).where(Video.id == ids[1]).values(status=VideoStatus.MISSING))
    return ids


def test_video_rows_and_details_are_frozen_snapshots(db, library) -> None:
    project = ensure_default_project(db)
    rows = video_rows(db, project.id)
    assert [(r.id, r.filename, r.frame_count, r.status) for r in rows] == [
        (library[0], "a.mp4", 12, VideoStatus.OK),
        (library[1], "b.mp4", 8, VideoStatus.MISSING),
    ]
    assert rows[0].reviewed_frames == 3 and rows[0].coverage == pytest.approx(3 / 12)
    assert (rows[1].width, rows[1].height) == (320, 240)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rows[0].status = "x"  # type: ignore[misc]
    details = video_details(db, library[1])
    assert details is not None
    assert (details.filename, details.resolution, details.status) == ("b.mp4", "320x240", "missing")
    assert details.file_path.endswith("b.mp4") and len(details.fingerprint) == 64
    assert video_details(db, 999) is None
    assert video_choices(db) == [(library[0], "a.mp4"), (library[1], "b.mp4")]


def test_all_video_details_lists_every_video_or_one_projects(db, library) -> None:
    fields = ProjectFields(name="Gate", camera_model="X", camera_view="front", signal_type="rgb")
    gate = create_project(db, fields)
    move_videos(db, [library[1]], gate.id)
    every = all_video_details(db)
    assert [(d.id, d.project, d.filename, d.status) for d in every] == [
        (library[0], "Default", "a.mp4", VideoStatus.OK),
        (library[1], "Gate", "b.mp4", VideoStatus.MISSING),
    ]
    assert (every[1].project_id, every[1].width, every[1].height) == (gate.id, 320, 240)
    assert every[0].ground_truth_generated is False and every[0].processing_status == "pending"
    assert all_video_details(db, gate.id) == [every[1]]
    with pytest.raises(dataclasses.FrozenInstanceError):
        every[0].project = "x"  # type: ignore[misc]


def test_counts_and_project_summary(db, library) -> None:
    project = ensure_default_project(db)
    counts = library_counts(db)
    assert (counts.projects, counts.videos, counts.missing) == (1, 2, 1)
    assert available_video_count(db, project.id) == 1
    summary = project_summary(db, project.id)
    assert summary is not None
    assert (summary.name, summary.video_count, summary.vru_classes) == (project.name, 2, VRU_TYPES)
    own = create_project(
        db,
        ProjectFields(
            name="Gate",
            camera_model="m",
            camera_view="front",
            signal_type="video",
            vru_classes=["pedestrian"],
        ),
    )
    gate = project_summary(db, own.id)
    assert gate is not None and (gate.video_count, gate.vru_classes) == (0, ("pedestrian",))
    assert project_summary(db, 999) is None


def test_load_video_gives_what_the_viewer_opens(db, library) -> None:
    video, table = load_video(db, library[0])
    assert (video.filename, video.frame_count, video.vru_classes) == ("a.mp4", 12, VRU_TYPES)
    assert len(table) == 12 and video.path.is_file()
    assert container_start_time(video.path) == pytest.approx(0.0, abs=0.1)
    with pytest.raises(VruError, match="not in the library"):
        load_video(db, 999)


def test_project_views_read_every_field_and_edit_back(db) -> None:
    regions = [[[0, 0], [10, 0], [10, 10]]]
    gate = create_project(
        db,
        ProjectFields(
            name="Gate",
            camera_model="AXIS",
            camera_view="front",
            signal_type="video",
            frame_rate=25.0,
            vru_classes=["pedestrian", "cyclist"],
            ignore_regions=regions,
        ),
    )
    views = project_views(db)
    assert [(v.name, v.is_default) for v in views] == [("Default", True), ("Gate", False)]
    view = project_view(db, gate.id)
    assert view == views[1]
    assert (view.camera_model, view.frame_rate, view.vru_classes) == ("AXIS", 25.0, ("pedestrian", "cyclist"))
    assert view.ignore_regions == tuple(regions)
    data = ProjectFields.of(view)
    data.description = "north entrance"
    update_project(db, gate.id, data)
    edited = project_view(db, gate.id)
    assert edited.description == "north entrance" and edited.ignore_regions == view.ignore_regions
    assert edited.vru_classes == view.vru_classes
    with pytest.raises(NotFoundError):
        project_view(db, 999)
