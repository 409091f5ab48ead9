"""What is drawn over the frame, in the frame's pixel coordinates (so it follows zoom and pan).

* :class:`OverlayBox` — one box to draw: a ground-truth box (solid, class colour, label on a filled
  tag), a detection (thin dashes in a light tint of the class colour, label as tinted text on a dark
  tag, with its confidence; faded once rejected) or a highlight (thick white dash-dot on black).
* :class:`OverlayLayer` — one graphics item that paints every box that is not selected, grouped by
  pen into a few ``drawRects`` calls, and their labels at a constant screen size, laid out so that
  no two overlap (:func:`place_labels`); a label with no free place is left out and shown when the
  mouse rests on its box. Two hundred boxes cost one Python call per repaint rather than two hundred
  items.
* :class:`BoxItem` — a selected box, as its own item: eight handles on a ground-truth box; dragging
  inside moves it, dragging a handle resizes it; the new box is reported once, on release.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from vru_desktop.annotations.colors import color_of
from vru_desktop.annotations.views import AnnotationView, DetectionView
from vru_desktop.evaluation.protocols import OCCLUSION_LEVELS
from vru_desktop.store.models import Review

Box = tuple[float, float, float, float]

ANNOTATION, DETECTION, HIGHLIGHT = "annotation", "detection", "highlight"
HANDLE_PX = 8.0
MIN_BOX_PX = 2.0
LABEL_FONT = QFont()
LABEL_FONT.setPixelSize(12)
#: Detections are drawn in the class hue mixed this far towards white.
DETECTION_TINT = 0.55
DETECTION_TAG = QColor(0, 0, 0, 185)
_STYLES = {
    ANNOTATION: Qt.PenStyle.SolidLine,
    DETECTION: Qt.PenStyle.DashLine,
    HIGHLIGHT: Qt.PenStyle.DashDotLine,
}
_CURSORS = {
    "tl": Qt.CursorShape.SizeFDiagCursor,
    "br": Qt.CursorShape.SizeFDiagCursor,
    "tr": Qt.CursorShape.SizeBDiagCursor,
    "bl": Qt.CursorShape.SizeBDiagCursor,
    "t": Qt.CursorShape.SizeVerCursor,
    "b": Qt.CursorShape.SizeVerCursor,
    "l": Qt.CursorShape.SizeHorCursor,
    "r": Qt.CursorShape.SizeHorCursor,
}


def _label_text(view: AnnotationView | DetectionView) -> str:
    parts = [view.vru_type.replace("_", " ")]
    if view.track_id is not None:
        parts.append(f"#{view.track_id}")
    if isinstance(view, DetectionView):
        parts.append(f"{view.confidence:.2f}")
        if view.review:
            parts.append(view.review)
    else:
        if view.validated:
            parts.append("✓")
        if view.occlusion is not None:
            parts.append(f"occl {OCCLUSION_LEVELS[view.occlusion]}")
        elif view.occluded:
            parts.append("occl")
        if view.truncation is not None and view.truncation > 0:
            parts.append(f"trunc {view.truncation:.2f}")
        elif view.truncated:
            parts.append("trunc")
        if view.visibility is not None and view.visibility < 1:
            parts.append(f"vis {view.visibility:.2f}")
        if view.ignore:
            parts.append("ignore")
        if not view.is_keyframe:
            parts.append("(interp.)")
    return " ".join(parts)


@dataclass(frozen=True)
class OverlayBox:
    """One box over the frame, with its label. ``item_id``: the annotation or detection id."""

    kind: str
    item_id: int | None
    box: Box
    color: str
    label: str
    faded: bool = False

    @property
    def style(self) -> Qt.PenStyle:
        return _STYLES[self.kind]

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.kind, self.item_id)

    def rect(self) -> QRectF:
        return QRectF(QPointF(self.box[0], self.box[1]), QPointF(self.box[2], self.box[3])).normalized()

    @classmethod
    def of_annotation(cls, view: AnnotationView) -> OverlayBox:
        return cls(ANNOTATION, view.id, view.box, color_of(view.vru_type), _label_text(view))

    @classmethod
    def of_detection(cls, view: DetectionView) -> OverlayBox:
        return cls(
            DETECTION,
            view.id,
            view.box,
            detection_color(view.vru_type),
            _label_text(view),
            faded=view.review == Review.REJECTED,
        )

    @classmethod
    def highlight(cls, box: Box, label: str) -> OverlayBox:
        return cls(HIGHLIGHT, None, box, "#ffffff", label)


def detection_color(vru_type: str) -> str:
    """A detection's colour: its class hue, lightened, so it never passes for a ground-truth box."""
    base = QColor(color_of(vru_type))
    mixed = [round(c + (255 - c) * DETECTION_TINT) for c in (base.red(), base.green(), base.blue())]
    return QColor(*mixed).name()


def _pen(color: QColor, width: float, style: Qt.PenStyle) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


def _colors(box: OverlayBox) -> tuple[QColor, QColor]:
    """Label background and text colour of a box: ground truth on a filled tag of its colour,
    detections in their colour on a dark tag."""
    line = QColor(box.color)
    if box.faded:
        line.setAlpha(110)
    if box.kind == DETECTION:
        return QColor(DETECTION_TAG), line
    text = QColor("black") if line.lightness() > 140 else QColor("white")
    return line, text


def _line_width(box: OverlayBox) -> float:
    return {HIGHLIGHT: 4.0, DETECTION: 1.5}.get(box.kind, 2.0)


def place_labels(anchors: list[tuple[QRectF, float]], frame: QRectF, height: float) -> list[QRectF | None]:
    """Screen rectangles for labels, none overlapping another: each tries above its box, inside its
    top, below it, then inside its bottom (kept within ``frame``); ``None`` where all are taken.
    ``anchors``: each box's screen rectangle and label width, in drawing priority order."""
    cell = 64.0
    grid: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
    left, top, right, bottom = frame.left(), frame.top(), frame.right(), frame.bottom()
    placed: list[QRectF | None] = []
    for box, width in anchors:
        x = min(max(box.left(), left), right - width)
        x2 = x + width
        columns = range(int(x // cell), int(x2 // cell) + 1)
        spot: tuple[float, float, float, float] | None = None
        keys: list[tuple[int, int]] = []
        for y in (box.top() - height - 1, box.top() + 1, box.bottom() + 1, box.bottom() - height - 1):
            y2 = y + height
            if y < top or y2 > bottom:
                continue
            keys = [(c, r) for c in columns for r in range(int(y // cell), int(y2 // cell) + 1)]
            taken = (grid.get(key, ()) for key in keys)
            if not any(
                x < ox2 and ox < x2 and y < oy2 and oy < y2 for near in taken for ox, oy, ox2, oy2 in near
            ):
                spot = (x, y, x2, y2)
                break
        if spot is None:
            placed.append(None)
            continue
        for key in keys:
            grid.setdefault(key, []).append(spot)
        placed.append(QRectF(spot[0], spot[1], width, height))
    return placed


class OverlayLayer(QGraphicsItem):
    """Paints a list of boxes (those not selected) in a few batched calls."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(2)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._bounds = QRectF()
        self._groups: list[tuple[QPen, list[QRectF]]] = []
        self._labels: list[tuple[QRectF, QStaticText, QColor, QColor, float]] = []
        self._metrics = QFontMetricsF(LABEL_FONT)
        self._texts: dict[str, tuple[QStaticText, float]] = {}
        self._layout: tuple[QTransform, list[QRectF | None]] | None = None

    def _text(self, label: str) -> tuple[QStaticText, float]:
        """A laid-out label and its width, reused across frames (a track keeps its label)."""
        found = self._texts.get(label)
        if found is None:
            if len(self._texts) > 5000:
                self._texts.clear()
            text = QStaticText(label)
            text.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
            text.prepare(QTransform(), LABEL_FONT)
            found = self._texts[label] = (text, self._metrics.horizontalAdvance(label))
        return found

    def set_boxes(self, boxes: list[OverlayBox], bounds: QRectF, labels: bool = True) -> None:
        self.prepareGeometryChange()
        self._bounds = QRectF(bounds)
        groups: dict[tuple[str, Qt.PenStyle, bool, float], list[QRectF]] = {}
        self._labels = []
        self._layout = None
        for box in boxes:
            rect = box.rect()
            if box.kind == HIGHLIGHT:  # white dash-dot on a black line: visible on any picture
                groups.setdefault(("#000000", Qt.PenStyle.SolidLine, False, 6.0), []).append(rect)
            groups.setdefault((box.color, box.style, box.faded, _line_width(box)), []).append(rect)
        if labels:
            # Highlight first, then ground truth, then detections: who gets a label when space is short.
            order = {HIGHLIGHT: 0, ANNOTATION: 1, DETECTION: 2}
            for box in sorted((b for b in boxes if b.label), key=lambda b: order[b.kind]):
                background, text = _colors(box)
                static, width = self._text(box.label)
                self._labels.append((box.rect(), static, background, text, width))
        self._groups = []
        for (color, style, faded, width), rects in groups.items():
            line = QColor(color)
            if faded:
                line.setAlpha(110)
            self._groups.append((_pen(line, width, style), rects))
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen, rects in self._groups:
            painter.setPen(pen)
            painter.drawRects(rects)
        if not self._labels:
            return
        transform = painter.worldTransform()
        painter.resetTransform()
        painter.setFont(LABEL_FONT)
        for (_rect, text, background, foreground, _width), place in zip(
            self._labels, self.label_places(transform), strict=True
        ):
            if place is None:
                continue
            painter.fillRect(place, background)
            painter.setPen(foreground)
            painter.drawStaticText(QPointF(place.left() + 2, place.top()), text)
        painter.setTransform(transform)

    def label_places(self, transform: QTransform) -> list[QRectF | None]:
        """Where each label goes on screen under ``transform`` (``None``: left out, no free place);
        kept until the boxes or the zoom and pan change."""
        if self._layout is None or self._layout[0] != transform:
            anchors = [(transform.mapRect(rect), width + 4) for rect, _t, _b, _f, width in self._labels]
            places = place_labels(anchors, transform.mapRect(self._bounds), self._metrics.height())
            self._layout = (QTransform(transform), places)
        return self._layout[1]


class _Label(QGraphicsSimpleTextItem):
    """The label of a selected box: a filled background, constant size on screen, above the box."""

    def __init__(self, text: str, background: QColor, foreground: QColor, parent: QGraphicsItem) -> None:
        super().__init__(text, parent)
        self.setFont(LABEL_FONT)
        self.setBrush(QBrush(foreground))
        self._background = background
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.fillRect(self.boundingRect().adjusted(-2, -1, 2, 1), self._background)
        super().paint(painter, option, widget)


class BoxItem(QGraphicsItem):
    """A selected box. Ground-truth boxes can be moved and resized; ``on_edited(item, box)`` on release."""

    def __init__(
        self,
        box: OverlayBox,
        *,
        on_edited: Callable[[BoxItem, Box], None] | None = None,
        bounds: QRectF | None = None,
    ) -> None:
        super().__init__()
        self.overlay = box
        self.kind = box.kind
        self.item_id = box.item_id
        self.editable = box.kind == ANNOTATION and on_edited is not None
        self._rect = box.rect()
        self._on_edited = on_edited
        self._bounds = bounds
        line = QColor(box.color)
        self._pen = _pen(line, 3.0, box.style)
        self._fill = QColor(line)
        self._fill.setAlpha(45)
        self._drag: tuple[str, QPointF, QRectF] | None = None
        self.setZValue(5)
        self.setAcceptHoverEvents(self.editable)
        self.label = _Label(box.label, *_colors(box), self)
        self._place_label()

    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def box(self) -> Box:
        rect = self._rect
        return (rect.left(), rect.top(), rect.right(), rect.bottom())

    def _set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)
        self._place_label()

    def _place_label(self) -> None:
        self.label.setPos(self._rect.topLeft())
        # Above the box on screen: up by the label's height in screen pixels, at any zoom.
        self.label.setTransform(QTransform.fromTranslate(0, -self.label.boundingRect().height() - 1))

    # -- geometry and painting ------------------------------------------------------------------
    def _handle_size(self) -> float:
        views = self.scene().views() if self.scene() is not None else []
        scale = views[0].transform().m11() if views else 1.0
        return HANDLE_PX / max(scale, 1e-6)

    def _handles(self) -> dict[str, QRectF]:
        if not self.editable:
            return {}
        rect, size = self._rect, self._handle_size()
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
        margin = self._handle_size()
        return self._rect.adjusted(-margin, -margin, margin, margin)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.boundingRect())
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setPen(self._pen)
        painter.setBrush(self._fill)
        painter.drawRect(self._rect)
        handles = self._handles()
        if handles:
            painter.setPen(QPen(QColor("black"), 0))
            painter.setBrush(QColor("white"))
            for handle in handles.values():
                painter.drawRect(handle)

    # -- editing --------------------------------------------------------------------------------
    def handle_at(self, pos: QPointF) -> str | None:
        for name, rect in self._handles().items():
            if rect.contains(pos):
                return name
        return None

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.setCursor(_CURSORS.get(self.handle_at(event.pos()) or "", Qt.CursorShape.SizeAllCursor))
        super().hoverMoveEvent(event)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.editable and event.button() == Qt.MouseButton.LeftButton:
            self._drag = (self.handle_at(event.pos()) or "move", event.scenePos(), QRectF(self._rect))
            event.accept()
            return
        event.ignore()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None:
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
        self._set_rect(rect)
        event.accept()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None:
            return
        _, _, original = self._drag
        self._drag = None
        event.accept()
        rect = self._rect
        if rect == original:
            return
        if rect.width() < MIN_BOX_PX or rect.height() < MIN_BOX_PX:
            self._set_rect(original)
            return
        if self._on_edited is not None:
            self._on_edited(self, self.box())
