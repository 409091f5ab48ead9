"""The store on a PostgreSQL server (a team's shared library), through psycopg 3.

The same models and Alembic migrations as the SQLite file; only opening differs.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from vru_desktop.errors import StoreError

log = logging.getLogger(__name__)

#: Seconds to wait for a server to answer before it counts as unreachable.
CONNECT_TIMEOUT_S = 10
#: The URL schemes of the servers the store runs on.
SERVER_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def is_server_url(target: object) -> bool:
    """Whether ``target`` is a ``scheme://`` URL (not a file path); the scheme is checked on opening."""
    return isinstance(target, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", target) is not None


def display_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(_driver_url(url)).set(drivername="postgresql").render_as_string(hide_password=True)


def _driver_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def create_server_engine(url: str) -> Engine:
    """An engine on ``url`` (``postgresql://user@host:port/dbname``) with the psycopg 3 driver."""
    scheme = url.split("://", 1)[0]
    if scheme not in SERVER_SCHEMES:
        raise StoreError(
            f"'{scheme}' databases are not supported.",
            hint="Use postgresql://USER@HOST:PORT/DATABASE, or leave --database out for the SQLite file.",
        )
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise StoreError(
            "A team server database needs the psycopg driver, which is not installed.",
            hint="Install it with: pip install 'vru-desktop[team]'.",
        ) from exc
    try:
        # An unreachable server is reported within CONNECT_TIMEOUT_S, not after the system's minutes.
        return create_engine(
            _driver_url(url),
            future=True,
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
    except ArgumentError as exc:
        raise StoreError(
            f"'{url}' is not a database URL: {exc}.",
            hint="Write it as postgresql://USER@HOST:PORT/DATABASE.",
        ) from exc


def server_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
