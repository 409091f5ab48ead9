"""The team server beside the SQLite file, in one run on this machine: the dataset query on 10 000
videos with 1 000 000 detections (aim: within 2x of SQLite) and an edit round trip (aim: under 50 ms
on a local server), with the poll of the change log that open viewers make.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_team_store_speed.py -s``

The library of ``test_dataset_query_speed.py`` is built on a SQLite file, then copied to a real
local PostgreSQL server with ``db copy`` (COPY), so both hold the same rows.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest
from test_dataset_query_speed import ANNOTATIONS, EVENTS, VIDEOS, build_library

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.datasets.query import query_datasets
from vru_desktop.store.changes import change_token, changes_since
from vru_desktop.store.copy import copy_database
from vru_desktop.store.db import Database, open_database

EDITS = 50


def median_s(function, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def edit_round_trip(db: Database, video_id: int) -> tuple[float, float]:
    """Median seconds of reading a frame's boxes and moving one (the viewer's edit: read, write,
    commit, undo step), and of one poll of the change log."""
    editor = AnnotationEditor(db, video_id)
    box = editor.add_box(0, (10, 10, 50, 50), "pedestrian")
    moves = iter(range(1, 10 * EDITS))

    def edit() -> None:
        editor.frame_annotations(0)
        step = next(moves)
        editor.move_box(box, (10 + step % 7, 10, 50 + step % 7, 50))

    token = change_token(db, video_id)
    return median_s(edit, EDITS), median_s(lambda: changes_since(db, video_id, token), EDITS)


@pytest.mark.benchmark
def test_team_store_speed(db: Database, postgres_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    build_library(db, tmp_path)
    build_s = time.perf_counter() - start
    server = open_database(postgres_server.new_database("vru_template"))
    start = time.perf_counter()
    copy_database(db, server)
    copy_s = time.perf_counter() - start
    with server.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")

    figures: dict[str, dict[str, float]] = {}
    for name, store in (("SQLite", db), ("PostgreSQL", server)):
        rows = query_datasets(store)
        assert len(rows) == VIDEOS and sum(r.detection_total for r in rows) == EVENTS
        assert sum(r.annotations for r in rows) == ANNOTATIONS
        query_s = median_s(lambda store=store: query_datasets(store), 5)
        edit_s, poll_s = edit_round_trip(store, 1)
        figures[name] = {"query": query_s, "edit": edit_s, "poll": poll_s}
    server.close()

    sqlite, pg = figures["SQLite"], figures["PostgreSQL"]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\nload average (1, 5, 15 min): {load} on {os.cpu_count()} CPUs"
        f"\nbuilt {VIDEOS} videos, {EVENTS} detections, {ANNOTATIONS} annotations in {build_s:.0f} s;"
        f" db copy to the server {copy_s:.0f} s"
        f"\n{'':28}{'SQLite':>10}{'PostgreSQL':>12}{'ratio':>8}"
        f"\n{'dataset query (ms)':28}{sqlite['query'] * 1e3:10.0f}{pg['query'] * 1e3:12.0f}"
        f"{pg['query'] / sqlite['query']:7.2f}x   aim < 2x"
        f"\n{'edit round trip (ms)':28}{sqlite['edit'] * 1e3:10.1f}{pg['edit'] * 1e3:12.1f}"
        f"{pg['edit'] / sqlite['edit']:7.2f}x   aim < 50 ms"
        f"\n{'change log poll (ms)':28}{sqlite['poll'] * 1e3:10.2f}{pg['poll'] * 1e3:12.2f}"
        f"{pg['poll'] / sqlite['poll']:7.2f}x"
    )
