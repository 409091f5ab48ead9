"""Where each area plugs its workspace tab and actions into the main window.

Each area's module has ``install(window)``, which adds its tab, menu actions and signal connections.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vru_desktop.ui.main_window import MainWindow

#: Modules with an ``install(window: MainWindow) -> None`` function, in tab order.
WORKSPACE_MODULES: tuple[str, ...] = (
    "vru_desktop.ui.viewer.workspace",
    "vru_desktop.ui.runs.workspace",
    "vru_desktop.ui.datasets.workspace",
    "vru_desktop.ui.datasets.actions",
    "vru_desktop.ui.evaluation.workspace",
    "vru_desktop.ui.campaigns.workspace",
)


def install_all(window: MainWindow) -> None:
    for name in WORKSPACE_MODULES:
        importlib.import_module(name).install(window)
