"""The database, as a file (WAL, foreign keys) and on a PostgreSQL server: migrations, settings."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from vru_desktop.cli import main
from vru_desktop.errors import StoreError
from vru_desktop.settings import resolve_locations
from vru_desktop.store import db as db_module
from vru_desktop.store.db import HEAD_REVISION, MIGRATIONS_DIR, open_database

pytestmark = pytest.mark.usefixtures("backend")


def test_open_creates_wal_database_with_foreign_keys(db, backend: str) -> None:
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
        if backend == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.engine.dialect.name == backend


def test_head_revision_constant_matches_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrations_produce_the_models_schema(database_target: str | Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from vru_desktop.store.models import Base

    database = open_database(database_target)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    database.close()
    assert diff == []


def test_settings_storage_round_trip(db) -> None:
    db.write_setting("a.b", {"x": [1, 2]})
    db.write_setting("a.c", 3)
    db.write_setting("b.a", 4)
    assert db.read_setting("a.b") == {"x": [1, 2]}
    assert db.read_setting("missing") is None
    assert sorted(db.setting_keys("a.")) == ["a.b", "a.c"]
    db.write_setting("a.c", None)
    assert db.setting_keys("a.") == ["a.b"]


def test_not_a_database_gets_a_clear_error(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql":
        pytest.skip("a file's content: SQLite only (test_team_store.py checks the server's refusals)")
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="Cannot open the database"):
        open_database(bad)


def test_reopen_skips_migration_and_keeps_data(database_target: str | Path, backend: str) -> None:
    first = open_database(database_target)
    first.write_setting("k", 1)
    first.close()
    second = open_database(database_target)
    assert second.read_setting("k") == 1
    second.close()
    if backend == "sqlite":
        assert sqlite3.connect(database_target).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_statuses_are_stored_as_their_strings(db) -> None:
    from sqlalchemy import text

    from vru_desktop.store.models import ProcessingStatus, RunStatus, TestSession, Video, VideoStatus

    with db.transaction() as session:
        video = Video(filename="a.mp4", file_path="/a.mp4", fingerprint="a", status=VideoStatus.MISSING)
        session.add(video)
        session.flush()
        session.add(TestSession(video_id=video.id))
        # A row as an older version wrote it: a plain string.
        session.execute(text("UPDATE videos SET processing_status = 'queued'"))
    with db.session() as session:
        assert session.execute(text("SELECT status, processing_status FROM videos")).one() == (
            "missing",
            "queued",
        )
        assert session.execute(text("SELECT status FROM test_sessions")).scalar() == "created"
        video = session.query(Video).one()
        assert video.status == VideoStatus.MISSING and video.processing_status == ProcessingStatus.QUEUED
        assert session.query(TestSession).one().status == RunStatus.CREATED
        assert session.query(Video).filter(Video.status == VideoStatus.MISSING).count() == 1


def test_an_empty_database_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "vru_desktop.sqlite3"
    path.touch()
    with pytest.raises(StoreError) as caught:
        open_database(path)
    assert f"The database {path} is an empty file (0 bytes)" in str(caught.value)
    assert path.stat().st_size == 0


def test_a_database_without_its_schema_version_is_refused_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "vru_desktop.sqlite3"
    database = open_database(path)
    database.write_setting("k", 1)
    database.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE alembic_version")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="no schema version"):
        open_database(path)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT OR REPLACE INTO app_settings (key, value) VALUES ('other process', '1')")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def _hold_write_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_writers_wait_for_another_process_and_a_lasting_lock_is_a_clear_message(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = resolve_locations(data_dir).ensure().database
    assert main(["--data-dir", str(data_dir), "projects"]) == 0
    create = ["--data-dir", str(data_dir), "create-project", "Gate"]
    create += ["--camera-model", "M", "--camera-view", "front", "--signal-type", "rgb"]
    # The other process commits while this one waits: it then reads and writes after that commit.
    holder = _hold_write_lock(path, 1.5)
    capsys.readouterr()
    assert main(create) == 0, capsys.readouterr().err
    assert holder.wait(timeout=30) == 0
    assert main(["--data-dir", str(data_dir), "runs"]) == 0
    # A lock held longer than the busy timeout is a one-line message, not a traceback.
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 500)
    holder = _hold_write_lock(path, 5)
    capsys.readouterr()
    assert main([*create[:3], "Gate 2", *create[4:]]) == 1
    err = capsys.readouterr().err
    holder.wait(timeout=30)
    assert err.startswith(f"error: The database {path} is busy: another program or vru-desktop process")
    assert "Traceback" not in err and err.count("\n") == 1
