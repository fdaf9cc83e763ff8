"""Views of one sample's output of one layer, for the "extract intermediate outputs" feature.

:class:`ActivationView` picks the display from the array's rank (the batch axis already
removed): ``(H, W, C)`` feature maps as a mosaic (:class:`FeatureMapGrid`), ``(T, U)``
sequences as a heatmap (:class:`SequenceHeatmap`), ``(U,)`` vectors as bars
(:class:`VectorView`). :class:`ChannelStatsTable` lists per-channel statistics. The views take
NumPy arrays and never import TensorFlow or Keras; the sub-views are built when first needed
(creating pyqtgraph plots takes a noticeable fraction of a second).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from os import PathLike
from typing import Generator

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QStackedWidget, QVBoxLayout, QWidget

from widgets.activations.activation_common import (
    COLORMAP_LABELS,
    COLORMAPS,
    NORMALIZATIONS,
    ActivationPlot,
    check_normalization,
    get_colormap,
    value_range,
)
from widgets.common.formatting import format_value
from widgets.activations.activation_plots import SequenceHeatmap, TokenAxis, VectorView
from widgets.activations.channel_stats_table import ChannelStatsTable
from widgets.activations.feature_maps import FeatureMapGrid, MosaicLayout, build_mosaic

__all__ = [
    "COLORMAPS",
    "COLORMAP_LABELS",
    "NORMALIZATIONS",
    "ActivationView",
    "ChannelStatsTable",
    "Display",
    "FeatureMapGrid",
    "MosaicLayout",
    "SequenceHeatmap",
    "TokenAxis",
    "VectorView",
    "build_mosaic",
    "plan_display",
]

HINT = "Extract to see activations"


def halves_note(halves: tuple[str, str], units: int, kind: str) -> str:
    """Says which units of a Bidirectional output run which way.

    Args:
        halves: The names of the two halves, e.g. ``("forward", "backward")``.
        units: The size of the unit axis (both halves).
        kind: ``"sequence"`` (one value per time step) or ``"vector"`` (the last states).

    Returns:
        One sentence for the user.
    """
    half = units // 2
    ends = (
        "its value at each step covers that step and the steps after it"
        if kind == "sequence"
        else "its state after reading back to the first step"
    )
    return (
        f"Bidirectional: units 0–{half - 1} run {halves[0]} (read the sequence from its start); "
        f"units {half}–{units - 1} run {halves[1]} (read the sequence from the end; {ends})."
    )


@dataclass(frozen=True)
class Display:
    """How an activation is shown.

    Attributes:
        kind: ``"grid"`` (feature maps), ``"sequence"`` (heatmap) or ``"vector"`` (bars).
        values: The array reshaped for that display; for a grid of rank 4, ``(T, H, W, C)``
            of which one time step is shown.
        note: Said in the title when the array was reshaped, else ``""``.
    """

    kind: str
    values: np.ndarray
    note: str = ""

    @property
    def steps(self) -> int:
        """Time steps to choose from (rank-4 feature maps), else 0."""
        return self.values.shape[0] if self.kind == "grid" and self.values.ndim == 4 else 0


def plan_display(values: np.ndarray) -> Display:
    """Chooses the display for one sample's activation from its rank.

    ``()``/``(1,)``/``(U,)`` → vector; ``(T, U)`` → sequence; ``(H, W, C)`` → grid;
    ``(T, H, W, C)`` (e.g. ``TimeDistributed`` convolutions) → grid of one time step; higher
    ranks → every axis but the last folded into the heatmap's x axis.
    """
    values = np.asarray(values)
    if values.ndim <= 1:
        return Display("vector", values.reshape(-1))
    if values.ndim == 2:
        return Display("sequence", values)
    if values.ndim in (3, 4):
        return Display("grid", values)
    leading = values.shape[:-1]
    folded = values.reshape(math.prod(leading), values.shape[-1])
    note = f"axes {'×'.join(map(str, leading))} folded into the x axis"
    return Display("sequence", folded, note)


class ActivationView(QWidget):
    """Shows one sample's activation of one layer; picks the display from the array's rank.

    Signals:
        channel_clicked(int): A feature map or unit was clicked (or :meth:`enlarge`\\ d).

    Attributes:
        title_label: The layer, shape and value range.
        halves_label: Which units of a Bidirectional output run forward and which backward
            (hidden for other outputs).
        step_spin: The time step shown of rank-4 feature maps (hidden otherwise).
    """

    channel_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._colormap = COLORMAPS[0]
        self._normalization = "per_map"
        self._fixed_levels: tuple[float, float] | None = None
        self._unfinished: FeatureMapGrid | None = None  # being made by prepare_steps
        self._display: Display | None = None
        self._image: np.ndarray | None = None
        self._channel_order: np.ndarray | None = None
        self._data_range: tuple[float, float] | None = None
        self._views: dict[str, ActivationPlot] = {}

        self.title_label = QLabel()
        self.title_label.setTextFormat(Qt.TextFormat.RichText)
        self.title_label.setWordWrap(True)
        self.halves_label = QLabel()
        self.halves_label.setObjectName("halvesNote")
        self.halves_label.setWordWrap(True)
        self.halves_label.setStyleSheet("color: #404040")
        self.step_spin = QSpinBox()
        self.step_spin.setPrefix("time step ")
        self.step_spin.setToolTip("Which time step of the TimeDistributed output to show")
        self.step_spin.valueChanged.connect(self._show_step)
        self._hint = QLabel(HINT)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setStyleSheet("color: #808080; font-style: italic")
        self._stack = QStackedWidget()
        self._stack.addWidget(self._hint)

        header = QHBoxLayout()
        header.addWidget(self.title_label, 1)
        header.addWidget(self.step_spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.halves_label)
        layout.addWidget(self._stack, 1)
        self.clear()

    # Sub-views, built when first needed

    @property
    def feature_maps(self) -> FeatureMapGrid:
        """The feature-map grid."""
        return self._view("grid", FeatureMapGrid)

    @property
    def sequence(self) -> SequenceHeatmap:
        """The sequence heatmap."""
        return self._view("sequence", SequenceHeatmap)

    @property
    def vector(self) -> VectorView:
        """The bar chart of a vector."""
        return self._view("vector", VectorView)

    def current_view(self) -> ActivationPlot | None:
        """The sub-view on show, or ``None`` while the hint is shown."""
        widget = self._stack.currentWidget()
        return widget if isinstance(widget, ActivationPlot) else None

    @property
    def grid_started(self) -> bool:
        """Whether the feature-map grid is made or being made."""
        return "grid" in self._views or self._unfinished is not None

    def prepare_steps(self) -> Generator[None, None, None]:
        """Makes the feature-map grid a plot at a time, for a run of a time-sliced build while
        the first maps are computed: made at once when they arrive, its five pyqtgraph plots
        froze the window for 0.1–0.25 s."""
        if self.grid_started:
            return
        self._unfinished = FeatureMapGrid(build=False)
        yield from self._unfinished.building

    def _view(self, kind: str, cls: type) -> ActivationPlot:
        view = self._views.get(kind)
        if view is None:
            if kind == "grid" and self._unfinished is not None:
                view, self._unfinished = self._unfinished, None
                view.finish_building()
            else:
                view = cls()
            self._views[kind] = view
            view.set_colormap(self._colormap)
            view.set_normalization(self._normalization)
            view.set_fixed_levels(self._fixed_levels)
            view.channel_clicked.connect(self.channel_clicked)
            self._stack.addWidget(view)
        return view

    # Public API

    def show_activation(
        self,
        values: np.ndarray,
        *,
        title: str = "",
        mask: np.ndarray | None = None,
        tokens: list[str] | None = None,
        image: np.ndarray | None = None,
        halves: tuple[str, str] | None = None,
        channel_order: np.ndarray | None = None,
    ) -> None:
        """Shows one sample's activation.

        Args:
            values: The activation without the batch axis (see :func:`plan_display`).
            title: Shown in bold before the shape, e.g. the layer's name.
            mask: ``(T,)`` booleans for sequences, ``True`` = real step; padding is shaded.
            tokens: ``(T,)`` labels of the time steps (``""`` for padding, shown as "·").
            image: ``uint8`` input image ``(H, W[, 1 | 3])`` shown beside feature maps
                (``(T, H, W, C)`` for rank-4 maps: the image of the step shown).
            halves: Names of the two halves of the unit axis of a Bidirectional output.
            channel_order: Permutation of the channels (last axis) for the grid and the bars;
                ignored when its length does not match (e.g. an empty table) and by heatmaps.
        """
        values = np.asarray(values)
        display = plan_display(values)
        if display.values.size == 0:
            self.clear()
            self.title_label.setText(self._title_html(title, values.shape, None, ""))
            self._hint.setText(f"This output is empty (shape {values.shape}).")
            return
        self._display, self._image, self._channel_order = display, image, channel_order
        self._data_range = value_range(display.values.astype(np.float32, copy=False))
        self.title_label.setText(self._title_html(title, values.shape, display.values, display.note))
        self._show_halves(halves if display.kind != "grid" else None, display.values.shape[-1], display.kind)
        if display.kind == "grid":
            steps = display.steps
            self.step_spin.blockSignals(True)
            self.step_spin.setRange(0, max(steps - 1, 0))
            if steps and self.step_spin.value() >= steps:
                self.step_spin.setValue(0)
            self.step_spin.blockSignals(False)
            self.step_spin.setSuffix(f" of {steps}" if steps else "")
            self.step_spin.setVisible(steps > 0)
            self._show_step()
        elif display.kind == "sequence":
            self.step_spin.hide()
            self.sequence.show_sequence(display.values, mask=mask, tokens=tokens, halves=halves)
            self._stack.setCurrentWidget(self.sequence)
        else:
            self.step_spin.hide()
            self.vector.show_vector(display.values, halves=halves, channel_order=channel_order)
            self._stack.setCurrentWidget(self.vector)

    def clear(self) -> None:
        """Shows a short hint instead of an activation."""
        self._display = self._image = self._channel_order = self._data_range = None
        for view in self._views.values():
            view.clear()
        self.title_label.setText("")
        self._show_halves(None, 0, "")
        self._hint.setText(HINT)
        self.step_spin.hide()
        self._stack.setCurrentWidget(self._hint)

    @property
    def colormap(self) -> str:
        """The colormap of every image display, one of :data:`COLORMAPS`."""
        return self._colormap

    @colormap.setter
    def colormap(self, name: str) -> None:
        get_colormap(name)  # raises ValueError for unknown names
        self._colormap = name
        for view in self._views.values():
            view.set_colormap(name)

    @property
    def normalization(self) -> str:
        """``"per_map"`` (each map, or heatmap row, scaled to its own range) or ``"shared"``."""
        return self._normalization

    @normalization.setter
    def normalization(self, mode: str) -> None:
        self._normalization = check_normalization(mode)
        for view in self._views.values():
            view.set_normalization(mode)

    def levels(self) -> tuple[float, float] | None:
        """The shared range of raw values in use (fixed or automatic); ``None`` when empty."""
        view = self.current_view()
        return view.levels() if view is not None else self._fixed_levels

    def auto_levels(self) -> tuple[float, float] | None:
        """The automatic shared range of the data shown, ignoring fixed levels (for "compare":
        take the union of two views' automatic ranges, then fix both to it)."""
        view = self.current_view()
        return view.auto_levels() if view is not None else None

    def set_fixed_levels(self, levels: tuple[float, float] | None) -> None:
        """Forces the shared range (kept for later activations); ``None`` = automatic.

        Fixed levels colour the ``shared`` mosaic and heatmap, the enlarged map in ``shared``
        mode, and set the y range of bars; ``per_map`` scaling ignores them.
        """
        levels = None if levels is None else (float(levels[0]), float(levels[1]))
        if levels == self._fixed_levels:
            return  # nothing to redraw
        self._fixed_levels = levels
        for view in self._views.values():
            view.set_fixed_levels(self._fixed_levels)

    def enlarge(self, channel: int) -> None:
        """Feature maps: shows that map large next to the grid (as a click does; emits
        :attr:`channel_clicked` when it changes). Sequences and vectors: outlines that unit.

        Raises:
            IndexError: If nothing is shown or there is no such channel.
        """
        view = self.current_view()
        if view is None:
            raise IndexError(f"no channel {channel}: nothing is shown")
        if isinstance(view, FeatureMapGrid):
            view.enlarge(channel)
        else:
            view.highlight(channel)

    def save_png(self, path: str | PathLike) -> None:
        """Grabs the view to a PNG file.

        Raises:
            OSError: If the file cannot be written.
        """
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"could not write the PNG file {path}")

    # Helpers

    def _show_halves(self, halves: tuple[str, str] | None, units: int, kind: str) -> None:
        shown = halves is not None and units >= 2
        self.halves_label.setText(halves_note(halves, units, kind) if shown else "")
        self.halves_label.setVisible(shown)

    def _show_step(self) -> None:
        display = self._display
        if display is None or display.kind != "grid":
            return
        maps, image = display.values, self._image
        if display.steps:
            step = self.step_spin.value()
            maps = maps[step]
            if image is not None and np.ndim(image) == 4:
                image = image[step]
        self.feature_maps.show_maps(maps, image=image, channel_order=self._channel_order, data_range=self._data_range)
        self._stack.setCurrentWidget(self.feature_maps)

    def _title_html(self, title: str, shape: tuple[int, ...], values: np.ndarray | None, note: str) -> str:
        parts = [f"<b>{html.escape(title)}</b>"] if title else []
        parts.append("shape (" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")")
        if self._data_range is not None:
            low, high = self._data_range
            parts.append(f"values {format_value(low)} … {format_value(high)}")
        if note:
            parts.append(f"<span style='color:#606060'>{html.escape(note)}</span>")
        if values is not None and np.issubdtype(values.dtype, np.inexact):
            bad = values.size - int(np.count_nonzero(np.isfinite(values)))
            if bad:
                parts.append(f"<span style='color:#b03000'><b>⚠ {bad:,} NaN/inf</b></span>")
        return " &nbsp; ".join(parts)
