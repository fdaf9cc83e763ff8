"""Scene items of the layer graph: layer nodes, frames around expanded nested models, edges.

Every item paints from strings and geometry computed once when it is made or refreshed, with pens,
brushes and fonts shared through :func:`theme`; nothing is allocated per paint. Nodes and frames
are cached as device-coordinate pixmaps and skip their text when zoomed far out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from inspector.model_info import GraphNode, LayerInfo

NODE_WIDTH = 200.0
NODE_HEIGHT = 60.0
CHILD_LINE = 16.0
FRAME_PAD = 14.0
FRAME_HEADER = 26.0
ARROW_LENGTH = 8.0
TEXT_LOD = 0.4
"""Below this zoom (scene-to-device scale) nodes are drawn as plain boxes."""

_RADIUS = 7.0
_TEXT_LEFT = 16.0
_TEXT_RIGHT = 10.0
_GLOW = 5.0
_BADGE_HEIGHT = 14.0
_EXPANDER = 16.0

INPUT, STATELESS, TRAINABLE, FROZEN, PARTLY_FROZEN = "input", "stateless", "trainable", "frozen", "partly frozen"


def layer_state(layer: LayerInfo | None, node: GraphNode) -> str:
    """How a layer's weights behave in training, as the graph shows it.

    Args:
        layer: The layer's description, or ``None`` when the model lists no such layer (the
            implicit input layer of a Sequential model).
        node: Its graph node.

    Returns:
        One of ``"input"``, ``"stateless"`` (no weights), ``"trainable"``, ``"frozen"`` or
        ``"partly frozen"``.
    """
    if layer is None:
        return INPUT if node.class_name == "InputLayer" else STATELESS
    if layer.kind == "input":
        return INPUT
    if layer.params == 0:
        return STATELESS
    if layer.trainable_params == 0:
        return FROZEN
    return PARTLY_FROZEN if layer.partly_frozen else TRAINABLE


@dataclass(frozen=True)
class StateStyle:
    """How nodes in one training state are filled and outlined."""

    fill: QBrush
    border: QPen
    accent: QBrush | None
    accent_low: QBrush | None
    badge: str


@dataclass(frozen=True)
class Badge:
    """A small filled label such as ``FROZEN`` or ``OUTPUT``, placed by its item."""

    text: str
    brush: QBrush
    rect: QRectF


class Theme:
    """Colours, pens, brushes and fonts shared by every item (light theme)."""

    def __init__(self):
        self.background = QBrush(QColor("#f4f5f7"))
        self.title_pen = QPen(QColor("#1d2433"))
        self.muted_pen = QPen(QColor("#5f6b7a"))
        self.shape_pen = QPen(QColor("#36597a"))
        self.badge_text_pen = QPen(QColor("#ffffff"))
        green, blue, orange = QBrush(QColor("#2f9e6e")), QBrush(QColor("#5b7fa6")), QBrush(QColor("#d9822b"))
        self.states = {
            INPUT: StateStyle(QBrush(QColor("#fdf3e1")), _pen("#d2a24c", 1.2), None, None, ""),
            STATELESS: StateStyle(QBrush(QColor("#fafafb")), _pen("#c3c8d0", 1.0), None, None, ""),
            TRAINABLE: StateStyle(QBrush(QColor("#ffffff")), _pen("#8f9bb0", 1.2), green, green, ""),
            FROZEN: StateStyle(QBrush(QColor("#dce6f1")), _pen("#6f8aa8", 1.2), blue, blue, "FROZEN"),
            PARTLY_FROZEN: StateStyle(
                QBrush(QColor("#eef3f8")), _pen("#7d93ad", 1.2), green, blue, "PARTLY FROZEN"
            ),
        }
        self.output_pen = _pen("#d9822b", 2.2)
        self.selected_pen = _pen("#2563eb", 2.4)
        self.glow_pen = _pen(QColor(37, 99, 235, 70), 2 * _GLOW - 2)
        self.badge_brushes = {
            "FROZEN": blue,
            "PARTLY FROZEN": QBrush(QColor("#86a0bd")),
            "OUTPUT": orange,
        }
        self.expander_pen = _pen("#5f6b7a", 1.4)
        self.expander_brush = QBrush(QColor("#eef0f4"))
        self.separator_pen = _pen("#d5d9e0", 1.0)
        self.frame_pen = _pen("#8f9bb0", 1.3, Qt.PenStyle.DashLine)
        self.frame_selected_pen = _pen("#2563eb", 2.0, Qt.PenStyle.DashLine)
        self.frame_brush = QBrush(QColor(120, 135, 160, 18))
        self.header_brush = QBrush(QColor(120, 135, 160, 34))
        self.edge_pen = _pen("#9aa4b3", 1.4)
        self.edge_brush = QBrush(QColor("#9aa4b3"))
        self.edge_hover_pen = _pen("#2563eb", 2.4)
        self.edge_hover_brush = QBrush(QColor("#2563eb"))
        self.no_pen = QPen(Qt.PenStyle.NoPen)

        base = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
        self.title_font = _font(base, 13, QFont.Weight.DemiBold)
        self.text_font = _font(base, 11, QFont.Weight.Normal)
        self.badge_font = _font(base, 9, QFont.Weight.Bold)
        self.shape_font = _font(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont), 11, QFont.Weight.Normal)
        self.title_metrics = QFontMetricsF(self.title_font)
        self.text_metrics = QFontMetricsF(self.text_font)
        self.badge_metrics = QFontMetricsF(self.badge_font)
        self.shape_metrics = QFontMetricsF(self.shape_font)

    def badges(self, texts: list[str], right: float, top: float) -> list[Badge]:
        """Badges laid out right to left, the first ending at ``right``; brushes are shared."""
        badges = []
        for text in texts:
            width = self.badge_metrics.horizontalAdvance(text) + 10
            badges.append(Badge(text, self.badge_brushes[text], QRectF(right - width, top, width, _BADGE_HEIGHT)))
            right -= width + 4
        return badges


@functools.cache
def theme() -> Theme:
    """The shared theme, made on first use (fonts need a running QGuiApplication)."""
    return Theme()


def _pen(color, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(color), width, style)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def _font(base: QFont, pixels: int, weight: QFont.Weight) -> QFont:
    font = QFont(base)
    font.setPixelSize(pixels)
    font.setWeight(weight)
    return font


def format_count(n: int) -> str:
    """A parameter count for a small label: ``1,056``, ``12.3k``, ``4.1M``."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1e3:.1f}k"
    return f"{n / 1e6:.1f}M"


def node_height(layer: LayerInfo | None) -> float:
    """Height of a node: wrappers are taller, with one line per inner layer."""
    if layer is not None and layer.kind == "wrapper" and layer.children:
        return NODE_HEIGHT + 6 + CHILD_LINE * len(layer.children)
    return NODE_HEIGHT


def _elide(metrics: QFontMetricsF, text: str, width: float) -> str:
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(width, 0.0))


def _badges_left(badges: list[Badge], right: float) -> float:
    """Where the leftmost badge starts (``right`` when there is none)."""
    return min((b.rect.left() for b in badges), default=right)


def _draw_badges(painter: QPainter, badges: list[Badge]) -> None:
    t = theme()
    painter.setFont(t.badge_font)
    for badge in badges:
        painter.setPen(t.no_pen)
        painter.setBrush(badge.brush)
        painter.drawRoundedRect(badge.rect, _BADGE_HEIGHT / 2, _BADGE_HEIGHT / 2)
        painter.setPen(t.badge_text_pen)
        painter.drawText(badge.rect, Qt.AlignmentFlag.AlignCenter, badge.text)


def _draw_expander(painter: QPainter, rect: QRectF, expanded: bool) -> None:
    """A small "+" (collapsed) or "−" (expanded) button."""
    t = theme()
    painter.setPen(t.expander_pen)
    painter.setBrush(t.expander_brush)
    painter.drawRoundedRect(rect, 3, 3)
    c = rect.center()
    painter.drawLine(QPointF(c.x() - 4, c.y()), QPointF(c.x() + 4, c.y()))
    if not expanded:
        painter.drawLine(QPointF(c.x(), c.y() - 4), QPointF(c.x(), c.y() + 4))


class _ToggleMixin:
    """Mouse handling shared by nodes and frames of nested models: a click on the expander or a
    double-click toggles the nested model. The toggle is requested, not done, because it rebuilds
    the scene and so deletes this item."""

    node: GraphNode
    _on_toggle: Callable[[str], None] | None

    def _expander_rect(self) -> QRectF | None:
        raise NotImplementedError

    def _hits_expander(self, pos: QPointF) -> bool:
        rect = self._expander_rect()
        return self._on_toggle is not None and rect is not None and rect.adjusted(-4, -4, 4, 4).contains(pos)

    def mousePressEvent(self, event):  # noqa: N802 (Qt override)
        if self._hits_expander(event.pos()):
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event):  # noqa: N802 (Qt override)
        if self._hits_expander(event.pos()) and self._hits_expander(event.buttonDownPos(Qt.MouseButton.LeftButton)):
            self._on_toggle(self.node.id)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event):  # noqa: N802 (Qt override)
        if self._on_toggle is not None:
            self._on_toggle(self.node.id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


class NodeItem(_ToggleMixin, QGraphicsItem):
    """One call of a layer: a rounded box with its name, class, parameter count and output shape.

    Attributes:
        node: The graph node it draws.
        state: Its training state (see :func:`layer_state`).
    """

    def __init__(
        self,
        node: GraphNode,
        layer: LayerInfo | None,
        is_output: bool,
        on_toggle: Callable[[str], None] | None,
    ):
        """Makes the item centred at the origin; the view moves it into place.

        Args:
            node: The graph node.
            layer: Its layer's description, if the model lists the layer.
            is_output: Whether this node produces one of the model's outputs.
            on_toggle: For a nested model, called with the node id to expand it.
        """
        super().__init__()
        self.node = node
        self._is_output = is_output
        self._on_toggle = on_toggle if node.is_group else None
        height = node_height(layer)
        self._rect = QRectF(-NODE_WIDTH / 2, -height / 2, NODE_WIDTH, height)
        self._bounds = self._rect.adjusted(-_GLOW, -_GLOW, _GLOW + 4, _GLOW + 4)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(10)
        self.set_layer(layer)

    @property
    def layer_path(self) -> str:
        """Path of the layer this node calls."""
        return self.node.layer

    @property
    def fill(self) -> QBrush:
        """The brush the box is filled with."""
        return theme().states[self.state].fill

    def set_layer(self, layer: LayerInfo | None) -> None:
        """Re-reads the layer's training state and parameter counts and repaints."""
        t = theme()
        self.state = layer_state(layer, self.node)
        style = t.states[self.state]
        self._style = style
        self._badges = ([t.badge("OUTPUT")] if self._is_output else []) + ([t.badge(style.badge)] if style.badge else [])
        reserved = sum(b.width + 4 for b in self._badges) + (_EXPANDER + 6 if self.node.is_group else 0)
        width = NODE_WIDTH - _TEXT_LEFT - _TEXT_RIGHT
        self._title = _elide(t.title_metrics, self.node.label, width - reserved)
        self._subtitle = _elide(t.text_metrics, self._class_line(layer), width)
        self._shape = _elide(t.shape_metrics, self.node.output_shape, width)
        self._children = [
            (_elide(t.text_metrics, f"{c.name} · {c.class_name}", width - 12), t.states[layer_state(c, self.node)])
            for c in (layer.children if layer is not None and layer.kind == "wrapper" else [])
        ]
        self.setToolTip(self._tooltip(layer))
        self.update()

    def _class_line(self, layer: LayerInfo | None) -> str:
        parts = [self.node.class_name]
        if self.node.is_group and layer is not None:
            parts.append(f"{len(layer.children)} layers")
        if layer is not None and layer.params:
            parts.append(f"{format_count(layer.params)} params")
        return " · ".join(parts)

    def _tooltip(self, layer: LayerInfo | None) -> str:
        lines = [f"<b>{self.node.label}</b> — {self.node.class_name}", f"output: {self.node.output_shape}"]
        if layer is not None and layer.params:
            lines.append(
                f"params: {layer.params:,} ({layer.trainable_params:,} trainable, "
                f"{layer.non_trainable_params:,} non-trainable)"
            )
        lines.append(f"state: {self.state}")
        if self.node.is_group:
            lines.append("double-click to expand")
        return "<br>".join(lines)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._bounds

    def _expander_rect(self) -> QRectF | None:
        if not self.node.is_group:
            return None
        r = self._rect
        return QRectF(r.right() - _TEXT_RIGHT - _EXPANDER + 2, r.top() + 7, _EXPANDER, _EXPANDER)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme()
        style = self._style
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setBrush(style.fill)
        painter.setPen(t.selected_pen if self.isSelected() else (t.output_pen if self._is_output else style.border))
        if lod < TEXT_LOD:
            painter.drawRect(self._rect)
            return
        radius = self._rect.height() / 2 if self.state == INPUT else _RADIUS
        if self.isSelected():
            painter.save()
            painter.setPen(t.glow_pen)
            painter.drawRoundedRect(self._rect.adjusted(-1, -1, 1, 1), radius, radius)
            painter.restore()
        if self.node.is_group:
            painter.drawRoundedRect(self._rect.translated(4, 4), radius, radius)
        painter.drawRoundedRect(self._rect, radius, radius)
        self._paint_accent(painter)
        self._paint_text(painter)
        if self.node.is_group:
            _draw_expander(painter, self._expander_rect(), expanded=False)

    def _paint_accent(self, painter: QPainter) -> None:
        """A thin bar on the left: green for trainable weights, blue for frozen, both for partly."""
        style = self._style
        if style.accent is None:
            return
        r = self._rect
        bar = QRectF(r.left() + 5, r.top() + 8, 4, r.height() - 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.accent)
        painter.drawRoundedRect(bar, 2, 2)
        if style.accent_low != style.accent:
            painter.setBrush(style.accent_low)
            painter.drawRoundedRect(bar.adjusted(0, bar.height() / 2, 0, 0), 2, 2)

    def _paint_text(self, painter: QPainter) -> None:
        t = theme()
        r = self._rect
        left, width = r.left() + _TEXT_LEFT, NODE_WIDTH - _TEXT_LEFT - _TEXT_RIGHT
        top = r.top() + 5
        painter.setFont(t.title_font)
        painter.setPen(t.title_color)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRectF(left, top, width, 18), align, self._title)
        painter.setFont(t.text_font)
        painter.setPen(t.muted_color)
        painter.drawText(QRectF(left, top + 18, width, 16), align, self._subtitle)
        painter.setFont(t.shape_font)
        painter.setPen(t.shape_color)
        painter.drawText(QRectF(left, top + 34, width, 16), align, self._shape)
        right = r.right() - _TEXT_RIGHT - (_EXPANDER + 6 if self.node.is_group else 0)
        _draw_badges(painter, self._badges, right, top + 2)
        if self._children:
            self._paint_children(painter, left, width, r.top() + NODE_HEIGHT)

    def _paint_children(self, painter: QPainter, left: float, width: float, top: float) -> None:
        """The inner layers of a wrapper, each with a dot in its state's accent colour."""
        t = theme()
        painter.setPen(t.separator_pen)
        painter.drawLine(QPointF(left, top), QPointF(left + width, top))
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        for i, (text, style) in enumerate(self._children):
            y = top + 4 + i * CHILD_LINE
            painter.setPen(style.border)
            painter.setBrush(style.accent or style.fill)
            painter.drawEllipse(QRectF(left + 1, y + CHILD_LINE / 2 - 3, 6, 6))
            painter.setFont(t.text_font)
            painter.setPen(t.title_color)
            painter.drawText(QRectF(left + 12, y, width - 12, CHILD_LINE), align, text)


class GroupFrameItem(_ToggleMixin, QGraphicsItem):
    """The dashed frame around the inner layers of an expanded nested model, with its name and a
    "−" button. Only the header takes clicks, so dragging inside the frame pans the view.

    Attributes:
        node: The nested model's graph node.
        state: Its training state (see :func:`layer_state`).
    """

    def __init__(self, node: GraphNode, layer: LayerInfo | None, rect: QRectF, on_toggle: Callable[[str], None]):
        """Makes the frame.

        Args:
            node: The nested model's node.
            layer: Its layer's description.
            rect: The frame, in scene coordinates.
            on_toggle: Called with the node id to collapse it.
        """
        super().__init__()
        self.node = node
        self._on_toggle = on_toggle
        self._rect = rect
        self._header = QRectF(rect.left(), rect.top(), rect.width(), FRAME_HEADER)
        self._bounds = rect.adjusted(-2, -2, 2, 2)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.set_layer(layer)

    @property
    def layer_path(self) -> str:
        """Path of the nested model."""
        return self.node.layer

    def set_layer(self, layer: LayerInfo | None) -> None:
        """Re-reads the nested model's training state and repaints."""
        t = theme()
        self.state = layer_state(layer, self.node)
        badge = t.states[self.state].badge
        self._badges = [t.badge(badge)] if badge else []
        reserved = sum(b.width + 4 for b in self._badges) + _EXPANDER + 16
        self._title = _elide(t.title_metrics, f"{self.node.label} · {self.node.class_name}", self._rect.width() - reserved)
        self.setToolTip(f"<b>{self.node.label}</b> — {self.node.class_name}<br>state: {self.state}<br>double-click the header to collapse")
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._bounds

    def shape(self) -> QPainterPath:
        """Only the header: clicks elsewhere in the frame go to the view (panning)."""
        path = QPainterPath()
        path.addRect(self._header)
        return path

    def _expander_rect(self) -> QRectF:
        h = self._header
        return QRectF(h.right() - 8 - _EXPANDER, h.top() + (FRAME_HEADER - _EXPANDER) / 2, _EXPANDER, _EXPANDER)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme()
        painter.setPen(t.frame_selected_pen if self.isSelected() else t.frame_pen)
        painter.setBrush(t.frame_brush)
        painter.drawRoundedRect(self._rect, 10, 10)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < TEXT_LOD:
            return
        painter.setPen(t.no_pen)
        painter.setBrush(t.header_brush)
        header = QPainterPath()
        header.addRoundedRect(self._header.adjusted(1, 1, -1, 0), 9, 9)
        painter.drawPath(header)
        painter.setFont(t.title_font)
        painter.setPen(t.title_color)
        text_rect = self._header.adjusted(12, 0, -12, 0)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self._title)
        _draw_badges(painter, self._badges, self._expander_rect().left() - 8, self._header.top() + 6)
        _draw_expander(painter, self._expander_rect(), expanded=True)


class EdgeItem(QGraphicsItem):
    """A tensor flowing from one node to another, with an arrowhead at the consumer. Hovering it
    highlights it and shows the tensor's shape."""

    def __init__(self, path: QPainterPath, arrow: QPolygonF, tooltip: str):
        """Makes the edge.

        Args:
            path: The route, in scene coordinates, ending at the arrow's base.
            arrow: The arrowhead triangle.
            tooltip: Text shown on hover (the tensor's shape).
        """
        super().__init__()
        self._path = path
        self._arrow = arrow
        self._hover_shape: QPainterPath | None = None
        self._hovered = False
        self._bounds = path.boundingRect().united(arrow.boundingRect()).adjusted(-4, -4, 4, 4)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(True)
        self.setToolTip(tooltip)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._bounds

    def shape(self) -> QPainterPath:
        """A band a few pixels wide around the route, so the edge is easy to hover."""
        if self._hover_shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(8)
            self._hover_shape = stroker.createStroke(self._path)
            self._hover_shape.addPolygon(self._arrow)
        return self._hover_shape

    def hoverEnterEvent(self, event):  # noqa: N802 (Qt override)
        self._hovered = True
        self.setZValue(1)
        self.update()

    def hoverLeaveEvent(self, event):  # noqa: N802 (Qt override)
        self._hovered = False
        self.setZValue(0)
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme()
        painter.setPen(t.edge_hover_pen if self._hovered else t.edge_pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < TEXT_LOD:
            return
        painter.setPen(t.no_pen)
        painter.setBrush(t.edge_hover_brush if self._hovered else t.edge_brush)
        painter.drawPolygon(self._arrow)
