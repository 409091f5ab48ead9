"""The Evaluation tab shows tracking metrics for a run with tracker ids (ByteTrack on MOT17-10)."""

from __future__ import annotations

from pathlib import Path

from vru_desktop.evaluation.run import evaluate_run
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import Database
from vru_desktop.ui.main_window import MainWindow


def test_tracking_metrics_in_the_summary(  # type: ignore[no-untyped-def]
    qtbot, db: Database, data_dir: Path, mot17_tracked_run: tuple[int, Path, list[list[float]], float]
) -> None:
    run_id = mot17_tracked_run[0]
    tracking = evaluate_run(db, run_id).tracking
    assert tracking is not None
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    window.show_workspace(window.evaluation)
    view = window.evaluation.view
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        view.show_run(run_id)
    text = view.summary.text()
    assert f"HOTA {tracking.hota['HOTA']:.3f}" in text
    assert f"ID switches {tracking.clear['IDSW']}" in text and "time to stable detection" in text
