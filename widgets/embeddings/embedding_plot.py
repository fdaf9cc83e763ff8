"""The embedding scatter plot: up to millions of points, hover labels, picking.

Every point is drawn by one :class:`~widgets.embeddings.point_raster_item.PointRasterItem`, an
image of the points made for each view on a worker thread, so panning and zooming cost the same
at any number of points. Search matches are rings drawn the same way, so a search may match a
million points; the selected point and its neighbours are rings of a small scatter item on top.

Picking looks up the points drawn within a few pixels of the mouse in the image's grid of point
centres, and searches every point with one NumPy pass only while the image is catching up with
the view. Only clicks in the plotting area pick (or clear the selection), not those on the axes
or on the fit-view button ("A", bottom left), which fits the view as :meth:`EmbeddingPlot.fit`
does.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.activations.activation_common import light_grid
from widgets.common.plot_axes import without_si_prefixes
from widgets.embeddings.point_raster_item import PointRasterItem

PICK_RADIUS_PX = 8
PADDING = 0.04
LIVE_PADDING = 0.2  # a layout that grows while it is optimised stays in view for a while
FILL = 0.6
HOVER_INTERVAL_MS = 30
SELECTED_COLOUR = QColor(255, 40, 40)
NEIGHBOUR_COLOUR = QColor(255, 150, 0)
MATCH_COLOUR = QColor(20, 20, 20)
MATCH_RING_PX = 9


class EmbeddingPlot(QWidget):
    """A zoomable 2-D scatter plot of points with hover labels, picking and highlights.

    Signals:
        hovered(int): The point under the mouse, or -1.
        clicked(int): The point clicked, or -1 for a click on empty space.
        drawn(): The points as they are now are on screen for the current view.
    """

    hovered = Signal(int)
    clicked = Signal(int)
    drawn = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._parts: _PlotParts | None = None
        self._point_size: int | None = None
        self.xy = np.zeros((0, 2), dtype=np.float32)
        self.axes: tuple[str, str] = ("", "")
        self.labels: list[str] = []
        self._rings = (-1, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        self._ringed: tuple = (None, None)  # the positions and matches the rings show
        self._hover_at: QPointF | None = None
        self._hover_timer = QTimer(self, singleShot=True, interval=HOVER_INTERVAL_MS)
        self._hover_timer.timeout.connect(self._hover)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    @property
    def view(self) -> pg.PlotWidget:
        """The pyqtgraph plot."""
        return self._built().view

    @property
    def cloud(self) -> PointRasterItem:
        """Every point, drawn as an image per view."""
        return self._built().cloud

    @property
    def match_rings(self) -> PointRasterItem:
        """Rings around the search matches (any number of them)."""
        return self._built().match_rings

    @property
    def highlights(self) -> pg.ScatterPlotItem:
        """Rings around the selected point and its neighbours."""
        return self._built().highlights

    @property
    def tip(self) -> pg.TextItem:
        """The hovered point's label."""
        return self._built().tip

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._built()
        super().showEvent(event)

    def _built(self) -> _PlotParts:
        """The plot and its items, made when first shown or used: a pyqtgraph plot costs tens of
        milliseconds, and a model tab makes its hidden views while the model loads."""
        if self._parts is None:
            self._parts = _PlotParts()
            self._parts.cloud.drawn.connect(self.drawn)
            self._parts.fit_button.clicked.connect(lambda _: self.fit())
            self._parts.view.scene().sigMouseMoved.connect(self._mouse_moved)
            self._parts.view.scene().sigMouseClicked.connect(self._mouse_clicked)
            if self._point_size is not None:
                self._parts.cloud.set_point_size(self._point_size)
            self.layout().addWidget(self._parts.view)
        return self._parts

    # Points ------------------------------------------------------------------------------------

    def set_points(self, xy: np.ndarray, codes: np.ndarray, palette: list[QBrush], *, axes: tuple[str, str] = ("", "")) -> None:
        """Shows new points and fits the view to them.

        Args:
            xy: ``(n, 2)`` positions.
            codes: Per point, an index into ``palette``.
            palette: Shared brushes.
            axes: The axes' titles.
        """
        self.xy = np.ascontiguousarray(xy, dtype=np.float32)
        self.cloud.set_points(self.xy, codes, palette)
        self._set_axes(axes)
        self.set_highlights()
        self.fit()

    def move_points(self, xy: np.ndarray, *, fit: bool = True, axes: tuple[str, str] | None = None) -> None:
        """Moves the points to new positions (a layout being optimised).

        Args:
            xy: The new ``(n, 2)`` positions.
            fit: Zoom out (with room to grow) when the points leave the view or fill too little
                of it. Changing the range makes both axes lay out their ticks again, which
                costs about a third of a redraw, so a layout that moves within the view does
                not change it.
            axes: The axes' titles, when they change (the first layout of a run).
        """
        self.xy = np.ascontiguousarray(xy, dtype=np.float32)
        self.cloud.move_points(self.xy)
        if axes is not None:
            self._set_axes(axes)
        self._move_highlights()
        if fit and not self._fills_view():
            self.fit(padding=LIVE_PADDING)

    def _set_axes(self, axes: tuple[str, str]) -> None:
        if axes != self.axes:  # a new title lays the axis out again
            self.axes = axes
            self.view.setLabel("bottom", axes[0])
            self.view.setLabel("left", axes[1])

    def _fills_view(self) -> bool:
        """Whether every point is in view and the points span most of it on both axes."""
        if self.cloud.bounds is None:
            return True
        (x0, x1), (y0, y1) = self.view.viewRange()
        low, high = self.cloud.bounds
        inside = low[0] >= x0 and high[0] <= x1 and low[1] >= y0 and high[1] <= y1
        return bool(inside and high[0] - low[0] > FILL * (x1 - x0) and high[1] - low[1] > FILL * (y1 - y0))

    def set_colours(self, codes: np.ndarray, palette: list[QBrush]) -> None:
        """Recolours the points."""
        if len(self.xy):
            self.cloud.set_colours(codes, palette)

    def set_labels(self, labels: list[str]) -> None:
        """Sets the text shown when the mouse is over each point."""
        self.labels = labels

    def set_point_size(self, size: int) -> None:
        """Sets the points' diameter in pixels."""
        self._point_size = size
        if self._parts is not None:
            self._parts.cloud.set_point_size(size)

    def fit(self, padding: float = PADDING) -> None:
        """Zooms to show every point.

        Args:
            padding: Room around the points, as a fraction of their extent.
        """
        if self.cloud.bounds is not None:
            low, high = self.cloud.bounds
            self.view.setRange(xRange=(low[0], high[0]), yRange=(low[1], high[1]), padding=padding)

    # Highlights --------------------------------------------------------------------------------

    def set_highlights(self, selected: int = -1, neighbours=(), matches=()) -> None:
        """Rings the selected point, its neighbours and the search matches.

        Args:
            selected: The selected point, or -1.
            neighbours: Indices of its neighbours.
            matches: Indices of the points the search matched.
        """
        self._rings = (selected, np.asarray(neighbours, dtype=np.int64), np.asarray(matches, dtype=np.int64))
        self._move_highlights()

    def _move_highlights(self) -> None:
        selected, neighbours, matches = self._rings
        # The scene repaints only where an item says it changes: without this, rings that go
        # away stay on screen (pyqtgraph's clear() does not say so).
        self.highlights.prepareGeometryChange()
        ringed_xy, ringed = self._ringed
        if ringed_xy is not self.xy or ringed is not matches:  # drawing a million rings takes a moment
            self._ringed = (self.xy, matches)
            matches = matches[matches < len(self.xy)]
            self.match_rings.set_points(self.xy[matches], np.zeros(len(matches), dtype=np.int32), [QBrush(MATCH_COLOUR)])
        groups = [(neighbours, NEIGHBOUR_COLOUR, 12, 2.0)]
        if 0 <= selected < len(self.xy):
            groups.append((np.array([selected]), SELECTED_COLOUR, 16, 2.5))
        spots = []
        for indices, colour, size, width in groups:
            indices = np.asarray(indices, dtype=np.int64)
            indices = indices[indices < len(self.xy)]
            if not len(indices):
                continue
            pen = pg.mkPen(colour, width=width)
            spots.append((self.xy[indices], size, pen))
        if not spots:
            self.highlights.clear()
            return
        xy = np.concatenate([group[0] for group in spots])
        sizes = np.concatenate([np.full(len(group[0]), group[1]) for group in spots])
        pens = np.concatenate([np.full(len(group[0]), group[2], dtype=object) for group in spots])
        self.highlights.setData(pos=xy, size=sizes, pen=pens, brush=None, symbol="o")

    # Mouse -------------------------------------------------------------------------------------

    def point_at(self, scene_pos: QPointF) -> int:
        """The point nearest to a scene position within :data:`PICK_RADIUS_PX` pixels, or -1."""
        if not len(self.xy):
            return -1
        box = self.view.getPlotItem().vb
        if not box.sceneBoundingRect().contains(scene_pos):
            return -1
        at = box.mapSceneToView(scene_pos)
        pixel_w, pixel_h = box.viewPixelSize()
        near = self.cloud.drawn_near(at.x(), at.y(), PICK_RADIUS_PX)
        xy = self.xy if near is None else self.xy[near]
        if not len(xy):
            return -1
        dx = (xy[:, 0] - at.x()) / pixel_w
        dy = (xy[:, 1] - at.y()) / pixel_h
        distance = dx * dx + dy * dy
        nearest = int(np.argmin(distance))
        if distance[nearest] > PICK_RADIUS_PX**2:
            return -1
        return nearest if near is None else int(near[nearest])

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        self._hover_at = scene_pos
        if not self._hover_timer.isActive():
            self._hover_timer.start()

    def _hover(self) -> None:
        if self._hover_at is None:
            return
        index = self.point_at(self._hover_at)
        if index < 0 or index >= len(self.labels):
            self.tip.hide()
        else:
            self.tip.setText(self.labels[index] or "(no label)")
            self.tip.setPos(float(self.xy[index, 0]), float(self.xy[index, 1]))
            self.tip.show()
        self.hovered.emit(index)

    def _mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        if not self.view.getPlotItem().vb.sceneBoundingRect().contains(event.scenePos()):
            return  # on an axis or a button
        self.clicked.emit(self.point_at(event.scenePos()))

    def grab_plot(self):
        """The plot as a ``QPixmap``."""
        return self.view.grab()


class _PlotParts:
    """What :class:`EmbeddingPlot` draws with: the pyqtgraph plot and its items."""

    def __init__(self):
        self.view = pg.PlotWidget(background="w", enableMenu=False)
        self.view.setObjectName("embeddingPlot")
        without_si_prefixes(self.view)  # with them, one live t-SNE frame took 46 ms of the window
        light_grid(self.view)
        self.fit_button = self.view.getPlotItem().autoBtn
        self.fit_button.clicked.disconnect()  # pyqtgraph's auto-range would refit at every live layout
        self.fit_button.setToolTip("Fit the view to all points")
        self.cloud = PointRasterItem()
        self.view.addItem(self.cloud)
        self.match_rings = PointRasterItem(size=MATCH_RING_PX, ring=1)
        self.match_rings.setZValue(5)
        self.view.addItem(self.match_rings)
        self.highlights = pg.ScatterPlotItem(pxMode=True, brush=None)
        self.highlights.setZValue(10)
        self.view.addItem(self.highlights)
        self.tip = pg.TextItem(color=(20, 20, 20), fill=pg.mkBrush(255, 255, 230, 230), border=pg.mkPen(150, 150, 150), anchor=(0, 1))
        self.tip.setZValue(20)
        self.tip.hide()
        self.view.addItem(self.tip, ignoreBounds=True)
