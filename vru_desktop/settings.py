"""Where things live and what the user can set.

Locations: platformdirs folders, overridable with ``--data-dir`` or ``VRU_DESKTOP_DATA_DIR``.

Settings: every key the application stores in the database's ``app_settings`` table is declared in
:data:`REGISTRY` with its type, default, allowed range or choices and a description. Read and write
them with :func:`get_setting` and :func:`set_setting` only; a value of the wrong type or out of range
is refused with a :class:`~vru_desktop.errors.ValidationError`, an unknown key with a
:class:`~vru_desktop.errors.UsageError`. The Preferences dialog and ``vru-desktop settings`` are
generated from the registry. Window geometry and splitter positions are Qt's own state and stay in
``window.ini`` next to the database.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib.util
import json
import logging
import logging.handlers
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vru_desktop import APP_NAME
from vru_desktop.errors import StoreError, UsageError, ValidationError

if TYPE_CHECKING:
    from vru_desktop.store.db import Database

log = logging.getLogger(__name__)

DATA_DIR_ENV = "VRU_DESKTOP_DATA_DIR"
DATABASE_FILENAME = "vru_desktop.sqlite3"
LOG_FILENAME = "vru_desktop.log"
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


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file. When it cannot be written (read-only, disk full) one warning says so and
    warnings and errors go to stderr from then on, instead of a "Logging error" traceback per message.
    Once :func:`trace_crashes` is on, native crash traces follow the file when it rotates."""

    traces_crashes = False

    def __init__(self, path: Path) -> None:
        super().__init__(
            path, maxBytes=5_000_000, backupCount=3, encoding="utf-8", errors="backslashreplace", delay=True
        )
        self.fallback: logging.Handler | None = None

    def doRollover(self) -> None:
        super().doRollover()
        if self.traces_crashes:
            faulthandler.enable(self.stream)

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
    handler = _LogFile(locations.logs_dir / LOG_FILENAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._vru_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream._vru_handler = True  # type: ignore[attr-defined]
        root.addHandler(stream)


def _log_file_handler() -> _LogFile | None:
    return next((h for h in logging.getLogger().handlers if isinstance(h, _LogFile)), None)


def log_file() -> Path | None:
    """The file :func:`configure_logging` writes to (``None`` before it ran)."""
    handler = _log_file_handler()
    return None if handler is None else Path(handler.baseFilename)


def trace_crashes() -> None:
    """A native crash (segmentation fault, abort) writes every thread's Python stack to the log file."""
    handler = _log_file_handler()
    if handler is None or handler.fallback is not None:
        return
    if handler.stream is None:  # the file opens on the first record
        try:
            handler.stream = handler._open()
        except OSError:
            return
    handler.traces_crashes = True
    faulthandler.enable(handler.stream)


def unexpected_error_message(exc: BaseException) -> str:
    """What a person is told about an error nobody expected (its traceback is in the log file)."""
    where = log_file()
    return f"Unexpected error: {str(exc) or type(exc).__name__}. Details are in the log file" + (
        f" {where}." if where is not None else "."
    )


# -- settings ---------------------------------------------------------------------------------------


def _check_int(spec: Setting, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValidationError(f"{spec.key} must be a whole number, not {value!r}.", hint=spec.range_text())
    return _check_range(spec, int(value))


def _check_range(spec: Setting, value: int) -> int:
    if (spec.minimum is not None and value < spec.minimum) or (
        spec.maximum is not None and value > spec.maximum
    ):
        raise ValidationError(f"{spec.key} = {value} is out of range.", hint=spec.range_text())
    return value


def _check_height_bins(spec: Setting, value: Any) -> dict[str, list[float]]:
    example = 'For example {"near": [80, 1e9], "medium": [30, 80], "far": [0, 30]}.'
    if not isinstance(value, dict) or not value:
        raise ValidationError(f"{spec.key} must map bin names to [min, max] heights.", hint=example)
    bins: dict[str, list[float]] = {}
    for name, bounds in value.items():
        if (
            not isinstance(bounds, list | tuple)
            or len(bounds) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bounds)
            or not all(math.isfinite(v) for v in bounds)
            or not 0 <= bounds[0] < bounds[1]
        ):
            raise ValidationError(
                f"{spec.key}: bin {name!r} must be [min, max] pixel heights with 0 <= min < max, "
                f"not {bounds!r}.",
                hint=example,
            )
        bins[str(name)] = [float(bounds[0]), float(bounds[1])]
    return bins


def _check_bool(spec: Setting, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{spec.key} must be true or false, not {value!r}.")
    return value


def _check_k_of_n(spec: Setting, value: Any) -> list[int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not 1 <= value[0] <= value[1]
    ):
        raise ValidationError(
            f"{spec.key} must be k of n frames [k, n] with 1 <= k <= n, not {value!r}.",
            hint="Use e.g. [3, 5].",
        )
    return [int(value[0]), int(value[1])]


def _check_sha256_list(spec: Setting, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v) for v in value
    ):
        raise ValidationError(f"{spec.key} must be a list of SHA-256 checksums (64 hex digits).")
    return value


def _check_object_list(spec: Setting, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValidationError(f"{spec.key} must be a JSON list of objects, not {value!r}.")
    return value


def _check_name_list(spec: Setting, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{spec.key} must be a JSON list of names, not {value!r}.")
    return value


def _check_text(spec: Setting, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{spec.key} must be text, not {value!r}.")
    return value


def _check_optional_id(spec: Setting, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{spec.key} must be an id (1 or more) or null, not {value!r}.")
    return value


CLUSTER_INSTALL_HINT = "Install the cluster extra: pip install 'vru-desktop[cluster]'."


def _check_cluster(spec: Setting, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value.strip()):
        raise ValidationError(
            f"{spec.key} must be local, ray or a Ray address, not {value!r}.",
            hint="For example ray, 10.0.0.5:6379 or ray://10.0.0.5:10001.",
        )
    value = value.strip()
    if value != "local" and importlib.util.find_spec("ray") is None:
        raise ValidationError(f"{spec.key} = {value}: Ray is not installed.", hint=CLUSTER_INSTALL_HINT)
    return value


def _check_path_map(spec: Setting, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
    ):
        raise ValidationError(
            f"{spec.key} must map folders on this machine to the same folders on the workers.",
            hint='For example {"/home/me/videos": "/mnt/videos"}.',
        )
    return value


def _check_object(spec: Setting, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{spec.key} must be a JSON object, not {value!r}.")
    return value


_CHECKS: dict[str, Callable[[Setting, Any], Any]] = {
    "int": _check_int,
    "bool": _check_bool,
    "height_bins": _check_height_bins,
    "k_of_n": _check_k_of_n,
    "optional_id": _check_optional_id,
    "text": _check_text,
    "object_list": _check_object_list,
    "name_list": _check_name_list,
    "sha256_list": _check_sha256_list,
    "object": _check_object,
    "cluster": _check_cluster,
    "path_map": _check_path_map,
}


@dataclass(frozen=True)
class Setting:
    """One setting: its key, value type, default, allowed values and what it does.

    ``kind`` is one of ``int`` (within ``minimum`` … ``maximum``), ``bool``, ``height_bins`` (bin
    name → ``[min, max]`` pixel heights), ``k_of_n`` (``[k, n]`` with 1 ≤ k ≤ n), ``optional_id`` (a
    row id or ``None``), ``sha256_list``, ``object_list``, ``name_list``, ``text``, ``object`` (a
    JSON object), ``cluster`` (``local``, ``ray`` or a Ray address) and ``path_map`` (folder →
    folder). A ``remembered`` setting is state the program keeps from what the user did (the last
    run configuration, remembered class mappings …): listed, but not changed by hand. A key
    ending in ``:`` is a family: every key starting with it has this type (one per source).
    """

    key: str
    kind: str
    default: Any
    description: str
    minimum: int | None = None
    maximum: int | None = None
    remembered: bool = False
    unit: str = ""

    @property
    def is_family(self) -> bool:
        return self.key.endswith(":")

    def check(self, value: Any) -> Any:
        """``value`` as stored, or :class:`ValidationError` saying what is allowed."""
        return _CHECKS[self.kind](self, value)

    def parse(self, text: str) -> Any:
        """A value typed as text (JSON: a number, ``null``, an object; a cluster also bare), checked."""
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            if self.kind == "cluster":
                return self.check(text)
            raise ValidationError(
                f"{self.key}: {text!r} is not a {self.type_text()}.", hint=self.range_text()
            ) from None
        return self.check(value)

    def type_text(self) -> str:
        return {
            "int": "whole number",
            "bool": "true or false",
            "height_bins": "JSON object of [min, max] heights",
            "k_of_n": "[k, n] pair",
            "optional_id": "id or null",
            "text": "text",
            "object_list": "JSON list of objects",
            "name_list": "JSON list of names",
            "sha256_list": "list of SHA-256 checksums",
            "object": "JSON object",
            "cluster": "cluster (local, ray or a Ray address)",
            "path_map": "JSON object of folder → folder",
        }[self.kind]

    def range_text(self) -> str:
        """What is allowed, in words: ``Use 1 to 8.``, ``Use a JSON object.``."""
        if self.minimum is not None and self.maximum is not None:
            return f"Use {self.minimum} to {self.maximum}{f' {self.unit}' if self.unit else ''}."
        return f"Use a {self.type_text()}."


#: Frame cache of the viewer.
VIEWER_CACHE_MB = "viewer.cache_mb"
#: Memory the undo histories of the videos may hold.
UNDO_HISTORY_MB = "annotations.undo_history_mb"
#: Accepting all detections on a frame (Shift+A) also marks the frame reviewed.
ACCEPT_ALL_MARKS_REVIEWED = "viewer.accept_all_marks_reviewed"
#: How many detection runs the queue runs at the same time.
PARALLEL_RUNS = "detection.parallel_runs"
#: Where detection runs: this process, a Ray instance on this machine, or a Ray cluster's address.
CLUSTER = "detection.cluster"
#: Folders of this machine → the same folders as the cluster's workers see them.
CLUSTER_PATH_MAP = "detection.cluster_path_map"
#: Resources each cluster task asks for.
CLUSTER_CPUS = "detection.cluster_cpus"
CLUSTER_GPUS = "detection.cluster_gpus"
#: The run configuration last used (the run dialog starts from it).
LAST_RUN_CONFIG = "detection.last_config"
#: The model last used.
LAST_MODEL = "detection.last_model_id"
#: Model files the user trusts to run the code their pickle carries, by SHA-256.
TRUSTED_MODELS = "detection.trusted_models"
#: Height bins of the pedestrian metrics.
HEIGHT_BINS = "evaluation.height_bins"
#: Stable detection of a track: k of its last n frames detected.
STABLE_DETECTION = "evaluation.stable_detection"
#: User-defined evaluation protocols (JSON objects as in a protocol file).
PROTOCOLS = "evaluation.protocols"
#: The protocols chosen in the Evaluation tab.
SELECTED_PROTOCOLS = "evaluation.selected_protocols"
#: The library's own id; a copy to a team server carries it (``db copy``).
LIBRARY_ID = "library.id"
#: The project the user chose as their default.
USER_DEFAULT_PROJECT = "library.user_default_project_id"
#: Remembered class mappings of annotation imports, one key per format and source path.
CLASS_MAP_PREFIX = "datasets.class_map:"

REGISTRY: dict[str, Setting] = {
    spec.key: spec
    for spec in (
        Setting(
            VIEWER_CACHE_MB,
            "int",
            512,
            "Memory for decoded frames in the viewer (takes effect when a video is opened).",
            minimum=64,
            maximum=65536,
            unit="MB",
        ),
        Setting(
            UNDO_HISTORY_MB,
            "int",
            256,
            "Memory the undo history of all videos may hold; beyond it the oldest steps are dropped.",
            minimum=16,
            maximum=16384,
            unit="MB",
        ),
        Setting(
            ACCEPT_ALL_MARKS_REVIEWED,
            "bool",
            True,
            "Accepting all detections on a frame (Shift+A) also marks the frame reviewed.",
        ),
        Setting(
            PARALLEL_RUNS,
            "int",
            1,
            "How many detection runs the queue runs at the same time.",
            minimum=1,
            maximum=8,
        ),
        Setting(
            CLUSTER,
            "cluster",
            "local",
            "Where detection runs: local (in this process), ray (start or join a Ray instance on this "
            "machine) or a Ray cluster address (host:port, ray://host:port).",
        ),
        Setting(
            CLUSTER_PATH_MAP,
            "path_map",
            {},
            "Video and model folders on this machine → the same folders as the cluster's workers see them.",
        ),
        Setting(
            CLUSTER_CPUS,
            "int",
            1,
            "CPUs each cluster task (one video) asks for.",
            minimum=1,
            maximum=256,
        ),
        Setting(
            CLUSTER_GPUS,
            "int",
            0,
            "GPUs each cluster task asks for (a run on cuda asks for at least 1).",
            minimum=0,
            maximum=16,
        ),
        Setting(
            HEIGHT_BINS,
            "height_bins",
            {"near": [80.0, 1e9], "medium": [30.0, 80.0], "far": [0.0, 30.0]},
            "Box-height bins of the pedestrian metrics: name → [min, max] pixels.",
        ),
        Setting(
            STABLE_DETECTION,
            "k_of_n",
            [3, 5],
            "A track is detected stably once k of its last n frames are detected: [k, n].",
        ),
        Setting(
            PROTOCOLS,
            "object_list",
            [],
            "User-defined evaluation protocols, each as in a --protocol-file (see Pedestrian protocols).",
        ),
        Setting(
            SELECTED_PROTOCOLS,
            "name_list",
            [],
            "The protocols chosen in the Evaluation tab's Protocols menu.",
            remembered=True,
        ),
        Setting(
            LIBRARY_ID,
            "text",
            None,
            "This library's id, which a copy to a team server carries (db copy).",
            remembered=True,
        ),
        Setting(
            USER_DEFAULT_PROJECT,
            "optional_id",
            None,
            "Your default project for imports (Edit → Set as My Default Project).",
            remembered=True,
        ),
        Setting(
            LAST_RUN_CONFIG,
            "object",
            {},
            "The detection run configuration last used; the run dialog starts from it.",
            remembered=True,
        ),
        Setting(
            LAST_MODEL,
            "optional_id",
            None,
            "The detector model last used; the run dialog selects it.",
            remembered=True,
        ),
        Setting(
            TRUSTED_MODELS,
            "sha256_list",
            [],
            "Model files (.pt) you chose to trust although they carry code beyond a YOLO checkpoint.",
            remembered=True,
        ),
        Setting(
            CLASS_MAP_PREFIX,
            "object",
            {},
            "Class mapping used for the last annotation import from a source (format:path).",
            remembered=True,
        ),
    )
}


def setting_spec(key: str) -> Setting:
    """The registry entry of ``key`` (a family's entry for a key in that family)."""
    spec = REGISTRY.get(key)
    if spec is None:
        spec = next((s for s in REGISTRY.values() if s.is_family and key.startswith(s.key)), None)
    if spec is None or (spec.is_family and key == spec.key):
        raise UsageError(
            f"There is no setting '{key}'.",
            hint=f"Known settings: {', '.join(k for k, s in REGISTRY.items() if not s.is_family)}.",
        )
    return spec


def get_setting(db: Database, key: str) -> Any:
    """The stored value of ``key``, else its default. A stored value that is no longer allowed (an
    older version's, or edited by hand) is logged and the default used."""
    spec = setting_spec(key)
    stored = db.read_setting(key)
    if stored is None:
        return spec.default
    try:
        return spec.check(stored)
    except ValidationError as exc:
        log.warning("ignoring the stored %s: %s", key, exc)
        return spec.default


def set_setting(db: Database, key: str, value: Any) -> Any:
    """Check and store ``value`` (``None``: back to the default); returns the value now in effect."""
    spec = setting_spec(key)
    if value is None:
        db.write_setting(key, None)
        return spec.default
    checked = spec.check(value)
    db.write_setting(key, checked)
    return checked


def stored_settings(db: Database) -> dict[str, Any]:
    """Every setting in effect: each plain key (stored or default), and each stored key of a family."""
    result = {key: get_setting(db, key) for key, spec in REGISTRY.items() if not spec.is_family}
    for spec in REGISTRY.values():
        if spec.is_family:
            result.update({key: get_setting(db, key) for key in sorted(db.setting_keys(spec.key))})
    return result
