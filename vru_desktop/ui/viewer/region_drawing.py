"""Ignore regions on the frame view: drawn translucent under the boxes, one of them selected, and
polygon mode, where clicks add the vertices of a new region (Enter or a double-click closes it, Esc
drops it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPolygonItem

if TYPE_CHECKING:
    from vru_desktop.ui.viewer.view import FrameView

REGION_COLOR = QColor(255, 64, 160)

Polygon = list[tuple[float, float]]


class RegionDrawing(QObject):
    """The regions drawn on ``view``. ``selectionChanged()`` when another region is selected;
    ``polygonDrawn(points)`` when a polygon is closed in polygon mode; ``modeChanged(on)``."""

    selectionChanged = Signal()
    polygonDrawn = Signal(list)
    modeChanged = Signal(bool)

    def __init__(self, view: FrameView) -> None:
        super().__init__(view)
        self.view = view
        self.items: list[QGraphicsPolygonItem] = []
        self.selected: int | None = None
        self.polygon_mode = False
        self.polygon_points: Polygon = []
        self.polygon_item: QGraphicsPathItem | None = None

    def set_regions(self, regions: list[Polygon]) -> None:
        """Draw the ignore regions ``regions`` (polygons in frame pixels), translucent under the boxes."""
        scene = self.view.scene()
        for item in self.items:
            scene.removeItem(item)
        self.items = []
        for polygon in regions:
            item = QGraphicsPolygonItem(QPolygonF([QPointF(x, y) for x, y in polygon]))
            item.setZValue(1)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            scene.addItem(item)
            self.items.append(item)
        if self.selected is not None and self.selected >= len(regions):
            self.selected = None
        self._style()

    def select(self, index: int | None) -> None:
        changed = index != self.selected
        self.selected = index
        self._style()
        if changed:
            self.selectionChanged.emit()

    def _style(self) -> None:
        for number, item in enumerate(self.items):
            selected = number == self.selected
            fill = QColor(REGION_COLOR)
            fill.setAlpha(110 if selected else 60)
            pen = QPen(QColor("white") if selected else REGION_COLOR, 3.0 if selected else 1.5)
            pen.setCosmetic(True)
            item.setBrush(fill)
            item.setPen(pen)

    def set_polygon_mode(self, on: bool) -> None:
        """Clicks add the vertices of an ignore region (on) or select and draw boxes (off)."""
        if on == self.polygon_mode:
            return
        self.polygon_mode = on
        self.set_points([])
        viewport = self.view.viewport()
        if on:
            viewport.setCursor(Qt.CursorShape.CrossCursor)
            viewport.setMouseTracking(True)
        else:
            viewport.unsetCursor()
        self.modeChanged.emit(on)

    def set_points(self, points: Polygon, mouse: QPointF | None = None) -> None:
        """The polygon in progress: its points, and an edge on to the mouse while it moves."""
        self.polygon_points = points
        if self.polygon_item is None:
            self.polygon_item = QGraphicsPathItem()
            pen = QPen(QColor("yellow"), 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self.polygon_item.setPen(pen)
            self.polygon_item.setZValue(9)
            self.view.scene().addItem(self.polygon_item)
        path = QPainterPath()
        if points:
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in points] + ([mouse] if mouse else [])))
            size = 4 / max(self.view.zoom(), 1e-6)
            for x, y in points:
                path.addEllipse(QPointF(x, y), size, size)
        self.polygon_item.setPath(path)

    def add_point(self, point: QPointF) -> None:
        self.set_points([*self.polygon_points, (point.x(), point.y())])

    def close_polygon(self) -> None:
        """End the polygon being drawn: reported with ``polygonDrawn`` when it has three points."""
        points = self.polygon_points
        self.set_polygon_mode(False)
        if len(points) >= 3:
            self.polygonDrawn.emit(points)

    def key_pressed(self, key: int) -> bool:
        """Enter closes the polygon being drawn, Esc drops it; ``False``: the key is not for polygon mode."""
        if self.polygon_mode and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.close_polygon()
        elif self.polygon_mode and key == Qt.Key.Key_Escape:
            self.set_polygon_mode(False)
        else:
            return False
        return True
