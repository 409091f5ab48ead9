"""Persistence: SQLAlchemy models on one SQLite file, opened with migrations applied."""

from vru_desktop.store.db import Database, open_database

__all__ = ["Database", "open_database"]
