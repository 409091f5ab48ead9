"""Where things live: platformdirs locations, overridable with ``--data-dir`` or ``VRU_DESKTOP_DATA_DIR``."""

from __future__ import annotations

import logging
import logging.handlers
import os
from dataclasses import dataclass
from pathlib import Path

from vru_desktop import APP_NAME
from vru_desktop.errors import StoreError

DATA_DIR_ENV = "VRU_DESKTOP_DATA_DIR"
DATABASE_FILENAME = "vru_desktop.sqlite3"
DATABASE_ENV = "VRU_DESKTOP_DATABASE"


@dataclass(frozen=True)
class Locations:
    """The folders the application reads and writes. All are created on demand."""

    data_dir: Path
    logs_dir: Path
    models_dir: Path
    cache_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / DATABASE_FILENAME

    def ensure(self) -> Locations:
        """Create the folders; :class:`StoreError` names the one that cannot be made."""
        for folder in (self.data_dir, self.logs_dir, self.models_dir, self.cache_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot use {folder} as a data folder: {exc.strerror}.",
                    hint=f"Choose another folder with --data-dir or {DATA_DIR_ENV}.",
                ) from exc
        return self


def resolve_locations(data_dir: str | os.PathLike[str] | None = None) -> Locations:
    """Explicit ``data_dir`` first, then the environment variable, then the platform's user folders.

    With an explicit or environment folder everything (logs, models, cache) lives below it, so a
    test or a portable install touches nothing else.
    """
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return Locations(root, root / "logs", root / "models", root / "cache")
    import platformdirs

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    data = Path(dirs.user_data_dir)
    return Locations(data, Path(dirs.user_log_dir), data / "models", Path(dirs.user_cache_dir))


def resolve_database(locations: Locations, database: str | None = None) -> str | Path:
    """Explicit ``database`` (``--database``) first, then the environment variable, then the SQLite
    file in the data folder. A ``postgresql://`` URL names a team server."""
    return database or os.environ.get(DATABASE_ENV) or locations.database


def configure_logging(locations: Locations, *, verbose: bool = False) -> None:
    """Log to a rotating file in the logs folder (and to stderr when ``verbose``)."""
    locations.logs_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if any(getattr(h, "_vru_handler", False) for h in root.handlers):
        return
    handler = logging.handlers.RotatingFileHandler(
        locations.logs_dir / "vru_desktop.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._vru_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream._vru_handler = True  # type: ignore[attr-defined]
        root.addHandler(stream)
