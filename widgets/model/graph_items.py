"""Scene items of the layer graph: layer nodes, frames around expanded nested models, edges.

Every item paints from strings and geometry computed once when it is made or refreshed, with pens,
brushes and fonts shared through :func:`theme`; nothing is allocated per paint. Nodes and frames
are cached as device-coordinate pixmaps and skip their text when zoomed far out.
"""

from __future__ import annotations

import functools
import html
import math
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QLineF, QObject, QPointF, QRectF, Qt
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
from shiboken6 import isValid

from inspector.model.model_info import GraphNode, LayerInfo
from widgets.common.time_slices import TimeSlicedRun

NODE_WIDTH = 220.0
NODE_HEIGHT = 60.0
CHILD_LINE = 16.0
FRAME_PAD = 10.0
FRAME_HEADER = 26.0
ARROW_LENGTH = 8.0
ROW_PITCH = 100.0
"""Scene pixels between rows of ordinary nodes (one layout unit down)."""
TEXT_LOD = 0.4
"""Below this zoom (device pixels per scene pixel) nodes are solid blocks in their state's colour,
without text, and edges have no arrowheads."""
LABEL_ROW_PIXELS = 9.0
"""Zoomed out, node names show beside their blocks while rows are at least this many pixels
apart."""
MAX_OVERVIEW_LABELS = 400
"""Above this many nodes shown, zoomed out, names are left out (blocks group big graphs first)."""
SWITCH_BATCH = 500
"""Items switched between drawing themselves and the overview per slice, off screen."""
OVERVIEW_LOD = 0.12
"""Below this zoom the blocks fill their row, so a column reads as a band of colour, and edges
are hairlines."""

EDGE_Z, FRAME_Z, HOVERED_EDGE_Z, NODE_Z = 0.0, 1.0, 50.0, 100.0
"""Stacking: edges, then frames of nested models (inner ones higher), a hovered edge, nodes."""

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
            INPUT: StateStyle(QBrush(QColor("#fdf3e1")), _pen("#d2a24c", 1.2), None, None),
            STATELESS: StateStyle(QBrush(QColor("#fafafb")), _pen("#c3c8d0", 1.0), None, None),
            TRAINABLE: StateStyle(QBrush(QColor("#ffffff")), _pen("#8f9bb0", 1.2), green, green),
            FROZEN: StateStyle(QBrush(QColor("#dce6f1")), _pen("#6f8aa8", 1.2), blue, blue),
            PARTLY_FROZEN: StateStyle(QBrush(QColor("#eef3f8")), _pen("#7d93ad", 1.2), green, blue),
        }
        self.output_pen = _pen("#d9822b", 2.2)
        self.selected_pen = _pen("#2563eb", 2.4)
        self.glow_pen = _pen(QColor(37, 99, 235, 70), 2 * _GLOW - 2)
        self.frozen_tag = blue
        self.partly_frozen_tag = QBrush(QColor("#86a0bd"))
        self.warning_tag = QBrush(QColor("#c0392b"))
        self.output_tag = orange
        self.call_tag = QBrush(QColor("#8f9bb0"))
        self.lora_tag = QBrush(QColor("#7c3aed"))
        self.quant_tag = QBrush(QColor("#0e7490"))
        self.overview = {
            INPUT: QBrush(QColor("#d2a24c")),
            STATELESS: QBrush(QColor("#b4bac5")),
            TRAINABLE: green,
            FROZEN: blue,
            PARTLY_FROZEN: self.partly_frozen_tag,
        }
        self.overview_selected = QBrush(QColor("#2563eb"))
        self.overview_edge_pen = QPen(QColor("#c9ced6"), 0)
        self.expander_pen = _pen("#5f6b7a", 1.4)
        self.expander_brush = QBrush(QColor("#eef0f4"))
        self.separator_pen = _pen("#d5d9e0", 1.0)
        self.frame_pen = _pen("#8f9bb0", 1.3, Qt.PenStyle.DashLine)
        self.frame_selected_pen = _pen("#2563eb", 2.0, Qt.PenStyle.DashLine)
        self.frame_brush = QBrush(QColor(120, 135, 160, 16))
        self.frame_overview_pens = (QPen(QColor("#8f9bb0"), 0), QPen(QColor("#2563eb"), 0))
        self.header_brush = QBrush(QColor("#e4e8ee"))
        self.edge_pen = _pen("#9aa4b3", 1.4)
        self.edge_brush = QBrush(QColor("#9aa4b3"))
        self.edge_hover_pen = _pen("#2563eb", 2.4)
        self.edge_hover_brush = QBrush(QColor("#2563eb"))
        self.no_pen = QPen(Qt.PenStyle.NoPen)
        self.no_brush = QBrush(Qt.BrushStyle.NoBrush)

        base = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
        self.title_font = _font(base, 12, QFont.Weight.DemiBold)
        self.text_font = _font(base, 11, QFont.Weight.Normal)
        self.badge_font = _font(base, 9, QFont.Weight.Bold)
        self.shape_font = _font(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont), 11, QFont.Weight.Normal)
        self.title_metrics = QFontMetricsF(self.title_font)
        self.text_metrics = QFontMetricsF(self.text_font)
        self.badge_metrics = QFontMetricsF(self.badge_font)
        self.shape_metrics = QFontMetricsF(self.shape_font)
        self.overview_font = _font(base, 9, QFont.Weight.Normal)
        self.overview_metrics = QFontMetricsF(self.overview_font)

    def state_tag(self, state: str) -> tuple[str, QBrush] | None:
        """Text and brush of the tag marking a frozen or partly frozen layer."""
        if state == FROZEN:
            return "FROZEN", self.frozen_tag
        if state == PARTLY_FROZEN:
            return "PARTLY FROZEN", self.partly_frozen_tag
        return None

    def badges(self, tags: list[tuple[str, QBrush]], right: float, middle: float, left: float = -math.inf) -> list[Badge]:
        """Badges laid out right to left from ``right``, centred on the line ``y = middle``.

        When they do not fit between ``left`` and ``right``, tags are shortened (``CALL 2/2``
        to ``2/2``, ``PARTLY FROZEN`` to ``PARTLY``, ``BN WARNING`` to ``BN``), the leftmost first.
        """
        texts = [text for text, _ in tags]
        for shortened in range(len(texts) + 1):
            if shortened:
                texts[-shortened] = _short_tag(texts[-shortened])
            badges = self._row(texts, [brush for _, brush in tags], right, middle)
            if not badges or badges[-1].rect.left() >= left:
                break
        return badges

    def _row(self, texts: list[str], brushes: list[QBrush], right: float, middle: float) -> list[Badge]:
        badges = []
        for text, brush in zip(texts, brushes):
            width = self.badge_metrics.horizontalAdvance(text) + 10
            rect = QRectF(right - width, middle - _BADGE_HEIGHT / 2, width, _BADGE_HEIGHT)
            badges.append(Badge(text, brush, rect))
            right -= width + 4
        return badges


SHORT_TAGS = {"PARTLY FROZEN": "PARTLY", "BN WARNING": "BN"}
"""Short forms of tags, for a node whose tags do not fit on its border."""


def _short_tag(text: str) -> str:
    """The short form of a tag: ``"CALL 2/2"`` is ``"2/2"``."""
    return text.removeprefix("CALL ") if text.startswith("CALL ") else SHORT_TAGS.get(text, text)


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


VALUE_SCALE = ("#fff7bc", "#fee391", "#fec44f", "#fe9929", "#f47b2a", "#e8602c")
"""Stops of the sequential scale that tints nodes by a value: pale yellow to orange-red, light
enough for dark text (a tinted node draws all its text in the title colour)."""


@functools.cache
def _scale_colours() -> tuple[QColor, ...]:
    return tuple(QColor(c) for c in VALUE_SCALE)


def value_colour(t: float) -> QColor:
    """The colour of position ``t`` in [0, 1] on :data:`VALUE_SCALE` (clamped)."""
    stops = _scale_colours()
    t = min(max(float(t), 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    f = t - i
    a, b = stops[i], stops[i + 1]
    return QColor(
        round(a.red() + (b.red() - a.red()) * f),
        round(a.green() + (b.green() - a.green()) * f),
        round(a.blue() + (b.blue() - a.blue()) * f),
    )


def node_height(layer: LayerInfo | None) -> float:
    """Height of a node: wrappers are taller, with one line per inner layer."""
    if layer is not None and layer.kind == "wrapper" and layer.children:
        return NODE_HEIGHT + 6 + CHILD_LINE * len(layer.children)
    return NODE_HEIGHT


def _elide(metrics: QFontMetricsF, text: str, width: float) -> str:
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(width, 0.0))


def _draw_badges(painter: QPainter, badges: list[Badge]) -> None:
    t = theme()
    painter.setFont(t.badge_font)
    for badge in badges:
        painter.setPen(t.no_pen)
        painter.setBrush(badge.brush)
        painter.drawRoundedRect(badge.rect, _BADGE_HEIGHT / 2, _BADGE_HEIGHT / 2)
        painter.setPen(t.badge_text_pen)
        painter.drawText(badge.rect, Qt.AlignmentFlag.AlignCenter, badge.text)


class _Expander:
    """A small "+" (collapsed) or "−" (expanded) button at a fixed place in its item."""

    def __init__(self, rect: QRectF, expanded: bool):
        self.rect = rect
        c = rect.center()
        self._lines = [QLineF(c.x() - 4, c.y(), c.x() + 4, c.y())]
        if not expanded:
            self._lines.append(QLineF(c.x(), c.y() - 4, c.x(), c.y() + 4))

    def hit(self, pos: QPointF) -> bool:
        """Whether ``pos`` is on the button (with a little slack)."""
        return self.rect.adjusted(-4, -4, 4, 4).contains(pos)

    def paint(self, painter: QPainter) -> None:
        t = theme()
        painter.setPen(t.expander_pen)
        painter.setBrush(t.expander_brush)
        painter.drawRoundedRect(self.rect, 3, 3)
        painter.drawLines(self._lines)


def _single_selection(event) -> None:
    """Makes Ctrl+click select like a plain click: one layer is selected at a time."""
    event.setModifiers(event.modifiers() & ~Qt.KeyboardModifier.ControlModifier)


class _ToggleMixin:
    """Mouse handling shared by nodes and frames: a click on a nested model's expander button or
    a double-click on it toggles the nested model. The toggle is only requested through
    ``on_toggle``: the view rebuilds the scene later, deleting this item."""

    node: GraphNode
    _expander: _Expander | None
    _on_toggle: Callable[[str], None] | None

    def _hits_expander(self, event, pos: QPointF) -> bool:
        return (
            event.button() == Qt.MouseButton.LeftButton
            and self._on_toggle is not None
            and self._expander is not None
            and self._expander.hit(pos)
        )

    def _hits_state_bar(self, event, pos: QPointF) -> bool:
        callback = getattr(self, "_on_trainable_toggle", None)
        bar = getattr(self, "state_bar", None)
        return event.button() == Qt.MouseButton.LeftButton and callback is not None and bar is not None and bar.contains(pos)

    def mousePressEvent(self, event):  # noqa: N802 (Qt override)
        if self._hits_expander(event, event.pos()) or self._hits_state_bar(event, event.pos()):
            event.accept()
            return
        _single_selection(event)
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event):  # noqa: N802 (Qt override)
        pressed = event.buttonDownPos(Qt.MouseButton.LeftButton)
        if self._hits_expander(event, pressed) and self._hits_expander(event, event.pos()):
            self._on_toggle(self.node.id)
            event.accept()
            return
        if self._hits_state_bar(event, pressed) and self._hits_state_bar(event, event.pos()):
            self._on_trainable_toggle(self.node.layer)
            event.accept()
            return
        _single_selection(event)
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event):  # noqa: N802 (Qt override)
        if self._on_toggle is None:
            super().mouseDoubleClickEvent(event)
            return
        self._on_toggle(self.node.id)
        event.accept()


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
        *,
        is_output: bool = False,
        call: tuple[int, int] | None = None,
        on_toggle: Callable[[str], None] | None = None,
        on_trainable_toggle: Callable[[str], None] | None = None,
    ):
        """Makes the item centred at the origin; the view moves it into place.

        Args:
            node: The graph node.
            layer: Its layer's description, if the model lists the layer.
            is_output: Whether this node produces one of the model's outputs.
            call: For a layer called more than once: which call this is, and how many there are.
            on_toggle: For a nested model, called with the node id to expand it.
            on_trainable_toggle: Called with the layer path when the user clicks the coloured
                training-state bar on the box's left edge (to freeze or unfreeze the layer).
        """
        super().__init__()
        self.node = node
        self._on_toggle = on_toggle if node.is_group else None
        height = node_height(layer)
        r = QRectF(-NODE_WIDTH / 2, -height / 2, NODE_WIDTH, height)
        self._rect = r
        self._overview_rect = r.adjusted(0, min(0.0, (height - ROW_PITCH) / 2), 0, max(0.0, (ROW_PITCH - height) / 2))
        self._bounds = r.adjusted(-_GLOW, -_GLOW - 3, _GLOW + 4, _GLOW + 4).united(self._overview_rect)
        self._hit_area = QPainterPath()
        self._hit_area.addRect(r)
        t = theme()
        self._is_output = is_output
        self._call_tag = (f"CALL {call[0]}/{call[1]}", t.call_tag) if call else None
        self.warning: str | None = None
        self.colours: ColourVersion | None = None  # counts colour changes for the overview that draws this node
        self._on_trainable_toggle = on_trainable_toggle
        self._output_badges = t.badges([("OUTPUT", t.output_tag)], r.right() - 12, r.bottom()) if is_output else []
        self._radius = NODE_HEIGHT / 2 if node.class_name == "InputLayer" else _RADIUS
        self._stack = r.translated(4, 4) if node.is_group else None
        self._glow = r.adjusted(-1, -1, 1, 1)
        self._accent = QRectF(r.left() + 5, r.top() + 8, 4, r.height() - 16)
        self._accent_low = self._accent.adjusted(0, self._accent.height() / 2, 0, 0)
        left, top, width = r.left() + _TEXT_LEFT, r.top() + 5, NODE_WIDTH - _TEXT_LEFT - _TEXT_RIGHT
        self._text_right = r.right() - _TEXT_RIGHT
        self._expander = None
        if node.is_group:
            self._expander = _Expander(QRectF(self._text_right - _EXPANDER + 2, r.top() + 7, _EXPANDER, _EXPANDER), False)
            self._text_right = self._expander.rect.left() - 6
        self._title_rect = QRectF(left, top, width, 18)
        self._subtitle_rect = QRectF(left, top + 18, width, 16)
        self._shape_rect = QRectF(left, top + 34, width, 16)
        self._separator = QLineF(left, r.top() + NODE_HEIGHT, left + width, r.top() + NODE_HEIGHT)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(NODE_Z)
        self._tint: QBrush | None = None
        self._tint_text = ""
        self.set_layer(layer)

    @property
    def layer_path(self) -> str:
        """Path of the layer this node calls."""
        return self.node.layer

    @property
    def state_bar(self) -> QRectF | None:
        """The clickable training-state bar on the box's left edge (item coordinates), for a
        layer with weights."""
        if self.state not in (TRAINABLE, FROZEN, PARTLY_FROZEN):
            return None
        return self._accent.adjusted(-5, -4, 6, 4)

    @property
    def fill(self) -> QBrush:
        """The brush the box is filled with (the tint, when the view colours nodes by a value)."""
        return self._tint if self._tint is not None else self._style.fill

    @property
    def tint(self) -> QBrush | None:
        """The brush of the value the node is tinted by, or ``None``."""
        return self._tint

    def set_tint(self, brush: QBrush | None, text: str = "") -> None:
        """Fills the box with ``brush`` instead of its training-state colour, and shows ``text``
        (e.g. ``"relative change: 0.03"``) on it in place of its output shape and in its tooltip;
        ``None`` restores the normal look."""
        self._tint, self._tint_text = brush, text if brush is not None else ""
        self.setToolTip(self._tooltip(self._layer))
        self._overview_changed()
        self.update()

    @property
    def box(self) -> QRectF:
        """The box, in item coordinates (centred on the item's position)."""
        return self._rect

    @property
    def overview_brush(self) -> QBrush:
        """The colour of the solid block the node is at low zoom (its tint, if tinted)."""
        return self._tint if self._tint is not None else self._overview

    @property
    def overview_rect(self) -> QRectF:
        """The block that fills the node's row at the lowest zoom, in item coordinates."""
        return self._overview_rect

    @property
    def tags(self) -> list[str]:
        """Texts of the tags on the box's border, e.g. ``["FROZEN", "OUTPUT"]``."""
        return [badge.text for badge in self._badges]

    @property
    def tag_boxes(self) -> list[QRectF]:
        """Where each of :attr:`tags` is drawn, in item coordinates."""
        return [badge.rect for badge in self._badges]

    @property
    def inner_layers(self) -> list[str]:
        """The lines listing a wrapper's inner layers, e.g. ``"forward_lstm · LSTM"``."""
        return [text for _, _, text, _ in self._children]

    @property
    def expander_rect(self) -> QRectF | None:
        """Where a nested model's "+" button is, in scene coordinates."""
        return self.mapRectToScene(self._expander.rect) if self._expander is not None else None

    def set_layer(self, layer: LayerInfo | None) -> None:
        """Re-reads the layer's training state and parameter counts and repaints."""
        t = theme()
        self._layer = layer
        self.state = layer_state(layer, self.node)
        self._style = t.states[self.state]
        self._overview = t.output_tag if self._is_output else t.overview[self.state]
        warning_tag = ("BN WARNING", t.warning_tag) if self.warning else None
        lora_tag = (f"LoRA r{layer.lora.rank}", t.lora_tag) if layer is not None and layer.lora is not None else None
        quant = layer.quantization if layer is not None else None
        quant_tag = (quant.mode.upper(), t.quant_tag) if quant is not None else None
        tags = [tag for tag in (warning_tag, lora_tag, quant_tag, t.state_tag(self.state), self._call_tag) if tag]
        r = self._rect
        self._badges = t.badges(tags, r.right() - 12, r.top(), r.left() + _TEXT_LEFT) + self._output_badges
        self._class_text = self._class_line(layer)
        self._texts: tuple[str, str, str] | None = None  # elided when first drawn (see _lines)
        self._children = self._child_rows(layer)
        self.setToolTip(self._tooltip(layer))
        self._overview_changed()
        self.update()

    def _overview_changed(self) -> None:
        """Tells the overview that draws this node that its colour may have changed."""
        if self.colours is not None:
            self.colours.count += 1

    def _lines(self) -> tuple[str, str, str]:
        """The title, class line and shape, elided to fit. Made when the node is first drawn
        with text: zoomed out, most nodes of a big graph never are."""
        if self._texts is None:
            t = theme()
            name = self.node.label if self.node.class_name == "Block" else self.node.layer.rpartition("/")[2]
            title = t.title_metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, self._text_right - 4 - self._title_rect.left())
            self._texts = (
                title,
                _elide(t.text_metrics, self._class_text, self._subtitle_rect.width()),
                _elide(t.shape_metrics, self.node.output_shape, self._shape_rect.width()),
            )
        return self._texts

    def _class_line(self, layer: LayerInfo | None) -> str:
        parts = [self.node.class_name]
        if layer is not None and layer.kind == "block":
            parts.append(f"{sum(1 for child in layer.children for _ in child.walk())} layers")
        if layer is not None and layer.params:
            parts.append(f"{format_count(layer.params)} params")
        return " · ".join(parts)

    def _child_rows(self, layer: LayerInfo | None) -> list[tuple[QRectF, QRectF, str, StateStyle]]:
        """Dot, text rect, text and style of each inner layer of a wrapper."""
        if layer is None or layer.kind != "wrapper":
            return []
        t = theme()
        left, width = self._separator.x1(), self._separator.dx()
        rows = []
        for i, child in enumerate(layer.children):
            y = self._separator.y1() + 4 + i * CHILD_LINE
            text = _elide(t.text_metrics, f"{child.name} · {child.class_name}", width - 12)
            dot = QRectF(left + 1, y + CHILD_LINE / 2 - 3, 6, 6)
            rows.append((dot, QRectF(left + 12, y, width - 12, CHILD_LINE), text, t.states[layer_state(child, self.node)]))
        return rows

    def _tooltip(self, layer: LayerInfo | None) -> str:
        lines = [
            f"<b>{html.escape(self.node.label)}</b> — {self.node.class_name}",
            f"output: {html.escape(self.node.output_shape)}",
        ]
        if layer is not None and layer.params:
            lines.append(
                f"params: {layer.params:,} ({layer.trainable_params:,} trainable, "
                f"{layer.non_trainable_params:,} non-trainable)"
            )
        lines.append(f"state: {self.state}")
        if self.node.is_group and layer is not None:
            lines.append(f"{len(layer.children)} layers inside; double-click or click + to open")
        if self._tint_text:
            lines.append(html.escape(self._tint_text))
        return "<br>".join(lines)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._bounds

    def shape(self) -> QPainterPath:
        """The box: what takes clicks and hovers."""
        return self._hit_area

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme()
        style = self._style
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < TEXT_LOD:
            painter.setPen(t.no_pen)
            overview = self._tint if self._tint is not None else self._overview
            painter.setBrush(t.overview_selected if self.isSelected() else overview)
            if lod < OVERVIEW_LOD:
                painter.drawRect(self._overview_rect)
            else:
                painter.drawRoundedRect(self._rect, self._radius, self._radius)
            return
        painter.setBrush(self.fill)
        painter.setPen(t.selected_pen if self.isSelected() else (t.output_pen if self._is_output else style.border))
        if self._stack is not None:
            painter.drawRoundedRect(self._stack, self._radius, self._radius)
        painter.drawRoundedRect(self._rect, self._radius, self._radius)
        if self.isSelected():
            painter.setPen(t.glow_pen)
            painter.setBrush(t.no_brush)
            painter.drawRoundedRect(self._glow, self._radius, self._radius)
        if style.accent is not None:
            painter.setPen(t.no_pen)
            painter.setBrush(style.accent)
            painter.drawRoundedRect(self._accent, 2, 2)
            if style.accent_low is not style.accent:
                painter.setBrush(style.accent_low)
                painter.drawRoundedRect(self._accent_low, 2, 2)
        self._paint_text(painter)
        _draw_badges(painter, self._badges)
        if self._expander is not None:
            self._expander.paint(painter)

    def _paint_text(self, painter: QPainter) -> None:
        t = theme()
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        title, subtitle, shape = self._lines()
        painter.setFont(t.title_font)
        painter.setPen(t.title_pen)
        painter.drawText(self._title_rect, align, title)
        tinted = self._tint is not None
        painter.setFont(t.text_font)
        painter.setPen(t.title_pen if tinted else t.muted_pen)
        painter.drawText(self._subtitle_rect, align, subtitle)
        painter.setFont(t.shape_font)
        painter.setPen(t.title_pen if tinted else t.shape_pen)
        if tinted and self._tint_text:  # the value the node is coloured by, in place of its shape
            shape = _elide(t.shape_metrics, self._tint_text, self._shape_rect.width())
        painter.drawText(self._shape_rect, align, shape)
        if not self._children:
            return
        painter.setPen(t.separator_pen)
        painter.drawLine(self._separator)
        painter.setFont(t.text_font)
        for dot, rect, text, style in self._children:
            painter.setPen(style.border)
            painter.setBrush(style.accent or style.fill)
            painter.drawEllipse(dot)
            painter.setPen(t.title_pen)
            painter.drawText(rect, align, text)


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
        header = QRectF(rect.left(), rect.top(), rect.width(), FRAME_HEADER)
        self._header = header
        self._header_path = QPainterPath()
        self._header_path.addRoundedRect(header.adjusted(1, 1, -1, 0), 9, 9)
        self._header_shape = QPainterPath()
        self._header_shape.addRect(header)
        self._expander = _Expander(
            QRectF(header.right() - 8 - _EXPANDER, header.top() + (FRAME_HEADER - _EXPANDER) / 2, _EXPANDER, _EXPANDER),
            True,
        )
        self._bounds = rect.adjusted(-2, -_BADGE_HEIGHT / 2 - 1, 2, 2)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.set_layer(layer)

    @property
    def layer_path(self) -> str:
        """Path of the nested model."""
        return self.node.layer

    @property
    def box(self) -> QRectF:
        """The frame, in item coordinates (which are scene coordinates: the frame is not moved)."""
        return self._rect

    @property
    def expander_rect(self) -> QRectF:
        """Where the "−" button is, in scene coordinates."""
        return self.mapRectToScene(self._expander.rect)

    def set_layer(self, layer: LayerInfo | None) -> None:
        """Re-reads the nested model's training state and repaints."""
        t = theme()
        self.state = layer_state(layer, self.node)
        tag = t.state_tag(self.state)
        self._badges = t.badges([tag] if tag else [], self._expander.rect.left() - 8, self._rect.top(), self._rect.left() + 12)
        self._title_rect = self._header.adjusted(12, 0, 0, 0)
        self._title_rect.setRight(self._expander.rect.left() - 8)
        title = f"{self.node.label} · {self.node.class_name}"
        self._title = _elide(t.title_metrics, title, self._title_rect.width())
        self.setToolTip(
            f"<b>{html.escape(title)}</b><br>state: {self.state}<br>double-click the header or click − to close"
        )
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._bounds

    def shape(self) -> QPainterPath:
        """Only the header: clicks elsewhere in the frame go to the view (panning)."""
        return self._header_shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme()
        painter.setBrush(t.frame_brush)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < TEXT_LOD:
            # Square, solid and aliased: zoomed out, rounded corners, dashes and smoothed edges
            # cost up to 20 ms a frame at 250 open blocks and cannot be seen.
            antialiased = painter.testRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(t.frame_overview_pens[self.isSelected()])
            painter.drawRect(self._rect)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, antialiased)
            return
        painter.setPen(t.frame_selected_pen if self.isSelected() else t.frame_pen)
        painter.drawRoundedRect(self._rect, 10, 10)
        painter.setPen(t.no_pen)
        painter.setBrush(t.header_brush)
        painter.drawPath(self._header_path)
        painter.setFont(t.title_font)
        painter.setPen(t.title_pen)
        painter.drawText(self._title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self._title)
        _draw_badges(painter, self._badges)
        self._expander.paint(painter)


class EdgeItem(QGraphicsItem):
    """A tensor flowing from one node to another, with an arrowhead at the consumer. Hovering it
    highlights it and shows the tensor's shape."""

    def __init__(self, path: QPainterPath, arrow: QPolygonF, tooltip: str):
        """Makes the edge.

        Args:
            path: The route, in scene coordinates, running downwards and ending at the base of
                the arrow.
            arrow: The arrowhead triangle, pointing down.
            tooltip: Text shown on hover (the tensor's shape).
        """
        super().__init__()
        self._path = path
        self._arrow = arrow
        self._hover_shape: QPainterPath | None = None
        self._hovered = False
        # The route runs downwards and the arrow hangs below its end.
        self._bounds = path.boundingRect().adjusted(-6, -4, 6, ARROW_LENGTH + 2)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(True)
        self.setZValue(EDGE_Z)
        self.setToolTip(tooltip)

    @property
    def route(self) -> QPainterPath:
        """The route, in scene coordinates (without the arrowhead)."""
        return self._path

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
        self.setZValue(HOVERED_EDGE_Z)
        self.update()

    def hoverLeaveEvent(self, event):  # noqa: N802 (Qt override)
        self._hovered = False
        self.setZValue(EDGE_Z)
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < OVERVIEW_LOD:
            pen = t.overview_edge_pen
        else:
            pen = t.edge_hover_pen if self._hovered else t.edge_pen
        painter.setPen(pen)
        painter.setBrush(t.no_brush)
        painter.drawPath(self._path)
        if lod < TEXT_LOD:
            return
        painter.setPen(t.no_pen)
        painter.setBrush(t.edge_hover_brush if self._hovered else t.edge_brush)
        painter.drawPolygon(self._arrow)


class ColourVersion:
    """How many times the nodes of one overview changed colour (see :class:`OverviewItem`)."""

    def __init__(self):
        self.count = 0


class OverviewItem(QGraphicsItem):
    """The whole graph drawn at once when zoomed out below :data:`TEXT_LOD`.

    Painting hundreds or thousands of items one by one costs a Python call each, and an item
    cache each on the first paint; zoomed out, every node is a solid block, every edge a line
    and every open block's frame a plain rectangle anyway. While this item is on, the nodes,
    edges and frames keep taking clicks, hovers and the selection but paint nothing
    (``ItemHasNoContents``); this item draws the edges as one path, the frames with one call and
    the blocks with one call per colour. (Each wheel step that zooms out there made every
    frame redraw its item cache: 11 ms a step with a thousand blocks open.)
    """

    def __init__(self, nodes: list[NodeItem], edges: list[EdgeItem], frames: list[GroupFrameItem]):
        super().__init__()
        self._nodes = nodes
        self._edges = edges
        self._frames = frames
        self._frame_rects = [frame.mapRectToScene(frame.box) for frame in self._frames]
        self._order = {node: index for index, node in enumerate(nodes)}
        # The nodes count their colour changes here rather than holding this item: a reference
        # cycle between items would outlive the tab wherever garbage collection is frozen.
        self._version = ColourVersion()
        for node in nodes:
            node.colours = self._version
        self._colours: dict[bool, list[tuple[QBrush, list[QRectF]]]] = {}
        self._colours_at = 0
        self._boxes = [node.mapRectToScene(node.box) for node in nodes]
        self._bands = [node.mapRectToScene(node.overview_rect) for node in nodes]
        self._edge_path = QPainterPath()
        for edge in edges:
            self._edge_path.addPath(edge.route)
        self._bounds = QRectF()
        for rect in [*self._bands, *self._frame_rects]:
            self._bounds = self._bounds.united(rect)
        # Names go right of the blocks, in screen pixels: room for about 200 of them at the
        # smallest zoom that shows names.
        label_room = 200 / (LABEL_ROW_PIXELS / ROW_PITCH)
        self._bounds = self._bounds.united(self._edge_path.boundingRect()).adjusted(-2, -2, 2 + label_room, 2)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(NODE_Z - 1)
        self.active = False
        self._members = {*nodes, *edges, *self._frames}
        self._switching: TimeSlicedRun | None = None
        self._timer_owner = QObject()  # owns the switching slices (an item is not a QObject)
        self.setVisible(False)

    def set_active(self, active: bool, near: QRectF | None = None) -> None:
        """Draws the graph here (``True``) or leaves it to the items (``False``).

        Args:
            active: Which of the two draws.
            near: The part of the scene on screen. Zooming in, its items draw themselves at
                once and the others switch a few hundred at a time between events (switching
                ten thousand items takes tens of milliseconds, more than a frame). Zooming out,
                everything switches at once: nearly everything is on screen.
        """
        if active == self.active:
            return
        self.active = active
        self.setVisible(active)
        if self._switching is not None and not self._switching.done:
            self._switching.cancel()
        if active or near is None or self.scene() is None:
            self._switch([*self._nodes, *self._edges, *self._frames], active)
            return
        self._switch([i for i in self.scene().items(near) if i in self._members], active)
        self._switching = TimeSlicedRun(self._switch_steps(active), parent=self._timer_owner)
        self._switching.start()

    def _switch_steps(self, active: bool):
        items = [*self._nodes, *self._edges, *self._frames]
        for start in range(0, len(items), SWITCH_BATCH):
            if not isValid(self) or self.scene() is None:
                return  # the graph was drawn again meanwhile
            self._switch(items[start : start + SWITCH_BATCH], active)
            yield

    @staticmethod
    def _switch(items, active: bool) -> None:
        flag = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
        for item in items:
            if bool(item.flags() & flag) != active:
                item.setFlag(flag, active)
                if not active:
                    item.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        self.draw(painter, option.levelOfDetailFromTransform(painter.worldTransform()))

    def draw(self, painter: QPainter, lod: float, selection: bool = True) -> None:
        """Draws the graph with ``painter`` (scene coordinates) at zoom ``lod``.

        Args:
            painter: Where to draw.
            lod: Device pixels per scene pixel.
            selection: Whether to mark the selected nodes (the minimap marks them itself, so
                its picture need not be drawn again on every click).
        """
        t = theme()
        painter.save()  # the view does not save the painter's state between items
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(t.overview_edge_pen if lod < OVERVIEW_LOD else t.edge_pen)
        painter.setBrush(t.no_brush)
        painter.drawPath(self._edge_path)
        if self._frame_rects:
            self._paint_frames(painter, selection)
        bands = lod < OVERVIEW_LOD
        rects = self._bands if bands else self._boxes
        painter.setPen(t.no_pen)
        for brush, group in self._coloured(bands):
            painter.setBrush(brush)
            painter.drawRects(group)
        selected = self.selected_boxes(rects) if selection else []
        if selected:
            painter.setBrush(t.overview_selected)
            painter.drawRects(selected)
        if ROW_PITCH * lod >= LABEL_ROW_PIXELS and len(self._nodes) <= MAX_OVERVIEW_LABELS:
            self._paint_labels(painter)
        painter.restore()

    def _paint_frames(self, painter: QPainter, selection: bool) -> None:
        """Draws the open blocks' frames as plain rectangles, the selected ones in the
        selection's colour."""
        t = theme()
        painter.setBrush(t.frame_brush)
        painter.setPen(t.frame_overview_pens[False])
        painter.drawRects(self._frame_rects)
        chosen = set(self.scene().selectedItems()) if selection and self.scene() is not None else set()
        selected = [rect for frame, rect in zip(self._frames, self._frame_rects) if frame in chosen]
        if selected:
            painter.setBrush(t.no_brush)
            painter.setPen(t.frame_overview_pens[True])
            painter.drawRects(selected)

    def _coloured(self, bands: bool) -> list[tuple[QBrush, list[QRectF]]]:
        """The nodes' blocks (``bands`` or boxes) sorted by colour, one list per brush: sorting
        ten thousand nodes takes longer than drawing them, so it is kept until a colour changes."""
        if self._colours_at != self._version.count:
            self._colours.clear()
            self._colours_at = self._version.count
        if bands not in self._colours:
            groups: dict[int, tuple[QBrush, list[QRectF]]] = {}
            for node, rect in zip(self._nodes, self._bands if bands else self._boxes):
                brush = node.overview_brush
                groups.setdefault(id(brush), (brush, []))[1].append(rect)
            self._colours[bands] = list(groups.values())
        return self._colours[bands]

    def selected_boxes(self, rects: list[QRectF] | None = None) -> list[QRectF]:
        """Where the selected nodes are (their boxes, or their entries of ``rects``), in scene
        coordinates."""
        rects = self._boxes if rects is None else rects
        return [rects[self._order[item]] for item in self.scene().selectedItems() if item in self._order]

    def _paint_labels(self, painter: QPainter) -> None:
        """Names each node beside its block, in screen pixels, when the rows leave room: the
        whole graph of blocks and stages then reads at a glance."""
        t = theme()
        to_device = painter.worldTransform()
        anchors = [to_device.map(QPointF(box.right(), box.center().y())) for box in self._boxes]
        painter.resetTransform()
        painter.setFont(t.overview_font)
        painter.setPen(t.title_pen)
        height = t.overview_metrics.height()
        for node, anchor in zip(self._nodes, anchors):
            painter.drawText(QPointF(anchor.x() + 4, anchor.y() + height / 2 - t.overview_metrics.descent()), node.node.label)
