"""OpenLABEL in the Dataset menu's dialogs: a stream choice on import, the detections option on export."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from gui.test_dataset_dialogs import read_mapping
from sqlalchemy import select
from vcd import core, types
from vcd.schema import openlabel_schema

from vru_desktop.library.importer import import_paths
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import Annotation
from vru_desktop.ui.datasets import actions
from vru_desktop.ui.datasets.export_dialog import ExportDialog
from vru_desktop.ui.datasets.import_dialog import ImportAnnotationsDialog
from vru_desktop.ui.main_window import MainWindow


def two_cameras(path: Path) -> Path:
    """A walker seen by two cameras on frames 0-2, written with the vcd library."""
    writer = core.OpenLABEL()
    walker = writer.add_object("walker", "person")
    for number, stream in enumerate(("FRONT", "LEFT")):
        writer.add_stream(stream, f"{stream.lower()}.mp4", "camera", core.StreamType.camera)
        writer.add_coordinate_system(stream, types.CoordinateSystemType.sensor_cs)
        for frame in range(3):
            shape = types.bbox(f"box_{stream}", [30 + 10 * number, 25, 20, 30], coordinate_system=stream)
            writer.add_object_data(walker, shape, frame_value=frame)
    writer.save(str(path))
    return path


def test_import_asks_for_the_stream_then_export_writes_valid_openlabel(  # type: ignore[no-untyped-def]
    qtbot, db, data_dir: Path, make_video, tmp_path: Path
) -> None:
    [outcome] = import_paths(db, [make_video("walk.mp4", frames=6, size=(100, 50))])
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    dialog = actions.open_import(window)
    assert isinstance(dialog, ImportAnnotationsDialog)
    dialog.format.setCurrentIndex(dialog.format.findData("openlabel"))
    dialog.path.setText(str(two_cameras(tmp_path / "two.json")))
    dialog.video.setCurrentIndex(dialog.video.findData(outcome.video_id))
    assert read_mapping(dialog, qtbot) is None
    assert "several camera streams (FRONT, LEFT)" in dialog.status.text()
    assert [dialog.stream.itemData(i) for i in range(dialog.stream.count())] == [None, "FRONT", "LEFT"]
    dialog.stream.setCurrentIndex(dialog.stream.findData("LEFT"))
    mapping = read_mapping(dialog, qtbot)
    assert mapping is not None and mapping.combos["person"].currentText() == "pedestrian"
    with qtbot.waitSignal(dialog.imported, timeout=10000):
        mapping.accept()
    with db.session() as session:
        placed = [a.bounding_box for a in session.scalars(select(Annotation))]
    assert placed == [(30.0, 10.0, 50.0, 40.0)] * 3  # the LEFT camera's box, centre (40, 25)

    export = ExportDialog(db, [outcome.video_id], None, window)
    qtbot.addWidget(export)
    assert not export.detections.isEnabled()
    export.format.setCurrentIndex(export.format.findData("openlabel"))
    assert export.detections.isEnabled() and not export.every.isEnabled()
    export.detections.setChecked(True)
    export.out.setText(str(tmp_path / "ol"))
    with qtbot.waitSignal(export.finished_export, timeout=20000):
        export.start()
    document = json.loads((tmp_path / "ol" / f"walk_v{outcome.video_id}.json").read_text())
    jsonschema.validate(document, openlabel_schema)
    assert sorted(document["openlabel"]["frames"]) == ["0", "1", "2"]
    assert "Exported 1 videos" in export.status.text()
