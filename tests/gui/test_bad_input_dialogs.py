"""A database failure during a background import shows in the dialog as one line without SQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.datasets.import_dialog import ImportAnnotationsDialog
from vru_desktop.ui.main_window import MainWindow


def test_import_dialog_shows_a_database_failure_on_one_line(  # type: ignore[no-untyped-def]
    qtbot, db, data_dir: Path, make_video, tmp_path: Path
) -> None:
    [outcome] = import_paths(db, [make_video("walk.mp4", frames=4, size=(64, 48))])
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON annotations "
                "BEGIN SELECT RAISE(ABORT, 'the disk said no'); END"
            )
        )
    gt = tmp_path / "walk" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,1,1,1,5,5,1,1,1\n")
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    dialog = ImportAnnotationsDialog(db, outcome.video_id, window)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("mot"))
    dialog.path.setText(str(gt))
    dialog.start({})
    qtbot.waitUntil(lambda: dialog.status.text() != "Importing…", timeout=10000)
    assert dialog.status.text() == "The database failed: the disk said no."
