"""The annotation editor on a real SQLite file: edits saved at once, tracks, detections, undo/redo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, select, update

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.errors import NotFoundError, ValidationError
from vru_desktop.library.importer import import_paths
from vru_desktop.media.frames import FrameTable
from vru_desktop.store.db import Database, open_database
from vru_desktop.store.models import (
    Annotation,
    DetectionEvent,
    DetectorModel,
    SessionStatistics,
    TestSession,
    Video,
)

pytestmark = pytest.mark.usefixtures("backend")

FRAMES = 60
#: Not compared: ids, times, and the version every write raises (undo writes too).
IGNORED_COLUMNS = {"id", "created_at", "updated_at", "version"}


@pytest.fixture
def video_id(db: Database, make_video: Callable[..., Path]) -> int:
    outcome = import_paths(db, [make_video("clip.mp4", FRAMES)])[0]
    assert outcome.status == "imported", outcome.message
    assert outcome.video_id is not None
    return outcome.video_id


@pytest.fixture
def editor(db: Database, video_id: int) -> AnnotationEditor:
    return AnnotationEditor(db, video_id)


def add_run(
    db: Database,
    video_id: int,
    events: list[tuple[int, tuple[float, float, float, float], str, float, int | None]],
    *,
    model: str | None = "yolo11n.pt",
    config: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
) -> tuple[int, list[int]]:
    """A completed detection run with statistics, and its events ``(frame, box, type, conf, track)``."""
    with db.transaction() as session:
        model_id = None
        if model is not None:
            path = f"/models/{model}"
            detector = session.scalars(select(DetectorModel).where(DetectorModel.path == path)).first()
            if detector is None:
                detector = DetectorModel(name=model, path=path, sha256="0" * 64, format="pt")
                session.add(detector)
                session.flush()
            model_id = detector.id
        run = TestSession(
            video_id=video_id,
            model_id=model_id,
            config=config or {"conf": 0.25},
            provenance=provenance or {},
            status="completed",
        )
        session.add(run)
        session.flush()
        session.add(SessionStatistics(session_id=run.id, stale=False))
        rows = [
            DetectionEvent(
                session_id=run.id,
                video_id=video_id,
                frame_number=frame,
                timestamp=frame / 25,
                vru_type=vru_type,
                confidence=confidence,
                track_id=track,
                x1=box[0],
                y1=box[1],
                x2=box[2],
                y2=box[3],
            )
            for frame, box, vru_type, confidence, track in events
        ]
        session.add_all(rows)
        session.flush()
        return run.id, [row.id for row in rows]


def table(db: Database, video_id: int) -> list[tuple[tuple[str, Any], ...]]:
    """Every annotation row of the video (all columns but id and times), in a stable order."""
    columns = [c for c in Annotation.__table__.columns if c.name not in IGNORED_COLUMNS]
    with db.session() as session:
        rows = session.execute(select(*columns).where(Annotation.video_id == video_id)).mappings().all()
    return sorted((tuple((c.name, row[c.name]) for c in columns) for row in rows), key=repr)


def track_rows(db: Database, video_id: int, track_id: int) -> list[Annotation]:
    with db.session() as session:
        return list(
            session.scalars(
                select(Annotation)
                .where(Annotation.video_id == video_id, Annotation.track_id == track_id)
                .order_by(Annotation.frame_number)
            )
        )


def boxes_on(editor: AnnotationEditor, frame: int) -> list[tuple[float, float, float, float]]:
    return [view.box for view in editor.frame_annotations(frame)]


# -- persistence ---------------------------------------------------------------------------------------
def test_edits_persist_across_a_fresh_database_open(
    db: Database, video_id: int, database_target: str | Path
) -> None:
    editor = AnnotationEditor(db, video_id)
    box_id = editor.add_box(7, (10, 20, 30, 60), "cyclist")
    editor.set_flags(box_id, occluded=True)
    editor.set_reviewed(7)
    db.close()

    reopened = open_database(database_target)
    try:
        fresh = AnnotationEditor(reopened, video_id)
        (view,) = fresh.frame_annotations(7)
        assert view.id == box_id
        assert view.box == (10.0, 20.0, 30.0, 60.0)
        assert (view.vru_type, view.validated, view.occluded, view.truncated) == (
            "cyclist",
            True,
            True,
            False,
        )
        assert view.track_id is None and view.is_keyframe
        assert fresh.is_reviewed(7) and not fresh.is_reviewed(8)
        with reopened.session() as session:
            row = session.get(Annotation, box_id)
            video = session.get(Video, video_id)
            assert row is not None and video is not None and video.frame_index is not None
            times = FrameTable.from_bytes(video.frame_index.times, video.frame_index.keyframes).times
            assert row.timestamp == pytest.approx(times[7])
            assert row.source == "manual"
    finally:
        reopened.close()


def test_box_corners_are_normalised_and_bad_input_is_refused(editor: AnnotationEditor) -> None:
    box_id = editor.add_box(0, (30, 40, 10, 20), "pedestrian")
    assert boxes_on(editor, 0) == [(10.0, 20.0, 30.0, 40.0)]
    with pytest.raises(ValidationError, match="no area"):
        editor.move_box(box_id, (5, 5, 5, 9))
    with pytest.raises(ValidationError, match="finite"):
        editor.add_box(0, (0, 0, float("nan"), 5), "pedestrian")
    with pytest.raises(ValidationError, match="outside the video"):
        editor.add_box(FRAMES, (0, 0, 5, 5), "pedestrian")
    with pytest.raises(ValidationError, match="class"):
        editor.add_box(0, (0, 0, 5, 5), " ")
    with pytest.raises(NotFoundError, match="no longer exists"):
        editor.move_box(box_id + 1000, (0, 0, 5, 5))
    assert editor.undo_text() == "Add box"


# -- tracks ------------------------------------------------------------------------------------------
def test_keyframes_interpolate_linearly_and_rows_inherit_from_the_keyframe_before(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    first = editor.add_box(10, (0, 0, 10, 10), "pedestrian", track_id=4)
    editor.add_box(20, (100, 50, 120, 90), "pedestrian", track_id=4)
    editor.set_flags(first, occluded=True)
    rows = track_rows(db, video_id, 4)
    assert [row.frame_number for row in rows] == list(range(10, 21))
    assert [row.is_keyframe for row in rows] == [True] + [False] * 9 + [True]
    for row in rows:
        t = (row.frame_number - 10) / 10
        assert row.bounding_box == pytest.approx((100 * t, 50 * t, 10 + 110 * t, 10 + 80 * t))
    assert [row.occluded for row in rows] == [True] * 10 + [False]
    assert all(row.validated and row.vru_type == "pedestrian" for row in rows)
    assert editor.frame_annotations(15)[0].track_id == 4


def test_adding_a_keyframe_between_keyframes_regenerates_both_sides(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    editor.add_box(0, (0, 0, 10, 10), "pedestrian", track_id=1)
    editor.add_box(10, (0, 0, 10, 10), "pedestrian", track_id=1)
    editor.add_box(5, (50, 0, 60, 10), "pedestrian", track_id=1)
    rows = track_rows(db, video_id, 1)
    assert [row.frame_number for row in rows] == list(range(11))
    assert [row.x1 for row in rows] == pytest.approx([0, 10, 20, 30, 40, 50, 40, 30, 20, 10, 0])
    assert [row.frame_number for row in rows if row.is_keyframe] == [0, 5, 10]


def test_moving_an_interpolated_box_makes_a_keyframe(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    editor.add_box(0, (0, 0, 10, 10), "cyclist", track_id=1)
    editor.add_box(8, (80, 0, 90, 10), "cyclist", track_id=1)
    (middle,) = editor.frame_annotations(4)
    assert not middle.is_keyframe
    editor.move_box(middle.id, (40, 40, 50, 50))
    (moved,) = editor.frame_annotations(4)
    assert moved.id == middle.id and moved.is_keyframe and moved.box == (40, 40, 50, 50)
    assert boxes_on(editor, 2) == [pytest.approx((20, 20, 30, 30))]
    assert boxes_on(editor, 6) == [pytest.approx((60, 20, 70, 30))]
    assert len(track_rows(db, video_id, 1)) == 9


def test_deleting_a_keyframe_reinterpolates_between_its_neighbours(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    editor.add_box(0, (0, 0, 10, 10), "pedestrian", track_id=1)
    middle = editor.add_box(5, (50, 50, 60, 60), "pedestrian", track_id=1)
    last = editor.add_box(10, (100, 0, 110, 10), "pedestrian", track_id=1)
    editor.delete_box(middle)
    rows = track_rows(db, video_id, 1)
    assert [row.frame_number for row in rows] == list(range(11))
    assert [row.y1 for row in rows] == [0.0] * 11
    assert [row.x1 for row in rows] == pytest.approx([10.0 * f for f in range(11)])
    editor.delete_box(last)  # the track now ends at its remaining keyframe
    assert [row.frame_number for row in track_rows(db, video_id, 1)] == [0]
    editor.delete_box(rows[0].id)  # and is gone with it
    assert track_rows(db, video_id, 1) == []
    editor.undo()
    assert [row.frame_number for row in track_rows(db, video_id, 1)] == [0]


def test_deleting_an_interpolated_box_hides_it_on_that_frame_only(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    editor.add_box(0, (0, 0, 10, 10), "pedestrian", track_id=2)
    editor.add_box(10, (100, 0, 110, 10), "pedestrian", track_id=2)
    before = {f: boxes_on(editor, f) for f in range(11)}
    editor.delete_box(editor.frame_annotations(5)[0].id)
    assert editor.frame_annotations(5) == []
    for frame in (*range(5), *range(6, 11)):
        assert boxes_on(editor, frame) == [pytest.approx(before[frame][0])]
    rows = {row.frame_number: row for row in track_rows(db, video_id, 2)}
    assert rows[5].outside and rows[5].is_keyframe
    assert rows[4].is_keyframe and rows[6].is_keyframe


def test_outside_ends_the_track_until_its_next_keyframe(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    editor.add_box(0, (0, 0, 10, 10), "pedestrian", track_id=3)
    editor.add_box(10, (100, 0, 110, 10), "pedestrian", track_id=3)
    editor.add_box(20, (200, 0, 210, 10), "pedestrian", track_id=3)
    editor.set_outside(editor.frame_annotations(4)[0].id)
    assert [f for f in range(21) if editor.frame_annotations(f)] == [0, 1, 2, 3, *range(10, 21)]
    rows = {row.frame_number: row for row in track_rows(db, video_id, 3)}
    assert rows[4].outside and rows[4].is_keyframe
    assert not any(f in rows for f in range(5, 10))
    # Deleting the outside marker joins the track again.
    editor.delete_box(rows[4].id)
    assert [f for f in range(21) if editor.frame_annotations(f)] == list(range(21))
    assert boxes_on(editor, 5) == [pytest.approx((50, 0, 60, 10))]


def test_outside_needs_a_track(editor: AnnotationEditor) -> None:
    box_id = editor.add_box(3, (0, 0, 10, 10), "pedestrian")
    with pytest.raises(ValidationError, match="not part of a track"):
        editor.set_outside(box_id)
    assert editor.undo_text() == "Add box"


def test_new_track_ids_are_one_more_than_the_largest(editor: AnnotationEditor) -> None:
    first = editor.add_box(1, (0, 0, 10, 10), "pedestrian")
    editor.propagate(first, 1)
    assert editor.frame_annotations(1)[0].track_id == 1
    editor.add_box(0, (0, 0, 10, 10), "pedestrian", track_id=7)
    box_id = editor.add_box(0, (20, 0, 30, 10), "pedestrian")
    editor.propagate(box_id, 3)
    assert editor.frame_annotations(0)[1].track_id == 8


def test_propagate_copies_a_box_forward_as_a_track(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    box_id = editor.add_box(50, (5, 6, 25, 46), "scooter_rider")
    editor.set_flags(box_id, truncated=True)
    created = editor.propagate(box_id, 4)
    assert len(created) == 4
    rows = track_rows(db, video_id, 1)
    assert [row.frame_number for row in rows] == [50, 51, 52, 53, 54]
    assert [row.id for row in rows[1:]] == created
    assert [row.is_keyframe for row in rows] == [True, False, False, False, True]
    assert all(row.bounding_box == (5, 6, 25, 46) and row.truncated for row in rows)
    assert all(row.vru_type == "scooter_rider" for row in rows)
    # Clamped to the last frame of the video; what the track had there is replaced.
    editor.move_box(created[-1], (50, 6, 70, 46))
    assert len(editor.propagate(box_id, 100)) == FRAMES - 1 - 50
    assert {boxes_on(editor, f)[0] for f in range(50, FRAMES)} == {(5, 6, 25, 46)}
    with pytest.raises(ValidationError, match="last frame"):
        editor.propagate(editor.frame_annotations(FRAMES - 1)[0].id, 1)
    with pytest.raises(ValidationError, match="1 or more"):
        editor.propagate(box_id, 0)


def test_propagate_then_the_next_keyframe_interpolates_from_the_end(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    start = editor.add_box(0, (0, 0, 10, 10), "pedestrian", track_id=1)
    editor.add_box(10, (100, 0, 110, 10), "pedestrian", track_id=1)
    editor.propagate(start, 5)
    assert {boxes_on(editor, f)[0] for f in range(6)} == {(0, 0, 10, 10)}
    assert boxes_on(editor, 8) == [pytest.approx((60, 0, 70, 10))]
    assert [row.frame_number for row in track_rows(db, video_id, 1) if row.is_keyframe] == [0, 5, 10]


def test_copy_to_next_frame_extends_tracks(db: Database, video_id: int, editor: AnnotationEditor) -> None:
    loose = editor.add_box(9, (0, 0, 10, 10), "pedestrian")
    editor.add_box(9, (20, 0, 30, 10), "cyclist", track_id=5)
    editor.add_box(9, (40, 0, 50, 10), "cyclist", track_id=6)
    editor.add_box(10, (45, 0, 55, 10), "cyclist", track_id=6)
    created = editor.copy_to_next_frame(9)
    assert len(created) == 2  # track 6 already goes on
    assert editor.undo_text() == "Copy 2 boxes to next frame"
    on_next = {view.track_id: view for view in editor.frame_annotations(10)}
    assert set(on_next) == {5, 6, 7}
    assert on_next[7].box == (0, 0, 10, 10) and on_next[7].is_keyframe and on_next[7].validated
    assert on_next[6].box == (45, 0, 55, 10)
    with db.session() as session:
        source = session.get(Annotation, loose)
        assert source is not None and source.track_id == 7
    with pytest.raises(ValidationError):
        editor.copy_to_next_frame(FRAMES - 1)


def test_set_class_of_a_track_row_changes_the_whole_track(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    editor.add_box(0, (0, 0, 10, 10), "pedestrian", track_id=1)
    editor.add_box(4, (40, 0, 50, 10), "pedestrian", track_id=1)
    editor.set_outside(editor.add_box(6, (60, 0, 70, 10), "pedestrian", track_id=1))
    loose = editor.add_box(2, (0, 50, 10, 60), "pedestrian")
    editor.set_class(editor.frame_annotations(2)[0].id, "wheelchair_user")
    assert {row.vru_type for row in track_rows(db, video_id, 1)} == {"wheelchair_user"}
    assert [view.vru_type for view in editor.frame_annotations(2) if view.id == loose] == ["pedestrian"]


# -- detections ----------------------------------------------------------------------------------------
def test_accept_detection_makes_a_linked_validated_annotation(db: Database, video_id: int) -> None:
    editor = AnnotationEditor(db, video_id)
    run, (event_id,) = add_run(db, video_id, [(3, (1, 2, 11, 22), "cyclist", 0.8, None)])
    annotation_id = editor.accept_detection(event_id)
    (view,) = editor.frame_annotations(3)
    assert view.id == annotation_id
    assert (view.detection_event_id, view.confidence, view.validated) == (event_id, 0.8, True)
    assert (view.box, view.vru_type, view.track_id) == ((1, 2, 11, 22), "cyclist", None)
    assert [d.review for d in editor.frame_detections(3, run)] == ["accepted"]
    assert editor.accept_detection(event_id) == annotation_id  # accepting twice changes nothing
    assert editor.undo_text() == "Accept detection"
    editor.undo()
    assert editor.frame_annotations(3) == []
    assert [d.review for d in editor.frame_detections(3, run)] == [None]


def test_accepted_detections_of_one_run_track_form_one_annotation_track(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    editor.add_box(0, (0, 0, 5, 5), "pedestrian", track_id=3)
    run, events = add_run(
        db,
        video_id,
        [
            (10, (0, 0, 10, 10), "pedestrian", 0.9, 42),
            (14, (40, 0, 50, 10), "pedestrian", 0.9, 42),
            (12, (99, 0, 109, 10), "pedestrian", 0.9, 43),
        ],
    )
    editor.accept_detection(events[0])
    editor.accept_detection(events[1])
    editor.accept_detection(events[2])
    first = {view.track_id for view in editor.frame_annotations(10)}
    assert first == {4}
    on_twelve = {view.track_id: view for view in editor.frame_annotations(12)}
    assert set(on_twelve) == {4, 5}
    assert on_twelve[4].box == pytest.approx((20, 0, 30, 10)) and not on_twelve[4].is_keyframe
    assert on_twelve[5].detection_event_id == events[2]
    assert [row.detection_event_id for row in track_rows(db, video_id, 4) if row.is_keyframe] == [
        events[0],
        events[1],
    ]
    assert {d.review for d in editor.frame_detections(14, run)} == {"accepted"}


def test_reject_detection_and_undo(db: Database, video_id: int, editor: AnnotationEditor) -> None:
    run, (event_id,) = add_run(db, video_id, [(5, (0, 0, 9, 9), "pedestrian", 0.4, None)])
    editor.reject_detection(event_id)
    assert editor.frame_detections(5, run)[0].review == "rejected"
    assert editor.frame_annotations(5) == []
    assert editor.undo_text() == "Reject detection"
    editor.undo()
    assert editor.frame_detections(5, run)[0].review is None
    editor.redo()
    assert editor.frame_detections(5, run)[0].review == "rejected"
    with pytest.raises(NotFoundError):
        editor.reject_detection(event_id + 100)


def test_accept_all_takes_open_detections_at_or_above_the_threshold(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    run, events = add_run(
        db,
        video_id,
        [
            (8, (0, 0, 10, 10), "pedestrian", 0.2, None),
            (8, (20, 0, 30, 10), "pedestrian", 0.5, None),
            (8, (40, 0, 50, 10), "cyclist", 0.9, None),
            (8, (60, 0, 70, 10), "cyclist", 0.95, None),
            (9, (0, 0, 10, 10), "pedestrian", 0.99, None),
        ],
    )
    editor.reject_detection(events[3])
    assert [d.confidence for d in editor.frame_detections(8, run, min_confidence=0.5)] == [0.95, 0.9, 0.5]
    created = editor.accept_all_detections(8, run, min_confidence=0.5)
    assert len(created) == 2
    assert editor.undo_text() == "Accept 2 detections"
    assert sorted(view.detection_event_id for view in editor.frame_annotations(8)) == [events[1], events[2]]
    assert [d.review for d in editor.frame_detections(8, run)] == ["rejected", "accepted", "accepted", None]
    assert editor.frame_annotations(9) == []
    editor.undo()  # the whole batch at once
    assert editor.frame_annotations(8) == []
    assert [d.review for d in editor.frame_detections(8, run)] == ["rejected", None, None, None]


def test_sessions_are_labelled_by_model_settings_and_time(db: Database, video_id: int) -> None:
    editor = AnnotationEditor(db, video_id)
    first, _ = add_run(db, video_id, [], model="rtdetr-l.pt", config={"conf": 0.4})
    second, _ = add_run(db, video_id, [], model=None, provenance={"model_name": "yolo11s_openvino_model"})
    views = {view.id: view for view in editor.sessions()}
    assert set(views) == {first, second}
    assert views[first].label.startswith(f"#{first} rtdetr-l.pt · conf 0.4 · ")
    assert views[second].label.startswith(f"#{second} yolo11s_openvino_model · ")
    assert views[first].status == "completed"


# -- reviewed frames, statistics, ground truth -----------------------------------------------------
def test_reviewed_frames_decide_ground_truth_and_every_edit_marks_statistics_stale(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    run, _ = add_run(db, video_id, [])

    def state() -> tuple[bool, bool]:
        with db.session() as session:
            video = session.get(Video, video_id)
            stats = session.get(SessionStatistics, run)
            assert video is not None and stats is not None
            return video.ground_truth_generated, stats.stale

    box_id = editor.add_box(12, (0, 0, 10, 10), "pedestrian")
    assert state() == (False, True)
    with db.transaction() as session:
        session.execute(update(SessionStatistics).values(stale=False))
    editor.set_reviewed(12)
    assert editor.is_reviewed(12)
    assert state() == (True, True)
    editor.set_flags(box_id, validated=False)
    assert state()[0] is False
    editor.undo()
    assert state()[0] is True
    editor.undo()
    assert not editor.is_reviewed(12)
    assert state()[0] is False
    editor.redo()
    assert editor.is_reviewed(12) and state()[0] is True
    editor.set_reviewed(12, False)
    assert not editor.is_reviewed(12) and editor.undo_text() == "Mark frame 12 not reviewed"


# -- undo / redo ------------------------------------------------------------------------------------
def _populate(db: Database, video_id: int, editor: AnnotationEditor) -> dict[str, int]:
    """A video with a loose box, a track with three keyframes, an outside marker and detections."""
    ids = {
        "loose": editor.add_box(2, (0, 0, 10, 10), "pedestrian"),
        "key0": editor.add_box(10, (0, 0, 10, 10), "cyclist", track_id=1),
        "key1": editor.add_box(20, (100, 0, 110, 10), "cyclist", track_id=1),
        "key2": editor.add_box(30, (100, 100, 110, 110), "cyclist", track_id=1),
    }
    run, events = add_run(
        db,
        video_id,
        [(25, (5, 5, 15, 15), "pedestrian", 0.9, None), (26, (5, 5, 15, 15), "pedestrian", 0.3, 8)],
    )
    ids["run"], ids["event0"], ids["event1"] = run, events[0], events[1]
    editor.set_reviewed(10)
    return ids


EDITS: dict[str, Callable[[AnnotationEditor, dict[str, int]], object]] = {
    "add loose": lambda e, ids: e.add_box(3, (1, 1, 5, 5), "cyclist"),
    "add keyframe": lambda e, ids: e.add_box(15, (9, 9, 19, 19), "cyclist", track_id=1),
    "move loose": lambda e, ids: e.move_box(ids["loose"], (2, 2, 8, 8)),
    "move interpolated": lambda e, ids: e.move_box(e.frame_annotations(14)[0].id, (70, 70, 80, 80)),
    "move keyframe": lambda e, ids: e.move_box(ids["key1"], (0, 50, 10, 60)),
    "delete loose": lambda e, ids: e.delete_box(ids["loose"]),
    "delete keyframe": lambda e, ids: e.delete_box(ids["key1"]),
    "delete interpolated": lambda e, ids: e.delete_box(e.frame_annotations(25)[0].id),
    "class": lambda e, ids: e.set_class(ids["key0"], "motorcyclist"),
    "flags": lambda e, ids: e.set_flags(e.frame_annotations(12)[0].id, occluded=True, validated=False),
    "accept": lambda e, ids: e.accept_detection(ids["event0"]),
    "accept tracked": lambda e, ids: e.accept_detection(ids["event1"]),
    "reject": lambda e, ids: e.reject_detection(ids["event0"]),
    "accept all": lambda e, ids: e.accept_all_detections(26, ids["run"], 0.1),
    "copy": lambda e, ids: e.copy_to_next_frame(30),
    "propagate": lambda e, ids: e.propagate(ids["key0"], 15),
    "outside": lambda e, ids: e.set_outside(e.frame_annotations(22)[0].id),
    "reviewed": lambda e, ids: e.set_reviewed(20),
    "unreviewed": lambda e, ids: e.set_reviewed(10, False),
}


def _state(db: Database, video_id: int, run: int) -> tuple[object, ...]:
    editor = AnnotationEditor(db, video_id)
    reviews = tuple((d.id, d.review) for f in (25, 26) for d in editor.frame_detections(f, run))
    reviewed = tuple(f for f in range(FRAMES) if editor.is_reviewed(f))
    return table(db, video_id), reviews, reviewed


@pytest.mark.parametrize("name", list(EDITS))
def test_undo_and_redo_restore_the_exact_rows(db: Database, video_id: int, name: str) -> None:
    editor = AnnotationEditor(db, video_id)
    ids = _populate(db, video_id, editor)
    before = _state(db, video_id, ids["run"])
    EDITS[name](editor, ids)
    after = _state(db, video_id, ids["run"])
    assert after != before
    assert editor.can_undo() and not editor.can_redo()
    text = editor.undo_text()
    assert editor.undo()
    assert _state(db, video_id, ids["run"]) == before
    assert editor.redo_text() == text and editor.can_redo()
    assert editor.redo()
    assert _state(db, video_id, ids["run"]) == after
    assert not editor.can_redo()


def test_the_whole_session_undoes_and_redoes(db: Database, video_id: int) -> None:
    editor = AnnotationEditor(db, video_id)
    empty = table(db, video_id)
    ids = _populate(db, video_id, editor)
    states = [_state(db, video_id, ids["run"])]
    for edit in EDITS.values():
        edit(editor, ids)
        state = _state(db, video_id, ids["run"])
        if state != states[-1]:  # an edit that changes nothing (accept all of none) records nothing
            states.append(state)
    assert len(states) > len(EDITS) - 3
    for expected in reversed(states[:-1]):
        assert editor.undo()
        assert _state(db, video_id, ids["run"]) == expected
    for expected in states[1:]:
        assert editor.redo()
        assert _state(db, video_id, ids["run"]) == expected
    while editor.undo():
        pass
    assert table(db, video_id) == empty
    assert not editor.can_undo() and editor.undo_text() == ""


def test_undo_of_a_delete_keeps_older_entries_working_when_its_id_was_taken(
    db: Database, video_id: int, editor: AnnotationEditor, backend: str
) -> None:
    if backend == "postgresql":
        pytest.skip("a server's id sequence never hands a freed id out again")
    box_id = editor.add_box(4, (0, 0, 10, 10), "pedestrian")
    editor.move_box(box_id, (5, 5, 15, 15))
    editor.delete_box(box_id)
    with db.transaction() as session:  # another writer takes the freed id
        other = Annotation(video_id=video_id, frame_number=40, vru_type="cyclist", x1=0, y1=0, x2=1, y2=1)
        session.add(other)
        session.flush()
        assert other.id == box_id
    editor.undo()  # the box comes back under a new id
    (restored,) = editor.frame_annotations(4)
    assert restored.id != box_id and restored.box == (5, 5, 15, 15)
    editor.undo()  # the move, recorded against the old id
    assert boxes_on(editor, 4) == [(0, 0, 10, 10)]
    editor.set_class(box_id, "cyclist")  # the old id still names the box
    assert [view.vru_type for view in editor.frame_annotations(4)] == ["cyclist"]
    editor.undo()
    editor.undo()  # the add
    assert editor.frame_annotations(4) == []
    assert [view.box for view in editor.frame_annotations(40)] == [(0, 0, 1, 1)]


def test_a_new_edit_clears_redo_and_a_refused_edit_records_nothing(editor: AnnotationEditor) -> None:
    box_id = editor.add_box(1, (0, 0, 10, 10), "pedestrian")
    editor.move_box(box_id, (1, 1, 9, 9))
    editor.undo()
    assert editor.can_redo() and editor.redo_text() == "Move box"
    editor.set_flags(box_id, truncated=True)
    assert not editor.can_redo() and editor.undo_text() == "Mark truncated"
    with pytest.raises(ValidationError):
        editor.set_outside(box_id)
    assert editor.undo_text() == "Mark truncated"
    editor.set_flags(box_id, truncated=True)  # no change: nothing recorded
    editor.set_flags(box_id)
    editor.undo()
    assert editor.undo_text() == "Add box"
    assert editor.undo() and not editor.can_undo() and not editor.undo()
    assert editor.frame_annotations(1) == []


def test_listeners_hear_the_changed_frames(db: Database, video_id: int, editor: AnnotationEditor) -> None:
    heard: list[set[int]] = []
    editor.add_listener(heard.append)
    editor.add_box(10, (0, 0, 10, 10), "pedestrian", track_id=1)
    editor.add_box(14, (40, 0, 50, 10), "pedestrian", track_id=1)
    editor.set_outside(editor.frame_annotations(12)[0].id)
    editor.set_reviewed(3)
    editor.undo()
    editor.redo()
    assert heard == [{10}, {11, 12, 13, 14}, {12, 13}, {3}, {3}, {3}]
    _run, (event_id,) = add_run(db, video_id, [(33, (0, 0, 5, 5), "pedestrian", 0.5, None)])
    editor.reject_detection(event_id)
    assert heard[-1] == {33}
    editor.undo()
    assert heard[-1] == {33}


# -- timeline summary ------------------------------------------------------------------------------
def test_timeline_summary_matches_the_rows(db: Database, video_id: int, editor: AnnotationEditor) -> None:
    editor.add_box(5, (0, 0, 10, 10), "pedestrian", track_id=1)
    editor.add_box(9, (0, 0, 10, 10), "pedestrian", track_id=1)
    editor.add_box(7, (0, 0, 10, 10), "pedestrian")
    editor.add_box(30, (0, 0, 10, 10), "cyclist")
    editor.add_box(30, (0, 0, 10, 10), "rider, e-bike")  # a project's own class, comma included
    editor.set_outside(editor.add_box(12, (0, 0, 10, 10), "cyclist", track_id=2))
    for frame in (1, 2, 3, 7, 20, 21):
        editor.set_reviewed(frame)
    run, _ = add_run(
        db,
        video_id,
        [
            (4, (0, 0, 1, 1), "cyclist", 0.5, None),
            (4, (0, 0, 1, 1), "cyclist", 0.6, None),
            (2, (0, 0, 1, 1), "cyclist", 0.5, None),
            (6, (0, 0, 1, 1), "motorcyclist", 0.5, None),
        ],
    )
    add_run(db, video_id, [(50, (0, 0, 1, 1), "cyclist", 0.5, None)])
    summary = editor.timeline_summary(run)
    assert summary.frame_count == FRAMES
    assert {k: v.tolist() for k, v in summary.annotations.items()} == {
        "pedestrian": [5, 6, 7, 8, 9],
        "cyclist": [30],
        "rider, e-bike": [30],
    }
    assert {k: v.tolist() for k, v in summary.detections.items()} == {"cyclist": [2, 4], "motorcyclist": [6]}
    assert summary.reviewed == [(1, 3), (7, 7), (20, 21)]
    assert set(summary.vru_types()) == {"pedestrian", "cyclist", "motorcyclist", "rider, e-bike"}
    assert editor.timeline_summary(None).detections == {}


def test_timeline_summary_is_computed_by_aggregate_queries(db: Database, video_id: int) -> None:
    editor = AnnotationEditor(db, video_id)
    rng = np.random.default_rng(3)
    frames = rng.integers(0, FRAMES, 400)
    types = rng.choice(["pedestrian", "cyclist", "scooter_rider"], 400)
    with db.transaction() as session:
        session.add_all(
            Annotation(video_id=video_id, frame_number=int(f), vru_type=str(t), x1=0, y1=0, x2=1, y2=1)
            for f, t in zip(frames, types, strict=True)
        )
    run, _ = add_run(
        db,
        video_id,
        [(int(f), (0, 0, 1, 1), str(t), 0.5, None) for f, t in zip(frames[:100], types[:100], strict=True)],
    )
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        summary = editor.timeline_summary(run)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3  # annotations, detections, reviewed frames: one aggregate each
    aggregate = "group_concat(" if db.engine.dialect.name == "sqlite" else "string_agg("
    assert all(aggregate in s for s in selects)
    assert all("GROUP BY frame_number" in s and "GROUP BY types" in s for s in selects[:2])
    for vru_type in ("pedestrian", "cyclist", "scooter_rider"):
        assert summary.annotations[vru_type].tolist() == sorted(set(frames[types == vru_type].tolist()))
        assert summary.detections.get(vru_type, np.empty(0)).tolist() == sorted(
            set(frames[:100][types[:100] == vru_type].tolist())
        )


def test_update_summary_after_edits_equals_a_full_summary(db: Database, video_id: int) -> None:
    editor = AnnotationEditor(db, video_id)
    editor.add_box(0, (0, 0, 10, 10), "pedestrian", track_id=1)
    editor.add_box(30, (0, 0, 10, 10), "pedestrian", track_id=1)
    summary = editor.timeline_summary(None)
    changed: list[set[int]] = []
    editor.add_listener(changed.append)
    edits: list[Callable[[], object]] = [
        lambda: editor.set_class(editor.frame_annotations(15)[0].id, "cyclist"),
        lambda: editor.set_outside(editor.frame_annotations(10)[0].id),
        lambda: editor.add_box(40, (0, 0, 10, 10), "scooter_rider"),
        lambda: editor.set_reviewed(40),
        lambda: editor.propagate(editor.frame_annotations(40)[0].id, 5),
        editor.undo,
        editor.undo,
        lambda: editor.delete_box(editor.frame_annotations(3)[0].id),
    ]
    for edit in edits:
        edit()
        summary = editor.update_summary(summary, changed[-1])
        full = editor.timeline_summary(None)
        assert {k: v.tolist() for k, v in summary.annotations.items()} == {
            k: v.tolist() for k, v in full.annotations.items()
        }
        assert summary.reviewed == full.reviewed
    assert set(summary.annotations) == {"cyclist", "scooter_rider"}  # the track changed class
    assert summary.annotations["scooter_rider"].tolist() == [40] and summary.reviewed == []
    assert editor.update_summary(summary, []) is summary


def test_long_tracks_are_edited_and_undone_exactly(db: Database) -> None:
    """A video row without a frame table (times from its frame rate) and a 1200-frame track."""
    with db.transaction() as session:
        video = Video(
            filename="long.mp4", file_path="/nowhere/long.mp4", fingerprint="long", frame_count=5000
        )
        video.fps = 20.0
        session.add(video)
        session.flush()
        video_id = video.id
    editor = AnnotationEditor(db, video_id)
    start = editor.add_box(1000, (0, 0, 10, 10), "pedestrian")
    states = [table(db, video_id)]
    created = editor.propagate(start, 1200)
    states.append(table(db, video_id))
    assert len(created) == 1200 and len(states[-1]) == 1201
    editor.move_box(created[599], (300, 0, 310, 10))  # frame 1600
    states.append(table(db, video_id))
    assert boxes_on(editor, 1300) == [pytest.approx((150, 0, 160, 10))]
    assert boxes_on(editor, 1900) == [pytest.approx((150, 0, 160, 10))]
    editor.set_class(start, "cyclist")
    states.append(table(db, video_id))
    editor.delete_box(created[599])
    states.append(table(db, video_id))
    assert boxes_on(editor, 1600) == [(0, 0, 10, 10)]
    with db.session() as session:
        row = session.get(Annotation, editor.frame_annotations(1345)[0].id)
        assert row is not None and row.timestamp == pytest.approx(1345 / 20)
    for expected in reversed(states[:-1]):
        editor.undo()
        assert table(db, video_id) == expected
    for expected in states[1:]:
        editor.redo()
        assert table(db, video_id) == expected


def test_conditions_set_on_a_track_keyframe_carry_to_its_interpolated_rows_and_undo_in_one_step(
    db: Database, video_id: int, editor: AnnotationEditor
) -> None:
    first = editor.add_box(10, (0, 0, 10, 10), "pedestrian", track_id=4)
    editor.add_box(20, (100, 50, 120, 90), "pedestrian", track_id=4)
    editor.set_conditions(first, visibility=0.5, occlusion=2, truncation=0.25, ignore=True)
    assert editor.undo_text() == "Set visibility 0.5, occlusion heavy, truncation 0.25, ignore"
    rows = track_rows(db, video_id, 4)
    assert [(r.visibility, r.occlusion, r.truncation, r.ignore) for r in rows[:-1]] == [
        (0.5, 2, 0.25, True)
    ] * 10
    (view,) = editor.frame_annotations(15)
    assert (view.visibility, view.occlusion, view.truncation, view.ignore) == (0.5, 2, 0.25, True)
    editor.set_conditions(first, occlusion=None)
    assert editor.frame_annotations(15)[0].occlusion is None
    editor.undo()
    editor.undo()
    assert {(r.visibility, r.occlusion, r.truncation, r.ignore) for r in track_rows(db, video_id, 4)} == {
        (None, None, None, False)
    }
    with pytest.raises(ValidationError, match="visibility is a share from 0 to 1"):
        editor.set_conditions(first, visibility=1.5)
    with pytest.raises(ValidationError, match="occlusion level is 0"):
        editor.set_conditions(first, occlusion=3)
    with pytest.raises(ValidationError, match="no condition \\['visible'\\]"):
        editor.set_conditions(first, visible=1.0)
