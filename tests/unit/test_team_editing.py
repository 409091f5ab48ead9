"""Two people editing one video: row versions refuse a lost update with nothing half-written, the
edit can be re-applied on top; each viewer learns what the other changed (both backends). A lost
server connection is reported with nothing written (PostgreSQL)."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from vru_desktop.annotations.bulk import BoxFilter, delete_annotations
from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.errors import ConflictError, NotFoundError, StoreError
from vru_desktop.library.importer import import_paths
from vru_desktop.store import changes
from vru_desktop.store.changes import change_token, changes_since
from vru_desktop.store.db import Database, open_database
from vru_desktop.store.models import Annotation, VideoChange

pytestmark = pytest.mark.usefixtures("backend")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def people(
    db: Database, database_target: str | Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Database, Database, dict[str, str]]]:
    """Two connections to one library, as alice and bob (their own roles on the server; on a file
    both are the operating-system user); their names; and the targets they opened."""
    if request.getfixturevalue("backend") == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = make_url(str(database_target)).database
        targets = {person: server.role(person, name) for person in ("alice", "bob")}
        names = {"alice": "alice", "bob": "bob"}
    else:
        targets = {"alice": str(database_target), "bob": str(database_target)}
        names = dict.fromkeys(("alice", "bob"), getpass.getuser())
    alice, bob = open_database(targets["alice"]), open_database(targets["bob"])
    yield alice, bob, {**names, **{f"{person}_target": target for person, target in targets.items()}}
    alice.close()
    bob.close()


@pytest.fixture
def video_id(db: Database, make_video: Callable[..., Path]) -> int:
    outcome = import_paths(db, [make_video("clip.mp4", 30)])[0]
    assert outcome.video_id is not None
    return outcome.video_id


def boxes(db: Database, video_id: int) -> list[tuple[int, int, tuple[float, ...], str]]:
    with db.session() as session:
        rows = session.scalars(
            select(Annotation).where(Annotation.video_id == video_id).order_by(Annotation.id)
        )
        return [(row.id, row.frame_number, row.bounding_box, row.vru_type) for row in rows]


def test_the_second_update_of_a_box_is_refused_naming_who_changed_it_and_can_be_reapplied(
    people: tuple[Database, Database, dict[str, str]], video_id: int
) -> None:
    alice_db, bob_db, names = people
    alice, bob = AnnotationEditor(alice_db, video_id), AnnotationEditor(bob_db, video_id)
    box = alice.add_box(4, (10, 10, 20, 20), "pedestrian")
    [seen_by_alice] = alice.frame_annotations(4)
    [seen_by_bob] = bob.frame_annotations(4)
    assert seen_by_alice.version == seen_by_bob.version

    bob.move_box(box, (30, 30, 40, 40))
    with pytest.raises(ConflictError) as caught:
        alice.move_box(box, (50, 50, 60, 60))
    message = str(caught.value)
    assert f"Box {box} on frame 4 was changed by {names['bob']} at " in message
    assert "your edit was not saved" in message and "Re-apply" in message
    [theirs] = caught.value.conflicts
    assert (theirs.id, theirs.frame, theirs.by, theirs.box) == (box, 4, names["bob"], (30, 30, 40, 40))
    assert boxes(alice_db, video_id) == [(box, 4, (30, 30, 40, 40), "pedestrian")]  # bob's stays
    assert alice.undo_text() == "Add box"  # the refused edit is not on her history

    alice.take_theirs(caught.value, write_over=True)  # re-apply on top of bob's change
    alice.move_box(box, (50, 50, 60, 60))
    assert boxes(bob_db, video_id) == [(box, 4, (50, 50, 60, 60), "pedestrian")]
    with pytest.raises(ConflictError, match=f"changed by {names['alice']}"):
        bob.set_class(box, "cyclist")  # now bob's view is the old one


def test_a_refused_edit_of_several_boxes_writes_none_of_them(
    people: tuple[Database, Database, dict[str, str]], video_id: int
) -> None:
    alice_db, bob_db, names = people
    alice, bob = AnnotationEditor(alice_db, video_id), AnnotationEditor(bob_db, video_id)
    first = alice.add_box(2, (0, 0, 5, 5), "pedestrian")
    second = alice.add_box(2, (10, 10, 15, 15), "pedestrian")
    alice.frame_annotations(2)
    bob.frame_annotations(2)
    bob.delete_box(second)
    before = boxes(alice_db, video_id)
    deleted = f"Box {second} on frame 2 was deleted by {names['bob']}"
    with pytest.raises(ConflictError, match=deleted), alice.grouped("Change class of 2 boxes"):
        alice.set_class(first, "cyclist")
        alice.set_class(second, "cyclist")
    assert boxes(alice_db, video_id) == before  # the first box's change was rolled back too
    assert alice.undo_text() == "Add box"
    [deleted] = caught_conflicts(alice, first, second)
    assert deleted.version is None and deleted.box is None


def caught_conflicts(editor: AnnotationEditor, *ids: int) -> tuple[object, ...]:
    """The conflicts of the grouped class change of ``ids`` (refused again: nothing was written)."""
    with pytest.raises(ConflictError) as caught, editor.grouped("again"):
        for box in ids:
            editor.set_class(box, "cyclist")
    return caught.value.conflicts


def test_undo_over_someone_elses_change_is_refused_until_taken_over(
    people: tuple[Database, Database, dict[str, str]], video_id: int
) -> None:
    alice_db, bob_db, names = people
    alice, bob = AnnotationEditor(alice_db, video_id), AnnotationEditor(bob_db, video_id)
    box = alice.add_box(7, (10, 10, 20, 20), "pedestrian")
    alice.frame_annotations(7)
    alice.move_box(box, (11, 11, 21, 21))
    bob.frame_annotations(7)
    bob.move_box(box, (40, 40, 50, 50))

    alice.frame_annotations(7)  # her viewer shows bob's change: her undo still must not take it back
    with pytest.raises(ConflictError, match=f"changed by {names['bob']}.*the undo was not saved") as caught:
        alice.undo()
    assert boxes(alice_db, video_id) == [(box, 7, (40, 40, 50, 50), "pedestrian")]
    assert alice.undo_text() == "Move box"  # still there to undo
    alice.take_theirs(caught.value, write_over=True)
    assert alice.undo()
    assert boxes(bob_db, video_id) == [(box, 7, (10, 10, 20, 20), "pedestrian")]
    assert alice.redo()  # her own undo does not count as someone else's change
    assert boxes(bob_db, video_id) == [(box, 7, (11, 11, 21, 21), "pedestrian")]


def test_a_change_between_reading_and_writing_a_box_is_a_conflict(
    people: tuple[Database, Database, dict[str, str]],
    video_id: int,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bob commits after alice's edit read the box and before it writes: her UPDATE … WHERE
    version = the one read changes no row, so the edit is refused."""
    if backend != "postgresql":
        pytest.skip("on a file the writer holds the whole file from its first read")
    alice_db, bob_db, names = people
    alice, bob = AnnotationEditor(alice_db, video_id), AnnotationEditor(bob_db, video_id)
    box = alice.add_box(4, (10, 10, 20, 20), "pedestrian")
    alice.frame_annotations(4)
    bob.frame_annotations(4)
    read = AnnotationEditor._row

    def read_then_bob_moves(self: AnnotationEditor, rec: object, annotation_id: int) -> object:
        row = read(self, rec, annotation_id)  # type: ignore[arg-type]
        if self is alice:
            bob.move_box(box, (30, 30, 40, 40))
        return row

    monkeypatch.setattr(AnnotationEditor, "_row", read_then_bob_moves)
    with pytest.raises(ConflictError, match=f"Box {box} on frame 4 was changed by {names['bob']}"):
        alice.move_box(box, (50, 50, 60, 60))
    assert boxes(alice_db, video_id) == [(box, 4, (30, 30, 40, 40), "pedestrian")]


def test_a_box_someone_else_deleted_is_a_conflict_and_reapplying_says_it_is_gone(
    people: tuple[Database, Database, dict[str, str]], video_id: int
) -> None:
    alice_db, bob_db, _names = people
    alice, bob = AnnotationEditor(alice_db, video_id), AnnotationEditor(bob_db, video_id)
    box = alice.add_box(3, (10, 10, 20, 20), "pedestrian")
    alice.frame_annotations(3)
    bob.frame_annotations(3)
    bob.delete_box(box)
    with pytest.raises(ConflictError, match=f"Box {box} on frame 3 was deleted") as caught:
        alice.move_box(box, (0, 0, 4, 4))
    alice.take_theirs(caught.value, write_over=True)
    with pytest.raises(NotFoundError, match=f"Box {box} no longer exists"):
        alice.move_box(box, (0, 0, 4, 4))
    assert boxes(alice_db, video_id) == []


def test_a_track_edit_checks_the_rows_it_rewrites(
    people: tuple[Database, Database, dict[str, str]], video_id: int
) -> None:
    """Bob moved the keyframe alice's track edit rewrites around: refused, nothing written."""
    alice_db, bob_db, names = people
    alice, bob = AnnotationEditor(alice_db, video_id), AnnotationEditor(bob_db, video_id)
    first = alice.add_box(0, (0, 0, 10, 10), "pedestrian")
    [*_between, last] = alice.propagate(first, 10)
    alice.frame_annotations(10)
    bob.frame_annotations(10)
    bob.move_box(last, (50, 50, 60, 60))
    before = boxes(alice_db, video_id)
    with pytest.raises(ConflictError, match=f"changed by {names['bob']}"):
        alice.delete_box(last)
    assert boxes(alice_db, video_id) == before


def test_what_changed_since_a_token_names_the_frames_and_who(
    people: tuple[Database, Database, dict[str, str]], video_id: int
) -> None:
    alice_db, bob_db, names = people
    alice, bob = AnnotationEditor(alice_db, video_id), AnnotationEditor(bob_db, video_id)
    token = change_token(alice_db, video_id)
    assert not changes_since(alice_db, video_id, token)

    box = bob.add_box(5, (0, 0, 5, 5), "pedestrian")
    bob.set_reviewed(9)
    changes = changes_since(alice_db, video_id, token)
    assert (changes.first, changes.last, changes.whole, changes.by) == (5, 9, False, (names["bob"],))
    assert list(changes.frames(30)) == [5, 6, 7, 8, 9]
    assert [view.id for view in alice.frame_annotations(5)] == [box]
    assert not changes_since(alice_db, video_id, changes.token)

    delete_annotations(bob_db, BoxFilter(video_id=video_id))  # bulk: any frame
    later = changes_since(alice_db, video_id, changes.token)
    assert later.whole and list(later.frames(30)) == list(range(30))
    assert alice.frame_annotations(5) == []


def test_a_viewer_behind_the_kept_changes_reads_the_whole_video_again(
    people: tuple[Database, Database, dict[str, str]], video_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice_db, bob_db, _names = people
    monkeypatch.setattr(changes, "KEEP_CHANGES", 2)
    bob = AnnotationEditor(bob_db, video_id)
    old = change_token(alice_db, video_id)
    for frame in (1, 2, 3):
        bob.add_box(frame, (0, 0, 5, 5), "pedestrian")
    with bob_db.session() as session:
        kept = session.scalars(select(VideoChange.seq).where(VideoChange.video_id == video_id)).all()
    assert sorted(kept) == [old + 2, old + 3]
    behind = changes_since(alice_db, video_id, old)
    assert behind.whole and behind.token == old + 3
    recent = changes_since(alice_db, video_id, old + 1)
    assert not recent.whole and (recent.first, recent.last) == (2, 3)


def test_two_processes_editing_one_video(
    people: tuple[Database, Database, dict[str, str]], video_id: int, tmp_path: Path, backend: str
) -> None:
    """Bob's edit runs in another process: alice's later edit of the same box is refused there
    and here, and each learns of the other's change from the change log."""
    alice_db, _bob_db, names = people
    alice = AnnotationEditor(alice_db, video_id)
    box = alice.add_box(6, (10, 10, 20, 20), "pedestrian")
    alice.frame_annotations(6)
    token = change_token(alice_db, video_id)
    go, ready = tmp_path / "go", tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from vru_desktop.annotations.editor import AnnotationEditor
        from vru_desktop.errors import ConflictError
        from vru_desktop.store.db import open_database

        editor = AnnotationEditor(open_database({names["bob_target"]!r}), {video_id})
        editor.frame_annotations(6)
        Path({str(ready)!r}).touch()
        while not Path({str(go)!r}).exists():
            time.sleep(0.05)
        try:
            editor.move_box({box}, (70, 70, 80, 80))
        except ConflictError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    bob = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(1200):
            if ready.exists() or bob.poll() is not None:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert ready.exists(), bob.communicate()[1]
        alice.move_box(box, (30, 30, 40, 40))  # alice is first
        go.touch()
        out, err = bob.communicate(timeout=120)
    finally:
        bob.kill()
    assert bob.returncode == 3, err
    assert f"Box {box} on frame 6 was changed by {names['alice']}" in out
    assert boxes(alice_db, video_id) == [(box, 6, (30, 30, 40, 40), "pedestrian")]
    changes = changes_since(alice_db, video_id, token)
    assert (changes.first, changes.last) == (6, 6)  # only her own move: bob's wrote nothing


def test_a_lost_server_connection_mid_edit_is_reported_and_nothing_is_written(
    people: tuple[Database, Database, dict[str, str]], video_id: int, backend: str, postgres_server
) -> None:
    if backend != "postgresql":
        pytest.skip("a file has no connection to lose")
    alice_db, _bob_db, _names = people
    alice = AnnotationEditor(alice_db, video_id)
    box = alice.add_box(1, (0, 0, 5, 5), "pedestrian")
    alice.frame_annotations(1)
    before = boxes(alice_db, video_id)
    lost = r"connection to the database server .* was lost"
    with pytest.raises(StoreError, match=lost) as caught, alice.grouped("Two edits"):
        alice.move_box(box, (1, 1, 6, 6))
        postgres_server.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'alice'"
        )
        alice.set_class(box, "cyclist")
    assert "Nothing of this change was saved" in str(caught.value)
    assert boxes(alice_db, video_id) == before  # the pool reconnects for the next read
    alice.move_box(box, (2, 2, 7, 7))  # and the next edit works
    assert boxes(alice_db, video_id) == [(box, 1, (2, 2, 7, 7), "pedestrian")]
