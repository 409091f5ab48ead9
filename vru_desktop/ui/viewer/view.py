"""The frame view: one frame as a pixmap in a QGraphicsScene, boxes over it, zoom, pan, box drawing.

Scene coordinates are the frame's pixel coordinates, so a box at ``x1, y1, x2, y2`` covers the same
pixels at every zoom. Wheel zooms around the mouse; the middle button (or Alt + left button) pans.
A click on a box selects it (Ctrl adds to the selection) and, on a ground-truth box, starts moving
it; dragging on an empty spot draws a new box. A locked box cannot be selected by the mouse.

The project's ignore regions and polygon mode, where clicks add the vertices of a new region, are
drawn by :mod:`~vru_desktop.ui.viewer.region_drawing`.

Brightness and contrast change only the picture on screen, never the frames read or stored.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QHelpEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QToolTip,
    QWidget,
)

from vru_desktop.ui.viewer.overlay import ANNOTATION, MIN_BOX_PX, BoxItem, OverlayBox, OverlayLayer
from vru_desktop.ui.viewer.region_drawing import RegionDrawing

ZOOM_STEP = 1.25
ZOOM_RANGE = (0.05, 40.0)
#: Brightness is added to every pixel value (-100…100); contrast scales around mid-grey (0.2…3).
BRIGHTNESS_RANGE, CONTRAST_RANGE = (-100, 100), (0.2, 3.0)


def image_from_bgr(image: np.ndarray) -> QImage:
    """A QImage over a BGR ``uint8`` array (copied, so the array may be reused)."""
    height, width = image.shape[:2]
    data = np.ascontiguousarray(image)
    return QImage(data.data, width, height, data.strides[0], QImage.Format.Format_BGR888).copy()


def adjusted_image(image: QImage, brightness: float, contrast: float) -> QImage:
    """A copy of ``image`` with ``(v - 128) * contrast + 128 + brightness`` on every colour channel."""
    lut = np.clip((np.arange(256) - 128.0) * contrast + 128.0 + brightness, 0, 255).astype(np.uint8)
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    shown = np.ascontiguousarray(lut[pixels[:, : rgb.width() * 3]])
    return QImage(shown.data, rgb.width(), rgb.height(), shown.strides[0], QImage.Format.Format_RGB888).copy()


class FrameView(QGraphicsView):
    """Shows one frame and the overlay items. Emits ``boxDrawn(QRectF)`` in frame pixels."""

    boxDrawn = Signal(QRectF)
    #: A selected ground-truth box was moved or resized: its annotation id and new box.
    boxEdited = Signal(int, tuple)
    zoomChanged = Signal(float)
    #: The selected boxes or region changed (by the mouse, :meth:`select_keys` or ``regions.select``).
    selectionChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("frameView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setBackgroundBrush(QColor(32, 32, 32))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pixmap_item = QGraphicsPixmapItem()
        self.pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.pixmap_item.setZValue(0)
        # Redrawing the boxes reuses the frame scaled to the screen instead of scaling it again.
        self.pixmap_item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.scene().addItem(self.pixmap_item)
        self.message_item = QGraphicsSimpleTextItem()
        self.message_item.setBrush(QColor("white"))
        self.message_item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.message_item.setZValue(10)
        self.message_item.hide()
        self.scene().addItem(self.message_item)
        self.layer = OverlayLayer()
        self.scene().addItem(self.layer)
        self.overlay_boxes: list[OverlayBox] = []
        self.selected_items: list[BoxItem] = []
        self._selected: set[tuple[str, int | None]] = set()
        self.labels_shown = True
        self.fit_mode = True
        self._frame_size = (0, 0)
        self._rubber: QGraphicsRectItem | None = None
        self._rubber_start = QPointF()
        self._pan_start: QPointF | None = None
        #: Dragging on an empty spot draws a box (off while playing).
        self.drawing_enabled = True
        #: Boxes (overlay keys) the mouse cannot select, move or delete.
        self.locked: set[tuple[str, int | None]] = set()
        #: The ignore regions drawn, and polygon mode.
        self.regions = RegionDrawing(self)
        self.regions.selectionChanged.connect(self.selectionChanged)
        self.brightness, self.contrast = 0.0, 1.0
        self._image = QImage()

    # -- the frame ------------------------------------------------------------------------------
    def frame_rect(self) -> QRectF:
        return QRectF(0, 0, *self._frame_size)

    def set_frame_size(self, width: int, height: int) -> None:
        if (width, height) != self._frame_size:
            self._frame_size = (width, height)
            self.scene().setSceneRect(QRectF(0, 0, width, height))
            if self.fit_mode:
                self.zoom_fit()

    def show_image(self, image: QImage) -> None:
        """Show a decoded frame (clears any frame message)."""
        self.message_item.hide()
        self._image = image
        self._show_pixels()
        self.set_frame_size(image.width(), image.height())

    def _show_pixels(self) -> None:
        image = self._image
        if (self.brightness, self.contrast) != (0.0, 1.0) and not image.isNull():
            image = adjusted_image(image, self.brightness, self.contrast)
        self.pixmap_item.setPixmap(QPixmap.fromImage(image))

    def set_display_adjustment(self, brightness: float, contrast: float) -> None:
        """Brightness and contrast of the picture on screen (``0, 1``: as decoded)."""
        self.brightness = float(min(max(brightness, BRIGHTNESS_RANGE[0]), BRIGHTNESS_RANGE[1]))
        self.contrast = float(min(max(contrast, CONTRAST_RANGE[0]), CONTRAST_RANGE[1]))
        if not self.message_item.isVisible():
            self._show_pixels()

    def show_message(self, text: str) -> None:
        """A frame that cannot be shown: a dark frame with ``text`` drawn on it."""
        width, height = self._frame_size if self._frame_size != (0, 0) else (640, 360)
        blank = QPixmap(width, height)
        blank.fill(QColor(20, 20, 20))
        self._image = QImage()
        self.pixmap_item.setPixmap(blank)
        self.set_frame_size(width, height)
        self.message_item.setText(text)
        self.message_item.setPos(width * 0.05, height * 0.45)
        self.message_item.show()

    def shown_image(self) -> QImage:
        """The frame currently shown, as an image (what a person sees under the boxes)."""
        return self.pixmap_item.pixmap().toImage()

    def message(self) -> str | None:
        return self.message_item.text() if self.message_item.isVisible() else None

    # -- overlay --------------------------------------------------------------------------------
    def set_overlay(self, boxes: list[OverlayBox], locked: set[tuple[str, int | None]] | None = None) -> None:
        """Draw ``boxes``; the selection is kept for boxes that are still there and not ``locked``."""
        self.overlay_boxes = list(boxes)
        self.locked = set(locked or ())
        present = {box.key for box in boxes} - self.locked
        self._set_selected(self._selected & present)

    def _set_selected(self, keys: set[tuple[str, int | None]]) -> None:
        changed = keys != self._selected
        self._selected = keys
        self._rebuild()
        if changed:
            self.selectionChanged.emit()

    def _rebuild(self) -> None:
        scene = self.scene()
        for item in self.selected_items:
            scene.removeItem(item)
        self.layer.set_boxes(
            [b for b in self.overlay_boxes if b.key not in self._selected],
            self.frame_rect(),
            labels=self.labels_shown,
        )
        self.selected_items = [
            BoxItem(box, on_edited=self._on_item_edited, bounds=self.frame_rect())
            for box in self.overlay_boxes
            if box.key in self._selected
        ]
        for item in self.selected_items:
            scene.addItem(item)

    def set_labels_shown(self, shown: bool) -> None:
        """Labels of unselected boxes on or off (a selected box keeps its label)."""
        self.labels_shown = shown
        self._rebuild()

    def _on_item_edited(self, item: BoxItem, box: tuple[float, float, float, float]) -> None:
        if item.item_id is not None:
            self.boxEdited.emit(item.item_id, box)

    def boxes(self, kind: str) -> list[OverlayBox]:
        return [box for box in self.overlay_boxes if box.kind == kind]

    def select(self, kind: str, ids: list[int], *, add: bool = False) -> None:
        keys = {(kind, item_id) for item_id in ids}
        self.select_keys((self._selected | keys) if add else keys)

    def select_keys(self, keys: set[tuple[str, int | None]]) -> None:
        """Select the boxes of ``keys`` that are drawn and not locked (and only those)."""
        self._set_selected(set(keys) & {box.key for box in self.overlay_boxes} - self.locked)

    def selected_keys(self) -> set[tuple[str, int | None]]:
        return set(self._selected)

    def toggle_selected(self, box: OverlayBox) -> None:
        self._set_selected(self._selected ^ {box.key})

    def clear_selection(self) -> None:
        if self._selected:
            self._set_selected(set())

    def selected_ids(self, kind: str) -> list[int]:
        return [
            box.item_id
            for box in self.overlay_boxes
            if box.kind == kind and box.key in self._selected and box.item_id is not None
        ]

    def box_at(self, point: QPointF) -> OverlayBox | None:
        """The smallest selectable box under ``point`` (frame pixels); ground truth wins a tie."""
        hits = [
            box
            for box in self.overlay_boxes
            if box.item_id is not None and box.key not in self.locked and box.rect().contains(point)
        ]
        if not hits:
            return None
        return min(hits, key=lambda b: (b.rect().width() * b.rect().height(), b.kind != ANNOTATION))

    def viewportEvent(self, event: QEvent) -> bool:
        """Resting the mouse on a box shows its label (crowded labels are left out of the picture)."""
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            box = self.box_at(self.mapToScene(event.pos()))
            if box is not None and box.label:
                QToolTip.showText(event.globalPos(), box.label, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    # -- ignore regions and polygon mode --------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.regions.key_pressed(event.key()):
            event.accept()
        else:
            super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.regions.polygon_mode and event.button() == Qt.MouseButton.LeftButton:
            self.regions.close_polygon()  # the first click of the double-click placed the last point
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # -- zoom and pan ---------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_fit(self) -> None:
        self.fit_mode = True
        if self._frame_size != (0, 0):
            self.fitInView(self.frame_rect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoomChanged.emit(self.zoom())

    def zoom_actual(self) -> None:
        self.fit_mode = False
        self.resetTransform()
        self.zoomChanged.emit(self.zoom())

    def zoom_by(self, factor: float) -> None:
        target = min(max(self.zoom() * factor, ZOOM_RANGE[0]), ZOOM_RANGE[1])
        self.fit_mode = False
        self.scale(target / self.zoom(), target / self.zoom())
        self.zoomChanged.emit(self.zoom())

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        if self.fit_mode:
            self.zoom_fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom around the mouse: the frame pixel under it stays under it."""
        steps = event.angleDelta().y() / 120
        if steps:
            mouse = event.position().toPoint()
            anchor = self.mapToScene(mouse)
            self.zoom_by(ZOOM_STEP**steps)
            shift = self.mapFromScene(anchor) - mouse
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + shift.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + shift.y())
        event.accept()

    # -- mouse: pan and draw --------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pan = event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton
            and event.modifiers() & Qt.KeyboardModifier.AltModifier
        )
        if pan:
            self._pan_start = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton or self._frame_size == (0, 0):
            super().mousePressEvent(event)
            return
        if self.regions.polygon_mode:
            self.regions.add_point(self._clamp(self.mapToScene(event.position().toPoint())))
            event.accept()
            return
        self.regions.select(None)  # a click on the picture selects boxes (regions: in the objects panel)
        add = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        item = self.itemAt(event.position().toPoint())
        selected = item if isinstance(item, BoxItem) else None
        if item is not None and isinstance(item.parentItem(), BoxItem):
            selected = item.parentItem()  # type: ignore[assignment]
        if selected is not None and selected.editable and not add:
            super().mousePressEvent(event)  # move or resize the selected box
            return
        hit = self.box_at(self.mapToScene(event.position().toPoint()))
        if hit is not None:
            if add:
                self.toggle_selected(hit)
            else:
                self.select(hit.kind, [hit.item_id] if hit.item_id is not None else [])
                super().mousePressEvent(event)  # a ground-truth box can be dragged at once
            event.accept()
            return
        if self.drawing_enabled:
            self.clear_selection()
            self._rubber_start = self._clamp(self.mapToScene(event.position().toPoint()))
            self._rubber = QGraphicsRectItem(QRectF(self._rubber_start, self._rubber_start))
            pen = QPen(QColor("yellow"), 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber.setPen(pen)
            self._rubber.setZValue(9)
            self.scene().addItem(self._rubber)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_start is not None:
            delta = event.position() - self._pan_start
            self._pan_start = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        if self._rubber is not None:
            end = self._clamp(self.mapToScene(event.position().toPoint()))
            self._rubber.setRect(QRectF(self._rubber_start, end).normalized())
            event.accept()
            return
        regions = self.regions
        if regions.polygon_mode and regions.polygon_points:
            regions.set_points(
                regions.polygon_points, self._clamp(self.mapToScene(event.position().toPoint()))
            )
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_start is not None:
            self._pan_start = None
            self.viewport().unsetCursor()
            event.accept()
            return
        if self._rubber is not None:
            end = self._clamp(self.mapToScene(event.position().toPoint()))
            rect = QRectF(self._rubber_start, end).normalized()
            self.scene().removeItem(self._rubber)
            self._rubber = None
            event.accept()
            if rect.width() >= MIN_BOX_PX and rect.height() >= MIN_BOX_PX:
                self.boxDrawn.emit(rect)
            return
        super().mouseReleaseEvent(event)

    def _clamp(self, point: QPointF) -> QPointF:
        width, height = self._frame_size
        return QPointF(min(max(point.x(), 0.0), float(width)), min(max(point.y(), 0.0), float(height)))
