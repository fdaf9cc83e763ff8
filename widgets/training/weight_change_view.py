"""What training changed: a per-layer bar chart and table of relative weight changes, the
variables two checkpoints do not share, and the BatchNormalization audit against the user's data.

The view computes nothing heavy: changes come from :mod:`inspector.training.weight_change` and BN shifts
from :mod:`inspector.training.bn_statistics`, run as jobs by the view's owner, which answers the
:attr:`WeightChangeView.compare_requested` and :attr:`WeightChangeView.bn_audit_requested`
signals and hands the results back.

The chart has one ``BarGraphItem`` per colour (trainable, frozen, frozen but moved), updated with
``setOpts``, so a model of a thousand layers draws in a few calls; frozen layers also get a light
band behind the bars, so a frozen base shows as a grey block whether it moved or not.
"""

from __future__ import annotations

import html
import math
from enum import IntEnum
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPointF, QSettings, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.training.bn_statistics import FAR_SCORE, BNShift
from inspector.training.weight_change import LayerChange, ModelComparison
from widgets.activations.activation_common import HOVER_STYLE, plot_widget
from widgets.activations.activation_plots import TokenAxis
from widgets.common.dialog_folders import DialogFolders
from widgets.common.flow_layout import flow_row

TRAINABLE, FROZEN, MOVED = "trainable", "frozen", "moved while frozen"
"""The kinds of bar, one colour each."""

BAR_COLOURS = {TRAINABLE: QColor(70, 130, 180), FROZEN: QColor(150, 150, 150), MOVED: QColor(215, 48, 39)}
_BRUSHES = {kind: pg.mkBrush(colour) for kind, colour in BAR_COLOURS.items()}
_NO_PEN = pg.mkPen(None)
_BAND_BRUSH = pg.mkBrush(150, 150, 150, 45)
_LOG_FLOOR_DECADES = 1.0
"""In log scale the bars start this many decades below the smallest non-zero change."""

MOVED_BACKGROUND = QColor(250, 215, 210)
MOVED_TEXT = QColor(150, 20, 10)
MUTED_TEXT = QColor(128, 128, 128)

_DISPLAY = Qt.ItemDataRole.DisplayRole
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def format_change(value: float) -> str:
    """A relative or absolute change for the table: ``"0"``, ``"0.0123"``, ``"∞"``, ``"NaN"``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞"
    return "0" if value == 0 else f"{value:.3g}"


def bar_kind(change: LayerChange) -> str:
    """Which bar colour a layer gets."""
    if change.moved_while_frozen:
        return MOVED
    return FROZEN if change.frozen else TRAINABLE


def flag_text(change: LayerChange) -> str:
    """The table's flag: the error, or a remark on a trainable layer that did not change."""
    if change.moved_while_frozen:
        return "MOVED WHILE FROZEN"
    if not change.frozen and not change.changed:
        return "did not change"
    return ""


# --- Tables ------------------------------------------------------------------------------------


class RowsModel(QAbstractTableModel):
    """A read-only table of prepared rows that sorts itself in Python on per-column keys.

    Args:
        titles: Column titles.
        numeric: Columns aligned right.
    """

    def __init__(self, titles: tuple[str, ...], numeric: tuple[int, ...] = (), parent=None):
        super().__init__(parent)
        self._titles = titles
        self._numeric = set(numeric)
        self._texts: list[list[str]] = []
        self._keys: list[list] = []
        self._layers: list[str] = []
        self._styles: list[tuple[QColor | None, QColor | None]] = []
        self._tooltips: list[str] = []
        self._order: list[int] = []
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)

    def set_rows(self, rows: list[dict]) -> None:
        """Shows new rows; each has ``texts``, ``keys``, ``layer`` and optionally
        ``foreground``, ``background`` and ``tooltip``. The current sort is kept."""
        self.beginResetModel()
        self._texts = [row["texts"] for row in rows]
        self._keys = [row["keys"] for row in rows]
        self._layers = [row["layer"] for row in rows]
        self._styles = [(row.get("foreground"), row.get("background")) for row in rows]
        self._tooltips = [row.get("tooltip", "") for row in rows]
        self._order = self._sorted(*self._sort)
        self.endResetModel()

    def layer(self, row: int) -> str:
        """The layer path shown in a row."""
        return self._layers[self._order[row]]

    def row_of(self, layer: str) -> int | None:
        """The row showing a layer, if any."""
        for row, i in enumerate(self._order):
            if self._layers[i] == layer:
                return row
        return None

    def longest_text(self, column: int) -> str:
        """The longest text in a column, to size it."""
        return max((texts[column] for texts in self._texts), key=len, default="")

    def text(self, row: int, column: int) -> str:
        """The text of a cell."""
        return self._texts[self._order[row]][column]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._titles)

    def headerData(self, section, orientation, role=_DISPLAY):  # noqa: N802 - Qt API
        if orientation == Qt.Orientation.Horizontal and role == _DISPLAY:
            return self._titles[section]
        return None

    def data(self, index: QModelIndex, role=_DISPLAY):
        i, column = self._order[index.row()], index.column()
        if role == _DISPLAY:
            return self._texts[i][column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in self._numeric else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._styles[i][0]
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._styles[i][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltips[i] or None
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sorts rows by a column's keys; rows whose key is ``None`` (NaN) go last."""
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        self._order = self._sorted(column, order)
        self.layoutChanged.emit()

    def _sorted(self, column: int, order: Qt.SortOrder) -> list[int]:
        if column < 0:
            return list(range(len(self._texts)))
        keyed = [i for i, keys in enumerate(self._keys) if keys[column] is not None]
        missing = [i for i, keys in enumerate(self._keys) if keys[column] is None]
        keyed.sort(key=lambda i: self._keys[i][column], reverse=order == Qt.SortOrder.DescendingOrder)
        return keyed + missing


def _table(model: RowsModel, on_click: Callable[[QModelIndex], None]) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(22)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSortIndicatorShown(True)
    header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # rows start in the order given
    table.clicked.connect(on_click)
    table.activated.connect(on_click)
    return table


MAX_COLUMN_WIDTH = 380


def fit_columns(table: QTableView, model: RowsModel) -> None:
    """Sizes each column to its title and its longest text (at most :data:`MAX_COLUMN_WIDTH`),
    without asking every cell for its size hint."""
    metrics = table.fontMetrics()
    header_metrics = table.horizontalHeader().fontMetrics()
    for column in range(model.columnCount() - 1):  # the last one stretches
        title = str(model.headerData(column, Qt.Orientation.Horizontal))
        width = max(header_metrics.horizontalAdvance(title) + 28, metrics.horizontalAdvance(model.longest_text(column)) + 16)
        table.setColumnWidth(column, min(width, MAX_COLUMN_WIDTH))


class ChangeColumn(IntEnum):
    """Columns of the changes table."""

    LAYER = 0
    RELATIVE = 1
    ABSOLUTE = 2
    FROZEN = 3
    FLAG = 4


CHANGE_TITLES = ("Layer", "Relative change", "Absolute change", "Frozen", "Flag")


class BNColumn(IntEnum):
    """Columns of the BatchNormalization audit table."""

    LAYER = 0
    SCORE = 1
    MEAN_SHIFT = 2
    VARIANCE = 3
    CHANNELS = 4
    TRAINABLE = 5
    NOTE = 6


BN_TITLES = ("Layer", "Score", "Mean shift (σ)", "|log variance ratio|", "Channels", "Trainable", "Note")

_BN_HELP = (
    "How far the data reaching each BatchNormalization layer is from the layer's moving "
    "statistics, per channel, averaged over channels.\n"
    "Mean shift: |data mean − moving mean| in the layer's own standard deviations.\n"
    "|log variance ratio|: 0 when the variances match, 0.69 for a factor of two.\n"
    "Score: Kullback–Leibler divergence of the moving statistics from the data's; the ranking key."
)


def _change_row(change: LayerChange) -> dict:
    kind = bar_kind(change)
    variables = "\n".join(f"  {path}: {format_change(value)}" for path, value in change.variables)
    row = {
        "texts": [
            change.layer,
            format_change(change.relative),
            format_change(change.absolute),
            "yes" if change.frozen else "no",
            flag_text(change),
        ],
        "keys": [change.layer.casefold(), _number_key(change.relative), _number_key(change.absolute), change.frozen, kind],
        "layer": change.layer,
        "tooltip": f"{change.layer}\nrelative change per variable:\n{variables}",
    }
    if kind == MOVED:
        row.update(foreground=MOVED_TEXT, background=MOVED_BACKGROUND)
    elif change.frozen or not change.changed:
        row.update(foreground=MUTED_TEXT)
    return row


def _bn_row(shift: BNShift) -> dict:
    values = (shift.score, shift.mean_shift, shift.variance_ratio)
    row = {
        "texts": [shift.layer, *(format_change(v) for v in values), str(shift.channels), "yes" if shift.trainable else "no", shift.note],
        "keys": [shift.layer.casefold(), *(_number_key(v) for v in values), shift.channels, shift.trainable, shift.note],
        "layer": shift.layer,
        "tooltip": _BN_HELP
        + (f"\n\nmeasured on {shift.count:,} values per channel" if shift.audited else "")
        + (f"\n\n{shift.note}" if shift.note else ""),
    }
    if not shift.audited:
        row.update(foreground=MUTED_TEXT)
    elif shift.score > FAR_SCORE:
        row.update(foreground=MOVED_TEXT, background=MOVED_BACKGROUND)
    return row


def _number_key(value: float) -> float | None:
    return None if math.isnan(value) else value


# --- Chart -------------------------------------------------------------------------------------


class _ValueAxis(pg.AxisItem):
    """The left axis: plain numbers, or powers of ten when the bars show ``log10`` of the values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = False
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph API
        if not self.log:
            return super().tickValues(minVal, maxVal, size)
        low, high = math.ceil(min(minVal, maxVal)), math.floor(max(minVal, maxVal))
        step = max(1, math.ceil((high - low + 1) / max(size / 30, 1)))
        return [(float(step), [float(v) for v in range(low, high + 1, step)])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        if not self.log:
            return super().tickStrings(values, scale, spacing)
        return [f"{10.0 ** v:g}" for v in values]


class ChangeChart(QWidget):
    """Bars of relative weight change, one per layer in model order.

    Signals:
        layer_clicked(str): A bar (or the band of a frozen layer) was clicked.

    The plot is made when the chart is first shown or drawn on.

    Attributes:
        plot: The plot widget.
        bars: One ``BarGraphItem`` per kind (:data:`TRAINABLE`, :data:`FROZEN`, :data:`MOVED`).
        frozen_band: The light band behind frozen layers.
        moved_markers: Red triangles above the bars of frozen layers that moved.
        hover_label: Describes the layer under the mouse.
    """

    layer_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._changes: list[LayerChange] = []
        self._log = False
        self._plot: pg.PlotWidget | None = None  # a plot costs tens of milliseconds, and a model
        # tab makes its hidden views while the model loads
        self.hover_label = QLabel(" ")
        self.hover_label.setStyleSheet(HOVER_STYLE)
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.hover_label)

    @property
    def plot(self) -> pg.PlotWidget:
        """The plot widget."""
        self._build()
        return self._plot

    @property
    def bars(self) -> dict[str, pg.BarGraphItem]:
        """One bar item per kind."""
        self._build()
        return self._bars

    @property
    def moved_markers(self) -> pg.ScatterPlotItem:
        """The markers above frozen layers that moved."""
        self._build()
        return self._moved_markers

    @property
    def frozen_band(self) -> pg.BarGraphItem:
        """The band behind frozen layers."""
        self._build()
        return self._frozen_band

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._build()
        super().showEvent(event)

    def _build(self) -> None:
        if self._plot is not None:
            return
        self._value_axis = _ValueAxis("left")
        self._layer_axis = TokenAxis("bottom")
        self._plot = plot = plot_widget()
        plot.getPlotItem().setAxisItems({"left": self._value_axis, "bottom": self._layer_axis})
        plot.setLabel("left", "relative change ‖ΔW‖ / ‖W‖")
        plot.setLabel("bottom", "layer (model order)")
        plot.getViewBox().setMouseEnabled(x=True, y=False)
        self._frozen_band = pg.BarGraphItem(x=[], height=[], width=1.0, pen=_NO_PEN, brush=_BAND_BRUSH)
        self._frozen_band.setZValue(-10)
        plot.addItem(self._frozen_band)
        self._bars = {kind: pg.BarGraphItem(x=[], height=[], width=0.8, pen=_NO_PEN, brush=_BRUSHES[kind]) for kind in BAR_COLOURS}
        for item in self._bars.values():
            plot.addItem(item)
        # a bar is a pixel wide among hundreds of layers: the errors also get a marker on top
        self._moved_markers = pg.ScatterPlotItem(
            symbol="t", size=10, pen=_NO_PEN, brush=_BRUSHES[MOVED], hoverable=False
        )
        plot.addItem(self._moved_markers)
        self.layout().insertWidget(0, plot, 1)
        plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self._redraw()

    def set_changes(self, changes: list[LayerChange]) -> None:
        """Draws the bars of these changes (in the given order)."""
        self._changes = list(changes)
        self._redraw()

    def set_log_scale(self, log: bool) -> None:
        """Shows ``log10`` of the changes (zeros draw no bar) or the changes themselves."""
        self._log = bool(log)
        self._redraw()

    @property
    def log_scale(self) -> bool:
        """Whether the value axis is logarithmic."""
        return self._log

    def bar_count(self, kind: str) -> int:
        """How many layers have a bar of this kind (zero-height bars included)."""
        self._build()
        return len(self.bars[kind].opts.get("x", []))

    def layer_at(self, x: float) -> str | None:
        """The layer whose bar is at chart position ``x``."""
        index = int(round(x))
        return self._changes[index].layer if 0 <= index < len(self._changes) and abs(x - index) <= 0.5 else None

    def _redraw(self) -> None:
        if self._plot is None:
            return
        self._layer_axis.set_tokens([c.layer.rpartition("/")[2] for c in self._changes] or None)
        heights, bottom, top = self._heights()
        kinds = np.array([bar_kind(c) for c in self._changes], dtype=object)
        x = np.arange(len(self._changes), dtype=np.float64)
        for kind, item in self._bars.items():
            chosen = kinds == kind
            item.setOpts(x=x[chosen], height=heights[chosen] - bottom, y0=bottom)
        moved = kinds == MOVED
        self._moved_markers.setData(x=x[moved], y=heights[moved] + 0.03 * (top - bottom))
        frozen = np.array([c.frozen for c in self._changes], dtype=bool)
        self._frozen_band.setOpts(x=x[frozen], height=np.full(frozen.sum(), top - bottom), y0=bottom)
        self._value_axis.log = self._log
        self._value_axis.picture = None
        self._value_axis.update()
        self._plot.setLabel("left", "relative change ‖ΔW‖ / ‖W‖" + (" (log scale)" if self._log else ""))
        self._plot.setXRange(-0.6, max(len(self._changes), 1) - 0.4, padding=0)
        self._plot.setYRange(bottom, top, padding=0)

    def _heights(self) -> tuple[np.ndarray, float, float]:
        """Bar tops, the baseline and the top of the range, in the axis' units. Infinite changes
        reach the top; NaN draws nothing."""
        values = np.array([c.relative for c in self._changes], dtype=np.float64)
        finite = values[np.isfinite(values) & (values > 0)]
        if not self._log:
            top = float(finite.max()) * 1.1 if finite.size else 1.0
            heights = np.where(np.isinf(values), top, np.nan_to_num(values, nan=0.0, posinf=top))
            return heights, 0.0, top
        low = math.floor(math.log10(finite.min()) - _LOG_FLOOR_DECADES) if finite.size else -3.0
        high = math.log10(finite.max()) + 0.2 if finite.size else 0.0
        high = max(high, low + 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(values)
        heights = np.where(np.isinf(values), high, np.where(np.isfinite(logs), logs, low))
        return np.maximum(heights, low), float(low), float(high)

    def _view_x(self, scene_pos: QPointF) -> float | None:
        viewbox = self.plot.getViewBox()
        if not viewbox.sceneBoundingRect().contains(scene_pos):
            return None
        return viewbox.mapSceneToView(scene_pos).x()

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        x = self._view_x(scene_pos)
        layer = None if x is None else self.layer_at(x)
        self.hover_label.setText(self._describe(layer) if layer else " ")

    def _describe(self, layer: str) -> str:
        change = next(c for c in self._changes if c.layer == layer)
        parts = [
            f"<b>{html.escape(change.layer)}</b>",
            f"relative {format_change(change.relative)}",
            f"absolute {format_change(change.absolute)}",
        ]
        if change.moved_while_frozen:
            parts.append('<span style="color:#b2182b"><b>moved while frozen</b></span>')
        elif change.frozen:
            parts.append("frozen")
        return " · ".join(parts)

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        x = self._view_x(event.scenePos())
        layer = None if x is None else self.layer_at(x)
        if layer is not None:
            self.layer_clicked.emit(layer)


# --- The view ------------------------------------------------------------------------------------


class WeightChangeView(QWidget):
    """Per-layer bar chart of relative weight change (frozen layers marked; a frozen layer that
    moved highlighted as an error), a sortable table of the same (layer, relative, absolute,
    frozen, flag), a "Compare with file…" button, and a BatchNormalization audit table.

    Args:
        parent: The owning widget.
        settings: Where the compare dialog's last folder is remembered (or ``None``).

    Signals:
        compare_requested(str): The user chose a model file to compare the open model with.
        layer_selected(str): A layer path clicked in the chart or a table.
        bn_audit_requested(): The user asked to audit BatchNormalization on the training data.

    Attributes:
        chart: The bar chart.
        table: The changes table (model: :attr:`table_model`).
        unmatched: What a comparison could not compare, in three groups.
        bn_table: The BatchNormalization audit (model: :attr:`bn_model`).
        tabs: The tabs holding the tables.
        log_scale: The log/linear toggle.
        compare_button: Opens a file dialog, then emits :attr:`compare_requested`.
        bn_button: Emits :attr:`bn_audit_requested`.
        title: The heading: what is compared with what.
        summary: Counts of layers changed and flagged.
        status: A line for the owner's progress and error messages.
        folders: Where the compare dialog starts (the owner sets the model's folder).
    """

    compare_requested = Signal(str)
    layer_selected = Signal(str)
    bn_audit_requested = Signal()

    FILE_FILTER = "Keras models (*.keras *.h5 *.hdf5);;All files (*)"

    def __init__(self, parent: QWidget | None = None, *, settings: QSettings | None = None):
        super().__init__(parent)
        self.folders = DialogFolders(settings, "training/folders")
        self._changes: list[LayerChange] = []
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600")
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.status = QLabel()
        self.status.setStyleSheet("color: #5f6b7a")
        self.status.setWordWrap(True)
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Show the relative changes on a logarithmic axis (unchanged layers draw no bar)")
        self.log_scale.toggled.connect(self._on_log_toggled)
        self.compare_button = QPushButton("Compare with file…")
        self.compare_button.setToolTip("Measure how far each layer's weights differ in another checkpoint of this model")
        self.compare_button.clicked.connect(self._choose_file)
        self.bn_button = QPushButton("Audit BatchNormalization on the training data")
        self.bn_button.setToolTip(_BN_HELP)
        self.bn_button.clicked.connect(self.bn_audit_requested)

        self.chart = ChangeChart()
        self.chart.layer_clicked.connect(self._on_chart_clicked)
        self.table_model = RowsModel(CHANGE_TITLES, numeric=(ChangeColumn.RELATIVE, ChangeColumn.ABSOLUTE), parent=self)
        self.table = _table(self.table_model, self._on_table_clicked)
        self.bn_model = RowsModel(BN_TITLES, numeric=(BNColumn.SCORE, BNColumn.MEAN_SHIFT, BNColumn.VARIANCE, BNColumn.CHANNELS), parent=self)
        self.bn_table = _table(self.bn_model, self._on_bn_clicked)
        self.bn_table.setToolTip(_BN_HELP)
        self.unmatched = QTreeWidget()
        self.unmatched.setHeaderLabels(["Variable", "Shapes"])
        self.unmatched.setRootIsDecorated(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Layers")
        self.tabs.addTab(self.unmatched, "Not compared")
        self.tabs.addTab(self.bn_table, "BatchNormalization audit")
        self._layout()
        self.clear()

    def _layout(self) -> None:
        heading = QHBoxLayout()
        heading.addWidget(self.title)
        heading.addWidget(self.summary, 1)
        buttons = flow_row(self.log_scale, self.compare_button, self.bn_button)
        legend = QLabel(
            " &nbsp; ".join(
                f'<span style="color:{BAR_COLOURS[kind].name()}">■</span>&nbsp;{text}'
                for kind, text in ((TRAINABLE, "trainable"), (FROZEN, "frozen (grey band)"), (MOVED, "frozen but moved: error"))
            )
            + " &nbsp; · &nbsp; hover a bar for its layer, click to select it"
        )
        legend.setStyleSheet("color: #5f6b7a")
        legend.setWordWrap(True)
        chart_box = QWidget()
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.chart, 1)
        chart_layout.addWidget(legend)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(chart_box)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(heading)
        layout.addWidget(buttons)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)

    # Results

    def set_changes(self, changes: list[LayerChange], title: str) -> None:
        """Shows per-layer changes (from :func:`inspector.training.weight_change.weight_changes`).

        Args:
            changes: The changes, in model order.
            title: What was compared, e.g. ``"Before fit → after fit"``.
        """
        self._changes = list(changes)
        self.title.setText(title)
        self.summary.setText(self._summary_text())
        self.chart.set_changes(self._changes)
        self.table_model.set_rows([_change_row(c) for c in self._changes])
        fit_columns(self.table, self.table_model)
        self._set_unmatched(None)
        self.tabs.setCurrentWidget(self.table)

    def set_comparison(self, comparison: ModelComparison, title: str) -> None:
        """Shows the changes between two models, and lists the variables present in only one
        of them or with different shapes (the "Not compared" tab)."""
        self.set_changes(comparison.changes, title)
        self._set_unmatched(comparison)
        if not comparison.complete:
            self.summary.setText(self.summary.text() + f" · {self._unmatched_count(comparison)} variables not compared")

    def set_bn_shifts(self, shifts: list[BNShift]) -> None:
        """Shows the BatchNormalization audit (highest score first) and switches to it."""
        self.bn_model.set_rows([_bn_row(s) for s in shifts])
        fit_columns(self.bn_table, self.bn_model)
        self.tabs.setTabText(2, f"BatchNormalization audit ({len(shifts)})")
        if not shifts:
            self.set_status("This model has no BatchNormalization layer.")
        self.tabs.setCurrentWidget(self.bn_table)

    def set_status(self, text: str) -> None:
        """Shows a progress or error message above the chart (empty hides it)."""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def clear(self) -> None:
        """Shows nothing, with a hint on how to start."""
        self._changes = []
        self.title.setText("What training changed")
        self.summary.setText('<span style="color:#808080">No changes measured yet: train the model, or compare with a file.</span>')
        self.chart.set_changes([])
        self.table_model.set_rows([])
        self.bn_model.set_rows([])
        self.tabs.setTabText(2, "BatchNormalization audit")
        self._set_unmatched(None)
        self.set_status("")

    def changes(self) -> list[LayerChange]:
        """The changes shown."""
        return list(self._changes)

    # Internals

    def _summary_text(self) -> str:
        changed = sum(c.changed for c in self._changes)
        moved = sum(c.moved_while_frozen for c in self._changes)
        text = f"{len(self._changes)} layers with weights · {changed} changed"
        if moved:
            text += f' · <span style="color:#b2182b"><b>{moved} frozen layer{"s" if moved > 1 else ""} moved</b></span>'
        return text

    @staticmethod
    def _unmatched_count(comparison: ModelComparison) -> int:
        return len(comparison.only_in_first) + len(comparison.only_in_second) + len(comparison.shape_mismatch)

    def _set_unmatched(self, comparison: ModelComparison | None) -> None:
        self.unmatched.clear()
        groups = []
        if comparison is not None:
            groups = [
                ("Only in the open model", [(p, "") for p in comparison.only_in_first]),
                ("Only in the file", [(p, "") for p in comparison.only_in_second]),
                ("Different shapes (open model vs file)", [(p, f"{a} vs {b}") for p, a, b in comparison.shape_mismatch]),
            ]
        for title, entries in groups:
            if not entries:
                continue
            group = QTreeWidgetItem(self.unmatched, [f"{title} ({len(entries)})", ""])
            group.setFirstColumnSpanned(True)
            for path, shapes in entries:
                QTreeWidgetItem(group, [path, shapes])
            group.setExpanded(True)
        count = 0 if comparison is None else self._unmatched_count(comparison)
        self.tabs.setTabText(1, f"Not compared ({count})" if count else "Not compared")
        self.tabs.setTabEnabled(1, bool(count))
        self.unmatched.resizeColumnToContents(0)

    def unmatched_entries(self) -> dict[str, list[str]]:
        """The "Not compared" tab as group title → variable paths (titles without counts)."""
        entries = {}
        for i in range(self.unmatched.topLevelItemCount()):
            group = self.unmatched.topLevelItem(i)
            title = group.text(0).rsplit(" (", 1)[0]
            entries[title] = [group.child(j).text(0) for j in range(group.childCount())]
        return entries

    def _on_log_toggled(self, checked: bool) -> None:
        self.chart.set_log_scale(checked)

    def _choose_file(self) -> None:
        start = self.folders.start("compare")
        path, _ = QFileDialog.getOpenFileName(self, "Compare with a model file", start, self.FILE_FILTER)
        if path:
            self.folders.remember("compare", path)
            self.compare_requested.emit(path)

    def _on_chart_clicked(self, layer: str) -> None:
        row = self.table_model.row_of(layer)
        if row is not None:
            self.tabs.setCurrentWidget(self.table)
            self.table.selectRow(row)
            self.table.scrollTo(self.table_model.index(row, 0))
        self.layer_selected.emit(layer)

    def _on_table_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.layer_selected.emit(self.table_model.layer(index.row()))

    def _on_bn_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.layer_selected.emit(self.bn_model.layer(index.row()))
