"""The team server: opening a PostgreSQL database by URL, and ``db copy`` of a local library to it."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from vru_desktop.cli import main
from vru_desktop.errors import StoreError
from vru_desktop.store.copy import copy_database
from vru_desktop.store.db import HEAD_REVISION, Database, open_database
from vru_desktop.store.models import (
    Annotation,
    AnnotationImport,
    Base,
    ReviewedFrame,
    TestSession,
    Video,
)


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }


def utc(row: Any) -> tuple[Any, ...]:
    return tuple(
        (v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)) if isinstance(v, datetime) else v
        for v in row
    )


@pytest.fixture
def mot17_library(data_dir: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The shared MOT17 videos and their ground truth, imported into a SQLite library by the CLI."""
    mot = shared_data / "mot17_mini"
    assert main(["--data-dir", str(data_dir), "import", str(mot / "videos")]) == 0
    assert (
        main(["--data-dir", str(data_dir), "import-annotations", "--format", "mot", str(mot / "train")]) == 0
    )
    capsys.readouterr()
    return data_dir


def test_db_copy_moves_the_mot17_library_and_running_it_again_copies_nothing(
    mot17_library: Path, postgres_server, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_server.new_database()
    command = ["--data-dir", str(mot17_library), "db", "copy", "--to", url, "--json"]
    assert main(command) == 0
    first = json.loads(capsys.readouterr().out)
    source = open_database(mot17_library / "vru_desktop.sqlite3")
    server = open_database(url)
    try:
        expected = counts(source)
        assert expected["videos"] == 7 and expected["annotations"] > 0 and expected["reviewed_frames"] > 0
        assert counts(server) == expected
        assert {name: total for name, (total, _) in first["tables"].items()} == expected
        # The same library: every row reads back equal on both sides (times compared as UTC).
        with source.engine.connect() as here, server.engine.connect() as there:
            for table in Base.metadata.sorted_tables:
                query = select(table).order_by(*table.primary_key.columns)
                assert [utc(row) for row in here.execute(query)] == [utc(row) for row in there.execute(query)]
    finally:
        source.close()
        server.close()

    assert main(command) == 0
    again = json.loads(capsys.readouterr().out)
    assert all(copied == 0 for _, copied in again["tables"].values())


def test_an_interrupted_copy_resumes_and_new_rows_get_fresh_ids(
    db: Database, postgres_server, make_video
) -> None:
    from vru_desktop.library.importer import import_paths

    [outcome] = import_paths(db, [make_video("a.mp4", frames=10)])
    with db.transaction() as session:
        session.add_all(
            Annotation(
                video_id=outcome.video_id,
                frame_number=i % 10,
                vru_type="pedestrian",
                x1=i,
                y1=0,
                x2=i + 5,
                y2=9,
            )
            for i in range(950)
        )
    server = open_database(postgres_server.new_database())
    try:

        def interrupt(table: str, done: int) -> None:
            if table == "annotations" and done >= 300:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            copy_database(db, server, batch_rows=100, progress=interrupt)
        assert counts(server)["annotations"] == 300  # three batches committed, nothing half-written

        report = copy_database(db, server, batch_rows=100)
        assert report.tables["annotations"] == (950, 650)
        assert counts(server) == counts(db)
        with server.transaction() as session:  # the server's ids continue after the copied ones
            box = Annotation(
                video_id=outcome.video_id, frame_number=0, vru_type="cyclist", x1=0, y1=0, x2=1, y2=1
            )
            session.add(box)
            session.flush()
            assert box.id == 951
    finally:
        server.close()


def test_copy_refuses_a_database_holding_another_library(db: Database, postgres_server) -> None:
    from vru_desktop.library.projects import ensure_default_project

    server = open_database(postgres_server.new_database())
    try:
        ensure_default_project(server)  # someone already started using it
        with pytest.raises(StoreError, match="already holds another library"):
            copy_database(db, server)
        with server.session() as session:
            assert session.scalar(select(func.count()).select_from(Video)) == 0
    finally:
        server.close()


def test_an_unreachable_server_is_a_clear_error_without_the_password(postgres_server) -> None:
    url = f"postgresql://vru:secret@127.0.0.1:{postgres_server.port}/no_such_database"
    with pytest.raises(StoreError, match="Cannot open the database") as caught:
        open_database(url)
    assert "secret" not in str(caught.value) and "no_such_database" in str(caught.value)


def test_the_cli_refuses_a_bad_server_url_with_exit_1(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(data_dir), "--database", "postgresql://u@127.0.0.1:1/x", "videos"]) == 1
    assert "Cannot open the database postgresql://u@127.0.0.1:1/x" in capsys.readouterr().err


def test_a_database_url_of_another_kind_is_refused_not_taken_for_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="'mysql' databases are not supported"):
        open_database("mysql://u@host/db")
    assert list(tmp_path.iterdir()) == []  # no folder "mysql:" made for a file


def test_two_people_opening_a_new_server_at_once_both_get_the_schema(postgres_server) -> None:
    url = postgres_server.new_database()
    code = f"from vru_desktop.store.db import open_database; open_database({url!r}).close()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    people = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE) for _ in range(2)
    ]
    results = [(person.wait(timeout=120), person.stderr.read().decode()) for person in people]  # type: ignore[union-attr]
    assert results == [(0, ""), (0, "")]
    database = open_database(url)
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD_REVISION
    database.close()


def test_who_wrote_annotations_review_marks_imports_and_runs_is_recorded(
    backend: str, database_target: str | Path, request: pytest.FixtureRequest, make_video
) -> None:
    """On a server each person is their own role; on a file it is the operating-system user."""
    from vru_desktop.annotations.editor import AnnotationEditor
    from vru_desktop.library.importer import import_paths

    if backend == "postgresql":
        name = str(database_target).rsplit("/", 1)[1]
        server = request.getfixturevalue("postgres_server")
        people = [server.role(person, name) for person in ("alice", "bob")]
        alice_name, bob_name = "alice", "bob"
    else:
        people = [database_target, database_target]
        alice_name = bob_name = getpass.getuser()
    alice, bob = (open_database(url) for url in people)
    try:
        [outcome] = import_paths(alice, [make_video("a.mp4", frames=5)])
        box = AnnotationEditor(alice, outcome.video_id).add_box(2, (0, 0, 10, 10), "pedestrian")
        AnnotationEditor(alice, outcome.video_id).set_reviewed(2)
        with alice.transaction() as session:
            session.add(TestSession(video_id=outcome.video_id))
            session.add(AnnotationImport(format="mot", source="x", fingerprint="f"))
        AnnotationEditor(bob, outcome.video_id).move_box(box, (1, 1, 11, 11))
        bobs = AnnotationEditor(bob, outcome.video_id)
        bobs.add_box(0, (0, 0, 4, 4), "cyclist", track_id=7)
        bobs.add_box(3, (3, 3, 7, 7), "cyclist", track_id=7)  # frames 1 and 2 are interpolated
        with bob.session() as session:
            annotation = session.get(Annotation, box)
            assert (annotation.created_by, annotation.updated_by) == (alice_name, bob_name)
            track = select(Annotation.created_by, Annotation.updated_by).where(Annotation.track_id == 7)
            assert session.execute(track).all() == [(bob_name, bob_name)] * 4
            assert session.scalars(select(ReviewedFrame.created_by)).all() == [alice_name]
            assert session.scalars(select(TestSession.created_by)).all() == [alice_name]
            assert session.scalars(select(AnnotationImport.created_by)).all() == [alice_name]
    finally:
        alice.close()
        bob.close()


def test_a_restricted_project_is_hidden_from_non_members_even_with_direct_sql(
    postgres_server, make_video
) -> None:
    import psycopg

    from vru_desktop.annotations.editor import AnnotationEditor
    from vru_desktop.library.importer import Assignment, import_paths
    from vru_desktop.library.projects import (
        ProjectFields,
        create_project,
        ensure_default_project,
        set_project_members,
    )

    database_target = postgres_server.new_database("vru_template")
    db = open_database(database_target)  # as the owner: the team's administrator
    ensure_default_project(db)
    fields = {"camera_model": "c", "camera_view": "front", "signal_type": "video"}
    secret = create_project(db, ProjectFields(name="Secret", **fields))
    public = create_project(db, ProjectFields(name="Public", **fields))
    videos = {}
    for project, width in ((secret, 96), (public, 128)):
        clip = make_video(f"{width}.mp4", frames=3, size=(width, 64))
        [outcome] = import_paths(db, [clip], assignment=Assignment(explicit_project_id=project.id))
        assert outcome.status == "imported"
        AnnotationEditor(db, outcome.video_id).add_box(1, (0, 0, 5, 5), "pedestrian")
        videos[project.name] = outcome.video_id
    set_project_members(db, secret.id, ["alice"])

    name = database_target.rsplit("/", 1)[1]
    alice, bob = (postgres_server.role(person, name) for person in ("alice", "bob"))
    hidden = videos["Secret"]
    with psycopg.connect(bob, autocommit=True) as conn:
        assert conn.execute("SELECT name FROM projects ORDER BY name").fetchall() == [
            ("Default",),
            ("Public",),
        ]
        assert conn.execute("SELECT count(*) FROM annotations WHERE video_id = %s", [hidden]).fetchone() == (
            0,
        )
        assert conn.execute("SELECT count(*) FROM annotations").fetchone() == (1,)
        # The hidden ids are found once per statement and probed as a hash, not looked up per row.
        plan = "\n".join(row[0] for row in conn.execute("EXPLAIN SELECT * FROM annotations"))
        assert "hashed SubPlan" in plan
        assert conn.execute("UPDATE annotations SET x1 = 3 WHERE video_id = %s", [hidden]).rowcount == 0
        assert conn.execute("DELETE FROM videos WHERE id = %s", [hidden]).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # row-level security refuses the row
            conn.execute(
                "INSERT INTO annotations (video_id, frame_number, timestamp, vru_type, validated, occluded,"
                " truncated, crowd, is_keyframe, outside, source, attributes, created_at, updated_at,"
                " x1, y1, x2, y2) VALUES (%s, 0, 0, 'cyclist', true, false, false, false, true, false,"
                " 'manual', '{}', now(), now(), 0, 0, 1, 1)",
                [hidden],
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # nor can bob make himself a member
            conn.execute("INSERT INTO project_members VALUES (%s, 'bob')", [secret.id])
    with psycopg.connect(alice, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM annotations").fetchone() == (2,)
        assert conn.execute("UPDATE annotations SET x1 = 3 WHERE video_id = %s", [hidden]).rowcount == 1
    # The application as bob: the library lists only what he may see.
    as_bob = open_database(bob)
    try:
        with as_bob.session() as session:
            assert session.scalars(select(Video.id)).all() == [videos["Public"]]
    finally:
        as_bob.close()
        db.close()


def test_members_command_restricts_and_opens_a_project(
    postgres_server, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_server.new_database("vru_template")
    bob = postgres_server.role("bob", url.rsplit("/", 1)[1])
    base = ["--data-dir", str(data_dir), "--database", url]
    made = [*base, "create-project", "Secret", "--camera-model", "c", "--camera-view", "front"]
    assert main([*made, "--signal-type", "video"]) == 0
    assert main([*base, "members", "Secret", "--only", "alice", "carol"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Secret: only alice, carol"
    as_bob = ["--data-dir", str(data_dir), "--database", bob]
    assert main([*as_bob, "members", "Secret", "--only", "bob"]) == 1  # he cannot even see it
    assert "No project named 'Secret'" in capsys.readouterr().err
    assert main([*base, "members", "Secret", "--open"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Secret: open to every role"
    assert main([*as_bob, "members", "Secret"]) == 0


def test_database_option_beats_the_environment_which_beats_the_data_folder_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vru_desktop.settings import DATABASE_ENV, resolve_database, resolve_locations

    locations = resolve_locations(data_dir)
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    assert resolve_database(locations) == data_dir.resolve() / "vru_desktop.sqlite3"
    monkeypatch.setenv(DATABASE_ENV, "postgresql://env@host/db")
    assert resolve_database(locations) == "postgresql://env@host/db"
    assert resolve_database(locations, "postgresql://option@host/db") == "postgresql://option@host/db"
