"""The Campaigns tab: create from a project, launch (reused runs and queued ones), progress per
video, and the pooled metrics and per-video table after scoring off the UI thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CAMPAIGN_CONF

from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.app import build_window
from vru_desktop.ui.main_window import MainWindow


@pytest.fixture
def window(db: Any, data_dir: Path, qtbot: Any) -> Iterator[MainWindow]:
    main = build_window(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()


def _cell(table: Any, row: int, column: int) -> str:
    return table.item(row, column).text()


def test_campaign_tab_runs_and_scores_a_campaign(
    window: MainWindow, campaign_suite: dict[str, Any], qtbot: Any
) -> None:
    panel = window.campaigns  # type: ignore[attr-defined]
    window.show_workspace(panel)
    panel.create("front", campaign_suite["model_id"], RunConfig(conf=CAMPAIGN_CONF), "front cams")
    assert panel.selected_name() == "front"
    assert _cell(panel.list, 0, 1) == "created"
    panel.run_selected()  # both videos have a matching finished run: reused, nothing queued
    assert [_cell(panel.videos, r, 5) for r in range(panel.videos.rowCount())] == ["yes", "yes"]
    assert _cell(panel.list, 0, 1) == "completed"
    panel.evaluate_selected()
    qtbot.waitUntil(lambda: panel.scores is not None, timeout=20_000)
    metrics = {
        _cell(panel.metrics, r, 0): _cell(panel.metrics, r, 1) for r in range(panel.metrics.rowCount())
    }
    recall = panel.scores["protocols"]["default"]["metrics"]["recall"]
    assert metrics["recall"] == f"{recall:.3f}"
    assert panel.per_video.rowCount() == 2

    window.detection.queue.hold(True)  # type: ignore[attr-defined]
    panel.create("strict", campaign_suite["model_id"], RunConfig(conf=0.6), "rear cams")
    panel.run_selected()  # another threshold: one run per video goes into the run queue
    states = [_cell(panel.videos, r, 3) for r in range(panel.videos.rowCount())]
    assert states == ["created", "created"]
    assert _cell(panel.list, 1, 1) == "running"
