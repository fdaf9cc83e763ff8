"""Pieces shared by the activation views: colormaps, colour ranges and a plot base class.

Every activation view shows plain NumPy arrays; none of them imports TensorFlow or Keras.
Colour ranges ("levels") follow one rule everywhere: fixed levels win; otherwise the finite
minimum and maximum of the data, made symmetric around zero for a diverging colormap.
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from widgets.common.plot_axes import without_si_prefixes

COLORMAPS: list[str] = ["viridis", "inferno", "magma", "cividis", "turbo", "gray", "CET-D1"]
"""Colormap names offered to the user; all ship with pyqtgraph (no download)."""

COLORMAP_LABELS: dict[str, str] = {"gray": "gray", "CET-D1": "diverging (blue–white–red)"}
"""Friendlier names for a colormap menu; names not listed read well as they are."""

DIVERGING = frozenset({"CET-D1"})
"""Colormaps whose middle colour means zero: their automatic levels are symmetric."""

NORMALIZATIONS = ("per_map", "shared")
"""``per_map``: each feature map (or heatmap row) scaled to its own range; ``shared``: one range."""

_PYQTGRAPH_NAMES = {"gray": "CET-L1"}  # CET-L1 is pyqtgraph's linear black-to-white map

CAPTION_COLOUR = "#606060"
HOVER_STYLE = "color: #404040; font-size: 9pt"
# pyqtgraph ignores a mouse move that comes within 10 ms of the last one it handled, and with it
# the place where the mouse stopped: hover labels named the bar the mouse had just left. Qt
# already merges moves that come faster than the window handles them.
pg.setConfigOptions(mouseRateLimit=0)
HIGHLIGHT_PEN = pg.mkPen(230, 30, 30, width=2)
ZERO_PEN = pg.mkPen(150, 150, 150, style=Qt.PenStyle.DashLine)
SEPARATOR_PEN = pg.mkPen(20, 20, 20, width=2)


@functools.lru_cache(maxsize=None)
def get_colormap(name: str) -> pg.ColorMap:
    """The pyqtgraph colormap for one of :data:`COLORMAPS`.

    Raises:
        ValueError: If the name is not in :data:`COLORMAPS`.
    """
    if name not in COLORMAPS:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    return pg.colormap.get(_PYQTGRAPH_NAMES.get(name, name))


def check_normalization(mode: str) -> str:
    """Returns ``mode`` if it is one of :data:`NORMALIZATIONS`.

    Raises:
        ValueError: Otherwise.
    """
    if mode not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {mode!r}; choose 'per_map' or 'shared'")
    return mode


def value_range(values: np.ndarray) -> tuple[float, float] | None:
    """The finite minimum and maximum of an array, or ``None`` if nothing is finite."""
    if values.size == 0:
        return None
    low, high = float(values.min()), float(values.max())
    if np.isfinite(low) and np.isfinite(high):
        return low, high
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def display_levels(data_range: tuple[float, float] | None, colormap: str) -> tuple[float, float]:
    """Colour levels for a data range: symmetric for diverging maps, never empty.

    Args:
        data_range: ``(min, max)`` of the data, or ``None`` when there is no finite value.
        colormap: One of :data:`COLORMAPS`.

    Returns:
        ``(low, high)`` with ``low < high``.
    """
    if data_range is None:
        return 0.0, 1.0
    low, high = data_range
    if colormap in DIVERGING:
        limit = max(abs(low), abs(high))
        low, high = -limit, limit
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return low, high


def plot_widget(x_label: str = "", y_label: str = "", *, axes: bool = True) -> pg.PlotWidget:
    """A white plot styled like the variable plots (no context menu, no SI prefixes).

    Args:
        x_label: Bottom axis label.
        y_label: Left axis label.
        axes: ``False`` hides both axes (images shown as pictures).
    """
    plot = pg.PlotWidget(background="w", enableMenu=False)  # a menu made and never shown costs ~10 ms
    plot.hideButtons()
    without_si_prefixes(plot)
    if x_label:
        plot.setLabel("bottom", x_label)
    if y_label:
        plot.setLabel("left", y_label)
    if not axes:
        plot.hideAxis("bottom")
        plot.hideAxis("left")
    return plot


GRID_COLOUR = "#e6e9ee"


def light_grid(plot: pg.PlotWidget) -> pg.PlotCurveItem:
    """Adds grid lines at the axes' major ticks, drawn as one opaque path.

    pyqtgraph's own grid (``showGrid``) is drawn by the axes across the whole view with
    transparency, which costs 10–20 ms per repaint; this one costs well under a millisecond.

    Returns:
        The item holding the lines (it follows every change of the view's range).
    """
    grid = pg.PlotCurveItem(pen=pg.mkPen(GRID_COLOUR, width=0), connect="pairs", antialias=False)
    grid.setZValue(-100)
    view = plot.getViewBox()
    view.addItem(grid, ignoreBounds=True)  # not the plot's: clearing the plot keeps it

    def follow(*_) -> None:
        (x0, x1), (y0, y1) = view.viewRange()
        xs = _major_ticks(plot.getAxis("bottom"), x0, x1, view.width())
        ys = _major_ticks(plot.getAxis("left"), y0, y1, view.height())
        x = np.concatenate([np.repeat(xs, 2), np.tile([x0, x1], len(ys))])
        y = np.concatenate([np.tile([y0, y1], len(xs)), np.repeat(ys, 2)])
        grid.setData(x, y)

    view.sigRangeChanged.connect(follow)
    view.sigResized.connect(follow)
    follow()
    return grid


def _major_ticks(axis: pg.AxisItem, low: float, high: float, size: float) -> np.ndarray:
    levels = axis.tickValues(low, high, max(size, 1.0)) if high > low else []
    return np.asarray(levels[0][1] if levels else [], dtype=np.float64)


def image_plot(plot: pg.PlotWidget) -> pg.ImageItem:
    """Adds a row-major image to a plot with row 0 at the top, as pictures are drawn."""
    item = pg.ImageItem(axisOrder="row-major")
    plot.addItem(item)
    plot.getViewBox().invertY(True)
    return item


def colorbar(image: pg.ImageItem, plot: pg.PlotWidget, colormap: str) -> pg.ColorBarItem:
    """A read-only colour bar beside a plot that sets the image's colormap and levels.

    Its own colormap menu is turned off: the view's :data:`COLORMAPS` choice applies to all.
    """
    options = dict(colorMap=get_colormap(colormap), interactive=False, width=12)
    try:
        bar = pg.ColorBarItem(**options, colorMapMenu=False)
    except TypeError:  # pyqtgraph without the colormap menu option
        bar = pg.ColorBarItem(**options)
    bar.setImageItem(image, insert_in=plot.getPlotItem())
    bar.getAxis("right").enableAutoSIPrefix(False)
    return bar


def caption(plot: pg.PlotWidget, text: str) -> None:
    """Sets a plot's small grey title; a title too long for the plot is cut off."""
    label = plot.getPlotItem().titleLabel
    # pyqtgraph's label asks for the width of its whole text whenever it changes or resizes, so a
    # long caption would widen the plot past its widget and push the picture out of sight.
    label.updateMin = lambda: None
    plot.setTitle(text, size="8pt", color=CAPTION_COLOUR, justify="left")
    label.setMinimumWidth(0)
    label._sizeHint = {Qt.SizeHint.MinimumSize: (0, 0), Qt.SizeHint.PreferredSize: (0, 0)}
    label.updateGeometry()
    plot.getPlotItem().setGeometry(QRectF(plot.viewport().rect()))  # shrink back if it grew


class ActivationPlot(QWidget):
    """Base of the sub-views: colormap, normalization, levels, and mouse hover / click.

    Subclasses call :meth:`_track_mouse` for each plot whose points map to channels, and
    implement :meth:`_channel_at` (a view point to a channel), :meth:`_hover_text` and
    :meth:`_apply_display` (redraw after a colormap, normalization or level change).

    Signals:
        channel_clicked(int): A feature map or unit was clicked.

    Attributes:
        hover_label: Describes what is under the mouse (channel, position, value).
    """

    channel_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._colormap = COLORMAPS[0]
        self._normalization = "per_map"
        self._fixed_levels: tuple[float, float] | None = None
        self._data_range: tuple[float, float] | None = None
        self.hover_label = QLabel(" ")
        self.hover_label.setStyleSheet(HOVER_STYLE)
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    # Display settings

    def set_colormap(self, name: str) -> None:
        """Uses one of :data:`COLORMAPS` for every image of this view."""
        get_colormap(name)
        self._colormap = name
        self._apply_display()

    def set_normalization(self, mode: str) -> None:
        """``"per_map"`` or ``"shared"`` (see :data:`NORMALIZATIONS`)."""
        self._normalization = check_normalization(mode)
        self._apply_display()

    def set_fixed_levels(self, levels: tuple[float, float] | None) -> None:
        """Forces the colour range of raw values; ``None`` goes back to the automatic range."""
        self._fixed_levels = None if levels is None else (float(levels[0]), float(levels[1]))
        self._apply_display()

    def auto_levels(self) -> tuple[float, float] | None:
        """The automatic range of the data shown (ignoring fixed levels), or ``None`` if empty."""
        return None if self._data_range is None else display_levels(self._data_range, self._colormap)

    def levels(self) -> tuple[float, float] | None:
        """The range of raw values in use: the fixed levels if set, else :meth:`auto_levels`."""
        return self._fixed_levels if self._fixed_levels is not None else self.auto_levels()

    def _shared_levels(self) -> tuple[float, float]:
        levels = self.levels() or (0.0, 1.0)
        return levels if levels[1] > levels[0] else (levels[0] - 0.5, levels[0] + 0.5)

    def _single_plot_layout(self, plot: pg.PlotWidget) -> None:
        """Lays the view out as ``plot`` above the hover line, tracks the mouse over it, and
        adds ``_highlight``, the outline that marks a highlighted unit."""
        self._highlight = QGraphicsRectItem()
        self._highlight.setPen(HIGHLIGHT_PEN)
        self._highlight.setZValue(3)
        plot.addItem(self._highlight, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(plot, 1)
        layout.addWidget(self.hover_label)
        self._track_mouse(plot)
        self.clear()

    # Mouse

    def _track_mouse(self, plot: pg.PlotWidget) -> None:
        viewbox = plot.getViewBox()

        def view_point(scene_pos: QPointF) -> QPointF | None:
            if not viewbox.sceneBoundingRect().contains(scene_pos):
                return None
            return viewbox.mapSceneToView(scene_pos)

        def moved(scene_pos: QPointF) -> None:
            point = view_point(scene_pos)
            text = self._hover_text(plot, point.x(), point.y()) if point is not None else None
            self.hover_label.setText(text or " ")

        def clicked(event) -> None:
            if event.button() != Qt.MouseButton.LeftButton:
                return
            point = view_point(event.scenePos())
            channel = None if point is None else self._channel_at(plot, point.x(), point.y())
            if channel is not None:
                self._on_channel_clicked(channel)

        plot.scene().sigMouseMoved.connect(moved)
        plot.scene().sigMouseClicked.connect(clicked)

    def _on_channel_clicked(self, channel: int) -> None:
        self.channel_clicked.emit(channel)

    # To implement

    def _channel_at(self, plot: pg.PlotWidget, x: float, y: float) -> int | None:
        raise NotImplementedError

    def _hover_text(self, plot: pg.PlotWidget, x: float, y: float) -> str | None:
        raise NotImplementedError

    def _apply_display(self) -> None:
        raise NotImplementedError
