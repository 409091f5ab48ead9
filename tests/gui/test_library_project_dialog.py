"""The project dialog: required fields are checked before anything is written."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from vru_desktop.library.projects import ProjectFields, create_project, list_projects, project_by_name
from vru_desktop.ui.project_dialog import ProjectDialog


def _save(dialog: ProjectDialog, qtbot) -> None:
    box = dialog.findChild(QDialogButtonBox)
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)


def test_missing_required_fields_are_named_and_nothing_is_written(db, qtbot) -> None:
    dialog = ProjectDialog(db, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.name, "Crossing 4")
    _save(dialog, qtbot)
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.isVisible()
    assert dialog.error.text() == "Project not saved: required: camera model, camera view, signal type."
    assert "c0392b" in dialog.camera_model.styleSheet() and dialog.name.styleSheet() == ""
    assert [p.name for p in list_projects(db)] == ["Default"]

    qtbot.keyClicks(dialog.camera_model, "Mobotix M16")
    dialog.camera_view.setCurrentText("overhead")
    _save(dialog, qtbot)
    assert dialog.error.text() == "Project not saved: required: signal type."

    dialog.signal_type.setCurrentText("video")
    dialog.resolution.setText("1280 x 720")
    dialog.frame_rate.setValue(12.5)
    dialog.lens_type.setCurrentText("fisheye")
    _save(dialog, qtbot)
    assert dialog.result() == QDialog.DialogCode.Accepted
    stored = project_by_name(db, "Crossing 4")
    assert (stored.camera_model, stored.camera_view, stored.signal_type) == (
        "Mobotix M16",
        "overhead",
        "video",
    )
    assert (stored.resolution, stored.frame_rate, stored.lens_type, stored.status) == (
        "1280 x 720",
        12.5,
        "fisheye",
        "active",
    )
    assert dialog.saved is not None and dialog.saved.id == stored.id


def test_bad_values_and_duplicate_names_are_refused(db, qtbot) -> None:
    create_project(
        db, ProjectFields(name="Taken", camera_model="a", camera_view="front", signal_type="video")
    )
    dialog = ProjectDialog(db, None)
    qtbot.addWidget(dialog)
    dialog.name.setText("taken")
    dialog.camera_model.setText("a")
    dialog.camera_view.setCurrentText("front")
    dialog.signal_type.setCurrentText("video")
    dialog.resolution.setText("wide")
    _save(dialog, qtbot)
    assert dialog.error.text() == "Project not saved: resolution must look like 1920x1080."
    dialog.resolution.setText("")
    _save(dialog, qtbot)
    assert dialog.error.text() == "A project named 'taken' already exists."
    assert len(list_projects(db)) == 2


def test_edit_shows_the_stored_values_and_saves_changes(db, qtbot) -> None:
    project = create_project(
        db,
        ProjectFields(
            name="Depot",
            camera_model="X",
            camera_view="rear",
            signal_type="event",
            vru_classes=["pedestrian"],
        ),
    )
    dialog = ProjectDialog(db, project.id)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Edit project"
    assert (dialog.name.text(), dialog.camera_view.currentText(), dialog.signal_type.currentText()) == (
        "Depot",
        "rear",
        "event",
    )
    assert dialog.vru_classes.text() == "pedestrian"
    dialog.vru_classes.setText("pedestrian, cyclist")
    dialog.status.setCurrentText("archived")
    _save(dialog, qtbot)
    stored = project_by_name(db, "Depot")
    assert (stored.vru_classes, stored.status) == (["pedestrian", "cyclist"], "archived")


def test_ignore_regions_are_entered_as_json_and_bad_json_is_named(db, qtbot) -> None:
    dialog = ProjectDialog(db, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.name, "Bus stop")
    qtbot.keyClicks(dialog.camera_model, "AXIS P1468")
    dialog.camera_view.setCurrentText("front")
    dialog.signal_type.setCurrentText("video")
    dialog.ignore_regions.setPlainText("[[[0, 0], [640, 0]")
    _save(dialog, qtbot)
    assert dialog.isVisible() and "Ignore regions are not valid JSON" in dialog.error.text()
    assert [p.name for p in list_projects(db)] == ["Default"]

    dialog.ignore_regions.setPlainText("[[[0, 0], [640, 0], [640, 120], [0, 120]]]")
    _save(dialog, qtbot)
    assert dialog.result() == QDialog.DialogCode.Accepted
    stored = project_by_name(db, "Bus stop")
    assert stored.ignore_regions == [[[0.0, 0.0], [640.0, 0.0], [640.0, 120.0], [0.0, 120.0]]]

    again = ProjectDialog(db, stored.id)
    qtbot.addWidget(again)
    assert again.fields().ignore_regions == stored.ignore_regions
