"""Plots of one variable's values: a histogram, and a heatmap of a kernel or a line of a vector.

The plots are created once and updated in place (``setData`` / ``setImage``), as pyqtgraph's
performance notes advise. A kernel is handed to the image as C-contiguous float32 with explicit
levels centred at zero; a large kernel is subsampled only on screen, by Qt's nearest-pixel
scaling (pyqtgraph's ``autoDownsample`` averages blocks, which washes weights out to grey).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from inspector.model.model_info import VariableInfo
from inspector.model.variable_stats import as_matrix, histogram
from widgets.common.plot_axes import without_si_prefixes

DIVERGING_COLORMAP = "CET-D1"
"""Blue (negative) – white (zero) – red (positive)."""

_HISTOGRAM_BRUSH = pg.mkBrush(70, 130, 180, 160)
_HISTOGRAM_PEN = pg.mkPen(40, 90, 140)
_LINE_PEN = pg.mkPen(40, 90, 140, width=1)
_ZERO_PEN = pg.mkPen(150, 150, 150, style=Qt.PenStyle.DashLine)
_CAPTION_COLOUR = "#606060"
_NAN_COLOUR = (64, 64, 64)
"""NaN pixels are transparent and show the heatmap's background: dark grey, unlike any value."""


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape written as Keras prints it, e.g. ``(3, 3, 32)``, ``(64,)`` or ``()``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


LEVEL_PERCENTILE = 99.5
"""Colours saturate beyond this percentile of the magnitudes, so a few outliers do not wash out
the picture."""

_LEVEL_SAMPLE = 200_000


def colour_limit(matrix: np.ndarray) -> float:
    """Half-width of the zero-centred colour range of a heatmap.

    The :data:`LEVEL_PERCENTILE` percentile of the finite magnitudes, estimated from an evenly
    strided sample of about 200,000 entries (a few milliseconds for any size); the largest
    sampled magnitude if that percentile is 0; 1.0 if there is nothing finite and non-zero.

    Args:
        matrix: The values to colour.

    Returns:
        A positive number ``m``; the levels are then ``(-m, m)``.
    """
    flat = matrix.reshape(-1)
    sample = flat[:: max(1, flat.size // _LEVEL_SAMPLE)]
    magnitudes = np.abs(sample[np.isfinite(sample)])
    if magnitudes.size == 0:
        return 1.0
    limit = float(np.percentile(magnitudes, LEVEL_PERCENTILE))
    if limit <= 0:
        limit = float(magnitudes.max())
    return limit if limit > 0 else 1.0


def _plot_widget(x_label: str, y_label: str = "", title: str = "") -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w", enableMenu=False)  # a menu made and never shown costs ~10 ms
    plot.setLabel("bottom", x_label)
    if y_label:
        plot.setLabel("left", y_label)
    if title:
        plot.setTitle(title, size="8pt", color=_CAPTION_COLOUR)
    without_si_prefixes(plot)
    plot.setMinimumSize(220, 160)
    return plot


class VariablePlots(QWidget):
    """Histogram plus heatmap (kernels) or line plot (vectors) of one variable's values.

    Attributes:
        title: The caption: path, shape, dtype and number of values.
        histogram_plot: The histogram's plot; :attr:`histogram_item` holds ``(edges, counts)``.
        heatmap_plot: Shown for variables with two or more axes; :attr:`heatmap_item` holds
            ``as_matrix(values)``: every axis but the last folded into rows.
        line_plot: Shown for scalars, vectors and empty variables; :attr:`line_item` plots
            value against index.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self._placeholder = QLabel("Select a variable to see its values.")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet("color: #808080; font-style: italic")

        self.histogram_plot = _plot_widget("value", title="number of values per bin")
        self.histogram_item = self.histogram_plot.plot(
            stepMode="center", fillLevel=0, brush=_HISTOGRAM_BRUSH, pen=_HISTOGRAM_PEN
        )
        self.histogram_plot.addItem(pg.InfiniteLine(0, angle=90, pen=_ZERO_PEN), ignoreBounds=True)

        self.heatmap_plot = _plot_widget("column (last axis)", "row")
        self.heatmap_plot.getViewBox().invertY(True)
        self.heatmap_plot.getViewBox().setBackgroundColor(_NAN_COLOUR)
        self.heatmap_item = pg.ImageItem(axisOrder="row-major")
        self.heatmap_plot.addItem(self.heatmap_item)
        self._colorbar = pg.ColorBarItem(
            colorMap=pg.colormap.get(DIVERGING_COLORMAP), interactive=False, width=14
        )
        self._colorbar.setImageItem(self.heatmap_item, insert_in=self.heatmap_plot.getPlotItem())

        self.line_plot = _plot_widget("index", "value")
        self.line_item = self.line_plot.plot(pen=_LINE_PEN)
        self.line_item.setDownsampling(auto=True, method="peak")
        self.line_item.setClipToView(True)

        plots = QHBoxLayout()
        plots.setContentsMargins(0, 0, 0, 0)
        plots.addWidget(self.histogram_plot, 2)
        plots.addWidget(self.heatmap_plot, 3)
        plots.addWidget(self.line_plot, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addLayout(plots, 1)
        layout.addWidget(self._placeholder, 1)
        self.clear()

    def show_values(self, variable: VariableInfo, values: np.ndarray) -> None:
        """Plots a variable's values.

        Args:
            variable: Its description, for the title and axis labels.
            values: Its values, of shape ``variable.shape``.
        """
        values = np.asarray(values)
        self._placeholder.hide()
        self.title.setText(self._title_html(variable, values))
        self.title.show()
        counts, edges = histogram(values)
        self.histogram_item.setData(edges, counts)
        self.histogram_plot.autoRange()
        self.histogram_plot.show()

        matrix = as_matrix(values)
        if matrix is None or matrix.size == 0:
            self._show_line(values)
        else:
            self._show_heatmap(matrix, values.shape)

    def clear(self) -> None:
        """Removes the plotted values and asks the user to pick a variable."""
        self.title.hide()
        self._placeholder.show()
        self.histogram_item.setData([0.0, 1.0], [0])
        self.heatmap_item.clear()
        self.line_item.setData([], [])
        self.histogram_plot.hide()
        self.heatmap_plot.hide()
        self.line_plot.hide()

    def _show_heatmap(self, matrix: np.ndarray, shape: tuple[int, ...]) -> None:
        image = np.ascontiguousarray(matrix, dtype=np.float32)
        limit = colour_limit(image)
        self.heatmap_item.setImage(image, autoLevels=False, levels=(-limit, limit))
        rows, columns = image.shape
        self.heatmap_item.setRect(QRectF(-0.5, -0.5, columns, rows))  # pixel centres on integers
        self._colorbar.setLevels((-limit, limit))
        self.heatmap_plot.setTitle(
            f"colours ±{limit:.3g} ({LEVEL_PERCENTILE:g}th percentile of |value|)",
            size="8pt",
            color=_CAPTION_COLOUR,
        )
        folded = "×".join(str(d) for d in shape[:-1])
        self.heatmap_plot.setLabel("left", f"row ({folded} folded)" if len(shape) > 2 else "row")
        self.heatmap_plot.setLabel("bottom", f"column (last axis, {shape[-1]})")
        self.heatmap_plot.getViewBox().autoRange(padding=0)
        self.line_plot.hide()
        self.heatmap_plot.show()

    def _show_line(self, values: np.ndarray) -> None:
        flat = values.reshape(-1).astype(np.float64, copy=False)
        self.line_item.setData(np.arange(flat.size), flat)
        self.line_item.setSymbol("o" if flat.size <= 64 else None)
        self.line_item.setSymbolSize(5)
        self.line_plot.autoRange()
        self.heatmap_plot.hide()
        self.line_plot.show()

    @staticmethod
    def _title_html(variable: VariableInfo, values: np.ndarray) -> str:
        parts = [
            f"<b>{html.escape(variable.path)}</b>",
            f"shape {shape_text(variable.shape)}",
            html.escape(variable.dtype),
            f"{values.size:,} value{'' if values.size == 1 else 's'}",
        ]
        if not variable.trainable:
            parts.append("<span style='color:#808080'>non-trainable</span>")
        non_finite = _non_finite_count(values)
        if non_finite:
            parts.append(
                f"<span style='color:#b03000'><b>⚠ {non_finite:,} NaN/inf</b>"
                " (left out of the histogram; NaN is dark grey in the heatmap)</span>"
            )
        return " &nbsp; ".join(parts)


def _non_finite_count(values: np.ndarray) -> int:
    if not np.issubdtype(values.dtype, np.inexact):
        return 0
    return int(values.size - np.count_nonzero(np.isfinite(values)))
