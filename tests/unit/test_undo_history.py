"""Undo that matches what the user did: an action on a selection is one step with a label saying what
it did, and the history is bounded by memory (the oldest steps go, the newest stays)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.annotations.undo import ROW_IMAGE_BYTES, UndoBudget
from vru_desktop.errors import NotFoundError
from vru_desktop.library.importer import import_paths
from vru_desktop.settings import UNDO_HISTORY_MB, set_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import Video


@pytest.fixture
def video_id(db: Database, make_video: Callable[..., Path]) -> int:
    [outcome] = import_paths(db, [make_video("clip.mp4", 20)])
    assert outcome.video_id is not None
    return outcome.video_id


def long_video(db: Database, frames: int) -> int:
    """A video row of ``frames`` frames (no file: the editor needs only its length and rate)."""
    with db.transaction() as session:
        video = Video(
            filename="long.mp4",
            file_path="/nowhere/long.mp4",
            fps=25.0,
            frame_count=frames,
            width=1920,
            height=1080,
            fingerprint="long-video",
        )
        session.add(video)
        session.flush()
        return video.id


def boxes(editor: AnnotationEditor, frame: int) -> list[tuple[float, float, float, float]]:
    return [view.box for view in editor.frame_annotations(frame)]


def undo_depth(editor: AnnotationEditor) -> int:
    steps = 0
    while editor.undo():
        steps += 1
    return steps


def test_an_action_on_three_boxes_is_one_step(db: Database, video_id: int) -> None:
    editor = AnnotationEditor(db, video_id)
    ids = [editor.add_box(4, (10 + 30 * n, 10, 30 + 30 * n, 60), "pedestrian") for n in range(3)]
    notified: list[set[int]] = []
    editor.add_listener(notified.append)
    with editor.grouped("Delete 3 boxes"):
        for annotation_id in ids:
            editor.delete_box(annotation_id)
    assert boxes(editor, 4) == []
    assert notified == [{4}], "one notification for the whole step"
    assert editor.undo_text() == "Delete 3 boxes"
    assert editor.undo()
    assert len(boxes(editor, 4)) == 3
    assert editor.undo_text() == "Add box"
    assert editor.redo_text() == "Delete 3 boxes"
    assert editor.redo()
    assert boxes(editor, 4) == []

    editor.undo()
    with editor.grouped("Change 3 boxes to cyclist"):
        for annotation_id in ids:
            editor.set_class(annotation_id, "cyclist")
    assert {view.vru_type for view in editor.frame_annotations(4)} == {"cyclist"}
    editor.undo()
    assert {view.vru_type for view in editor.frame_annotations(4)} == {"pedestrian"}
    assert undo_depth(editor) == 3  # the three "Add box" steps


def test_a_refused_edit_takes_back_the_whole_step(db: Database, video_id: int) -> None:
    editor = AnnotationEditor(db, video_id)
    first = editor.add_box(2, (10, 10, 40, 60), "pedestrian")
    with pytest.raises(NotFoundError), editor.grouped("Delete 2 boxes"):
        editor.delete_box(first)
        editor.delete_box(first + 1000)
    assert len(boxes(editor, 2)) == 1
    assert editor.undo_text() == "Add box"


def test_a_group_of_track_edits_undoes_exactly(db: Database, video_id: int) -> None:
    editor = AnnotationEditor(db, video_id)
    track = 1
    editor.add_box(0, (0, 0, 20, 40), "pedestrian", track_id=track)
    editor.add_box(10, (100, 0, 120, 40), "pedestrian", track_id=track)
    other = editor.add_box(5, (0, 50, 20, 90), "cyclist")
    before = {frame: boxes(editor, frame) for frame in range(20)}
    interpolated = editor.frame_annotations(5)[0].id
    with editor.grouped("Toggle occluded on 2 boxes"):
        editor.set_flags(interpolated, occluded=True)
        editor.set_flags(other, occluded=True)
    assert all(view.occluded for view in editor.frame_annotations(5))
    editor.undo()
    assert {frame: boxes(editor, frame) for frame in range(20)} == before
    assert not any(view.occluded for view in editor.frame_annotations(5))


def test_the_history_is_bounded_by_memory_and_the_newest_step_stays(db: Database) -> None:
    video_id = long_video(db, 10_001)
    editor = AnnotationEditor(db, video_id, UndoBudget(4 * 2**20))
    box = editor.add_box(0, (10, 10, 50, 110), "pedestrian")
    editor.move_box(box, (12, 10, 52, 110))
    gc.collect()
    tracemalloc.start()
    try:
        editor.propagate(box, 10_000)  # ~10 000 row images: over 4 MB, kept as the newest step
        assert editor.undo_text() == "Propagate box 10000 frames"
        size = editor._history.undo[-1].size
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        editor.add_box(3, (200, 10, 240, 110), "cyclist")  # the propagate is the oldest step over the budget
        gc.collect()
        released = held - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    print(f"propagate 10 000 frames: estimated {size / 2**20:.1f} MiB, released {released / 2**20:.1f} MiB")
    assert size > 10_000 * ROW_IMAGE_BYTES
    assert 0.5 < released / size < 2, "the estimate is within a factor of 2 of the memory held"
    assert editor.undo_text() == "Add box"
    assert undo_depth(editor) == 1, "older steps went with the propagate"
    assert len(editor.frame_annotations(10_000)) == 1, "dropping a step changes no data"


def test_one_budget_for_the_histories_of_all_videos(db: Database, video_id: int) -> None:
    budget = UndoBudget(10**9)
    first = AnnotationEditor(db, video_id, budget)
    second = AnnotationEditor(db, long_video(db, 500), budget)
    first.add_box(1, (0, 0, 10, 10), "pedestrian")
    first.add_box(2, (0, 0, 10, 10), "pedestrian")
    box = second.add_box(0, (0, 0, 10, 10), "pedestrian")
    budget.limit_bytes = budget.used() + 100
    second.propagate(box, 400)  # over the budget: the oldest steps go, whichever video they belong to
    assert not first.can_undo()
    assert undo_depth(second) == 1


def test_the_default_budget_comes_from_the_setting(db: Database, video_id: int) -> None:
    set_setting(db, UNDO_HISTORY_MB, 32)
    assert AnnotationEditor(db, video_id)._history.budget.limit_bytes == 32 * 2**20
