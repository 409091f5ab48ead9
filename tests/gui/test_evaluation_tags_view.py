"""The Evaluation tab's tag filter: a condition tag scores (and reports) only its frames."""

from __future__ import annotations

from pathlib import Path

from test_evaluation_view import _scene

from vru_desktop.annotations.tags import set_project_tags, tag_frames
from vru_desktop.library.projects import list_projects
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import Database
from vru_desktop.ui.main_window import MainWindow


def test_tag_filter_scores_and_reports_only_the_tagged_frames(  # type: ignore[no-untyped-def]
    qtbot, db: Database, data_dir: Path, tmp_path: Path
) -> None:
    video_id, run_id = _scene(db, tmp_path)
    set_project_tags(db, list_projects(db)[0].id, ["night", "rain"])
    tag_frames(db, video_id, ["night"], 3, 7)
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    window.show_workspace(window.evaluation)
    view = window.evaluation.view
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        view.show_run(run_id)
    combo = view.tag_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [None, "night", "rain"]
    assert view.result is not None and view.result.data.n_frames == 10

    with qtbot.waitSignal(view.loaded, timeout=30_000):
        combo.setCurrentIndex(combo.findData("night"))
    assert view.result.data.n_frames == 5
    out = tmp_path / "night.html"
    view.export_report(str(out))
    qtbot.waitUntil(lambda: view.statistics_label.text().startswith("Report written to"), timeout=10_000)
    assert "5 reviewed frames carrying the condition tag night" in out.read_text(encoding="utf-8")

    # The first entry scores all reviewed frames again.
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        combo.setCurrentIndex(0)
    assert view.result.data.n_frames == 10
