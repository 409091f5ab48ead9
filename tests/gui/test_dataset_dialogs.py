"""The Dataset menu's Export… and Import Annotations… dialogs, driven through the real window."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Annotation, ReviewedFrame
from vru_desktop.ui.datasets.export_dialog import ExportDialog
from vru_desktop.ui.datasets.import_dialog import IGNORE_TEXT, ImportAnnotationsDialog
from vru_desktop.ui.main_window import MainWindow


def read_mapping(dialog: ImportAnnotationsDialog, qtbot):  # type: ignore[no-untyped-def]
    """Read the dataset (off the UI thread); the class-mapping dialog it opened, or ``None``."""
    with qtbot.waitSignal(dialog.readDone, timeout=10000) as read:
        dialog.read()
    return read.args[0]


def make_window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    return window


def test_menu_has_the_exchange_actions(qtbot, db, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, db, data_dir)
    texts = [a.text() for a in window.menu("&Dataset").actions()]
    assert "&Export…" in texts and "&Import Annotations…" in texts
    action = window.findChild(type(window.menu("&Dataset").actions()[0]), "datasetExport")
    assert action is not None and action.shortcut().toString() == "Ctrl+Shift+E"


def test_import_through_the_mapping_dialog_then_export(  # type: ignore[no-untyped-def]
    qtbot, db, data_dir: Path, make_video, tmp_path: Path
) -> None:
    [outcome] = import_paths(db, [make_video("walk.mp4", frames=6, size=(100, 50))])
    window = make_window(qtbot, db, data_dir)
    path = tmp_path / "ls.json"
    tasks = [
        {
            "id": n,
            "data": {"image": f"/data/upload/walk_{n:06d}.jpg"},
            "annotations": [
                {
                    "id": n,
                    "result": [
                        {
                            "type": "rectanglelabels",
                            "original_width": 100,
                            "original_height": 50,
                            "value": {
                                "x": 10,
                                "y": 20,
                                "width": 30,
                                "height": 40,
                                "rectanglelabels": [label],
                            },
                        }
                        for label in ("kangaroo", "person")
                    ],
                }
            ],
        }
        for n in (1, 3)
    ]
    path.write_text(json.dumps(tasks))

    from vru_desktop.ui.datasets import actions

    dialog = actions.open_import(window)
    assert isinstance(dialog, ImportAnnotationsDialog)
    dialog.format.setCurrentIndex(dialog.format.findData("label-studio"))
    dialog.path.setText(str(path))
    dialog.video.setCurrentIndex(dialog.video.findData(outcome.video_id))
    mapping = read_mapping(dialog, qtbot)
    assert mapping is not None
    assert mapping.combos["person"].currentText() == "pedestrian"
    assert mapping.combos["kangaroo"].currentText() == IGNORE_TEXT  # unmapped: ignore unless chosen
    mapping.set_target("kangaroo", "cyclist")
    changed: list[int] = []
    window.annotationsChanged.connect(changed.append)
    with qtbot.waitSignal(dialog.imported, timeout=10000):
        mapping.accept()
    assert changed == [outcome.video_id]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 4
        assert set(session.scalars(select(ReviewedFrame.frame_number))) == {1, 3}
        types = sorted(session.scalars(select(Annotation.vru_type)))
    assert types == ["cyclist", "cyclist", "pedestrian", "pedestrian"]
    assert "Imported 4 boxes" in dialog.status.text()

    # the class mapping is remembered for this source
    again = read_mapping(dialog, qtbot)
    assert again is not None and again.combos["kangaroo"].currentText() == "cyclist"
    again.reject()

    window.library.refresh()
    export = ExportDialog(db, [outcome.video_id], None, window)
    qtbot.addWidget(export)
    export.format.setCurrentIndex(export.format.findData("coco"))
    export.out.setText(str(tmp_path / "coco"))
    with qtbot.waitSignal(export.finished_export, timeout=20000):
        export.start()
    document = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(document["images"]) == 2 and len(document["annotations"]) == 4
    assert "Exported 1 videos" in export.status.text()


def test_export_dialog_reports_errors_and_cancel(  # type: ignore[no-untyped-def]
    qtbot, db, data_dir: Path, make_video, tmp_path: Path
) -> None:
    [outcome] = import_paths(db, [make_video("long.mp4", frames=200, size=(64, 48))])
    window = make_window(qtbot, db, data_dir)
    export = ExportDialog(db, [outcome.video_id], None, window)
    qtbot.addWidget(export)
    export.start()
    assert export.status.text() == "Choose the folder to export to."
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    export.out.setText(str(busy))
    export.start()
    qtbot.waitUntil(lambda: "already holds files" in export.status.text(), timeout=10000)
    # every frame of a 200-frame video, cancelled right away: nothing is left behind
    export.out.setText(str(tmp_path / "cancelled"))
    export.every.setValue(1)
    export.start()
    export.cancel()
    qtbot.waitUntil(lambda: "cancelled" in export.status.text().lower(), timeout=20000)
    assert not (tmp_path / "cancelled").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cancelled")]


def test_import_again_is_refused_until_replace_is_chosen_and_an_import_is_removed(  # type: ignore[no-untyped-def]
    qtbot, db, data_dir: Path, make_video, tmp_path: Path
) -> None:
    [outcome] = import_paths(db, [make_video("walk.mp4", frames=4, size=(64, 48))])
    gt = tmp_path / "walk" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,1,1,1,5,5,1,1,1\n2,1,2,1,5,5,1,1,1\n")
    window = make_window(qtbot, db, data_dir)

    from vru_desktop.ui.datasets import actions

    def import_once(choice: str) -> ImportAnnotationsDialog:
        dialog = actions.open_import(window)
        qtbot.addWidget(dialog)
        dialog.format.setCurrentIndex(dialog.format.findData("mot"))
        dialog.path.setText(str(gt))
        dialog.video.setCurrentIndex(dialog.video.findData(outcome.video_id))
        dialog.on_duplicate.setCurrentIndex(dialog.on_duplicate.findData(choice))
        mapping = read_mapping(dialog, qtbot)
        assert mapping is not None
        mapping.accept()
        qtbot.waitUntil(lambda: dialog.status.text() != "Importing…", timeout=10000)
        return dialog

    def stored() -> int:
        with db.session() as session:
            return session.scalar(select(func.count()).select_from(Annotation)) or 0

    assert "Imported 2 boxes" in import_once("refuse").status.text()
    refused = import_once("refuse")
    assert "already holds 2 of these 2 boxes, from import 1" in refused.status.text()
    assert stored() == 2
    assert "Imported 2 boxes" in import_once("replace").status.text()
    assert stored() == 2

    imports = actions.open_imports(window)
    qtbot.addWidget(imports)
    assert imports.table.rowCount() == 1 and imports.table.item(0, 0).text() == "2"
    assert imports.table.item(0, 3).text() == "2 / 2"
    imports.table.selectRow(0)
    changed: list[int] = []
    window.annotationsChanged.connect(changed.append)
    with qtbot.waitSignal(imports.removed, timeout=5000):
        imports.remove_button.click()
    assert changed == [outcome.video_id] and stored() == 0
    assert imports.table.rowCount() == 0 and "Removed import 2" in imports.status.text()
