"""Readiness: the specification's score for every combination of the five criteria, on a real database.

Each combination is one video built from rows (detection run and events, annotations, reviewed
frames, project, file) and scored by the dataset query, then checked against the rule itself.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import select

from vru_desktop.datasets.query import query_datasets
from vru_desktop.datasets.readiness import (
    LEVELS,
    NOT_READY,
    PARTIAL,
    READY,
    Readiness,
    coverage_text,
    level_of,
    parse_level,
)
from vru_desktop.errors import UsageError, ValidationError
from vru_desktop.library.projects import ProjectFields, create_project, ensure_default_project, update_project
from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame, TestSession, Video

CRITERIA = ("has_detections", "has_validated_annotations", "has_ground_truth", "has_project", "file_healthy")


@pytest.mark.parametrize(
    ("score", "level"),
    [(100, READY), (80, READY), (60, PARTIAL), (40, PARTIAL), (20, NOT_READY), (0, NOT_READY)],
)
def test_level_thresholds(score: int, level: str) -> None:
    assert level_of(score) == level


def test_score_counts_twenty_points_per_criterion() -> None:
    for combo in itertools.product((False, True), repeat=5):
        readiness = Readiness(*combo)
        assert readiness.score == 20 * sum(combo)
        assert len(readiness.missing()) == 5 - sum(combo)


def test_parse_level_accepts_spellings_and_refuses_others() -> None:
    assert [parse_level(t) for t in ("Ready", "partial", "not_ready", "not ready", "NOT-READY")] == [
        READY,
        PARTIAL,
        NOT_READY,
        NOT_READY,
        NOT_READY,
    ]
    with pytest.raises(UsageError, match=r"Unknown readiness 'almost'.*ready, partial, not-ready"):
        parse_level("almost")
    assert LEVELS == (READY, PARTIAL, NOT_READY)


def _add_video(session, index: int, combo: dict[str, bool], real_file: Path, project_id: int) -> int:
    healthy = combo["file_healthy"]
    # An unhealthy file alternates between a stored "missing" status and a path that does not exist.
    video = Video(
        project_id=project_id if combo["has_project"] else None,
        filename=f"combo_{index:02d}.mp4",
        file_path=str(real_file if healthy or index % 2 else real_file.with_name(f"gone_{index}.mp4")),
        fingerprint=f"combo-{index:02d}",
        frame_count=50,
        status="ok" if healthy or not index % 2 else "missing",
    )
    session.add(video)
    session.flush()
    run = TestSession(video_id=video.id, status="completed")
    session.add(run)
    session.flush()
    if combo["has_detections"]:
        session.add(
            DetectionEvent(
                session_id=run.id, video_id=video.id, frame_number=3, timestamp=0.1,
                vru_type="cyclist", confidence=0.9, bounding_box=(1, 2, 30, 60),
            )
        )  # fmt: skip
    # A box on frame 5, validated or not. Ground truth is reviewed coverage: 45 of the 50 frames
    # (the default project's 0.9) when the video has it, else only frame 5 (2 %) is reviewed.
    validated = combo["has_validated_annotations"]
    session.add(
        Annotation(
            video_id=video.id, frame_number=5, vru_type="pedestrian",
            validated=validated, bounding_box=(10, 10, 40, 90),
        )
    )  # fmt: skip
    reviewed = range(45) if combo["has_ground_truth"] else [5]
    session.add_all(ReviewedFrame(video_id=video.id, frame_number=n) for n in reviewed)
    return video.id


def test_readiness_of_every_combination_from_real_rows(db, make_video) -> None:
    real_file = make_video("present.mp4", 5)
    project_id = ensure_default_project(db).id
    expected: dict[int, tuple[int, str]] = {}
    with db.transaction() as session:
        for index, values in enumerate(itertools.product((False, True), repeat=5)):
            combo = dict(zip(CRITERIA, values, strict=True))
            video_id = _add_video(session, index, combo, real_file, project_id)
            score = 20 * sum(combo.values())
            expected[video_id] = (score, level_of(score))
    rows = query_datasets(db)
    assert len(rows) == 32
    for row in rows:
        assert (row.score, row.level) == expected[row.video_id], row.filename
    assert {row.level for row in rows} == set(LEVELS)


def _long_video(session, project_id: int | None, reviewed: int, frames: int = 1799) -> int:
    video = Video(
        project_id=project_id, filename=f"long_{reviewed}.mp4", file_path="/nowhere/long.mp4",
        fingerprint=f"long-{project_id}-{reviewed}", frame_count=frames,
    )  # fmt: skip
    session.add(video)
    session.flush()
    session.add(TestSession(video_id=video.id, status="completed"))
    session.flush()
    run_id = session.scalars(select(TestSession.id).where(TestSession.video_id == video.id)).one()
    session.add(
        DetectionEvent(
            session_id=run_id, video_id=video.id, frame_number=0, timestamp=0.0,
            vru_type="pedestrian", confidence=0.9, bounding_box=(1, 2, 30, 60),
        )
    )  # fmt: skip
    session.add(
        Annotation(
            video_id=video.id, frame_number=0, vru_type="pedestrian", validated=True,
            bounding_box=(1, 2, 30, 60),
        )
    )  # fmt: skip
    session.add_all(ReviewedFrame(video_id=video.id, frame_number=n) for n in range(reviewed))
    return video.id


def test_one_reviewed_frame_of_a_long_video_is_not_ground_truth(db) -> None:
    project_id = ensure_default_project(db).id
    with db.transaction() as session:
        one = _long_video(session, project_id, 1)
        most = _long_video(session, project_id, 1620)  # 90.05 %
        short = _long_video(session, project_id, 1619)  # 89.99 %
    rows = {row.video_id: row for row in query_datasets(db, check_files=False)}
    assert not rows[one].readiness.has_ground_truth
    assert rows[one].score == 80 and rows[one].coverage_required == 0.9
    assert rows[one].missing() == ["ground truth: 1 of 1799 frames reviewed (<0.1 %); the project asks 90%"]
    assert rows[most].readiness.has_ground_truth and rows[most].score == 100
    assert not rows[short].readiness.has_ground_truth
    assert rows[short].as_dict()["coverage_required"] == 0.9


def test_threshold_is_stored_per_project(db) -> None:
    strict = create_project(
        db, ProjectFields(name="Strict", camera_model="m", camera_view="front", signal_type="video")
    )
    data = ProjectFields.of(strict)
    data.gt_coverage = 0.05
    update_project(db, strict.id, data)
    default_project = ensure_default_project(db).id
    with db.transaction() as session:
        sampled = _long_video(session, strict.id, 100)  # 5.6 %: enough for this project
        default = _long_video(session, default_project, 100)
        orphan = _long_video(session, None, 1799)  # no project: the default share applies
    rows = {row.video_id: row for row in query_datasets(db, check_files=False)}
    assert rows[sampled].readiness.has_ground_truth and rows[sampled].coverage_required == 0.05
    assert not rows[default].readiness.has_ground_truth
    assert rows[orphan].readiness.has_ground_truth and rows[orphan].coverage_required == 0.9
    data.gt_coverage = 0.0
    with pytest.raises(ValidationError, match="coverage must be a share"):
        update_project(db, strict.id, data)


@pytest.mark.parametrize(
    ("coverage", "text"),
    [(0.0, "0 %"), (1 / 1799, "<0.1 %"), (0.0256, "2.5 %"), (0.8999, "89 %"), (0.9, "90 %"), (1.0, "100 %")],
)
def test_coverage_text(coverage: float, text: str) -> None:
    assert coverage_text(coverage) == text
