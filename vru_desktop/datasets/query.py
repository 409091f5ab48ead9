"""The dataset table: every video across projects with its project, camera fields, detection summary,
annotation counts, file health and readiness, from one aggregate SQL statement.

The statement groups each child table once (grouped subqueries joined to ``videos``), so its cost
does not grow with a query per video. The detection summary is the video's latest started run:
its :class:`~vru_desktop.store.models.SessionStatistics` counts when they are fresh (not stale),
otherwise the run's detection events counted live through the ``(session_id, frame_number)`` index.

:func:`load_rows` runs the statement; :func:`filter_rows` applies a :class:`DatasetFilter` to rows
already loaded (so the window filters instantly without querying again); :func:`query_datasets`
does both and sorts. Filtering in SQL would not make the statement cheaper: its grouped
subqueries aggregate every video either way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import select

from vru_desktop.datasets.readiness import CRITERIA_LABELS, Readiness, coverage_text
from vru_desktop.errors import UsageError
from vru_desktop.paths import path_from_db
from vru_desktop.store.db import Database
from vru_desktop.store.models import DEFAULT_GT_COVERAGE, Annotation, RunStatus, VideoStatus

#: Grouped subqueries over the child tables, joined to every video. The few parts the two databases
#: spell differently are filled in per dialect (:data:`_DIALECT_PARTS`).
_TEMPLATE = """
WITH latest AS (
    SELECT video_id, max(id) AS session_id, count(*) AS runs
    FROM test_sessions WHERE status != '{created}' GROUP BY video_id
),
fresh AS (
    SELECT latest.session_id, s.total_detections, s.detections_by_type
    FROM latest JOIN session_statistics AS s
      ON s.session_id = latest.session_id AND s.stale = FALSE
),
live AS (
    SELECT session_id, {object_agg} AS by_type, sum(n) AS total
    FROM (
        SELECT e.session_id, e.vru_type, count(*) AS n
        FROM detection_events AS e
        WHERE e.session_id IN (
            SELECT session_id FROM latest WHERE session_id NOT IN (SELECT session_id FROM fresh)
        )
        GROUP BY e.session_id, e.vru_type
    ) AS per_type
    GROUP BY session_id
),
ann AS (
    SELECT video_id, count(*) AS boxes, count(*) FILTER (WHERE validated = TRUE) AS validated
    FROM annotations WHERE outside = FALSE GROUP BY video_id
),
gt AS (
    SELECT r.video_id, count(*) AS boxes
    FROM reviewed_frames AS r
    {join} annotations AS a ON a.video_id = r.video_id AND a.frame_number = r.frame_number
    WHERE a.validated = TRUE AND a.outside = FALSE
    GROUP BY r.video_id
),
rev AS (
    SELECT video_id, count(*) AS reviewed FROM reviewed_frames GROUP BY video_id
)
SELECT v.id, v.filename, v.file_path, v.kind, v.status, v.processing_status,
       v.frame_count, v.fps, v.width, v.height, v.duration, {imported_at},
       p.id, coalesce(p.name, ''), coalesce(p.camera_model, ''), coalesce(p.camera_view, ''),
       coalesce(p.lens_type, ''), coalesce(p.signal_type, ''), coalesce(p.resolution, ''), p.frame_rate,
       coalesce(p.gt_coverage, {default_coverage}),
       coalesce(latest.runs, 0), latest.session_id,
       coalesce({fresh_by_type}, live.by_type), coalesce(fresh.total_detections, live.total, 0),
       coalesce(ann.boxes, 0), coalesce(ann.validated, 0), coalesce(gt.boxes, 0), coalesce(rev.reviewed, 0)
FROM videos AS v
LEFT JOIN projects AS p ON p.id = v.project_id
LEFT JOIN latest ON latest.video_id = v.id
LEFT JOIN fresh ON fresh.session_id = latest.session_id
LEFT JOIN live ON live.session_id = latest.session_id
LEFT JOIN ann ON ann.video_id = v.id
LEFT JOIN gt ON gt.video_id = v.id
LEFT JOIN rev ON rev.video_id = v.id
"""
_DIALECT_PARTS = {
    # CROSS JOIN: SQLite keeps the reviewed frames as the outer loop.
    "sqlite": {
        "object_agg": "json_group_object(vru_type, n)",
        "join": "CROSS JOIN",
        "imported_at": "v.imported_at",
        "fresh_by_type": "fresh.detections_by_type",
    },
    # Text as SQLite hands it back: JSON objects, and the import time as SQLite stores it.
    "postgresql": {
        "object_agg": "CAST(json_object_agg(vru_type, n) AS TEXT)",
        "join": "JOIN",
        "imported_at": "to_char(v.imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
        "fresh_by_type": "CAST(fresh.detections_by_type AS TEXT)",
    },
}
_SQL = {
    dialect: _TEMPLATE.format(**parts, default_coverage=DEFAULT_GT_COVERAGE, created=RunStatus.CREATED)
    for dialect, parts in _DIALECT_PARTS.items()
}

#: Camera fields of the project that the table shows and filters on.
CAMERA_FIELDS: tuple[str, ...] = ("camera_model", "camera_view", "lens_type", "signal_type")


@dataclass
class DatasetRow:
    """One video of the dataset table."""

    video_id: int
    filename: str
    file_path: str
    kind: str
    status: str
    processing_status: str
    frame_count: int
    fps: float
    width: int
    height: int
    duration: float
    #: When the video was imported, UTC, as SQLite stores it (``YYYY-MM-DD HH:MM:SS.ffffff``).
    imported_at: str
    project_id: int | None
    project_name: str
    camera_model: str
    camera_view: str
    lens_type: str
    signal_type: str
    camera_resolution: str
    camera_frame_rate: float | None
    #: The project's share of frames to review for ground truth (the default without a project).
    coverage_required: float
    runs: int
    latest_session_id: int | None
    #: Detection events of the latest run by VRU type, as JSON (see :attr:`detections`).
    detections_json: str | None
    detection_total: int
    #: Boxes (annotations that are not ``outside``), validated ones, and ground-truth ones.
    annotations: int
    validated: int
    ground_truth: int
    reviewed_frames: int
    file_exists: bool

    @cached_property
    def detections(self) -> dict[str, int]:
        """Detection events of the latest run by VRU type (parsed when first asked for)."""
        if not self.detections_json:
            return {}
        return {str(k): int(v) for k, v in json.loads(self.detections_json).items() if v}

    @cached_property
    def readiness(self) -> Readiness:
        return Readiness(
            has_detections=self.detection_total > 0,
            has_validated_annotations=self.validated > 0,
            has_ground_truth=self.frame_count > 0 and self.coverage >= self.coverage_required,
            has_project=self.project_id is not None,
            file_healthy=self.file_healthy,
        )

    @property
    def file_healthy(self) -> bool:
        return self.file_exists and self.status == VideoStatus.OK

    @property
    def score(self) -> int:
        return self.readiness.score

    @property
    def level(self) -> str:
        return self.readiness.level

    @property
    def coverage(self) -> float:
        """Ground-truth coverage: reviewed frames / frames (0 when the frame count is unknown)."""
        return self.reviewed_frames / self.frame_count if self.frame_count > 0 else 0.0

    def missing(self) -> list[str]:
        """:meth:`Readiness.missing`, the coverage criterion with this video's figures."""
        named = CRITERIA_LABELS["has_ground_truth"]
        return [
            f"ground truth: {self.reviewed_frames} of {self.frame_count} frames reviewed"
            f" ({coverage_text(self.coverage)}); the project asks {self.coverage_required:.0%}"
            if text == named
            else text
            for text in self.readiness.missing()
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "filename": self.filename,
            "file_path": self.file_path,
            "project_id": self.project_id,
            "project": self.project_name,
            "camera_model": self.camera_model,
            "camera_view": self.camera_view,
            "lens_type": self.lens_type,
            "signal_type": self.signal_type,
            "status": self.status,
            "frame_count": self.frame_count,
            "imported_at": self.imported_at,
            "runs": self.runs,
            "latest_session_id": self.latest_session_id,
            "detections": self.detections,
            "detection_total": self.detection_total,
            "annotations": self.annotations,
            "validated": self.validated,
            "ground_truth": self.ground_truth,
            "reviewed_frames": self.reviewed_frames,
            "coverage": round(self.coverage, 4),
            "coverage_required": self.coverage_required,
            "file_healthy": self.file_healthy,
            "readiness_score": self.score,
            "readiness": self.level,
            "missing": self.missing(),
        }


@dataclass(frozen=True)
class DatasetFilter:
    """What to show. Empty fields do not filter; several values in one field mean any of them."""

    project_ids: tuple[int, ...] = ()
    readiness: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    #: Videos whose latest run detected, or whose boxes include, any of these VRU types.
    vru_types: tuple[str, ...] = ()
    #: Camera fields of the project (``camera_model`` …), each matched case-insensitively.
    camera: tuple[tuple[str, str], ...] = ()
    #: Imported on or after this day / on or before this day (UTC).
    imported_from: date | None = None
    imported_to: date | None = None
    #: Part of the file name, case-insensitive.
    text: str = ""


def _annotated_with_types(db: Database, vru_types: Sequence[str]) -> set[int]:
    query = select(Annotation.video_id).distinct()
    with db.engine.connect() as conn:
        rows = conn.execute(query.where(Annotation.outside.is_(False), Annotation.vru_type.in_(vru_types)))
        return {row[0] for row in rows}


#: Sort keys by column name (also the CLI's ``--sort`` values).
SORT_KEYS: dict[str, Callable[[DatasetRow], Any]] = {
    "video_id": lambda r: r.video_id,
    "filename": lambda r: r.filename.lower(),
    "project": lambda r: r.project_name.lower(),
    "camera_model": lambda r: r.camera_model.lower(),
    "camera_view": lambda r: r.camera_view.lower(),
    "lens_type": lambda r: r.lens_type.lower(),
    "signal_type": lambda r: r.signal_type.lower(),
    "imported_at": lambda r: r.imported_at,
    "status": lambda r: r.status,
    "frames": lambda r: r.frame_count,
    "detections": lambda r: r.detection_total,
    "annotations": lambda r: r.annotations,
    "validated": lambda r: r.validated,
    "ground_truth": lambda r: r.ground_truth,
    "reviewed_frames": lambda r: r.reviewed_frames,
    "coverage": lambda r: r.coverage,
    "file_healthy": lambda r: r.file_healthy,
    "readiness": lambda r: r.score,
}


def detection_sort_key(vru_type: str) -> Callable[[DatasetRow], int]:
    return lambda r: r.detections.get(vru_type, 0)


def sort_rows(
    rows: list[DatasetRow], key: str | Callable[[DatasetRow], Any], *, descending: bool = False
) -> None:
    """Sort in place by a column name of :data:`SORT_KEYS` (or a key function); ties by video id."""
    if isinstance(key, str):
        if key not in SORT_KEYS:
            raise UsageError(f"Cannot sort by '{key}'.", hint=f"Use one of: {', '.join(SORT_KEYS)}.")
        key = SORT_KEYS[key]
    rows.sort(key=lambda r: r.video_id)
    rows.sort(key=key, reverse=descending)


class _FileChecker:
    """Whether files exist, listing each folder once instead of asking the disk once per file."""

    def __init__(self) -> None:
        self._listings: dict[str, set[str] | None] = {}

    def exists(self, path: str) -> bool:
        folder, name = os.path.split(path)
        if folder not in self._listings:
            try:
                self._listings[folder] = set(os.listdir(folder or "."))
            except FileNotFoundError:
                self._listings[folder] = set()
            except (OSError, ValueError):
                self._listings[folder] = None  # unreadable folder: ask per file
        listing = self._listings[folder]
        if listing is not None and name in listing:
            return True
        # Not listed under this spelling (case-insensitive file systems) or not listable.
        try:
            return listing != set() and os.path.exists(path)
        except (OSError, ValueError):
            return False


def load_rows(db: Database, *, check_files: bool = True) -> list[DatasetRow]:
    """Every video's row, in video id order, from the one grouped statement.

    ``check_files`` looks each file up on disk (a missing file is not healthy even before the
    library notices); without it the stored status alone decides.
    """
    raw = db.engine.raw_connection()  # plain tuples from the driver: no result-row objects for 10 000 rows
    try:
        cursor = raw.cursor()
        cursor.execute(_SQL[db.engine.dialect.name])
        records = cursor.fetchall()
    finally:
        raw.close()
    checker = _FileChecker()
    # The statement's columns are the row's fields in order; the file check comes last.
    rows = [(*rec[:2], path_from_db(rec[2]), *rec[3:]) for rec in records]
    return [DatasetRow(*rec, checker.exists(rec[2]) if check_files else True) for rec in rows]


def filter_rows(db: Database, rows: Iterable[DatasetRow], flt: DatasetFilter) -> list[DatasetRow]:
    """The rows that pass ``flt``. Only a VRU-type filter reads the database (which videos have boxes
    of those types)."""
    for name, _value in flt.camera:
        if name not in CAMERA_FIELDS:
            raise UsageError(
                f"Unknown camera field '{name}'.", hint=f"Use one of: {', '.join(CAMERA_FIELDS)}."
            )
    projects = set(flt.project_ids)
    levels = set(flt.readiness)
    statuses = set(flt.statuses)
    camera = [(name, value.strip().lower()) for name, value in flt.camera]
    since = flt.imported_from.isoformat() if flt.imported_from is not None else None
    before = (flt.imported_to + timedelta(days=1)).isoformat() if flt.imported_to is not None else None
    text_part = flt.text.strip().lower()
    wanted_types = set(flt.vru_types)
    with_boxes = _annotated_with_types(db, flt.vru_types) if wanted_types else set()

    def passes(row: DatasetRow) -> bool:
        return (
            (not projects or row.project_id in projects)
            and (not statuses or row.status in statuses)
            and all(getattr(row, name).lower() == value for name, value in camera)
            and (since is None or row.imported_at >= since)
            and (before is None or row.imported_at < before)
            and (not text_part or text_part in row.filename.lower())
            and (not levels or row.level in levels)
            and (
                not wanted_types or row.video_id in with_boxes or not wanted_types.isdisjoint(row.detections)
            )
        )

    return [row for row in rows if passes(row)]


def query_datasets(
    db: Database,
    flt: DatasetFilter | None = None,
    *,
    sort: str | Callable[[DatasetRow], Any] = "video_id",
    descending: bool = False,
    check_files: bool = True,
) -> list[DatasetRow]:
    """The dataset table's rows that pass ``flt``, sorted (see :func:`load_rows` for ``check_files``)."""
    rows = load_rows(db, check_files=check_files)
    if flt is not None and flt != DatasetFilter():
        rows = filter_rows(db, rows, flt)
    sort_rows(rows, sort, descending=descending)
    return rows
