"""Graphics items drawn over the frame, in the frame's pixel coordinates (so they follow zoom and pan).

* :class:`BoxItem` — a ground-truth box (solid, class colour), a detection (dashed, with confidence)
  or a highlight (thick, dash-dot, white on black). Labels keep their screen size at any zoom.
* A selected ground-truth box shows eight handles; dragging inside moves it, dragging a handle
  resizes it. The new box is reported once, when the mouse is released.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from vru_desktop.annotations.colors import color_of
from vru_desktop.annotations.views import AnnotationView, DetectionView

Box = tuple[float, float, float, float]

ANNOTATION, DETECTION, HIGHLIGHT = "annotation", "detection", "highlight"
HANDLE_PX = 8.0
MIN_BOX_PX = 2.0
LABEL_FONT = QFont()
LABEL_FONT.setPointSize(9)


def _label_text(view: AnnotationView | DetectionView) -> str:
    parts = [view.vru_type.replace("_", " ")]
    if view.track_id is not None:
        parts.append(f"#{view.track_id}")
    if isinstance(view, DetectionView):
        parts.append(f"{view.confidence:.2f}")
        if view.review:
            parts.append(view.review)
    else:
        flags = "".join(
            mark
            for mark, on in (("✓", view.validated), ("occl", view.occluded), ("trunc", view.truncated))
            if on
        )
        if flags:
            parts.append(flags)
        if not view.is_keyframe:
            parts.append("(interp.)")
    return " ".join(parts)


class _Label(QGraphicsSimpleTextItem):
    """A label with a filled background that keeps its size on screen."""

    def __init__(self, text: str, color: QColor, parent: QGraphicsItem) -> None:
        super().__init__(text, parent)
        self.setFont(LABEL_FONT)
        self.setBrush(QBrush(QColor("black") if color.lightness() > 140 else QColor("white")))
        self._background = color
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.fillRect(self.boundingRect().adjusted(-2, -1, 2, 1), self._background)
        super().paint(painter, option, widget)


class BoxItem(QGraphicsRectItem):
    """One box over the frame. ``kind`` is ANNOTATION, DETECTION or HIGHLIGHT."""

    def __init__(
        self,
        kind: str,
        box: Box,
        *,
        color: str,
        label: str,
        item_id: int | None = None,
        on_edited: Callable[[BoxItem, Box], None] | None = None,
        bounds: QRectF | None = None,
    ) -> None:
        super().__init__(QRectF(QPointF(box[0], box[1]), QPointF(box[2], box[3])).normalized())
        self.kind = kind
        self.item_id = item_id
        self._on_edited = on_edited
        self._bounds = bounds
        self._color = QColor(color)
        self._drag: tuple[str, QPointF, QRectF] | None = None
        pen = QPen(self._color, 2.0)
        pen.setCosmetic(True)
        if kind == DETECTION:
            pen.setStyle(Qt.PenStyle.DashLine)
        elif kind == HIGHLIGHT:
            pen = QPen(QColor("white"), 4.0, Qt.PenStyle.DashDotLine)
            pen.setCosmetic(True)
        self.setPen(pen)
        self.setZValue({ANNOTATION: 3, DETECTION: 2, HIGHLIGHT: 4}[kind])
        if kind != HIGHLIGHT:
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        if kind == ANNOTATION:
            self.setAcceptHoverEvents(True)
        self.label = _Label(label, self._color if kind != HIGHLIGHT else QColor("white"), self)
        self._place_label()

    @classmethod
    def for_annotation(
        cls, view: AnnotationView, on_edited: Callable[[BoxItem, Box], None], bounds: QRectF
    ) -> BoxItem:
        return cls(
            ANNOTATION,
            view.box,
            color=color_of(view.vru_type),
            label=_label_text(view),
            item_id=view.id,
            on_edited=on_edited,
            bounds=bounds,
        )

    @classmethod
    def for_detection(cls, view: DetectionView) -> BoxItem:
        item = cls(
            DETECTION, view.box, color=color_of(view.vru_type), label=_label_text(view), item_id=view.id
        )
        if view.review == "rejected":
            item.setOpacity(0.45)
        return item

    def box(self) -> Box:
        rect = self.rect()
        return (rect.left(), rect.top(), rect.right(), rect.bottom())

    def label_text(self) -> str:
        return self.label.text()

    def _place_label(self) -> None:
        self.label.setPos(self.rect().topLeft())
        # Above the box on screen: move up by the label's height in device pixels (zoom independent).
        self.label.setTransform(QTransform.fromTranslate(0, -self.label.boundingRect().height() - 1))

    # -- painting -------------------------------------------------------------------------------
    def _scale(self) -> float:
        views = self.scene().views() if self.scene() is not None else []
        return views[0].transform().m11() if views else 1.0

    def _handles(self) -> dict[str, QRectF]:
        rect = self.rect()
        size = HANDLE_PX / max(self._scale(), 1e-6)
        points = {
            "tl": rect.topLeft(),
            "t": QPointF(rect.center().x(), rect.top()),
            "tr": rect.topRight(),
            "r": QPointF(rect.right(), rect.center().y()),
            "br": rect.bottomRight(),
            "b": QPointF(rect.center().x(), rect.bottom()),
            "bl": rect.bottomLeft(),
            "l": QPointF(rect.left(), rect.center().y()),
        }
        return {name: QRectF(p.x() - size / 2, p.y() - size / 2, size, size) for name, p in points.items()}

    def boundingRect(self) -> QRectF:
        margin = HANDLE_PX / max(self._scale(), 1e-6)
        return super().boundingRect().adjusted(-margin, -margin, margin, margin)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.boundingRect() if self.isSelected() else self.rect())
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        selected = self.isSelected()
        if self.kind == HIGHLIGHT:
            under = QPen(QColor("black"), 6.0)
            under.setCosmetic(True)
            painter.setPen(under)
            painter.drawRect(self.rect())
        pen = QPen(self.pen())
        if selected:
            pen.setWidthF(3.0)
        painter.setPen(pen)
        fill = QColor(self._color)
        fill.setAlpha(50 if selected else 0)
        painter.setBrush(fill)
        painter.drawRect(self.rect())
        if selected and self.kind == ANNOTATION:
            painter.setPen(QPen(QColor("black"), 0))
            painter.setBrush(QColor("white"))
            for handle in self._handles().values():
                painter.drawRect(handle)

    # -- editing --------------------------------------------------------------------------------
    def handle_at(self, pos: QPointF) -> str | None:
        for name, rect in self._handles().items():
            if rect.contains(pos):
                return name
        return None

    def hoverMoveEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        handle = self.handle_at(event.pos()) if self.isSelected() else None
        cursors = {
            "tl": Qt.CursorShape.SizeFDiagCursor,
            "br": Qt.CursorShape.SizeFDiagCursor,
            "tr": Qt.CursorShape.SizeBDiagCursor,
            "bl": Qt.CursorShape.SizeBDiagCursor,
            "t": Qt.CursorShape.SizeVerCursor,
            "b": Qt.CursorShape.SizeVerCursor,
            "l": Qt.CursorShape.SizeHorCursor,
            "r": Qt.CursorShape.SizeHorCursor,
        }
        self.setCursor(cursors.get(handle or "", Qt.CursorShape.SizeAllCursor))
        super().hoverMoveEvent(event)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.kind == ANNOTATION and event.button() == Qt.MouseButton.LeftButton:
            handle = self.handle_at(event.pos()) if self.isSelected() else None
            if not (event.modifiers() & Qt.KeyboardModifier.ControlModifier):
                self.scene().clearSelection()
            self.setSelected(True)
            self._drag = (handle or "move", event.scenePos(), QRectF(self.rect()))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None:
            super().mouseMoveEvent(event)
            return
        mode, start, original = self._drag
        delta = event.scenePos() - start
        rect = QRectF(original)
        if mode == "move":
            rect.translate(delta)
            if self._bounds is not None:
                rect.moveLeft(min(max(rect.left(), self._bounds.left()), self._bounds.right() - rect.width()))
                rect.moveTop(min(max(rect.top(), self._bounds.top()), self._bounds.bottom() - rect.height()))
        else:
            if "l" in mode:
                rect.setLeft(rect.left() + delta.x())
            if "r" in mode:
                rect.setRight(rect.right() + delta.x())
            if "t" in mode:
                rect.setTop(rect.top() + delta.y())
            if "b" in mode:
                rect.setBottom(rect.bottom() + delta.y())
            rect = rect.normalized()
            if self._bounds is not None:
                rect = rect.intersected(self._bounds)
        self.prepareGeometryChange()
        self.setRect(rect)
        self._place_label()
        event.accept()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None:
            super().mouseReleaseEvent(event)
            return
        _, _, original = self._drag
        self._drag = None
        rect = self.rect()
        event.accept()
        if rect == original:
            return
        if rect.width() < MIN_BOX_PX or rect.height() < MIN_BOX_PX:
            self.setRect(original)
            self._place_label()
            return
        if self._on_edited is not None:
            self._on_edited(self, self.box())
