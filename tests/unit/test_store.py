"""The database, as a file (WAL, foreign keys) and on a PostgreSQL server: migrations, settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from vru_desktop.errors import StoreError
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


def test_settings_round_trip(db) -> None:
    db.set_setting("a.b", {"x": [1, 2]})
    db.set_setting("a.c", 3)
    assert db.get_setting("a.b") == {"x": [1, 2]}
    assert db.get_setting("missing", "dflt") == "dflt"
    assert db.settings_with_prefix("a.") == {"a.b": {"x": [1, 2]}, "a.c": 3}


def test_not_a_database_gets_a_clear_error(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql":
        pytest.skip("a file's content: SQLite only (test_team_store.py checks the server's refusals)")
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="Cannot open the database"):
        open_database(bad)


def test_reopen_skips_migration_and_keeps_data(database_target: str | Path, backend: str) -> None:
    first = open_database(database_target)
    first.set_setting("k", 1)
    first.close()
    second = open_database(database_target)
    assert second.get_setting("k") == 1
    second.close()
    if backend == "sqlite":
        assert sqlite3.connect(database_target).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
