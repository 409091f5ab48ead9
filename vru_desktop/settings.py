"""Where things live: platformdirs locations, overridable with ``--data-dir`` or ``VRU_DESKTOP_DATA_DIR``."""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
from dataclasses import dataclass
from pathlib import Path

from vru_desktop import APP_NAME
from vru_desktop.errors import StoreError

DATA_DIR_ENV = "VRU_DESKTOP_DATA_DIR"
DATABASE_FILENAME = "vru_desktop.sqlite3"
LOG_FILENAME = "vru_desktop.log"


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


def configure_logging(locations: Locations, *, verbose: bool = False) -> None:
    """Log to a rotating file in the logs folder (and to stderr when ``verbose``)."""
    locations.logs_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if any(getattr(h, "_vru_handler", False) for h in root.handlers):
        return
    handler = _LogFile(locations.logs_dir / LOG_FILENAME, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._vru_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream._vru_handler = True  # type: ignore[attr-defined]
        root.addHandler(stream)


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; once :func:`trace_crashes` is on, native crash traces follow it when it rotates."""

    traces_crashes = False

    def doRollover(self) -> None:
        super().doRollover()
        if self.traces_crashes:
            faulthandler.enable(self.stream)


def _log_file_handler() -> _LogFile | None:
    return next((h for h in logging.getLogger().handlers if isinstance(h, _LogFile)), None)


def log_file() -> Path | None:
    """The file :func:`configure_logging` writes to (``None`` before it ran)."""
    handler = _log_file_handler()
    return None if handler is None else Path(handler.baseFilename)


def trace_crashes() -> None:
    """A native crash (segmentation fault, abort) writes every thread's Python stack to the log file."""
    handler = _log_file_handler()
    if handler is not None:
        handler.traces_crashes = True
        faulthandler.enable(handler.stream)


def unexpected_error_message(exc: BaseException) -> str:
    """What a person is told about an error nobody expected (its traceback is in the log file)."""
    where = log_file()
    return f"Unexpected error: {str(exc) or type(exc).__name__}. Details are in the log file" + (
        f" {where}." if where is not None else "."
    )
