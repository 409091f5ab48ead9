"""Opening the database: SQLite in WAL mode with foreign keys on, migrated to the newest schema."""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vru_desktop.errors import StoreError, one_line
from vru_desktop.store.models import AppSetting
from vru_desktop.store.server import create_server_engine, display_url, is_server_url, server_revision

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: The newest migration. Opening a database already at this revision skips importing Alembic.
HEAD_REVISION = "0009_row_versions"
#: How long a writer waits for another process's write to finish before the database counts as locked.
BUSY_TIMEOUT_MS = 10_000
_WRITE = "vru_write"


def _configure_connection(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions begin where SQLAlchemy begins them (_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin(conn: Connection) -> None:
    """A write transaction takes the write lock at once (waiting up to the busy timeout for it).

    A transaction that first reads and then writes would otherwise fail at its first write, without
    waiting, when another process wrote in between.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def _inspect(path: Path) -> tuple[str | None, bool]:
    """The schema revision of an existing database file and whether it holds any table, read only."""
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            return None, bool(tables)
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return (row[0] if row else None), True


def _check_before_migrating(path: Path) -> str | None:
    """The revision of the file at ``path`` (``None``: a new library); refuse files that are not ours."""
    if not path.exists():
        return None
    if path.stat().st_size == 0:
        raise StoreError(
            f"The database {path} is an empty file (0 bytes), perhaps from a failed copy; it was left "
            "as it is.",
            hint="Restore it from a backup, or move it away to start a new library.",
        )
    revision, has_tables = _inspect(path)
    if revision is None and has_tables:
        raise StoreError(
            f"The database {path} has tables but no schema version (its alembic_version table is missing), "
            "so it cannot be migrated safely; it was left as it is.",
            hint="Restore it from a backup, or open another data folder with --data-dir.",
        )
    return revision


def _plain_error(path: Path, exc: BaseException) -> StoreError | None:
    """The :class:`StoreError` for a database that stayed locked or a full disk, else ``None``."""
    orig = getattr(exc, "orig", exc)
    name = getattr(orig, "sqlite_errorname", "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(
            f"The database {path} is busy: another program or vru-desktop process kept it locked for "
            f"{BUSY_TIMEOUT_MS // 1000} s.",
            hint="Try again when that work has finished.",
        )
    full = name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _nearly_full(path.parent))
    if full:
        return StoreError(
            f"The disk holding the database {path} is full; nothing of this change was written.",
            hint="Free some space and try again.",
        )
    return None


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def migrate(engine: Engine) -> None:
    """Bring the schema to :data:`HEAD_REVISION` with Alembic (in one transaction)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect().execution_options(**{_WRITE: True}) as connection, connection.begin():
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
                session.connection(execution_options={_WRITE: True})
                yield session
        except OperationalError as exc:
            if self.path is None:
                raise self._lost(exc) from exc
            raise (_plain_error(self.path, exc) or exc) from exc
        finally:
            session.close()

    def location(self) -> str:
        """Which store this is, for a person: ``SQLite: PATH`` or ``PostgreSQL: USER@HOST:PORT/DB``."""
        if self.path is not None:
            return f"SQLite: {self.path}"
        url = self.engine.url
        port = f":{url.port}" if url.port else ""
        return f"PostgreSQL: {url.username or ''}@{url.host or 'localhost'}{port}/{url.database or ''}"

    def _lost(self, exc: OperationalError) -> StoreError:
        where = self.location().removeprefix("PostgreSQL: ")
        return StoreError(
            f"The connection to the database server {where} was lost ({database_reason(exc)}). "
            "Nothing of this change was saved.",
            hint="Check that the server runs and can be reached, then try again.",
        )

    # Raw storage of settings: read and write them through :mod:`vru_desktop.settings`, which checks
    # keys and values against its registry.
    def read_setting(self, key: str) -> Any:
        """The stored value of ``key``, ``None`` when nothing is stored."""
        with self.session() as session:
            row = session.get(AppSetting, key)
            return None if row is None else row.value

    def write_setting(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``; ``None`` removes the key."""
        with self.transaction() as session:
            row = session.get(AppSetting, key)
            if value is None:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(AppSetting(key=key, value=value))
            else:
                row.value = value

    def setting_keys(self, prefix: str) -> list[str]:
        """The stored keys starting with ``prefix``."""
        with self.session() as session:
            return list(session.scalars(select(AppSetting.key).where(AppSetting.key.startswith(prefix))))

    def close(self) -> None:
        self.engine.dispose()


def database_reason(exc: BaseException) -> str:
    """A database failure's own reason on one line, without the SQL statement SQLAlchemy adds."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return one_line(lines[0]) if lines else type(exc).__name__


def database_failure(exc: BaseException) -> StoreError:
    """The error a person sees for a database failure outside opening it."""
    return StoreError(f"The database failed: {database_reason(exc)}.")


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
    try:
        revision = _check_before_migrating(path)
    except sqlite3.Error as exc:
        plain = _plain_error(path, exc)
        if plain is not None:
            raise plain from exc
        raise StoreError(
            f"Cannot open the database {path}: {exc}.",
            hint="Check that the file is a vru_desktop database and not in use by a newer version.",
        ) from exc
    engine = create_engine(f"sqlite:///{path}", future=True)
    event.listen(engine, "connect", _configure_connection)
    event.listen(engine, "begin", _begin)
    try:
        if revision != HEAD_REVISION:
            log.info("migrating %s to %s", path, HEAD_REVISION)
            migrate(engine)
    except Exception as exc:  # sqlite3 / SQLAlchemy / Alembic errors all mean the same to a user
        engine.dispose()
        plain = _plain_error(path, exc)
        if plain is not None:
            raise plain from exc
        raise StoreError(
            f"Cannot open the database {path}: {database_reason(exc)}.",
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
            f"Cannot open the database {display_url(url)}: {database_reason(exc)}.",
            hint="Check that the server runs, the user, password and database name in the URL, "
            "and that this user may create tables there.",
        ) from exc
    return Database(None, engine)
