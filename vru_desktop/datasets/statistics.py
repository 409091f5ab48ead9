"""Statistics of a set of dataset rows: class distribution, boxes per video, box heights, coverage.

Counts per video come from the rows of :func:`vru_desktop.datasets.query.query_datasets`; the box
classes and heights come from one grouped statement over the rows' annotations (heights binned in
SQL, so no box is loaded into Python).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vru_desktop.datasets.query import DatasetRow
from vru_desktop.store.db import Database
from vru_desktop.store.models import VRU_TYPES

#: Height histogram bin width in pixels.
HEIGHT_BIN_PX = 16
#: Ground-truth coverage histogram: per-video reviewed share in steps of 10 %.
COVERAGE_BINS = np.linspace(0.0, 1.0, 11)

#: Each box's class, validation and height bin; counted in Python, which is faster than a SQL
#: GROUP BY here (SQLite sorts every row for that; no index covers these columns).
#: Per dialect: the statement (in its driver's parameter style) and the clause for chosen videos.
_BOXES_SQL = {
    "sqlite": (
        "SELECT vru_type, validated, CAST((y2 - y1) / :bin AS INTEGER) FROM annotations"
        " WHERE outside = 0 {videos}",
        "AND video_id IN (SELECT value FROM json_each(:ids))",
    ),
    # FLOOR: PostgreSQL's cast rounds where SQLite's truncates.
    "postgresql": (
        "SELECT vru_type, validated, CAST(FLOOR((y2 - y1) / %(bin)s) AS INTEGER) FROM annotations"
        " WHERE outside = FALSE {videos}",
        "AND video_id IN"
        " (SELECT CAST(value AS INTEGER) FROM json_array_elements_text(CAST(%(ids)s AS JSON)))",
    ),
}


@dataclass
class DatasetStatistics:
    videos: int = 0
    #: Boxes (annotations that are not outside) by VRU type, all and validated only.
    annotations_by_type: dict[str, int] = field(default_factory=dict)
    validated_by_type: dict[str, int] = field(default_factory=dict)
    #: Detection events of each video's latest run, by VRU type.
    detections_by_type: dict[str, int] = field(default_factory=dict)
    #: Boxes per video: histogram counts and bin edges (number of boxes).
    boxes_per_video_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    boxes_per_video_edges: np.ndarray = field(default_factory=lambda: np.zeros(1))
    #: Box height histogram: counts and bin edges in pixels.
    height_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    height_edges: np.ndarray = field(default_factory=lambda: np.zeros(1))
    reviewed_frames: int = 0
    frames: int = 0
    #: Videos per ground-truth coverage decile (0–10 %, …, 90–100 %).
    coverage_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(COVERAGE_BINS) - 1, np.int64))

    @property
    def coverage(self) -> float:
        """Ground-truth coverage of the whole set: reviewed frames / frames."""
        return self.reviewed_frames / self.frames if self.frames else 0.0

    def class_names(self) -> list[str]:
        """The VRU types in key order, then any other type present, alphabetically."""
        present = set(self.annotations_by_type) | set(self.detections_by_type)
        return [*VRU_TYPES, *sorted(present.difference(VRU_TYPES))]

    def as_dict(self) -> dict[str, object]:
        return {
            "videos": self.videos,
            "annotations_by_type": self.annotations_by_type,
            "validated_by_type": self.validated_by_type,
            "detections_by_type": self.detections_by_type,
            "boxes_per_video": {
                "counts": self.boxes_per_video_counts.tolist(),
                "edges": self.boxes_per_video_edges.tolist(),
            },
            "box_height_px": {"counts": self.height_counts.tolist(), "edges": self.height_edges.tolist()},
            "reviewed_frames": self.reviewed_frames,
            "frames": self.frames,
            "coverage": round(self.coverage, 4),
            "videos_by_coverage_decile": self.coverage_counts.tolist(),
        }


def boxes_per_video_histogram(counts: Sequence[int], max_bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of box counts with integer-aligned bins (one per count when the range is small)."""
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(1)
    top = max(counts)
    width = max(1, int(np.ceil((top + 1) / max_bins)))
    edges = np.arange(0, top + width + 1, width, dtype=float)
    hist, _ = np.histogram(np.asarray(counts), bins=edges)
    return hist.astype(np.int64), edges


def compute_statistics(
    db: Database, rows: Sequence[DatasetRow], *, all_videos: bool = False
) -> DatasetStatistics:
    """Statistics of ``rows``. ``all_videos`` says the rows are the whole library (no id filter needed)."""
    stats = DatasetStatistics(videos=len(rows))
    if not rows:
        return stats
    detections: Counter[str] = Counter()
    for row in rows:
        detections.update(row.detections)
    stats.detections_by_type = dict(detections)
    stats.boxes_per_video_counts, stats.boxes_per_video_edges = boxes_per_video_histogram(
        [row.annotations for row in rows]
    )
    stats.reviewed_frames = sum(min(row.reviewed_frames, row.frame_count) for row in rows)
    stats.frames = sum(row.frame_count for row in rows)
    coverages = np.array([row.coverage for row in rows])
    stats.coverage_counts = np.histogram(np.clip(coverages, 0.0, 1.0), bins=COVERAGE_BINS)[0].astype(np.int64)

    params: dict[str, object] = {"bin": HEIGHT_BIN_PX}
    statement, chosen = _BOXES_SQL[db.engine.dialect.name]
    videos = ""
    if not all_videos:
        videos = chosen
        params["ids"] = json.dumps([row.video_id for row in rows])
    raw = db.engine.raw_connection()  # plain tuples straight from the driver, counted in C
    try:
        cursor = raw.cursor()
        cursor.execute(statement.format(videos=videos), params)
        boxes = Counter(cursor.fetchall())
    finally:
        raw.close()
    annotations: Counter[str] = Counter()
    validated: Counter[str] = Counter()
    heights: Counter[int] = Counter()
    for (vru_type, is_validated, height_bin), count in boxes.items():
        annotations[vru_type] += count
        if is_validated:
            validated[vru_type] += count
        heights[max(int(height_bin), 0)] += count
    stats.annotations_by_type = dict(annotations)
    stats.validated_by_type = dict(validated)
    if heights:
        top = max(heights)
        stats.height_counts = np.array([heights.get(b, 0) for b in range(top + 1)], dtype=np.int64)
        stats.height_edges = np.arange(top + 2, dtype=float) * HEIGHT_BIN_PX
    return stats
