"""The layer-graph view of one model: layers as boxes, tensors as arrows, nested models that
open in place. Zoom with the wheel, pan by dragging, click a layer to select it.

The view draws a :class:`~inspector.model.model_info.ModelInfo`; positions come from
:func:`inspector.model.graph_layout.layout_graph`, in layout units that are scaled to pixels here. Rows
are spaced by their tallest node, with room above and below the frames of expanded nested models.
"""

from __future__ import annotations

import bisect
import html
import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Generator, Iterator

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPolygonF
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QLabel, QVBoxLayout, QWidget

from inspector.model.graph_blocks import block_layers, group_blocks, is_block
from inspector.model.graph_layout import GraphLayout, layout_graph
from inspector.jobs import run_job
from inspector.model.model_info import LayerInfo, ModelGraph, ModelInfo
from widgets.common.formatting import format_value
from widgets.model.graph_minimap import GraphMinimap
from widgets.model.graph_items import (
    ARROW_LENGTH,
    FRAME_HEADER,
    FRAME_PAD,
    FRAME_Z,
    FROZEN,
    INPUT,
    NODE_HEIGHT,
    NODE_WIDTH,
    ROW_PITCH,
    STATELESS,
    TEXT_LOD,
    TRAINABLE,
    VALUE_SCALE,
    node_height,
    EdgeItem,
    GroupFrameItem,
    NodeItem,
    OverviewItem,
    theme,
    value_colour,
)

COLUMN = 250.0
STEP_BATCH = 30  # items built between two event-loop turns when building in slices
"""Pixels between neighbours in a row (one layout unit across)."""
_MIN_GAP = 30.0
_SCENE_MARGIN = 600.0
_MAX_SCALE = 4.0
_READABLE_SCALE = 0.6
_ZOOM_STEP = 1.25


@contextmanager
def _waiting():
    """A busy cursor while the graph is drawn again (a second or two at thousands of layers)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


def _at_top(graph: ModelGraph, node_id: str) -> bool:
    """Whether a node is in the model's own graph (inside blocks at most, not a nested model)."""
    return all(is_block(graph.nodes[group]) for group in _ancestors(graph, node_id))


def _ancestors(graph: ModelGraph, node_id: str) -> list[str]:
    """The nested models enclosing a node, innermost first."""
    chain = []
    group = graph.nodes[node_id].group
    while group is not None:
        chain.append(group)
        group = graph.nodes[group].group
    return chain


class _Rows:
    """Maps layout rows to scene y, so that tall nodes and frame headers never overlap a row."""

    def __init__(self, heights: dict[float, float], above: dict[float, float], below: dict[float, float]):
        """Places the rows.

        Args:
            heights: Height of the tallest node in each row.
            above: Extra room wanted above each row (frame headers).
            below: Extra room wanted below each row (frame bottoms).
        """
        self._rows = sorted(heights)
        self._half = {row: h / 2 for row, h in heights.items()}
        self._ys = []
        y = 0.0
        for i, row in enumerate(self._rows):
            if i:
                prev = self._rows[i - 1]
                pitch = max(ROW_PITCH * (row - prev), self._half[prev] + self._half[row] + _MIN_GAP)
                y += pitch + below.get(prev, 0.0) + above.get(row, 0.0)
            self._ys.append(y)
        self._y_of = dict(zip(self._rows, self._ys))

    def y(self, row: float) -> float:
        """Scene y of a row's centre line; rows between node rows are interpolated."""
        if row in self._y_of:
            return self._y_of[row]
        i = bisect.bisect(self._rows, row)
        if i == 0:
            return self._ys[0] - ROW_PITCH * (self._rows[0] - row)
        if i == len(self._rows):
            return self._ys[-1] + ROW_PITCH * (row - self._rows[-1])
        r0, r1 = self._rows[i - 1], self._rows[i]
        return self._ys[i - 1] + (self._ys[i] - self._ys[i - 1]) * (row - r0) / (r1 - r0)

    def half_height(self, row: float) -> float:
        """Half the height of the tallest node in a row."""
        return self._half.get(row, NODE_HEIGHT / 2)


@dataclass
class _SceneContent:
    """What :class:`_SceneBuilder` put in the scene."""

    nodes: dict[str, NodeItem]
    frames: dict[str, GroupFrameItem]
    rect: QRectF
    overview: OverviewItem | None = None


class _SceneBuilder:
    """Turns a layout into scene items: nodes, then rows, then frames and edges."""

    def __init__(
        self,
        info: ModelInfo,
        graph: ModelGraph,
        index: dict[str, LayerInfo],
        layout: GraphLayout,
        on_toggle: Callable[[str], None],
        on_trainable_toggle: Callable[[str], None],
    ):
        """Prepares to draw ``layout``.

        Args:
            info: The model's description.
            graph: Its graph with the blocks grouped (see :mod:`inspector.model.graph_blocks`).
            index: Every layer by path, and every block as a layer.
            layout: Where the visible nodes go.
            on_toggle: Called with a nested model's or block's node id to open or close it.
            on_trainable_toggle: Called with a layer path to freeze or unfreeze it.
        """
        self._on_trainable_toggle = on_trainable_toggle
        self._info = info
        self._graph = graph
        self._layout = layout
        self._on_toggle = on_toggle
        self._index = index

    def steps(self, scene: QGraphicsScene, batch: int = STEP_BATCH) -> Generator[None, None, _SceneContent]:
        """Adds every item to ``scene``, yielding after each batch of items so a big graph can be
        built a slice at a time between events.

        Returns:
            The nodes, the frames and their bounding box.
        """
        nodes = {}
        for node_id, item in self._make_nodes():
            nodes[node_id] = item
            if len(nodes) % batch == 0:
                yield
        rows = self._place_rows(nodes)
        for count, (node_id, item) in enumerate(nodes.items(), 1):
            x, row = self._layout.positions[node_id]
            item.setPos(x * COLUMN, rows.y(row))
            scene.addItem(item)
            if count % batch == 0:
                yield
        frames = self._make_frames(nodes)
        for frame in frames.values():
            scene.addItem(frame)
        edges = []
        for count, edge in enumerate(self._make_edges(nodes, rows), 1):
            scene.addItem(edge)
            edges.append(edge)
            if count % batch == 0:
                yield
        rect = QRectF()
        for item in [*nodes.values(), *frames.values()]:
            rect = rect.united(item.sceneBoundingRect())
        yield
        overview = OverviewItem(list(nodes.values()), edges, list(frames.values()))
        scene.addItem(overview)
        yield
        scene.items(rect)  # builds the scene's index now, in its own step, not in the first paint
        yield
        return _SceneContent(nodes, frames, rect, overview)

    def _make_nodes(self) -> Iterator[tuple[str, NodeItem]]:
        outputs = {t.name for t in self._info.outputs}
        calls = defaultdict(list)
        for node in self._graph.nodes.values():
            calls[node.layer].append(node.id)
        for node_id in self._layout.positions:
            node = self._graph.nodes[node_id]
            same_layer = calls[node.layer]
            yield node_id, NodeItem(
                node,
                self._index.get(node.layer),
                is_output=node.layer in outputs and _at_top(self._graph, node_id),
                call=(same_layer.index(node_id) + 1, len(same_layer)) if len(same_layer) > 1 else None,
                on_toggle=self._on_toggle,
                on_trainable_toggle=self._on_trainable_toggle,
            )

    def _place_rows(self, nodes: dict[str, NodeItem]) -> _Rows:
        heights: dict[float, float] = {}
        for node_id, item in nodes.items():
            row = self._layout.positions[node_id][1]
            heights[row] = max(heights.get(row, 0.0), item.box.height())
        above: dict[float, float] = defaultdict(float)
        below: dict[float, float] = defaultdict(float)
        for members in self._layout.groups.values():
            member_rows = [self._layout.positions[m][1] for m in members]
            if member_rows:
                above[min(member_rows)] += FRAME_HEADER + FRAME_PAD
                below[max(member_rows)] += FRAME_PAD
        return _Rows(heights, above, below)

    def _make_frames(self, nodes: dict[str, NodeItem]) -> dict[str, GroupFrameItem]:
        """Frames of expanded nested models, inner ones first so outer ones can enclose them."""
        depth = {g: len(_ancestors(self._graph, g)) for g in self._layout.groups}
        frames: dict[str, GroupFrameItem] = {}
        for group in sorted(self._layout.groups, key=depth.get, reverse=True):
            rect = QRectF()
            for member in self._layout.groups[group]:
                rect = rect.united(nodes[member].mapRectToScene(nodes[member].box))
            for inner, frame in frames.items():
                if group in _ancestors(self._graph, inner):
                    rect = rect.united(frame.box)
            if rect.isNull():
                continue
            rect.adjust(-FRAME_PAD, -FRAME_PAD - FRAME_HEADER, FRAME_PAD, FRAME_PAD)
            node = self._graph.nodes[group]
            frame = GroupFrameItem(node, self._index.get(node.layer), rect, self._on_toggle)
            frame.setZValue(FRAME_Z + depth[group])
            frames[group] = frame
        return frames

    def _make_edges(self, nodes: dict[str, NodeItem], rows: _Rows) -> Iterator[EdgeItem]:
        """Edges, with the arrows into one node spread along its top in the order they arrive."""
        incoming = defaultdict(list)
        for edge, points in self._layout.edges:
            incoming[edge.target].append((points[-2][0], edge, points))
        for target, arrivals in incoming.items():
            arrivals.sort(key=lambda a: a[0])
            spacing = min(14.0, NODE_WIDTH * 0.6 / max(len(arrivals) - 1, 1))
            for i, (_, edge, points) in enumerate(arrivals):
                offset = (i - (len(arrivals) - 1) / 2) * spacing
                source, sink = nodes[edge.source], nodes[target]
                path, arrow = _edge_geometry(points, rows, _half(source), _half(sink), offset)
                tooltip = f"{edge.shape}\n{source.node.label} → {sink.node.label}"
                yield EdgeItem(path, arrow, tooltip)


def _half(item: NodeItem) -> float:
    return item.box.height() / 2


def _edge_geometry(points, rows: _Rows, source_half: float, target_half: float, offset: float):
    """The route of an edge and its arrowhead.

    The route leaves the bottom of the source, runs straight down through each row it crosses
    (where the layout put a bend point), curves between rows, and ends on the arrow's base above
    the target.

    Args:
        points: Layout points from source centre through bends to target centre.
        rows: Where the rows are.
        source_half: Half the source node's height.
        target_half: Half the target node's height.
        offset: Horizontal shift of the arrowhead from the target's centre.

    Returns:
        The path and the arrowhead triangle, in scene coordinates.
    """
    (sx, sy), *bends, (tx, ty) = points
    tip_x, tip_y = tx * COLUMN + offset, rows.y(ty) - target_half
    waypoints = [(sx * COLUMN, rows.y(sy) + source_half)]
    for bx, by in bends:
        y, half = rows.y(by), rows.half_height(by)
        waypoints += [(bx * COLUMN, y - half), (bx * COLUMN, y + half)]
    waypoints.append((tip_x, tip_y - ARROW_LENGTH + 1))
    path = QPainterPath(QPointF(*waypoints[0]))
    for i in range(1, len(waypoints)):
        (px, py), (qx, qy) = waypoints[i - 1], waypoints[i]
        if i % 2 == 0:
            path.lineTo(qx, qy)
        else:
            k = (qy - py) / 2
            path.cubicTo(px, py + k, qx, qy - k, qx, qy)
    base = tip_y - ARROW_LENGTH
    arrow = QPolygonF([QPointF(tip_x, tip_y), QPointF(tip_x - 4.5, base), QPointF(tip_x + 4.5, base)])
    return path, arrow


class _Canvas(QGraphicsView):
    """The zoomable, pannable view of the scene.

    Until the user zooms, pans or clicks, it keeps the whole graph fitted to the window, also
    when the window is resized (so the first show fits the graph).

    Attributes:
        content: The part of the scene holding the graph.
        auto_fit: Whether to fit the graph on resize.
        minimap: The whole graph in the corner, while part of it is out of sight.

    Signals:
        node_context_menu(object, QPoint): A node or group frame was right-clicked, at this
            global position.
    """

    node_context_menu = Signal(object, QPoint)

    def __init__(self, scene: QGraphicsScene, parent: QWidget):
        super().__init__(scene, parent)
        self.content = QRectF()
        self.overview: OverviewItem | None = None
        self.auto_fit = True
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setOptimizationFlags(
            QGraphicsView.OptimizationFlag.DontSavePainterState
            | QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing
        )
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setBackgroundBrush(theme().background)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.minimap = GraphMinimap(self)

    def scale_factor(self) -> float:
        """Current zoom: device pixels per scene pixel."""
        return self.transform().m11()

    def _fit_scale(self) -> float:
        if self.content.isEmpty():
            return 1.0
        size = self.viewport().size()
        return min(size.width() / (self.content.width() + 40), size.height() / (self.content.height() + 40))

    def fit(self) -> None:
        """Shows the whole graph, at most at natural size."""
        if self.content.isEmpty():
            return
        self.set_scale(min(self._fit_scale(), 1.0))
        self.centerOn(self.content.center())

    def set_scale(self, scale: float) -> None:
        """Zooms to ``scale``, within limits, around the view's centre."""
        low = min(0.25, 0.5 * self._fit_scale())
        scale = min(max(scale, low), _MAX_SCALE)
        self.scale(scale / self.scale_factor(), scale / self.scale_factor())
        self.update_overview()
        self.minimap.view_changed()

    def update_overview(self) -> None:
        """Draws the graph in one item when zoomed out too far for text (see
        :class:`~widgets.model.graph_items.OverviewItem`), else item by item."""
        if self.overview is not None:
            near = self.mapToScene(self.viewport().rect()).boundingRect()
            self.overview.set_active(self.scale_factor() < TEXT_LOD, near)

    def zoom(self, factor: float, at: QPoint | None = None) -> None:
        """Zooms by ``factor``, keeping the scene point under viewport position ``at`` in place."""
        self.auto_fit = False
        if at is None:
            self.set_scale(self.scale_factor() * factor)
            return
        anchor = self.mapToScene(at)
        self.set_scale(self.scale_factor() * factor)
        self.keep_at(anchor, at)

    def keep_at(self, scene_point: QPointF, viewport_point: QPoint) -> None:
        """Scrolls so that ``scene_point`` shows at ``viewport_point`` (as far as possible)."""
        delta = self.mapFromScene(scene_point) - viewport_point
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())

    def reveal(self, rect: QRectF) -> None:
        """Centres ``rect``, zooming in to a readable size first if the view is zoomed far out."""
        self.auto_fit = False
        if self.scale_factor() < _READABLE_SCALE:
            self.set_scale(1.0)
        self.centerOn(rect.center())

    def wheelEvent(self, event):  # noqa: N802 (Qt override)
        self.zoom(1.0015 ** event.angleDelta().y(), event.position().toPoint())
        event.accept()

    def mousePressEvent(self, event):  # noqa: N802 (Qt override)
        self.auto_fit = False
        super().mousePressEvent(event)

    def resizeEvent(self, event):  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self.auto_fit:
            self.fit()
        self.minimap.view_changed()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 (Qt override)
        super().scrollContentsBy(dx, dy)
        self.minimap.view_changed()

    def contextMenuEvent(self, event):  # noqa: N802 (Qt override)
        item = self.itemAt(event.pos())
        while item is not None and not isinstance(item, (NodeItem, GroupFrameItem)):
            item = item.parentItem()
        if item is not None:
            self.node_context_menu.emit(item, event.globalPos())
            event.accept()


def _value_text(value: float) -> str:
    """A value for a node: whole numbers (counts) with thousands separators, others to three
    significant digits."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return format_value(value, 3)


@dataclass(frozen=True)
class ValueScale:
    """Maps values to positions on the tint colour scale.

    Linear from the smallest to the largest finite value (from 0 when no value is negative, so
    similar values look similar), or logarithmic when no value is negative and the non-zero
    ones span more than two decades (changes of weights often do); then 0 takes the lowest
    colour and the non-zero values the rest. Infinite values take the highest colour.

    Attributes:
        low: The smallest finite value.
        high: The largest finite value.
        log: Whether the scale is logarithmic.
        positive_low: The smallest non-zero value (log scale only).
    """

    low: float
    high: float
    log: bool = False
    positive_low: float = 0.0

    LOG_START = 0.15
    """Where the smallest non-zero value sits on a log scale (0 is at 0)."""

    @classmethod
    def fit(cls, values) -> ValueScale:
        """The scale for a collection of values (NaN and infinities ignored)."""
        finite = [float(v) for v in values if math.isfinite(v)]
        if not finite:
            return cls(0.0, 1.0)
        low, high = min(finite), max(finite)
        positive = [v for v in finite if v > 0]
        if low >= 0 and positive and high / min(positive) > 100:
            return cls(0.0, high, True, min(positive))
        return cls(min(low, 0.0), high)

    def position(self, value: float) -> float | None:
        """Where ``value`` falls in [0, 1], or ``None`` for NaN."""
        if math.isnan(value):
            return None
        if math.isinf(value):
            return 1.0 if value > 0 else 0.0
        if self.log:
            if value <= 0:
                return 0.0
            span = math.log10(self.high) - math.log10(self.positive_low)
            where = (math.log10(value) - math.log10(self.positive_low)) / span
            return self.LOG_START + (1 - self.LOG_START) * where
        return 0.5 if self.high == self.low else (value - self.low) / (self.high - self.low)


def _value_legend(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setStyleSheet(
        "QLabel { background: rgba(255, 255, 255, 225); border: 1px solid #c9ced6; border-radius: 4px;"
        " color: #1d2433; padding: 3px 7px; }"
    )
    label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    label.hide()
    return label


def _legend(editable: bool) -> QLabel:
    """One line explaining the colours and the mouse (freezing only where the graph edits)."""
    t = theme()
    entries = [
        (t.states[TRAINABLE].accent.color(), "trainable"),
        (t.states[FROZEN].accent.color(), "frozen"),
        (t.partly_frozen_tag.color(), "partly frozen"),
        (t.states[STATELESS].border.color(), "no weights"),
        (t.states[INPUT].border.color(), "input"),
        (t.output_pen.color(), "output"),
    ]
    html = " &nbsp; ".join(f'<span style="color:{c.name()}">■</span>&nbsp;{text}' for c, text in entries)
    freeze = "click a node's coloured bar: freeze/unfreeze, " if editable else ""
    label = QLabel(html + f" &nbsp; · &nbsp; wheel: zoom, drag: pan, {freeze}double-click a nested model or block: open/close")
    label.setStyleSheet("QLabel { color: #5f6b7a; padding: 3px 8px; }")
    label.setWordWrap(True)
    return label


class GraphView(QWidget):
    """The layer graph of one model.

    Signals:
        layer_selected(str): The user selected a layer in the graph (by clicking it or through
            :meth:`find_next`); carries the layer path. Not emitted by :meth:`select_layer`.
        layer_context_menu(str, QPoint): The user right-clicked a layer's node (selecting it);
            carries the layer path and the global position for a menu.
        trainable_toggle_requested(str): The user clicked a node's training-state bar to freeze
            or unfreeze that layer.
        group_toggled(str, bool): The user opened (``True``) or closed a nested model or block;
            carries its node id. Not emitted by :meth:`expand` and :meth:`collapse`.

    Args:
        parent: The owning widget.
        editable: Whether the graph's owner freezes layers on a click of their state bar (the
            legend then says so); a graph only for reading, such as a comparison's, is not.

    Attributes:
        canvas: The QGraphicsView showing the scene (for mapping scene points to the screen).
    """

    layer_selected = Signal(str)
    layer_context_menu = Signal(str, QPoint)
    trainable_toggle_requested = Signal(str)
    group_toggled = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None, *, editable: bool = True):
        super().__init__(parent)
        self._info: ModelInfo | None = None
        self._grouped = ModelGraph()  # the model's graph with its blocks grouped
        self._index: dict[str, LayerInfo] = {}  # every layer by path, and every block as a layer
        self._warnings: dict[str, str] = {}
        self._expanded: set[str] = set()
        self._order: dict[str, int] = {}
        self._nodes: dict[str, NodeItem] = {}
        self._frames: dict[str, GroupFrameItem] = {}
        self._values: dict[str, float] | None = None
        self._marks: dict[str, tuple[str, str]] | None = None
        self._marks_legend = ""
        self._value_label = ""
        self._value_scale: ValueScale | None = None
        self._quiet = False
        self._scene = QGraphicsScene(self)
        self._scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self._scene.selectionChanged.connect(self._on_selection_changed)
        self.canvas = _Canvas(self._scene, self)
        self._scene.selectionChanged.connect(self.canvas.minimap.update)
        self.canvas.node_context_menu.connect(self._context_menu)
        self.value_legend = _value_legend(self.canvas)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(_legend(editable))

    # Model

    def set_model(self, info: ModelInfo, layout: GraphLayout | None = None) -> None:
        """Shows a model's graph with every nested model closed, fitted to the window.

        Args:
            info: The model's description.
            layout: Its layout with nothing expanded, if already computed (in the background).
        """
        run_job(self.set_model_steps(info, layout))

    def set_model_steps(self, info: ModelInfo, layout: GraphLayout | None = None) -> Generator[None, None, None]:
        """:meth:`set_model` in slices: each ``next()`` does a little of the work, so the caller can
        let the event loop run in between."""
        self._take(info, layout)
        self._expanded = set()
        self._order = {node_id: i for i, node_id in enumerate(self._grouped.nodes)}
        self._values = self._value_scale = None  # values belong to the previous model
        self._show_value_legend()
        yield from self._rebuild_steps(layout)
        self.canvas.auto_fit = True
        self.canvas.fit()

    def _take(self, info: ModelInfo, layout: GraphLayout | None = None) -> None:
        """Uses ``info``: its graph with the blocks grouped (from ``layout``, made where the
        layout was, off the GUI thread; else grouped here, once per graph: a trainable edit
        keeps the graph), and each block described as a layer."""
        if layout is not None:
            self._grouped = layout.graph
        elif self._info is None or info.graph is not self._info.graph:
            self._grouped = group_blocks(info.graph)
        self._info = info
        layers = info.layer_index()
        self._index = {**layers, **block_layers(self._grouped, layers)}

    def refresh_model_steps(self, info: ModelInfo, layout: GraphLayout) -> Generator[None, None, None]:
        """Takes the live description of the model whose preview (its description from the saved
        configuration, same structure) is drawn: the items stay where they are and take the
        new shapes, counts and states, in slices like :meth:`set_model_steps`.

        Nodes whose height changes (a wrapper lists its inner layers once they are known) need
        a new layout: then the graph is drawn again from ``layout``.
        """
        self._take(info, layout)
        index = self._index
        items = [*self._nodes.values(), *self._frames.values()]
        if any(node_height(index.get(item.node.layer)) != item.box.height() for item in self._nodes.values()):
            yield from self.set_model_steps(info, layout if not self._expanded else None)
            return
        for count, item in enumerate(items, 1):
            item.node = self._grouped.nodes[item.node.id]
            item.set_layer(index.get(item.node.layer))
            if count % STEP_BATCH == 0:
                yield
        self.canvas.minimap.redraw()

    def refresh_states(self, info: ModelInfo, warnings: dict[str, str] | None = None) -> None:
        """Repaints trainable/frozen states and parameter counts from a new description of the same
        model, without moving anything.

        Args:
            info: The new description.
            warnings: Warnings by layer path (BatchNormalization pitfalls), shown on the nodes.
        """
        self._take(info)
        if warnings is not None:
            self._warnings = dict(warnings)
        for item in [*self._nodes.values(), *self._frames.values()]:
            item.set_layer(self._index.get(item.node.layer))
        self._show_warnings()
        self.canvas.minimap.redraw()

    def set_layer_values(self, values: dict[str, float] | None, label: str = "") -> None:
        """Tints each layer's nodes by a value, on a sequential colour scale (see
        :class:`ValueScale`), with a small legend naming the value and its range.

        A closed nested model that has no value of its own takes the largest value of the
        layers inside it, so a frozen base that moved shows before it is opened. Nodes of other
        layers, and layers whose value is NaN, keep their normal look. The tint survives opening
        and closing nested models and :meth:`refresh_states`.

        Args:
            values: Values by layer path (e.g. relative weight change); ``None`` restores the
                normal look.
            label: What the values are, for the legend and the tooltips.
        """
        self._values = None if values is None else {str(k): float(v) for k, v in values.items()}
        self._value_label = label
        self._value_scale = ValueScale.fit(self._values.values()) if self._values else None
        self._apply_values()
        self._show_value_legend()
        self.canvas.minimap.redraw()

    def set_layer_marks(self, marks: dict[str, tuple[str, str]] | None, legend: str = "") -> None:
        """Tints layers by category rather than by a value: each layer's nodes take a colour and
        a line of text (a comparison's "changed", "added"…), in place of any value tint.

        Args:
            marks: ``{layer path: (colour name, text)}``; layers left out keep their normal
                look; ``None`` removes the marks.
            legend: HTML for the legend in the corner.
        """
        self._marks, self._marks_legend = marks, legend
        self._apply_values()
        self._show_value_legend()
        self.canvas.minimap.redraw()

    def _mark_inside(self, layer: str, is_group: bool) -> tuple[str, str] | None:
        """A closed group's mark when it has none of its own: the colour of the first marked
        layer inside, saying how many are."""
        if not is_group or not self._marks:
            return None
        block = self._index.get(layer)
        if block is not None and block.kind == "block":
            paths = {inner.path for child in block.children for inner in child.walk()}
            inside = [mark for path, mark in self._marks.items() if path in paths]
        else:
            inside = [mark for path, mark in self._marks.items() if path.startswith(layer + "/")]
        return (inside[0][0], f"{len(inside)} marked inside") if inside else None

    def value_text(self, path: str) -> str:
        """The line naming the value a layer (or a closed group) is coloured by, or ``""``."""
        layer = self._index.get(path)
        return self._node_value(path, layer is not None and bool(layer.children))[1]

    def layer_values(self) -> dict[str, float] | None:
        """The values the nodes are tinted by, if any."""
        return None if self._values is None else dict(self._values)

    def _apply_values(self) -> None:
        if self._marks is not None:
            for item in self._nodes.values():
                mark = self._marks.get(item.node.layer) or self._mark_inside(item.node.layer, item.node.is_group)
                item.set_tint(None if mark is None else QBrush(QColor(mark[0])), "" if mark is None else mark[1])
            return
        for item in self._nodes.values():
            value, text = self._node_value(item.node.layer, item.node.is_group)
            position = None if value is None or self._value_scale is None else self._value_scale.position(value)
            if position is None:
                if item.tint is not None:
                    item.set_tint(None)
                continue
            item.set_tint(QBrush(value_colour(position)), text)

    def _node_value(self, layer: str, is_group: bool) -> tuple[float | None, str]:
        """A node's value and the tooltip line saying it."""
        if not self._values:
            return None, ""
        name = self._value_label or "value"
        if layer in self._values:
            value = self._values[layer]
            return value, f"{name}: {_value_text(value)}"
        if not is_group:
            return None, ""
        block = self._index.get(layer)
        if block is not None and block.kind == "block":
            paths = (inner.path for child in block.children for inner in child.walk())
            inside = [self._values[p] for p in paths if p in self._values and not math.isnan(self._values[p])]
        else:
            inside = [v for path, v in self._values.items() if path.startswith(layer + "/") and not math.isnan(v)]
        if not inside:
            return None, ""
        value = max(inside)
        return value, f"{name}: {format_value(value, 3)} (largest of {len(inside)} layers inside)"

    def _show_value_legend(self) -> None:
        scale = self._value_scale
        if self._marks is not None and self._marks_legend:
            text = self._marks_legend
        elif scale is None:
            self.value_legend.hide()
            return
        else:
            swatches = "".join(f'<span style="color:{c}">■</span>' for c in VALUE_SCALE)
            low = 0.0 if scale.log else scale.low
            text = f"<b>{html.escape(self._value_label or 'value')}</b>&nbsp; {format_value(low, 3)} {swatches} {format_value(scale.high, 3)}"
            if scale.log:
                text += "&nbsp; (log scale)"
        self.value_legend.setText(text)
        self.value_legend.adjustSize()
        self.value_legend.move(8, 8)
        self.value_legend.show()
        self.value_legend.raise_()

    def _show_warnings(self) -> None:
        index = self._index
        for item in self._nodes.values():
            warning = self._warnings.get(item.node.layer)
            if warning != item.warning:
                item.warning = warning
                item.set_layer(index.get(item.node.layer))

    def block(self, path: str) -> LayerInfo | None:
        """A block of the graph (see :mod:`inspector.model.graph_blocks`) described as one layer
        whose children are the layers in it, by its path (``stage3_*``); ``None`` for a layer."""
        layer = self._index.get(path)
        return layer if layer is not None and layer.kind == "block" else None

    def node_ids(self) -> list[str]:
        """Ids of the nodes shown (an expanded nested model shows its inner nodes instead)."""
        return list(self._nodes)

    def node_item(self, node_id: str) -> NodeItem | None:
        """The item drawing a shown node."""
        return self._nodes.get(node_id)

    def frame_item(self, node_id: str) -> GroupFrameItem | None:
        """The frame of an expanded nested model."""
        return self._frames.get(node_id)

    # Nested models

    def expanded(self) -> set[str]:
        """Ids of the open nested models."""
        return set(self._expanded)

    def expand(self, node_id: str) -> None:
        """Opens a nested model (and the nested models around it) in place.

        Raises:
            KeyError: No such node.
            ValueError: The node is not a nested model with a graph.
        """
        if not self._graph().nodes[node_id].is_group:
            raise ValueError(f"{node_id!r} is not a nested model")
        wanted = self._expanded | {node_id, *_ancestors(self._graph(), node_id)}
        if wanted != self._expanded:
            self._relayout(wanted, anchor=node_id)

    def collapse(self, node_id: str) -> None:
        """Closes an open nested model and every nested model inside it."""
        if node_id not in self._expanded:
            return
        graph = self._graph()
        wanted = {g for g in self._expanded if g != node_id and node_id not in _ancestors(graph, g)}
        self._relayout(wanted, anchor=node_id)

    def open_blocks(self) -> None:
        """Opens every block of the graph (see :mod:`inspector.model.graph_blocks`): every layer
        of the open nested models is drawn."""
        blocks = {node.id for node in self._grouped.nodes.values() if is_block(node)}
        if not blocks <= self._expanded:
            with _waiting():
                self._relayout(self._expanded | blocks, anchor=None)

    def close_blocks(self) -> None:
        """Closes every block, keeping open nested models open."""
        kept = {g for g in self._expanded if not is_block(self._grouped.nodes[g])}
        if kept != self._expanded:
            with _waiting():
                self._relayout(kept, anchor=None)
            self.canvas.fit()

    # Selection and search

    def selected_layer(self) -> str | None:
        """Path of the selected layer, if any."""
        selected = self._scene.selectedItems()
        return selected[0].layer_path if selected else None

    def select_layer(self, path: str) -> bool:
        """Selects and centres a layer's node (its first call), opening nested models as needed.

        A layer inside a wrapper selects the wrapper. The layer selected already (for instance
        just clicked, when other views echo :attr:`layer_selected` back) stays where it is. Does
        not emit :attr:`layer_selected`.

        Returns:
            Whether the graph has a node for the layer.
        """
        node_id = self._node_for_layer(path)
        if node_id is None:
            return False
        if self.selected_layer() != self._graph().nodes[node_id].layer:
            self._go_to(node_id, quiet=True)
        return True

    def find(self, text: str) -> int:
        """How many layers (at any depth, open or not) have ``text`` in their name, ignoring case."""
        return len(self._matches(text))

    def find_next(self, text: str) -> str | None:
        """Selects and centres the next layer whose name contains ``text``, after the selected one
        and wrapping around; emits :attr:`layer_selected`.

        Returns:
            The layer's path, or ``None`` when no layer matches.
        """
        matches = self._matches(text)
        if not matches:
            return None
        current = self._order.get(self._selected_id(), -1)
        node_id = next((m for m in matches if self._order[m] > current), matches[0])
        self._go_to(node_id, quiet=False)
        return self._graph().nodes[node_id].layer

    # Zoom

    def zoom_in(self) -> None:
        """Zooms in one step around the centre."""
        self.canvas.zoom(_ZOOM_STEP)

    def zoom_out(self) -> None:
        """Zooms out one step around the centre."""
        self.canvas.zoom(1 / _ZOOM_STEP)

    def fit_all(self) -> None:
        """Shows the whole graph."""
        self.canvas.fit()

    # Internals

    def _graph(self) -> ModelGraph:
        return self._grouped

    @contextmanager
    def _silenced(self, silent: bool = True):
        """Selection changes made inside do not emit :attr:`layer_selected` (when ``silent``)."""
        self._quiet = silent
        try:
            yield
        finally:
            self._quiet = False

    def _rebuild(self) -> None:
        """Lays the graph out again for the current expanded set and rebuilds the scene."""
        run_job(self._rebuild_steps())

    def _rebuild_steps(self, layout: GraphLayout | None = None) -> Generator[None, None, None]:
        with self._silenced():
            self.canvas.minimap.set_graph(None, QRectF())  # before its overview item goes
            self._scene.clear()
            self.canvas.overview = None
            self._nodes, self._frames = {}, {}
            yield
            if layout is None:
                layout = layout_graph(self._graph(), self._expanded)
            content = yield from _SceneBuilder(
                self._info, self._grouped, self._index, layout, self._request_toggle, self.trainable_toggle_requested.emit
            ).steps(self._scene)
        self._nodes, self._frames = content.nodes, content.frames
        self._show_warnings()
        self._apply_values()
        if not content.nodes:
            message = self._scene.addText("This model has no layer graph that Keras can read (a subclassed model).")
            message.setDefaultTextColor(theme().muted_pen.color())
            content.rect = message.sceneBoundingRect()
        self.canvas.content = content.rect
        self.canvas.overview = content.overview
        self.canvas.update_overview()
        margin = max(_SCENE_MARGIN, 0.25 * max(content.rect.width(), content.rect.height()))
        self._scene.setSceneRect(content.rect.adjusted(-margin, -margin, margin, margin))
        self.canvas.minimap.set_graph(content.overview, content.rect)

    def _relayout(self, expanded: set[str], anchor: str | None) -> None:
        """Re-runs the layout with another set of open nested models, keeping the selection and
        keeping ``anchor`` (a nested model's node or frame) where it was on screen."""
        before = self._anchor_point(anchor)
        selected = self._selected_id()
        self._expanded = expanded
        self._rebuild()
        item = self._nodes.get(selected) or self._frames.get(selected)
        if item is not None:
            with self._silenced():
                item.setSelected(True)
        after = self._anchor_point(anchor)
        if before is not None and after is not None:
            self.canvas.keep_at(after[1], before[0])

    def _anchor_point(self, node_id: str | None) -> tuple[QPoint, QPointF] | None:
        """Viewport and scene position of the top centre of a node or frame."""
        item = self._nodes.get(node_id) or self._frames.get(node_id)
        if item is None:
            return None
        rect = item.mapRectToScene(item.box)
        top = QPointF(rect.center().x(), rect.top())
        return self.canvas.mapFromScene(top), top

    def _request_toggle(self, node_id: str) -> None:
        """Opens or closes a nested model once the current mouse event is over (it deletes the
        item that received it)."""
        QTimer.singleShot(0, self, lambda: self._toggle(node_id))

    def _toggle(self, node_id: str) -> None:
        if node_id not in self._graph().nodes:
            return
        opening = node_id not in self._expanded
        if opening:
            self.expand(node_id)
        else:
            self.collapse(node_id)
        self.group_toggled.emit(node_id, opening)

    def _node_for_layer(self, path: str) -> str | None:
        """The first node calling the layer, or calling the nearest layer that contains it."""
        while path:
            node_id = next((n.id for n in self._graph().nodes.values() if n.layer == path), None)
            if node_id is not None:
                return node_id
            path = path.rpartition("/")[0]
        return None

    def _matches(self, text: str) -> list[str]:
        """The first node of each layer whose name contains ``text``, in graph order."""
        needle = text.strip().lower()
        if not needle:
            return []
        first: dict[str, str] = {}
        for node in self._graph().nodes.values():
            if needle in node.layer.rpartition("/")[2].lower() and not is_block(node):
                first.setdefault(node.layer, node.id)
        return list(first.values())

    def _selected_id(self) -> str | None:
        selected = self._scene.selectedItems()
        return selected[0].node.id if selected else None

    def _go_to(self, node_id: str, quiet: bool) -> None:
        """Opens the nested models around a node, then selects and centres it (or its frame)."""
        graph = self._graph()
        missing = set(_ancestors(graph, node_id)) - self._expanded
        if missing:
            self._relayout(self._expanded | missing, anchor=None)
        item = self._nodes.get(node_id) or self._frames.get(node_id)
        with self._silenced(quiet):
            self._scene.clearSelection()
            item.setSelected(True)
        self.canvas.reveal(item.mapRectToScene(item.box))

    def _context_menu(self, item, position: QPoint) -> None:
        with self._silenced():
            self._scene.clearSelection()
            item.setSelected(True)
        self.layer_selected.emit(item.node.layer)
        self.layer_context_menu.emit(item.node.layer, position)

    def _on_selection_changed(self) -> None:
        if self._quiet:
            return
        path = self.selected_layer()
        if path is not None:
            self.layer_selected.emit(path)

