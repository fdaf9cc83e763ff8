"""Plots of one variable's values: a histogram, and a heatmap of a kernel or a line of a vector.

The plots are created once and updated in place (``setData`` / ``setImage``), as pyqtgraph's
performance notes advise; a kernel is handed to the image as C-contiguous float32 with explicit,
zero-centred levels, and large images are subsampled by the view only (``autoDownsample``).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from inspector.model_info import VariableInfo
from inspector.variable_stats import as_matrix, histogram

DIVERGING_COLORMAP = "CET-D1"
"""Blue (negative) – white (zero) – red (positive)."""

_HISTOGRAM_BRUSH = pg.mkBrush(70, 130, 180, 160)
_HISTOGRAM_PEN = pg.mkPen(40, 90, 140)
_LINE_PEN = pg.mkPen(40, 90, 140, width=1)
_ZERO_PEN = pg.mkPen(150, 150, 150, style=pg.QtCore.Qt.PenStyle.DashLine)


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape written as Keras prints it, e.g. ``(3, 3, 32)``, ``(64,)`` or ``()``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def symmetric_limit(matrix: np.ndarray) -> float:
    """The largest absolute finite value, for colour levels centred at zero (1.0 if none).

    Args:
        matrix: The values to colour.

    Returns:
        A positive number ``m``; the levels are then ``(-m, m)``.
    """
    finite = matrix[np.isfinite(matrix)] if not np.isfinite(matrix).all() else matrix
    if finite.size == 0:
        return 1.0
    limit = float(max(-finite.min(), finite.max()))
    return limit if limit > 0 else 1.0


def _plot_widget(x_label: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.setMenuEnabled(False)
    plot.setMinimumSize(220, 160)
    return plot


class VariablePlots(QWidget):
    """Histogram plus heatmap (kernels) or line plot (vectors) of one variable's values.

    Attributes:
        title: The caption: path, shape, dtype and number of values.
        histogram_plot: The histogram's plot; :attr:`histogram_item` holds ``(edges, counts)``.
        heatmap_plot: Shown for variables with two or more axes; :attr:`heatmap_item` holds
            ``as_matrix(values)``: every axis but the last folded into rows.
        line_plot: Shown for scalars and vectors; :attr:`line_item` plots value against index.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(pg.QtCore.Qt.TextFormat.RichText)

        self.histogram_plot = _plot_widget("value", "count")
        self.histogram_item = self.histogram_plot.plot(
            stepMode="center", fillLevel=0, brush=_HISTOGRAM_BRUSH, pen=_HISTOGRAM_PEN
        )
        self.histogram_plot.addItem(pg.InfiniteLine(0, angle=90, pen=_ZERO_PEN))

        self.heatmap_plot = _plot_widget("column (last axis)", "row")
        self.heatmap_plot.getViewBox().invertY(True)
        self.heatmap_item = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
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
        self.clear()

    def show_values(self, variable: VariableInfo, values: np.ndarray) -> None:
        """Plots a variable's values.

        Args:
            variable: Its description, for the title and axis labels.
            values: Its values, of shape ``variable.shape``.
        """
        values = np.asarray(values)
        self.title.setText(self._title_html(variable, values))
        counts, edges = histogram(values)
        self.histogram_item.setData(edges, counts)
        self.histogram_plot.autoRange()
        self.histogram_plot.show()

        matrix = as_matrix(values)
        if matrix is None:
            self._show_line(values)
        else:
            self._show_heatmap(matrix, values.shape)

    def clear(self) -> None:
        """Removes the plotted values and asks the user to pick a variable."""
        self.title.setText("<i>Select a variable to see its values.</i>")
        self.histogram_item.setData([0.0, 1.0], [0])
        self.heatmap_item.clear()
        self.line_item.setData([], [])
        self.histogram_plot.hide()
        self.heatmap_plot.hide()
        self.line_plot.hide()

    def _show_heatmap(self, matrix: np.ndarray, shape: tuple[int, ...]) -> None:
        image = np.ascontiguousarray(matrix, dtype=np.float32)
        limit = symmetric_limit(image)
        self.heatmap_item.setImage(image, autoLevels=False, levels=(-limit, limit))
        self._colorbar.setLevels((-limit, limit))
        rows = "×".join(str(d) for d in shape[:-1])
        self.heatmap_plot.setLabel("left", f"row ({rows} folded)" if len(shape) > 2 else "row")
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
        text = (
            f"<b>{html.escape(variable.path)}</b> &nbsp; shape {shape_text(variable.shape)} &nbsp; {html.escape(variable.dtype)}"
            f" &nbsp; {values.size:,} values"
        )
        if not variable.trainable:
            text += " &nbsp; <span style='color:#808080'>non-trainable</span>"
        non_finite = _non_finite_count(values)
        if non_finite:
            text += f" &nbsp; <span style='color:#b03000'><b>⚠ {non_finite:,} NaN/inf</b> (not plotted)</span>"
        return text


def _non_finite_count(values: np.ndarray) -> int:
    if not np.issubdtype(values.dtype, np.inexact):
        return 0
    return int(values.size - np.count_nonzero(np.isfinite(values)))
