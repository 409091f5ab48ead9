"""Opening the database: SQLite in WAL mode with foreign keys on, migrated to the newest schema."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from vru_desktop.errors import StoreError
from vru_desktop.store.models import AppSetting
from vru_desktop.store.server import create_server_engine, display_url, is_server_url, server_revision

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: The newest migration. Opening a database already at this revision skips importing Alembic.
HEAD_REVISION = "0006_team"


def _configure_connection(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'")
        ).first()
        if exists is None:
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return row[0] if row else None


def migrate(engine: Engine) -> None:
    """Bring the schema to :data:`HEAD_REVISION` with Alembic (in one transaction)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """An open database (a file, or a server when ``path`` is None): the engine, a session factory
    and small helpers."""

    def __init__(self, path: Path | None, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self.sessionmaker = sessionmaker(engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back entirely on any error."""
        session = self.sessionmaker()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.session() as session:
            row = session.get(AppSetting, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as session:
            row = session.get(AppSetting, key)
            if row is None:
                session.add(AppSetting(key=key, value=value))
            else:
                row.value = value

    def settings_with_prefix(self, prefix: str) -> dict[str, Any]:
        with self.session() as session:
            rows = session.scalars(select(AppSetting).where(AppSetting.key.startswith(prefix)))
            return {row.key: row.value for row in rows}

    def close(self) -> None:
        self.engine.dispose()


def open_database(path: str | Path) -> Database:
    """Open (creating if needed) the database file at ``path``, or the server a ``postgresql://`` URL
    names, and migrate it to the newest schema."""
    if is_server_url(path):
        return _open_server(str(path))
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the data folder {path.parent}: {exc.strerror}.",
            hint="Choose another folder with --data-dir or VRU_DESKTOP_DATA_DIR.",
        ) from exc
    engine = create_engine(f"sqlite:///{path}", future=True)
    event.listen(engine, "connect", _configure_connection)
    try:
        if _current_revision(engine) != HEAD_REVISION:
            log.info("migrating %s to %s", path, HEAD_REVISION)
            migrate(engine)
    except Exception as exc:  # sqlite3 / SQLAlchemy / Alembic errors all mean the same to a user
        engine.dispose()
        raise StoreError(
            f"Cannot open the database {path}: {exc}.",
            hint="Check that the file is a vru_desktop database and not in use by a newer version.",
        ) from exc
    return Database(path, engine)


def _open_server(url: str) -> Database:
    engine = create_server_engine(url)
    try:
        if server_revision(engine) != HEAD_REVISION:
            log.info("migrating %s to %s", display_url(url), HEAD_REVISION)
            migrate(engine)
    except Exception as exc:  # psycopg / SQLAlchemy / Alembic errors all mean the same to a user
        engine.dispose()
        raise StoreError(
            f"Cannot open the database {display_url(url)}: {str(exc).splitlines()[0]}.",
            hint="Check that the server runs, the user, password and database name in the URL, "
            "and that this user may create tables there.",
        ) from exc
    return Database(None, engine)
