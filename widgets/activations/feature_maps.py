"""The feature-map grid: every channel of one sample's ``(H, W, C)`` activation as one mosaic.

All maps go into ONE image (a NumPy mosaic, built without Python loops over channels) so that
thousands of channels cost one ``setImage``; the 1-pixel gaps between maps are painted over by
one path item in the background colour, which keeps the image free of NaN (pyqtgraph renders
NaN-free float images several times faster). Clicking a map enlarges it next to the grid, beside
the input image when one is given.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Generator

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem, QHBoxLayout, QVBoxLayout, QWidget

from widgets.activations.activation_common import (
    HIGHLIGHT_PEN,
    ActivationPlot,
    caption,
    colorbar,
    display_levels,
    get_colormap,
    image_plot,
    plot_widget,
    value_range,
)
from widgets.common.formatting import format_value

BACKGROUND = QColor("white")


@dataclass(frozen=True)
class MosaicLayout:
    """Where each map of a mosaic lies: ``rows`` × ``columns`` tiles of ``height`` × ``width``
    pixels with 1-pixel gaps, filled row by row (tile ``t`` at row ``t // columns``).

    The columns are about ``sqrt(channels * height / width)``, which makes the mosaic roughly
    square. Coordinates are mosaic pixels: ``x`` counts columns, ``y`` counts rows from the top.
    """

    height: int
    width: int
    channels: int
    columns: int
    rows: int

    @classmethod
    def for_maps(cls, height: int, width: int, channels: int) -> MosaicLayout:
        """The layout of ``channels`` maps of ``height`` × ``width``."""
        columns = max(1, min(channels, math.ceil(math.sqrt(channels * height / max(width, 1)))))
        return cls(height, width, channels, columns, math.ceil(channels / columns))

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the mosaic image, in pixels."""
        return self.rows * (self.height + 1) - 1, self.columns * (self.width + 1) - 1

    def tile_origin(self, tile: int) -> tuple[int, int]:
        """``(x, y)`` of a tile's top-left pixel."""
        return (tile % self.columns) * (self.width + 1), (tile // self.columns) * (self.height + 1)

    def tile_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The tile under a point and the pixel within it.

        Returns:
            ``(tile, row, column)``, or ``None`` for gaps, empty tiles and points outside.
        """
        if x < 0 or y < 0:
            return None
        column, within_x = divmod(int(x), self.width + 1)
        row, within_y = divmod(int(y), self.height + 1)
        tile = row * self.columns + column
        if within_x >= self.width or within_y >= self.height or column >= self.columns or tile >= self.channels:
            return None
        return tile, within_y, within_x

    def gap_paths(self) -> tuple[QPainterPath, QPainterPath]:
        """The gaps between tiles, to paint over in the background colour.

        Returns:
            ``(areas, lines)``: ``areas`` holds the 1-pixel gap strips and the empty tiles of
            the last row (to fill); ``lines`` runs along the middle of each strip, to stroke
            with a 1-screen-pixel pen so the gaps stay visible when zoomed out (a strip
            thinner than a screen pixel may vanish).
        """
        areas, lines = QPainterPath(), QPainterPath()
        areas.setFillRule(Qt.FillRule.WindingFill)
        height, width = self.shape
        for column in range(1, self.columns):
            x = column * (self.width + 1) - 1
            areas.addRect(QRectF(x, 0, 1, height))
            lines.moveTo(x + 0.5, 0)
            lines.lineTo(x + 0.5, height)
        for row in range(1, self.rows):
            y = row * (self.height + 1) - 1
            areas.addRect(QRectF(0, y, width, 1))
            lines.moveTo(0, y + 0.5)
            lines.lineTo(width, y + 0.5)
        used = self.channels - (self.rows - 1) * self.columns
        if used < self.columns:
            x = used * (self.width + 1) - 1
            y = (self.rows - 1) * (self.height + 1)
            areas.addRect(QRectF(x, y, width - x, height - y))
        return areas, lines


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """Scales each map (last axis = channel) to [0, 1]; constant maps become 0.

    Args:
        maps: ``(H, W, C)`` float32.

    Returns:
        A new ``(H, W, C)`` float32 array; non-finite values stay non-finite.
    """
    if np.isfinite(maps).all():
        low, high = maps.min(axis=(0, 1)), maps.max(axis=(0, 1))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN maps
            finite = np.where(np.isfinite(maps), maps, np.nan)
            low, high = np.nanmin(finite, axis=(0, 1)), np.nanmax(finite, axis=(0, 1))
        low, high = np.nan_to_num(low), np.nan_to_num(high)
    span = high - low
    scale = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0)
    scaled = maps - low
    scaled *= scale
    return scaled


def to_bytes(values: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """``values`` scaled so that ``levels`` span 0 … 255, as ``uint8`` (NaN becomes 0)."""
    low, high = levels
    scale = 255.0 / (high - low) if high > low else 0.0
    scaled = (values - np.float32(low)) * np.float32(scale)
    np.clip(scaled, 0, 255, out=scaled)
    np.nan_to_num(scaled, copy=False)
    return scaled.astype(np.uint8)


def build_mosaic(maps: np.ndarray, layout: MosaicLayout, order: np.ndarray | None = None) -> np.ndarray:
    """Lays out ``(H, W, C)`` maps as one ``layout.shape`` image (tile ``t`` = channel ``order[t]``).

    Args:
        maps: ``(H, W, C)`` float32, already normalised if wanted.
        layout: The mosaic layout for these maps.
        order: Optional permutation of the channels.

    Returns:
        C-contiguous float32; gap and empty-tile pixels hold 0 (they are painted over).
    """
    height, width, channels = maps.shape
    if order is not None:
        maps = maps[:, :, order]
    columns, rows = layout.columns, layout.rows
    out = np.zeros((rows, height + 1, columns, width + 1), np.float32)
    full = channels // columns
    if full:
        tiles = maps[:, :, : full * columns].reshape(height, width, full, columns)
        out[:full, :height, :, :width] = tiles.transpose(2, 0, 3, 1)
    rest = channels - full * columns
    if rest:
        out[full, :height, :rest, :width] = maps[:, :, full * columns :].transpose(0, 2, 1)
    return np.ascontiguousarray(out.reshape(rows * (height + 1), columns * (width + 1))[:-1, :-1])


class FeatureMapGrid(ActivationPlot):
    """All feature maps of one sample as a mosaic, one map enlarged, and the input image.

    Attributes:
        grid_plot: The mosaic's plot; :attr:`grid_image` holds the mosaic (see
            :func:`build_mosaic`): in ``per_map`` mode each map scaled to [0, 1], in ``shared``
            mode raw values with :meth:`levels`.
        image_plot: The input image (hidden when none was given); :attr:`input_image`.
        enlarged_plot: The clicked map in raw values (:attr:`enlarged_image`) with a colour bar:
            its own min/max in ``per_map`` mode, :meth:`levels` in ``shared`` mode.
        mosaic_layout: Where each map lies in the mosaic, or ``None``.
        mosaic: The mosaic's values as coloured (each map scaled to [0, 1] in ``per_map`` mode),
            or ``None``; the image item holds them scaled to bytes by :attr:`display_levels`.
        display_levels: The values the colour map's ends stand for.
        enlarged_channel: The channel shown enlarged, or ``None``.
        building: Makes the plots, one per step; run to its end at once unless ``build=False``
            (see :meth:`finish_building`).
    """

    def __init__(self, parent: QWidget | None = None, *, build: bool = True):
        super().__init__(parent)
        self._maps: np.ndarray | None = None  # (H, W, C) float32, raw
        self._order: np.ndarray | None = None
        self._mosaic_mode: str | None = None
        self.mosaic_layout: MosaicLayout | None = None
        self.enlarged_channel: int | None = None

        self.building = self._build_steps()
        if build:
            self.finish_building()

    def finish_building(self) -> None:
        """Makes what :attr:`building` has not made yet (made with ``build=False``, the grid is
        made a plot at a time ahead of the first maps: each pyqtgraph plot takes 10–40 ms)."""
        for _ in self.building:
            pass

    def _build_steps(self) -> Generator[None, None, None]:
        self.grid_plot = plot_widget(axes=False)
        self.grid_image = image_plot(self.grid_plot)
        self.grid_plot.setAspectLocked(True)
        yield
        self._grid_bar = colorbar(self.grid_image, self.grid_plot, self._colormap)
        yield
        self._gaps = QGraphicsPathItem()
        self._gaps.setBrush(QBrush(BACKGROUND))
        self._gaps.setPen(pg.mkPen(None))
        self._gap_lines = QGraphicsPathItem()
        self._gap_lines.setPen(pg.mkPen(BACKGROUND, width=1, cosmetic=True))
        for item in (self._gaps, self._gap_lines):
            item.setZValue(1)
            self.grid_plot.addItem(item, ignoreBounds=True)
        self._highlight = QGraphicsRectItem()
        self._highlight.setPen(HIGHLIGHT_PEN)
        self._highlight.setZValue(2)
        self._highlight.hide()
        self.grid_plot.addItem(self._highlight, ignoreBounds=True)

        self.image_plot = plot_widget(axes=False)
        self.input_image = image_plot(self.image_plot)
        self.image_plot.setAspectLocked(True)
        caption(self.image_plot, "input image")
        yield

        self.enlarged_plot = plot_widget(axes=False)
        self.enlarged_image = image_plot(self.enlarged_plot)
        self.enlarged_plot.setAspectLocked(True)
        yield
        self._enlarged_bar = colorbar(self.enlarged_image, self.enlarged_plot, self._colormap)
        yield

        self._side = QWidget()
        side = QVBoxLayout(self._side)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.image_plot, 1)
        side.addWidget(self.enlarged_plot, 1)
        left = QVBoxLayout()
        left.addWidget(self.grid_plot, 1)
        left.addWidget(self.hover_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 5)
        layout.addWidget(self._side, 2)
        self._track_mouse(self.grid_plot)
        self._track_mouse(self.enlarged_plot)
        self.clear()

    # Public API

    def show_maps(
        self,
        maps: np.ndarray,
        *,
        image: np.ndarray | None = None,
        channel_order: np.ndarray | None = None,
        data_range: tuple[float, float] | None = None,
    ) -> None:
        """Shows ``(H, W, C)`` maps; keeps the enlarged channel if it still exists.

        Raises:
            ValueError: If ``maps`` is not 3-D, or ``channel_order`` has the right length but
                is not a permutation.

        Args:
            maps: One sample's activation, channels last.
            image: Input image ``(H, W)`` or ``(H, W, 1 | 3 | 4)``, shown beside the grid.
            channel_order: Permutation of the channels: tile ``t`` shows ``channel_order[t]``;
                ignored if its length is not ``C`` (e.g. statistics of another layer).
            data_range: Range of raw values for the automatic shared levels (for example over
                all time steps); by default the range of ``maps``.
        """
        maps = np.ascontiguousarray(maps, dtype=np.float32)
        if maps.ndim != 3:
            raise ValueError(f"feature maps must be (height, width, channels), not {maps.shape}")
        channels = maps.shape[2]
        order = None
        if channel_order is not None and np.size(channel_order) == channels:  # else stale: ignored
            order = np.asarray(channel_order, dtype=np.intp).reshape(-1)
            if not np.array_equal(np.sort(order), np.arange(channels)):
                raise ValueError(f"channel_order is not a permutation of the {channels} channels")
        self._maps, self._order = maps, order
        self._data_range = data_range if data_range is not None else value_range(maps)
        new_layout = MosaicLayout.for_maps(*maps.shape)
        relayout = new_layout != self.mosaic_layout
        self.mosaic_layout = new_layout
        if relayout:
            areas, lines = new_layout.gap_paths()
            self._gaps.setPath(areas)
            self._gap_lines.setPath(lines)
        self._mosaic_mode = None
        self._show_input(image)
        if self.enlarged_channel is not None and self.enlarged_channel >= channels:
            self.enlarged_channel = None
        self._apply_display()
        if relayout:
            _fit(self.grid_plot)

    def clear(self) -> None:
        """Shows nothing."""
        self._maps = self._order = self.mosaic_layout = self.mosaic = None
        self.display_levels = (0.0, 1.0)
        self._data_range = None
        self.enlarged_channel = None
        self.grid_image.clear()
        self.input_image.clear()
        self.enlarged_image.clear()
        self._gaps.setPath(QPainterPath())
        self._gap_lines.setPath(QPainterPath())
        self._highlight.hide()
        self.image_plot.hide()
        self.enlarged_plot.hide()
        self._side.hide()
        caption(self.grid_plot, "")

    def enlarge(self, channel: int) -> None:
        """Shows one map large with its value range; emits :attr:`channel_clicked` if it changed.

        Raises:
            IndexError: If there is no such channel.
        """
        if self._maps is None or not 0 <= channel < self._maps.shape[2]:
            raise IndexError(f"no channel {channel}")
        changed = channel != self.enlarged_channel
        self.enlarged_channel = channel
        self._show_enlarged()
        if changed:
            self.channel_clicked.emit(channel)

    def channel_at(self, x: float, y: float) -> int | None:
        """The channel drawn at mosaic pixel ``(x, y)`` (x = column, y = row), or ``None``."""
        hit = self.mosaic_layout.tile_at(x, y) if self.mosaic_layout is not None else None
        if hit is None:
            return None
        tile = hit[0]
        return int(self._order[tile]) if self._order is not None else tile

    def tile_center(self, channel: int) -> tuple[float, float]:
        """Mosaic coordinates ``(x, y)`` of the centre of a channel's tile."""
        x, y = self.mosaic_layout.tile_origin(self._tile_of(channel))
        return x + self.mosaic_layout.width / 2, y + self.mosaic_layout.height / 2

    def _tile_of(self, channel: int) -> int:
        return int(np.flatnonzero(self._order == channel)[0]) if self._order is not None else channel

    # Drawing

    def _apply_display(self) -> None:
        if self._maps is None:
            return
        per_map = self._normalization == "per_map"
        levels = (0.0, 1.0) if per_map else self._shared_levels()
        if self._mosaic_mode != self._normalization:
            maps = normalize_maps(self._maps) if per_map else self._maps
            self.mosaic = build_mosaic(maps, self.mosaic_layout, self._order)
            self._mosaic_mode = self._normalization
        self.display_levels = (float(levels[0]), float(levels[1]))
        self._grid_bar.setColorMap(get_colormap(self._colormap))
        # pyqtgraph colours 8-bit pixels by table lookup but rescales float pixels in slow
        # chunks (about 100 ms for 96 maps of 112×112), so the mosaic is scaled here.
        self.grid_image.setImage(to_bytes(self.mosaic, levels), autoLevels=False, levels=(0, 255))
        # Levels set before an item's first image (the colour bar sets its own) are applied
        # after that image's, so the first mosaic would be coloured by 0 … 1 of 0 … 255.
        self.grid_image.setLevels((0, 255))
        self._grid_bar.setLevels(levels, update_items=False)  # the bar shows the real values
        height, width, channels = self._maps.shape
        if per_map:
            how = "each map scaled to its own min … max"
        else:
            how = f"one range for all maps, {format_value(levels[0])} … {format_value(levels[1])}"
        caption(self.grid_plot, f"{channels:,} maps of {height}×{width} · colours: {how} · click a map to enlarge it")
        self._show_enlarged()

    def _show_enlarged(self) -> None:
        channel, layout = self.enlarged_channel, self.mosaic_layout
        if channel is None or self._maps is None:
            self.enlarged_plot.hide()
            self._highlight.hide()
            self._update_side()
            return
        values = np.ascontiguousarray(self._maps[:, :, channel])
        data_range = value_range(values)
        if self._normalization == "per_map":
            levels = display_levels(data_range, self._colormap)
        else:
            levels = self._shared_levels()
        new_shape = self.enlarged_image.image is None or self.enlarged_image.image.shape != values.shape
        self.enlarged_image.setImage(values, autoLevels=False, levels=levels)
        self._enlarged_bar.setColorMap(get_colormap(self._colormap))
        self._enlarged_bar.setLevels(levels)
        low, high = data_range if data_range is not None else (float("nan"), float("nan"))
        caption(self.enlarged_plot, f"channel {channel} · min {format_value(low)} · max {format_value(high)}")
        if new_shape:
            _fit(self.enlarged_plot)
        x, y = layout.tile_origin(self._tile_of(channel))
        self._highlight.setRect(QRectF(x - 0.5, y - 0.5, layout.width + 1, layout.height + 1))
        self._highlight.show()
        self.enlarged_plot.show()
        self._update_side()

    def _show_input(self, image: np.ndarray | None) -> None:
        if image is None:
            self.input_image.clear()
            self.image_plot.hide()
            self._update_side()
            return
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        if image.ndim not in (2, 3):
            raise ValueError(f"input image must be (height, width[, channels]), not {image.shape}")
        levels = (0, 255) if image.dtype == np.uint8 else display_levels(value_range(image), "gray")
        self.input_image.setImage(np.ascontiguousarray(image), autoLevels=False, levels=levels)
        self.image_plot.show()
        _fit(self.image_plot)
        self._update_side()

    def _update_side(self) -> None:
        self._side.setHidden(self.image_plot.isHidden() and self.enlarged_plot.isHidden())

    # Mouse

    def _channel_at(self, plot: pg.PlotWidget, x: float, y: float) -> int | None:
        return self.channel_at(x, y) if plot is self.grid_plot else None

    def _on_channel_clicked(self, channel: int) -> None:
        self.enlarge(channel)

    def _hover_text(self, plot: pg.PlotWidget, x: float, y: float) -> str | None:
        if self._maps is None:
            return None
        if plot is self.grid_plot:
            hit = self.mosaic_layout.tile_at(x, y)
            if hit is None:
                return None
            channel, row, column = self.channel_at(x, y), hit[1], hit[2]
        else:
            channel, row, column = self.enlarged_channel, math.floor(y), math.floor(x)
            if channel is None or not (0 <= row < self._maps.shape[0] and 0 <= column < self._maps.shape[1]):
                return None
        value = format_value(float(self._maps[row, column, channel]))
        return f"channel {channel} · row {row}, column {column} · value {value}"


def _fit(plot) -> None:
    """Fits the plot's view to its items now and again whenever the plot is resized, until
    the user pans or zooms."""
    view_box = plot.getViewBox()
    view_box.autoRange(padding=0.01)
    view_box.enableAutoRange()
