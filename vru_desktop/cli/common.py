"""What every subcommand shares: the opened data folder, JSON output, a text progress bar."""

from __future__ import annotations

import argparse
import json
import math
import sys
from functools import cached_property
from typing import Any

from vru_desktop.settings import Locations, configure_logging, resolve_database, resolve_locations
from vru_desktop.store.db import Database, open_database


class Context:
    """The data folder and database of this invocation; the database is opened on first use."""

    def __init__(self, data_dir: str | None, *, database: str | None = None, verbose: bool = False) -> None:
        self.locations: Locations = resolve_locations(data_dir).ensure()
        self.database = resolve_database(self.locations, database)
        configure_logging(self.locations, verbose=verbose)
        self._db: Database | None = None

    @cached_property
    def db(self) -> Database:
        from vru_desktop.library.projects import ensure_default_project

        self._db = open_database(self.database)
        ensure_default_project(self._db)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def finite_float(text: str) -> float:
    """The argparse type of every numeric option: a number, refusing ``nan`` and ``inf``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal; silent in pipes and tests)."""

    def __init__(self, label: str, *, stream: Any = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done: int, total: int, detail: str = "") -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {detail[-40:]:40}"
        )
        self.stream.flush()
        if done >= total:
            self.stream.write("\n")
