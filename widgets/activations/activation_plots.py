"""Sequence and vector activations: a time × unit heatmap and a bar chart of units.

The heatmap puts time on the x axis (with the input's tokens as tick labels) and units on the
y axis, unit 0 at the top; padding steps (mask ``False``) are shaded by one semi-transparent
image above the heatmap. Bidirectional outputs get a separator between their two halves and a
label for each half.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QWidget

from widgets.activations.activation_common import (
    SEPARATOR_PEN,
    ZERO_PEN,
    ActivationPlot,
    caption,
    colorbar,
    get_colormap,
    image_plot,
    plot_widget,
    value_range,
)
from widgets.common.formatting import format_value

PADDING_SHADE = (140, 140, 140, 170)
"""RGBA drawn over padding steps: grey, semi-transparent."""

_POSITIVE_BRUSH = pg.mkBrush(70, 130, 180)
_NEGATIVE_BRUSH = pg.mkBrush(205, 85, 60)
_CURVE_PEN = pg.mkPen(40, 90, 140)
_CURVE_BRUSH = pg.mkBrush(70, 130, 180, 160)
_NICE_STEPS = (1, 2, 5)
HALF_LABEL_PEN = pg.mkPen(30, 30, 30)


def token_text(token: str, max_chars: int = 12) -> str:
    """A token as a tick label: ``"·"`` for padding (empty), long tokens shortened with "…"."""
    if token == "":
        return "·"
    return token if len(token) <= max_chars else token[: max_chars - 1] + "…"


class TokenAxis(pg.AxisItem):
    """An axis labelling integer positions with tokens, every k-th one when they do not fit."""

    def __init__(self, orientation: str = "bottom", **kwargs):
        super().__init__(orientation, **kwargs)
        self._tokens: list[str] | None = None
        self._label_width = 0

    def set_tokens(self, tokens: list[str] | None) -> None:
        """Labels position ``i`` with ``tokens[i]``; ``None`` goes back to numbers."""
        self._tokens = [token_text(str(t)) for t in tokens] if tokens else None
        if self._tokens:
            metrics = QFontMetrics(self.style["tickFont"] or QFont())
            self._label_width = max(metrics.horizontalAdvance(t) for t in self._tokens) + 8
            # the first and last labels may reach half their width beyond the axis ends
            self.setStyle(hideOverlappingLabels=self._label_width // 2 + 2)
        else:
            self.setStyle(hideOverlappingLabels=True)
        self.picture = None
        self.update()

    def token_step(self, min_value: float, max_value: float, size: float) -> int:
        """Label every k-th token so that labels do not overlap: the smallest 1-2-5 step k."""
        per_step = size / max(max_value - min_value, 1e-9)
        needed = self._label_width / max(per_step, 1e-9)
        for decade in (10**p for p in range(7)):
            for step in _NICE_STEPS:
                if step * decade >= needed:
                    return step * decade
        return 10**7

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 - pyqtgraph API
        if not self._tokens:
            return super().tickValues(minVal, maxVal, size)
        minVal, maxVal = sorted((minVal, maxVal))
        step = self.token_step(minVal, maxVal, size)
        first = max(0, math.ceil(minVal / step) * step)
        last = min(len(self._tokens) - 1, math.floor(maxVal))
        return [(float(step), [float(i) for i in range(first, last + 1, step)])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        if not self._tokens:
            return super().tickStrings(values, scale, spacing)
        return [self._tokens[int(round(v))] if 0 <= round(v) < len(self._tokens) else "" for v in values]


class SequenceHeatmap(ActivationPlot):
    """One sample's ``(T, U)`` activation: time across, units down, padding shaded.

    In ``per_map`` mode each unit (row) is scaled to its own min … max over the real steps;
    in ``shared`` mode the whole heatmap uses :meth:`levels`. Padding steps never count towards
    a range.

    Attributes:
        plot: The plot; :attr:`heatmap` holds the ``(U, T)`` image (row = unit, column = step).
        time_axis: The bottom axis (a :class:`TokenAxis`).
        mask_image: ``(1, T)`` RGBA shading, drawn over padding steps; hidden without padding.
        separator: The line between the two halves of a Bidirectional output.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._values: np.ndarray | None = None  # (T, U) float32
        self._mask: np.ndarray | None = None
        self._tokens: list[str] | None = None
        self._halves: tuple[str, str] | None = None
        self.time_axis = TokenAxis("bottom")
        self.plot = plot_widget()
        self.plot.setAxisItems({"bottom": self.time_axis})
        self.plot.setLabel("bottom", "time step")
        self.plot.setLabel("left", "unit")
        self.time_axis.enableAutoSIPrefix(False)
        self.heatmap = image_plot(self.plot)
        self._bar = colorbar(self.heatmap, self.plot, self._colormap)
        self.mask_image = pg.ImageItem(axisOrder="row-major")
        self.mask_image.setZValue(1)
        self.plot.addItem(self.mask_image)
        self.separator = pg.InfiniteLine(angle=0, pen=SEPARATOR_PEN)
        self.separator.setZValue(2)
        self.plot.addItem(self.separator, ignoreBounds=True)
        self.plot.getAxis("right").enableAutoSIPrefix(False)
        self._single_plot_layout(self.plot)

    def show_sequence(
        self,
        values: np.ndarray,
        *,
        mask: np.ndarray | None = None,
        tokens: list[str] | None = None,
        halves: tuple[str, str] | None = None,
    ) -> None:
        """Shows a ``(T, U)`` activation.

        Args:
            values: One sample's activation, time first.
            mask: ``(T,)`` booleans, ``True`` for real steps; ``False`` steps are shaded and
                left out of the colour ranges. Ignored if its length is not ``T``.
            tokens: Labels of the time steps (``""`` for padding); extra ones are ignored.
            halves: Names of the two halves of the unit axis (Bidirectional outputs).
        """
        values = np.ascontiguousarray(values, dtype=np.float32)
        if values.ndim != 2:
            raise ValueError(f"a sequence must be (time steps, units), not {values.shape}")
        steps, units = values.shape
        if mask is not None:
            mask = np.asarray(mask, dtype=bool).reshape(-1)
            if mask.shape != (steps,):
                mask = None
        self._values, self._mask = values, mask
        self._tokens = [str(t) for t in tokens[:steps]] if tokens else None
        self._halves = tuple(halves) if halves and units >= 2 else None
        real = values if mask is None else values[mask]
        self._data_range = value_range(real)
        self._show_mask(QRectF(-0.5, -0.5, steps, units))
        self._show_halves()
        self.time_axis.set_tokens(self._tokens)
        self._highlight.hide()
        self._apply_display()
        self.plot.getViewBox().autoRange(padding=0)

    def clear(self) -> None:
        """Shows nothing."""
        self._values = self._mask = self._tokens = self._halves = None
        self._data_range = None
        self.heatmap.clear()
        self.mask_image.clear()
        self.mask_image.hide()
        self.separator.hide()
        self._highlight.hide()
        self.time_axis.set_tokens(None)
        self.plot.hideAxis("right")

    def shaded_steps(self) -> np.ndarray:
        """The time steps drawn shaded as padding."""
        if not self.mask_image.isVisible() or self.mask_image.image is None:
            return np.zeros(0, dtype=np.intp)
        return np.flatnonzero(self.mask_image.image[0, :, 3] > 0)

    def half_labels(self) -> list[tuple[float, str]]:
        """``(y, label)`` of each half's label on the right axis; empty without halves."""
        if self._halves is None:
            return []
        units = self._values.shape[1]
        return [(units / 4 - 0.5, self._halves[0]), (3 * units / 4 - 0.5, self._halves[1])]

    def highlight(self, unit: int) -> None:
        """Outlines one unit's row."""
        if self._values is None or not 0 <= unit < self._values.shape[1]:
            raise IndexError(f"no unit {unit}")
        self._highlight.setRect(QRectF(-0.5, unit - 0.5, self._values.shape[0], 1))
        self._highlight.show()

    def _show_mask(self, rect: QRectF) -> None:
        mask = self._mask
        if mask is None or mask.all():
            self.mask_image.clear()
            self.mask_image.hide()
            return
        shade = np.zeros((1, mask.size, 4), np.uint8)
        shade[0, ~mask] = PADDING_SHADE
        self.mask_image.setImage(shade, autoLevels=False, levels=(0, 255))
        self.mask_image.setRect(rect)
        self.mask_image.show()

    def _show_halves(self) -> None:
        axis = self.plot.getAxis("right")
        if self._halves is None:
            self.separator.hide()
            self.plot.hideAxis("right")
            return
        self.separator.setValue(self._values.shape[1] / 2 - 0.5)
        self.separator.show()
        self.plot.showAxis("right")
        axis.setTicks([self.half_labels(), []])
        axis.setStyle(tickLength=0)
        axis.setTextPen(HALF_LABEL_PEN)

    def _apply_display(self) -> None:
        if self._values is None:
            return
        steps, units = self._values.shape
        if self._normalization == "per_map":
            image, levels = self._per_unit_image(), (0.0, 1.0)
            how = "each unit scaled to its own min … max"
        else:
            image, levels = np.ascontiguousarray(self._values.T), self._shared_levels()
            how = f"one range, {format_value(levels[0])} … {format_value(levels[1])}"
        self.heatmap.setImage(image, autoLevels=False, levels=levels)
        self.heatmap.setRect(QRectF(-0.5, -0.5, steps, units))  # pixel centres on integers
        self._bar.setColorMap(get_colormap(self._colormap))
        self._bar.setLevels(levels)
        padding = "" if self._mask is None else f" · {int((~self._mask).sum())} padding steps shaded"
        caption(self.plot, f"{steps:,} steps × {units:,} units · colours: {how}{padding}")

    def _per_unit_image(self) -> np.ndarray:
        values = self._values
        real = values if self._mask is None or not self._mask.any() else values[self._mask]
        finite = np.where(np.isfinite(real), real, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN units
            low = np.nan_to_num(np.nanmin(finite, axis=0))
            high = np.nan_to_num(np.nanmax(finite, axis=0))
        span = high - low
        scale = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0)
        return np.ascontiguousarray(((values - low) * scale).T, dtype=np.float32)

    # Mouse

    def _position(self, x: float, y: float) -> tuple[int, int] | None:
        if self._values is None:
            return None
        step, unit = int(round(x)), int(round(y))
        steps, units = self._values.shape
        return (step, unit) if 0 <= step < steps and 0 <= unit < units else None

    def _channel_at(self, plot: pg.PlotWidget, x: float, y: float) -> int | None:
        position = self._position(x, y)
        return None if position is None else position[1]

    def _hover_text(self, plot: pg.PlotWidget, x: float, y: float) -> str | None:
        position = self._position(x, y)
        if position is None:
            return None
        step, unit = position
        parts = [f"step {step}"]
        if self._tokens and step < len(self._tokens):
            parts[0] += f" “{token_text(self._tokens[step], 30)}”"
        if self._mask is not None and not self._mask[step]:
            parts.append("padding")
        unit_text = f"unit {unit}"
        if self._halves:
            half = self._values.shape[1] // 2
            unit_text += f" ({self._halves[0]} {unit})" if unit < half else f" ({self._halves[1]} {unit - half})"
        parts += [unit_text, f"value {format_value(float(self._values[step, unit]))}"]
        return " · ".join(parts)


class VectorView(ActivationPlot):
    """One sample's ``(U,)`` activation as bars (a filled curve beyond :attr:`BAR_LIMIT`).

    The y range is :meth:`levels`: the data range including zero, or the fixed levels.

    Attributes:
        plot: The plot; :attr:`bars` and :attr:`negative_bars` (``BarGraphItem``) or, for
            many units, :attr:`curve` (downsampled on screen) draw the values.
        separator: The line between the two halves of a Bidirectional output.
    """

    BAR_LIMIT = 2000
    """Above this many units the values are drawn as one filled curve: bars would be slow."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._values: np.ndarray | None = None  # in display order
        self._order: np.ndarray | None = None
        self._halves: tuple[str, str] | None = None
        self.plot = plot_widget("unit", "value")
        # two bar items, one colour each: pyqtgraph draws single-colour bars in one call
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, pen=pg.mkPen(None), brush=_POSITIVE_BRUSH)
        self.negative_bars = pg.BarGraphItem(x=[], height=[], width=0.8, pen=pg.mkPen(None), brush=_NEGATIVE_BRUSH)
        self.plot.addItem(self.bars)
        self.plot.addItem(self.negative_bars)
        self.curve = self.plot.plot(fillLevel=0, brush=_CURVE_BRUSH, pen=_CURVE_PEN)
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.plot.addItem(pg.InfiniteLine(0, angle=0, pen=ZERO_PEN), ignoreBounds=True)
        self.separator = pg.InfiniteLine(angle=90, pen=SEPARATOR_PEN)
        self.plot.addItem(self.separator, ignoreBounds=True)
        self.plot.getAxis("top").enableAutoSIPrefix(False)
        self._single_plot_layout(self.plot)

    def show_vector(
        self,
        values: np.ndarray,
        *,
        halves: tuple[str, str] | None = None,
        channel_order: np.ndarray | None = None,
    ) -> None:
        """Shows a ``(U,)`` activation.

        Args:
            values: One sample's activation (any shape; flattened).
            halves: Names of the two halves of the units (Bidirectional); ignored when the
                units are reordered.
            channel_order: Permutation of the units: bar ``i`` shows unit ``channel_order[i]``;
                ignored if its length is not ``U``.
        """
        values = np.asarray(values, dtype=np.float32).reshape(-1)
        order = None
        if channel_order is not None and np.size(channel_order) == values.size:  # else stale: ignored
            order = np.asarray(channel_order, dtype=np.intp).reshape(-1)
            if not np.array_equal(np.sort(order), np.arange(values.size)):
                raise ValueError(f"channel_order is not a permutation of the {values.size} units")
            values = values[order]
        self._values, self._order = values, order
        self._halves = tuple(halves) if halves and order is None and values.size >= 2 else None
        data_range = value_range(values)
        self._data_range = None if data_range is None else (min(0.0, data_range[0]), max(0.0, data_range[1]))
        x = np.arange(values.size, dtype=np.float64)
        heights = np.nan_to_num(values.astype(np.float64))
        if values.size <= self.BAR_LIMIT:
            negative = heights < 0
            self.bars.setOpts(x=x[~negative], height=heights[~negative])
            self.negative_bars.setOpts(x=x[negative], height=heights[negative])
            self.curve.setData([], [])
        else:
            self.bars.setOpts(x=[], height=[])
            self.negative_bars.setOpts(x=[], height=[])
            self.curve.setData(x, heights)
        self._highlight.hide()
        self._show_axes()
        self._apply_display()

    def clear(self) -> None:
        """Shows nothing."""
        self._values = self._order = self._halves = None
        self._data_range = None
        self.bars.setOpts(x=[], height=[])
        self.negative_bars.setOpts(x=[], height=[])
        self.curve.setData([], [])
        self.separator.hide()
        self._highlight.hide()
        self.plot.hideAxis("top")

    def auto_levels(self) -> tuple[float, float] | None:
        """The data range, widened to include zero (bars start at zero)."""
        if self._data_range is None:
            return None
        low, high = self._data_range
        return (low, high) if high > low else (low - 0.5, high + 0.5)

    def half_labels(self) -> list[tuple[float, str]]:
        """``(x, label)`` of each half's label on the top axis; empty without halves."""
        if self._halves is None:
            return []
        units = self._values.size
        return [(units / 4 - 0.5, self._halves[0]), (3 * units / 4 - 0.5, self._halves[1])]

    def highlight(self, unit: int) -> None:
        """Outlines one unit's bar."""
        if self._values is None or not 0 <= unit < self._values.size:
            raise IndexError(f"no unit {unit}")
        position = int(np.flatnonzero(self._order == unit)[0]) if self._order is not None else unit
        low, high = self._shared_levels()
        self._highlight.setRect(QRectF(position - 0.5, low, 1, high - low))
        self._highlight.show()

    def _show_axes(self) -> None:
        units = self._values.size
        bottom = self.plot.getAxis("bottom")
        if self._order is not None:
            self.plot.setLabel("bottom", "units in the table's order")
            bottom.setTicks([[(i, str(u)) for i, u in enumerate(self._order)]] if units <= 40 else None)
        else:
            self.plot.setLabel("bottom", "unit")
            bottom.setTicks(None)
        if self._halves is None:
            self.separator.hide()
            self.plot.hideAxis("top")
            return
        self.separator.setValue(units / 2 - 0.5)
        self.separator.show()
        self.plot.showAxis("top")
        top = self.plot.getAxis("top")
        top.setTicks([self.half_labels(), []])
        top.setStyle(tickLength=0)
        top.setTextPen(HALF_LABEL_PEN)

    def _apply_display(self) -> None:
        if self._values is None:
            return
        low, high = self._shared_levels()
        margin = 0.04 * (high - low)
        self.plot.setYRange(low - margin, high + margin, padding=0)
        self.plot.setXRange(-0.5, self._values.size - 0.5, padding=0.01)
        kind = "bars" if self._values.size <= self.BAR_LIMIT else "filled curve"
        fixed = " (fixed range)" if self._fixed_levels is not None else ""
        caption(self.plot, f"{self._values.size:,} units · {kind}{fixed}")

    # Mouse

    def _channel_at(self, plot: pg.PlotWidget, x: float, y: float) -> int | None:
        if self._values is None:
            return None
        position = int(round(x))
        if not 0 <= position < self._values.size:
            return None
        return int(self._order[position]) if self._order is not None else position

    def _hover_text(self, plot: pg.PlotWidget, x: float, y: float) -> str | None:
        unit = self._channel_at(plot, x, y)
        if unit is None:
            return None
        value = self._values[int(round(x))]
        text = f"unit {unit}"
        if self._halves:
            half = self._values.size // 2
            text += f" ({self._halves[0]} {unit})" if unit < half else f" ({self._halves[1]} {unit - half})"
        return f"{text} · value {format_value(float(value))}"
