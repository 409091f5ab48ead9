"""The ignore regions of the open video's project: drawn as polygons on the picture (key I), listed in
the objects panel, stored on the project (validated as the project form does)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from vru_desktop.errors import VruError
from vru_desktop.library.projects import set_ignore_regions, video_ignore_regions
from vru_desktop.ui.viewer.region_drawing import Polygon

if TYPE_CHECKING:
    from vru_desktop.ui.viewer.workspace import ViewerWorkspace


class IgnoreRegions(QObject):
    """``polygons``: the regions of ``project_id``, the project ``viewer``'s open video is in."""

    def __init__(self, viewer: ViewerWorkspace) -> None:
        super().__init__(viewer)
        self.viewer = viewer
        self.project_id: int | None = None
        self.polygons: list[Polygon] = []
        viewer.view.regions.polygonDrawn.connect(self.add)

    def load(self, video_id: int) -> None:
        """Read and draw the ignore regions of the project ``video_id`` is in now."""
        self.project_id, regions = video_ignore_regions(self.viewer.db, video_id)
        self._show(regions)

    def clear(self) -> None:
        self.project_id, self.polygons = None, []
        self.viewer.view.regions.set_regions([])

    def _show(self, regions: list[Polygon]) -> None:
        self.polygons = [[(float(x), float(y)) for x, y in polygon] for polygon in regions]
        self.viewer.view.regions.set_regions(self.polygons)
        self.viewer.refresh_overlay()

    def _store(self, regions: list[Polygon]) -> bool:
        """Save ``regions`` as the project's ignore regions."""
        if self.project_id is None:
            self.viewer.show_status("This video is in no project: move it to one to give it ignore regions.")
            return False
        try:
            self._show(set_ignore_regions(self.viewer.db, self.project_id, regions))
        except VruError as exc:
            self.viewer.show_status(str(exc))
            return False
        return True

    def add(self, polygon: Polygon) -> None:
        if self._store([*self.polygons, polygon]):
            self.viewer.view.regions.select(len(self.polygons) - 1)
            self.viewer.show_view_selection()
            self.viewer.show_status(
                f"Ignore region {len(self.polygons)} saved on the project: evaluation leaves out boxes"
                " and detections whose centre lies in it."
            )

    def delete(self, index: int) -> None:
        if 0 <= index < len(self.polygons) and self._store(
            [polygon for number, polygon in enumerate(self.polygons) if number != index]
        ):
            self.viewer.view.regions.select(None)
            self.viewer.show_status(f"Ignore region {index + 1} removed from the project.")

    def clear_all(self) -> None:
        if not self.polygons:
            return
        answer = QMessageBox.question(
            self.viewer,
            "Clear ignore regions",
            f"Remove all {len(self.polygons)} ignore regions of this video's project? This cannot be undone.",
        )
        if answer == QMessageBox.StandardButton.Yes and self._store([]):
            self.viewer.show_status("Ignore regions cleared.")
