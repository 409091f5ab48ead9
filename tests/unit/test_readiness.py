"""Readiness: the specification's score for every combination of the five criteria, on a real database.

Each combination is one video built from rows (detection run and events, annotations, reviewed
frames, project, file) and scored by the dataset query, then checked against the rule itself.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from vru_desktop.datasets.query import query_datasets
from vru_desktop.datasets.readiness import (
    LEVELS,
    NOT_READY,
    PARTIAL,
    READY,
    Readiness,
    level_of,
    parse_level,
)
from vru_desktop.errors import UsageError
from vru_desktop.library.projects import ensure_default_project
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
    # A validated box on frame 5; frame 5 is reviewed only when the video has ground truth.
    # Without validated boxes, an unvalidated box still sits on a reviewed frame: not ground truth.
    validated = combo["has_validated_annotations"]
    session.add(
        Annotation(
            video_id=video.id, frame_number=5 if validated else 7, vru_type="pedestrian",
            validated=validated, bounding_box=(10, 10, 40, 90),
        )
    )  # fmt: skip
    if combo["has_ground_truth"]:
        session.add(ReviewedFrame(video_id=video.id, frame_number=5 if validated else 7))
    return video.id


def test_readiness_of_every_combination_from_real_rows(db, make_video) -> None:
    real_file = make_video("present.mp4", 5)
    project_id = ensure_default_project(db).id
    expected: dict[int, tuple[int, str]] = {}
    with db.transaction() as session:
        for index, values in enumerate(itertools.product((False, True), repeat=5)):
            combo = dict(zip(CRITERIA, values, strict=True))
            video_id = _add_video(session, index, combo, real_file, project_id)
            # Ground truth needs validated boxes on reviewed frames: without validated boxes the
            # reviewed frame holds only an unvalidated box and the criterion stays unmet.
            met = dict(
                combo, has_ground_truth=combo["has_ground_truth"] and combo["has_validated_annotations"]
            )
            score = 20 * sum(met.values())
            expected[video_id] = (score, level_of(score))
    rows = query_datasets(db)
    assert len(rows) == 32
    for row in rows:
        assert (row.score, row.level) == expected[row.video_id], row.filename
    assert {row.level for row in rows} == set(LEVELS)
