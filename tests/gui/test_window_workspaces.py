"""The workspaces the areas install are declared attributes of the main window."""

from __future__ import annotations

from pathlib import Path

from vru_desktop.settings import resolve_locations
from vru_desktop.ui.evaluation.workspace import EvaluationWorkspace
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.runs.workspace import DetectionWorkspace
from vru_desktop.ui.viewer.workspace import ViewerWorkspace


def test_installed_workspaces_are_the_declared_attributes(db, data_dir: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    declared = MainWindow.__annotations__
    assert {name: declared[name] for name in ("viewer", "detection", "evaluation")} == {
        "viewer": "ViewerWorkspace",
        "detection": "DetectionWorkspace",
        "evaluation": "EvaluationWorkspace",
    }
    window = MainWindow(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(window)
    assert isinstance(window.viewer, ViewerWorkspace)
    assert isinstance(window.detection, DetectionWorkspace)
    assert isinstance(window.evaluation, EvaluationWorkspace)
    window.close()
