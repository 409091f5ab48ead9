"""Where things live: platformdirs locations, overridable with ``--data-dir`` or ``VRU_DESKTOP_DATA_DIR``."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from vru_desktop import APP_NAME
from vru_desktop.errors import StoreError

DATA_DIR_ENV = "VRU_DESKTOP_DATA_DIR"
DATABASE_FILENAME = "vru_desktop.sqlite3"


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


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file. When it cannot be written (read-only, disk full) one warning says so and
    warnings and errors go to stderr from then on, instead of a "Logging error" traceback per message."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path, maxBytes=5_000_000, backupCount=3, encoding="utf-8", errors="backslashreplace", delay=True
        )
        self.fallback: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.fallback is not None:
            self.fallback.handle(record)
        else:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError) or self.fallback is not None:
            super().handleError(record)
            return
        with contextlib.suppress(OSError):  # closing flushes, which can fail the same way
            self.close()
        self.fallback = logging.StreamHandler()
        self.fallback.setLevel(logging.WARNING)
        self.fallback.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        sys.stderr.write(
            f"warning: cannot write the log file {self.baseFilename} ({error.strerror or error}); "
            "warnings go to stderr instead.\n"
        )
        self.fallback.handle(record)


def configure_logging(locations: Locations, *, verbose: bool = False) -> None:
    """Log to a rotating file in the logs folder (and to stderr when ``verbose``)."""
    locations.logs_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if any(getattr(h, "_vru_handler", False) for h in root.handlers):
        return
    handler = _LogFile(locations.logs_dir / "vru_desktop.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._vru_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream._vru_handler = True  # type: ignore[attr-defined]
        root.addHandler(stream)
