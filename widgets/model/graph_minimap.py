"""The minimap: the whole graph in a corner of the view, with the part on screen marked.

Drawn once per graph (and when the nodes' colours change) from the overview item, which draws
every node and edge in a few calls; each repaint then only draws that picture, the selected
node and the visible rectangle. Click or drag in it to move the view there.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsView, QWidget
from shiboken6 import isValid

MAX_SIZE = QSize(150, 220)
"""The largest the minimap gets; it takes the graph's proportions within this box."""
MARGIN = 10
FULL = 0.95
"""The minimap shows while less than this share of the graph's width or height is in view."""
_FRAME = QColor("#8f9bb0")
_BACKGROUND = QColor(255, 255, 255, 230)
_VISIBLE_PEN = QPen(QColor("#2563eb"), 1.5)
_VISIBLE_FILL = QColor(37, 99, 235, 40)
_SELECTED = QColor("#2563eb")


class GraphMinimap(QWidget):
    """An overview of the graph in the bottom-right corner of ``view``, shown while part of the
    graph is out of sight.

    Args:
        view: The graph's canvas; the minimap is a child of it, on top of its viewport.
    """

    def __init__(self, view: QGraphicsView):
        super().__init__(view)
        self.setObjectName("graphMinimap")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("The whole graph: click or drag to move the view")
        self._view = view
        self._overview = None
        self._content = QRectF()
        self._picture = QPixmap()
        self.hide()

    def set_graph(self, overview, content: QRectF) -> None:
        """Draws a new graph.

        Args:
            overview: The scene's :class:`~widgets.model.graph_items.OverviewItem` (``None`` for
                an empty graph).
            content: The part of the scene that holds the graph.
        """
        self._overview, self._content = overview, QRectF(content)
        size = QSize(MAX_SIZE)
        if not content.isEmpty():
            size = content.size().scaled(MAX_SIZE.width(), MAX_SIZE.height(), Qt.AspectRatioMode.KeepAspectRatio).toSize()
            size = size.expandedTo(QSize(24, 24))
        self.resize(size)
        self.redraw()

    def redraw(self) -> None:
        """Draws the picture again (the nodes' colours changed)."""
        self._picture = QPixmap(self.size() * self.devicePixelRatioF())
        self._picture.setDevicePixelRatio(self.devicePixelRatioF())
        self._picture.fill(_BACKGROUND)
        if self._drawable() and not self._content.isEmpty():
            painter = QPainter(self._picture)
            scale = self._scale()
            painter.translate(self._offset())
            painter.scale(scale, scale)
            painter.translate(-self._content.topLeft())
            self._overview.draw(painter, scale, selection=False)
            painter.end()
        self.view_changed()

    def _drawable(self) -> bool:
        """Whether the overview item and its scene are still there (not while the view closes)."""
        if self._overview is None or not isValid(self._overview):
            return False
        scene = self._overview.scene()
        return scene is not None and isValid(scene)

    def view_changed(self) -> None:
        """Follows the view: places the minimap in its corner, shows it while part of the graph
        is out of sight, and marks what is on screen."""
        viewport = self._view.viewport()
        self.move(viewport.width() - self.width() - MARGIN, viewport.height() - self.height() - MARGIN)
        shown = self._visible().intersected(self._content)
        content = self._content
        out_of_sight = not content.isEmpty() and (
            shown.width() < FULL * content.width() or shown.height() < FULL * content.height()
        )
        self.setVisible(out_of_sight and viewport.width() > 3 * self.width() and viewport.height() > 1.5 * self.height())
        self.update()

    def _visible(self) -> QRectF:
        return self._view.mapToScene(self._view.viewport().rect()).boundingRect()

    def _scale(self) -> float:
        return min(self.width() / self._content.width(), self.height() / self._content.height())

    def _offset(self) -> QPointF:
        scale = self._scale()
        return QPointF((self.width() - self._content.width() * scale) / 2, (self.height() - self._content.height() * scale) / 2)

    def _to_minimap(self, rect: QRectF) -> QRectF:
        scale, offset = self._scale(), self._offset()
        top_left = (rect.topLeft() - self._content.topLeft()) * scale + offset
        return QRectF(top_left, rect.size() * scale)

    def _to_scene(self, point: QPointF) -> QPointF:
        return (point - self._offset()) / self._scale() + self._content.topLeft()

    def paintEvent(self, event):  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._picture)
        painter.setPen(QPen(_FRAME, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        if self._drawable():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_SELECTED)
            for box in self._overview.selected_boxes():
                marker = self._to_minimap(box)
                painter.drawRect(marker.adjusted(-1, -1, 1, 1) if marker.height() < 2 else marker)
        visible = self._to_minimap(self._visible()).intersected(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        painter.setPen(_VISIBLE_PEN)
        painter.setBrush(_VISIBLE_FILL)
        painter.drawRect(visible)

    def mousePressEvent(self, event):  # noqa: N802 (Qt override)
        self._move_view(event.position())
        event.accept()

    def mouseMoveEvent(self, event):  # noqa: N802 (Qt override)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_view(event.position())
        event.accept()

    def _move_view(self, point: QPointF) -> None:
        self._view.auto_fit = False
        self._view.centerOn(self._to_scene(point))
