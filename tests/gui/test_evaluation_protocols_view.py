"""The Evaluation tab's protocol menu: a chosen protocol's miss rate shows, and the choice is kept."""

from __future__ import annotations

import json
from pathlib import Path

from test_evaluation_view import _scene

from vru_desktop.settings import SELECTED_PROTOCOLS, get_setting, resolve_locations
from vru_desktop.store.db import Database
from vru_desktop.ui.main_window import MainWindow


def test_protocol_menu_adds_the_miss_rate_and_remembers_the_choice(  # type: ignore[no-untyped-def]
    qtbot, db: Database, data_dir: Path, tmp_path: Path
) -> None:
    _, run_id = _scene(db, tmp_path)
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    window.show_workspace(window.evaluation)
    view = window.evaluation.view
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        view.show_run(run_id)
    assert "by protocol" not in view.summary.text()

    view.protocol_menu.aboutToShow.emit()
    actions = {a.data(): a for a in view.protocol_menu.actions()}
    assert "caltech-reasonable" in actions and not actions["citypersons-reasonable"].isChecked()
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        actions["citypersons-reasonable"].trigger()
    # 10 boxes, 8 found at 0.9 before the two false positives: miss rate 0.2 at every FPPI point.
    assert "CityPersons Reasonable 20.00 %" in view.summary.text()
    assert get_setting(db, SELECTED_PROTOCOLS) == ["citypersons-reasonable"]

    out = tmp_path / "report.html"
    view.export_report(str(out))
    qtbot.waitUntil(lambda: view.statistics_label.text().startswith("Report written to"), timeout=10_000)
    assert "citypersons-reasonable" in out.read_text(encoding="utf-8")

    view.protocol_menu.aboutToShow.emit()
    actions = {a.data(): a for a in view.protocol_menu.actions()}
    assert actions["citypersons-reasonable"].isChecked()
    with qtbot.waitSignal(view.loaded, timeout=30_000):
        actions["citypersons-reasonable"].trigger()
    assert "by protocol" not in view.summary.text() and get_setting(db, SELECTED_PROTOCOLS) == []


def test_overlay_label_shows_visibility_and_ignore(qtbot, db: Database, make_video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vru_desktop.annotations.editor import AnnotationEditor
    from vru_desktop.datasets.importer import ImportOptions, import_annotations
    from vru_desktop.library.importer import import_paths
    from vru_desktop.ui.viewer.overlay import OverlayBox

    [outcome] = import_paths(db, [make_video("street.mp4", frames=3, size=(200, 100))])
    coco = tmp_path / "gt.json"
    coco.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "frame_000001.jpg", "width": 200, "height": 100}],
                "categories": [{"id": 1, "name": "person"}],
                "annotations": [
                    {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 50], "vis_ratio": 0.45},
                    {"id": 2, "image_id": 1, "category_id": 1, "bbox": [60, 10, 80, 50], "ignore": 1},
                ],
            }
        )
    )
    import_annotations(db, "coco", coco, ImportOptions(video_id=outcome.video_id))
    person, group = AnnotationEditor(db, outcome.video_id).frame_annotations(1)
    assert OverlayBox.of_annotation(person).label == "pedestrian ✓ vis 0.45"
    assert OverlayBox.of_annotation(group).label == "pedestrian ✓ ignore"
