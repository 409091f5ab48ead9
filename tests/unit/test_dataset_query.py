"""The dataset table query on a real database: imported clips, runs, boxes, reviewed frames; filters,
sorting, the detection summary (cached statistics and live counts) and the statistics."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import update

from vru_desktop.datasets.query import (
    DatasetFilter,
    detection_sort_key,
    query_datasets,
    sort_rows,
)
from vru_desktop.datasets.statistics import HEIGHT_BIN_PX, compute_statistics
from vru_desktop.errors import UsageError
from vru_desktop.library.importer import Assignment, import_paths
from vru_desktop.library.projects import ProjectFields, create_project
from vru_desktop.store.models import (
    Annotation,
    DetectionEvent,
    ReviewedFrame,
    SessionStatistics,
    TestSession,
    Video,
)

pytestmark = pytest.mark.usefixtures("backend")


def add_run(db, video_id: int, types: list[str], *, status: str = "completed", frame: int = 0) -> int:
    with db.transaction() as session:
        run = TestSession(video_id=video_id, status=status)
        session.add(run)
        session.flush()
        for k, vru_type in enumerate(types):
            session.add(
                DetectionEvent(
                    session_id=run.id, video_id=video_id, frame_number=frame + k, timestamp=k / 25,
                    vru_type=vru_type, confidence=0.8, bounding_box=(0, 0, 20, 40),
                )
            )  # fmt: skip
        return run.id


def add_boxes(db, video_id: int, boxes: list[tuple[int, str, bool, float]], reviewed: list[int] = ()) -> None:
    """Boxes as (frame, vru_type, validated, height); ``reviewed`` lists the reviewed frames."""
    with db.transaction() as session:
        for frame, vru_type, validated, height in boxes:
            session.add(
                Annotation(
                    video_id=video_id, frame_number=frame, vru_type=vru_type, validated=validated,
                    bounding_box=(5, 10, 25, 10 + height),
                )
            )  # fmt: skip
        session.add_all(ReviewedFrame(video_id=video_id, frame_number=f) for f in reviewed)


@pytest.fixture
def library(db, make_video):
    """Three imported clips in two projects, each at a different stage."""
    front = create_project(
        db,
        ProjectFields(
            name="Front cam",
            camera_model="AX-200",
            camera_view="front",
            signal_type="video",
            gt_coverage=0.25,
        ),
    ).id
    rear = create_project(
        db,
        ProjectFields(
            name="Rear cam", camera_model="RX-9", camera_view="rear", lens_type="fisheye", signal_type="event"
        ),
    ).id
    ids = {}
    for name, frames, project in (("alpha.mp4", 20, front), ("beta.mp4", 10, front), ("gamma.mp4", 8, rear)):
        path = make_video(name, frames, size=(96, 64))
        [outcome] = import_paths(db, [path], assignment=Assignment(explicit_project_id=project))
        assert outcome.status == "imported", outcome.message
        ids[name.split(".")[0]] = outcome.video_id
    # alpha: detections, validated boxes, 5 of 20 frames reviewed (its project asks 25 %) → ready (100)
    add_run(db, ids["alpha"], ["pedestrian", "pedestrian", "cyclist"])
    add_boxes(
        db,
        ids["alpha"],
        [(0, "pedestrian", True, 40.0), (0, "cyclist", True, 70.0), (1, "pedestrian", True, 20.0),
         (2, "pedestrian", False, 33.0)],
        reviewed=[0, 1, 5, 6, 7],
    )  # fmt: skip
    # beta: detections only → partial (60: detections, project, file)
    add_run(db, ids["beta"], ["wheelchair_user"])
    # gamma: nothing but an unvalidated box → partial (40: project, file)
    add_boxes(db, ids["gamma"], [(3, "scooter_rider", False, 50.0)])
    return ids


def by_name(rows) -> dict[str, object]:
    return {row.filename.split(".")[0]: row for row in rows}


def test_rows_carry_project_camera_counts_health_and_readiness(db, library) -> None:
    rows = by_name(query_datasets(db))
    alpha, beta, gamma = rows["alpha"], rows["beta"], rows["gamma"]
    assert (alpha.project_name, alpha.camera_model, alpha.camera_view) == ("Front cam", "AX-200", "front")
    assert (gamma.project_name, gamma.lens_type, gamma.signal_type) == ("Rear cam", "fisheye", "event")
    assert alpha.detections == {"pedestrian": 2, "cyclist": 1} and alpha.detection_total == 3
    assert (alpha.annotations, alpha.validated, alpha.ground_truth, alpha.reviewed_frames) == (4, 3, 3, 5)
    assert alpha.coverage == pytest.approx(5 / 20)
    assert beta.detections == {"wheelchair_user": 1} and beta.annotations == 0
    assert gamma.detection_total == 0 and gamma.runs == 0 and gamma.latest_session_id is None
    assert all(row.file_healthy for row in rows.values())
    assert [(r.score, r.level) for r in (alpha, beta, gamma)] == [
        (100, "ready"),
        (60, "partial"),
        (40, "partial"),
    ]
    assert gamma.readiness.missing() == [
        "has detections",
        "has validated annotations",
        "has ground truth (reviewed frames cover the project's share of the video)",
    ]
    assert gamma.missing()[-1] == "ground truth: 0 of 8 frames reviewed (0 %); the project asks 90%"
    assert alpha.as_dict()["readiness"] == "ready" and alpha.as_dict()["detections"] == alpha.detections


def test_outside_boxes_and_unreviewed_frames_are_not_ground_truth(db, library) -> None:
    with db.transaction() as session:
        session.add(
            Annotation(
                video_id=library["beta"], frame_number=4, vru_type="pedestrian", validated=True,
                outside=True, bounding_box=(0, 0, 5, 5),
            )
        )  # fmt: skip
        session.add(ReviewedFrame(video_id=library["beta"], frame_number=4))
    add_boxes(db, library["gamma"], [(6, "pedestrian", True, 30.0)])
    rows = by_name(query_datasets(db))
    assert (rows["beta"].annotations, rows["beta"].validated, rows["beta"].ground_truth) == (0, 0, 0)
    assert (rows["gamma"].validated, rows["gamma"].ground_truth, rows["gamma"].score) == (1, 0, 60)


def test_missing_file_and_status_lower_readiness(db, library) -> None:
    with db.session() as session:
        path = session.get(Video, library["alpha"]).file_path
    os.remove(path)
    with db.transaction() as session:
        session.execute(update(Video).where(Video.id == library["beta"]).values(status="error"))
    rows = by_name(query_datasets(db))
    assert not rows["alpha"].file_exists and (rows["alpha"].score, rows["alpha"].level) == (80, "ready")
    assert not rows["beta"].file_healthy and rows["beta"].file_exists and rows["beta"].score == 40
    # Without looking at the disk only the stored status decides.
    unchecked = by_name(query_datasets(db, check_files=False))
    assert unchecked["alpha"].file_healthy and unchecked["alpha"].score == 100


def test_detection_summary_is_the_latest_run_from_fresh_statistics_or_counted(db, library) -> None:
    alpha = library["alpha"]
    newer = add_run(db, alpha, ["cyclist"] * 4 + ["motorcyclist"])
    add_run(db, alpha, ["pedestrian"] * 9, status="created")  # queued, not started: ignored
    row = by_name(query_datasets(db))["alpha"]
    assert (row.latest_session_id, row.runs) == (newer, 2)
    assert row.detections == {"cyclist": 4, "motorcyclist": 1} and row.detection_total == 5
    # A finished run's statistics are used while fresh (here deliberately different from the events).
    with db.transaction() as session:
        session.add(
            SessionStatistics(session_id=newer, total_detections=7, detections_by_type={"pedestrian": 7})
        )
    assert by_name(query_datasets(db))["alpha"].detections == {"pedestrian": 7}
    # Marked stale, they are ignored and the events counted again.
    with db.transaction() as session:
        session.get(SessionStatistics, newer).stale = True
    row = by_name(query_datasets(db))["alpha"]
    assert row.detections == {"cyclist": 4, "motorcyclist": 1} and row.detection_total == 5


def test_filters_narrow_the_rows(db, library) -> None:
    def names(**kwargs) -> list[str]:
        return sorted(by_name(query_datasets(db, DatasetFilter(**kwargs))))

    rows = query_datasets(db)
    front = rows[0].project_id
    assert names() == ["alpha", "beta", "gamma"]
    assert names(project_ids=(front,)) == ["alpha", "beta"]
    assert names(readiness=("ready",)) == ["alpha"]
    assert names(readiness=("partial", "not-ready")) == ["beta", "gamma"]
    assert names(readiness=("not-ready",)) == []
    assert names(vru_types=("wheelchair_user",)) == ["beta"]  # from detections
    assert names(vru_types=("scooter_rider",)) == ["gamma"]  # from boxes
    assert names(vru_types=("cyclist", "scooter_rider")) == ["alpha", "gamma"]
    assert names(camera=(("camera_view", "REAR"),)) == ["gamma"]
    assert names(camera=(("camera_model", "AX-200"), ("lens_type", "fisheye"))) == []
    assert names(text="ET") == ["beta"]
    assert names(statuses=("ok",)) == ["alpha", "beta", "gamma"] and names(statuses=("missing",)) == []
    with db.transaction() as session:
        session.execute(
            update(Video)
            .where(Video.id == library["gamma"])
            .values(imported_at=datetime(2026, 1, 15, 23, 30, tzinfo=UTC))
        )
    assert names(imported_to=date(2026, 1, 15)) == ["gamma"]
    assert names(imported_from=date(2026, 1, 16)) == ["alpha", "beta"]
    assert names(imported_from=date(2026, 1, 15), imported_to=date(2026, 1, 15)) == ["gamma"]
    with pytest.raises(UsageError, match="Unknown camera field 'colour'"):
        query_datasets(db, DatasetFilter(camera=(("colour", "red"),)))


def test_sorting_by_columns_and_detection_types(db, library) -> None:
    def order(key, descending=False) -> list[str]:
        return [r.filename.split(".")[0] for r in query_datasets(db, sort=key, descending=descending)]

    assert order("readiness", descending=True) == ["alpha", "beta", "gamma"]
    assert order("annotations") == ["beta", "gamma", "alpha"]
    assert order("filename", descending=True) == ["gamma", "beta", "alpha"]
    assert order("project") == ["alpha", "beta", "gamma"]  # ties keep video id order
    assert order("frames") == ["gamma", "beta", "alpha"]
    assert order(detection_sort_key("wheelchair_user"), descending=True)[0] == "beta"
    rows = query_datasets(db)
    sort_rows(rows, "coverage", descending=True)
    assert rows[0].filename == "alpha.mp4"
    with pytest.raises(UsageError, match="Cannot sort by 'colour'"):
        sort_rows(rows, "colour")


def test_statistics_of_the_rows(db, library) -> None:
    rows = query_datasets(db)
    stats = compute_statistics(db, rows, all_videos=True)
    assert stats.videos == 3
    assert stats.annotations_by_type == {"pedestrian": 3, "cyclist": 1, "scooter_rider": 1}
    assert stats.validated_by_type == {"pedestrian": 2, "cyclist": 1}
    assert stats.detections_by_type == {"pedestrian": 2, "cyclist": 1, "wheelchair_user": 1}
    # Box counts per video: 4, 0, 1.
    assert int(stats.boxes_per_video_counts.sum()) == 3
    assert stats.boxes_per_video_counts[0] == 1 and stats.boxes_per_video_counts[-1] == 1
    # Heights 40, 70, 20, 33, 50 px in 16 px bins: 16–32, 32–48 ×2, 48–64, 64–80.
    assert stats.height_edges[1] == HEIGHT_BIN_PX
    assert stats.height_counts.tolist() == [0, 1, 2, 1, 1]
    assert (stats.reviewed_frames, stats.frames) == (5, 38)
    assert stats.coverage == pytest.approx(5 / 38)
    assert stats.coverage_counts.tolist() == [2, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    # Only the filtered rows count.
    gamma = [r for r in rows if r.filename == "gamma.mp4"]
    only = compute_statistics(db, gamma)
    assert only.annotations_by_type == {"scooter_rider": 1} and only.detections_by_type == {}
    assert only.class_names()[:5] == [
        "pedestrian",
        "cyclist",
        "motorcyclist",
        "wheelchair_user",
        "scooter_rider",
    ]
    assert np.array_equal(compute_statistics(db, []).height_counts, np.zeros(0))
