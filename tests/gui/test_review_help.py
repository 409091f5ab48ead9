"""Help → Keyboard Shortcuts lists every key of the window; the Edit menu names the project's classes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from vru_desktop.library.importer import Assignment, import_paths
from vru_desktop.library.projects import ProjectFields, create_project
from vru_desktop.settings import resolve_locations
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.shortcuts_dialog import ShortcutsDialog


def _window(qtbot, db, data_dir: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    return window


def test_keyboard_shortcuts_lists_every_key(qtbot, db, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot, db, data_dir)
    assert window.shortcuts_action in window.menu("&Help").actions()
    window.shortcuts_action.trigger()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None and dialog.isVisible()
    rows = dialog.rows()
    listed = {keys for keys, _action, _where in rows}
    native = QKeySequence.SequenceFormat.NativeText
    every = {
        s.toString(native)
        for action in window.findChildren(QAction)
        for s in action.shortcuts()
        if not s.isEmpty()
    }
    assert len(every) > 50 and every <= {k for keys in listed for k in keys.split(", ")}
    by_keys = {keys: (what, where) for keys, what, where in rows}
    assert by_keys["Shift+A"] == ("Accept All Detections on Frame", "Edit")
    assert by_keys["L"] == ("Show Labels", "Video")
    assert by_keys["Ctrl+Shift+M"] == ("Move to Project", "Video")
    assert ("Wheel", "Zoom around the mouse", "Viewer (mouse)") in rows
    dialog.filter.setText("review")
    assert {what for _k, what, _w in dialog.rows()} == {"Mark Frame Reviewed"}
    dialog.close()
    QApplication.processEvents()


def test_edit_menu_names_the_projects_classes(qtbot, db, data_dir: Path, make_video) -> None:  # type: ignore[no-untyped-def]
    fields = ProjectFields(
        name="Campus", camera_model="m", camera_view="front", signal_type="video",
        vru_classes=["pedestrian", "cyclist", "skateboarder"],
    )  # fmt: skip
    campus = create_project(db, fields).id
    [outcome] = import_paths(db, [make_video("c.mp4", 5)], assignment=Assignment(explicit_project_id=campus))
    window = _window(qtbot, db, data_dir)

    def class_entries() -> list[tuple[str, str]]:
        return [
            (a.text(), a.shortcut().toString())
            for a in window.menu("&Edit").actions()
            if a.isVisible() and a.text().startswith("Class")
        ]

    assert class_entries()[:2] == [("Class 1: pedestrian", "1"), ("Class 2: cyclist", "2")]
    assert all(":" in text for text, _ in class_entries()), "no bare 'Class 1' … 'Class 9'"
    window.library.select_project(campus)
    assert class_entries() == [
        ("Class 1: pedestrian", "1"),
        ("Class 2: cyclist", "2"),
        ("Class 3: skateboarder", "3"),
    ]
    window.videoActivated.emit(outcome.video_id)
    assert class_entries()[2] == ("Class 3: skateboarder", "3")
