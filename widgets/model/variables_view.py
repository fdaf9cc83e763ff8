"""The variables view of one model: table, totals, filters and plots of the selected variable.

The table is sortable and filterable; the totals line reads like ``model.summary()``'s. The view
computes nothing heavy: statistics and values come from background jobs and are handed in with
:meth:`VariablesView.set_stats` and :meth:`VariablesView.show_values`. Variables are identified
by their index in :attr:`ModelInfo.variables` (paths need not be unique).
"""

from __future__ import annotations

import math
import re
from enum import IntEnum
from typing import Callable, Generator

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from inspector.model.model_info import ModelInfo, VariableInfo
from inspector.model.variable_stats import VariableStats
from widgets.model.variable_plots import VariablePlots, shape_text
from widgets.common.formatting import format_value


class Column(IntEnum):
    """Columns of the variables table."""

    PATH = 0
    LAYER = 1
    SHAPE = 2
    DTYPE = 3
    TRAINABLE = 4
    SIZE = 5
    MIN = 6
    MAX = 7
    MEAN = 8
    STD = 9


COLUMN_TITLES = ("Path", "Layer", "Shape", "DType", "Trainable", "Size", "Min", "Max", "Mean", "Std")
STAT_COLUMNS = (Column.MIN, Column.MAX, Column.MEAN, Column.STD)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""Role giving each cell's sort key: numbers for numeric columns, padded text for the others,
``None`` for statistics not known yet."""

MAX_COLUMN_WIDTH = 340
"""Widest a column starts (pixels); longer texts are elided in the middle."""

PENDING = "…"
"""Text of a statistics cell whose statistics have not arrived yet."""

NON_TRAINABLE_TEXT = QColor(128, 128, 128)
WARNING_BACKGROUND = QColor(255, 222, 200)
WARNING_TEXT = QColor(150, 40, 0)

_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_NUMERIC_COLUMNS = (Column.SIZE, *STAT_COLUMNS)


# --- Formatting -------------------------------------------------------------------------------


def dtype_bits(dtype: str) -> int:
    """Bits per element of a dtype, as Keras counts them (``bool`` is one bit, unknown is 0)."""
    if dtype == "bool":
        return 1
    match = re.search(r"(\d+)$", dtype)
    return int(match.group(1)) if match else 0


def readable_memory_size(num_bytes: float) -> str:
    """A byte count written as ``model.summary()`` does: ``"936.00 B"``, ``"4.82 KB"``…"""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes < 1024:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def totals_text(info: ModelInfo) -> str:
    """The parameter totals line, with the same numbers and sizes as ``model.summary()``.

    Counts come from ``info.params``; sizes from each variable's dtype.
    """
    bits = {True: 0, False: 0}
    for variable in info.variables:
        bits[variable.trainable] += variable.size * dtype_bits(variable.dtype)
    parts = (
        ("Total params", info.params.total, (bits[True] + bits[False]) / 8),
        ("Trainable params", info.params.trainable, bits[True] / 8),
        ("Non-trainable params", info.params.non_trainable, bits[False] / 8),
    )
    text = " · ".join(f"{name}: {count:,} ({readable_memory_size(size)})" for name, count, size in parts)
    quantized = [layer.quantization for layer in info.layer_index().values() if layer.quantization is not None]
    if quantized:
        stored, float32 = sum(q.bytes for q in quantized), sum(q.float32_bytes for q in quantized)
        text += (
            f" · {len(quantized)} quantized layers: {readable_memory_size(stored)}"
            f" ({readable_memory_size(float32)} as float32)"
        )
    return text


def natural_key(text: str) -> str:
    """A case-folded sort key in which ``block_2`` comes before ``block_10``."""
    return re.sub(r"\d+", lambda m: m.group().zfill(12), text.casefold())


def shape_key(shape: tuple[int, ...]) -> str:
    """A sort key ordering shapes by rank, then numerically axis by axis."""
    return f"{len(shape):02d}" + "".join(f"{d:015d}" for d in shape)


# --- Filtering --------------------------------------------------------------------------------

FILTER_HELP = (
    "Shows variables whose path or layer contains this text (ignoring case).\n"
    "re:PATTERN  searches with a regular expression\n"
    "layer:PATH  shows the variables of that layer and of the layers inside it"
)


class VariableFilter:
    """Which variables the table shows.

    The text is matched against each variable's path and layer path, ignoring case:

    - ``layer:PATH`` shows the variables of that layer and of the layers inside it (the
      variable's layer equals ``PATH`` or starts with ``PATH/``; this one is case-sensitive);
    - ``re:PATTERN`` searches with a regular expression; an invalid one is matched as plain
      text and :attr:`error` says why;
    - anything else is a plain substring; empty text shows everything.

    Args:
        text: The filter box's text.
        trainable: ``True`` or ``False`` to show only trainable or non-trainable variables.
    """

    def __init__(self, text: str = "", trainable: bool | None = None):
        self.trainable = trainable
        self.error = ""
        self.accepts_all = trainable is None and not text.strip()
        self._match = self._compile(text.strip())

    def accepts(self, variable: VariableInfo, search_text: str) -> bool:
        """Whether to show a variable.

        Args:
            variable: The variable.
            search_text: Its lower-case ``path + "\\n" + layer``.
        """
        if self.trainable is not None and variable.trainable != self.trainable:
            return False
        return self._match(variable, search_text)

    def _compile(self, text: str) -> Callable[[VariableInfo, str], bool]:
        if not text:
            return lambda variable, search_text: True
        if text.startswith("layer:"):
            layer = text[len("layer:"):].strip()
            inside = layer + "/"
            return lambda variable, _: variable.layer == layer or variable.layer.startswith(inside)
        if text.startswith("re:"):
            try:
                pattern = re.compile(text[len("re:"):], re.IGNORECASE)
            except re.error as exc:
                self.error = f"Not a valid regular expression ({exc}); matching it as plain text."
            else:
                return lambda variable, _: bool(pattern.search(variable.path) or pattern.search(variable.layer))
        needle = text.casefold()
        return lambda _, search_text: needle in search_text


# --- Models -----------------------------------------------------------------------------------


_STATIC_SORT_KEYS: dict[int, Callable[[VariableInfo], object]] = {
    Column.PATH: lambda v: natural_key(v.path),
    Column.LAYER: lambda v: natural_key(v.layer),
    Column.SHAPE: lambda v: shape_key(v.shape),
    Column.DTYPE: lambda v: v.dtype,
    Column.TRAINABLE: lambda v: int(v.trainable),
    Column.SIZE: lambda v: v.size,
}


class VariablesTableModel(QAbstractTableModel):
    """The variables of one model with their statistics, one row each.

    Rows start in ``model.weights`` order. The model sorts itself (:meth:`sort`) in Python on
    each column's :data:`SORT_ROLE` keys, computed once per column and kept until the data
    changes: letting ``QSortFilterProxyModel`` compare cells costs two Python ``data()`` calls per
    comparison, about two seconds for 10,000 rows on two cores, against tens of milliseconds here.
    When statistics arrive while the table is sorted by a statistics column, the rows are sorted
    again at most every :attr:`RESORT_DELAY_MS`, so chunked updates do not re-sort per chunk.
    """

    RESORT_DELAY_MS = 250

    def __init__(self, parent=None):
        super().__init__(parent)
        self._variables: list[VariableInfo] = []
        self._search_text: list[str] = []
        self._texts: list[list[str]] = []
        self._keys: dict[int, list] = {}  # column -> sort key of each variable
        self._stats: dict[int, VariableStats] = {}
        self._order: list[int] = []  # row -> variable index
        self._rows: list[int] = []  # variable index -> row
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._resort_timer = QTimer(self, singleShot=True, interval=self.RESORT_DELAY_MS)
        self._resort_timer.timeout.connect(self._apply_sort)
        self._warning_icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)

    def set_variables(self, variables: list[VariableInfo]) -> None:
        """Shows new variables and forgets all statistics; the current sort column is kept."""
        for _ in self.set_variables_steps(variables):
            pass

    def set_variables_steps(self, variables: list[VariableInfo], batch: int = 2000) -> Generator[None, None, None]:
        """:meth:`set_variables` a batch of rows' texts at a time (a big model has tens of
        thousands of variables); the table changes at the last step."""
        variables = list(variables)
        search_text: list[str] = []
        texts: list[list[str]] = []
        for start in range(0, len(variables), batch):
            chunk = variables[start : start + batch]
            search_text += [f"{v.path}\n{v.layer}".casefold() for v in chunk]
            texts += [self._static_texts(v) + [PENDING] * len(STAT_COLUMNS) for v in chunk]
            yield
        self.beginResetModel()
        self._variables, self._search_text, self._texts = variables, search_text, texts
        self._keys = {}
        self._stats = {}
        self._set_order(self._sorted_order())
        self.endResetModel()

    def update_flags(self, variables: list[VariableInfo]) -> None:
        """Takes new descriptions of the same variables (after trainable flags changed), keeping
        their statistics."""
        self._variables = list(variables)
        for i, v in enumerate(self._variables):
            self._texts[i][: len(self._static_texts(v))] = self._static_texts(v)
        self._keys.pop(Column.TRAINABLE, None)
        if self._variables:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._variables) - 1, len(Column) - 1))
        if self._sort_column == Column.TRAINABLE:
            self._apply_sort()

    def set_stats(self, stats: dict[int, VariableStats]) -> None:
        """Fills the statistics cells of some variables; the others keep what they show."""
        indices = [i for i in stats if 0 <= i < len(self._variables)]
        for i in indices:
            stat = stats[i]
            self._stats[i] = stat
            values = (stat.min, stat.max, stat.mean, stat.std)
            self._texts[i][Column.MIN:] = [format_value(v) for v in values]
        if not indices:
            return
        for column in STAT_COLUMNS:
            self._keys.pop(column, None)
        rows = [self._rows[i] for i in indices]
        self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(Column) - 1))
        if self._sort_column in STAT_COLUMNS and not self._resort_timer.isActive():
            self._resort_timer.start()

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sorts rows by a column's :data:`SORT_ROLE` keys.

        Rows without a key (statistics not known yet, or NaN) go last in either order.

        Args:
            column: A :class:`Column`, or -1 for ``model.weights`` order.
            order: Ascending or descending.
        """
        self._sort_column, self._sort_order = column, order
        self._apply_sort()

    def variable(self, row: int) -> VariableInfo:
        """The variable shown in a row."""
        return self._variables[self._order[row]]

    def variable_index(self, row: int) -> int:
        """The index in ``ModelInfo.variables`` of the variable shown in a row."""
        return self._order[row]

    def row_of(self, variable_index: int) -> int:
        """The row showing a variable."""
        return self._rows[variable_index]

    def longest_text(self, column: int) -> str:
        """The longest text in a column, to size it."""
        return max((texts[column] for texts in self._texts), key=len, default="")

    def search_text(self, row: int) -> str:
        """The lower-case path and layer of a row, for filtering."""
        return self._search_text[self._order[row]]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._variables)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section, orientation, role=_DISPLAY):  # noqa: N802 - Qt API
        if orientation == Qt.Orientation.Horizontal and role == _DISPLAY:
            return COLUMN_TITLES[section]
        return None

    def data(self, index: QModelIndex, role=_DISPLAY):
        i, column = self._order[index.row()], index.column()
        if role == _DISPLAY:
            return self._texts[i][column]
        if role == SORT_ROLE:
            return self._column_keys(column)[i]
        if role == _ALIGNMENT:
            return _RIGHT if column in _NUMERIC_COLUMNS else None
        non_finite = self._non_finite(i)
        if role == _FOREGROUND:
            if non_finite and column in STAT_COLUMNS:
                return WARNING_TEXT
            return None if self._variables[i].trainable else NON_TRAINABLE_TEXT
        if role == _BACKGROUND:
            return WARNING_BACKGROUND if non_finite and column in STAT_COLUMNS else None
        if role == _DECORATION:
            return self._warning_icon if non_finite and column == Column.PATH else None
        if role == _TOOLTIP:
            return self._tooltip(i, column)
        return None

    def _sorted_order(self) -> list[int]:
        column = self._sort_column
        if column < 0:
            return list(range(len(self._variables)))
        keys = self._column_keys(column)
        keyed = [i for i, key in enumerate(keys) if key is not None]
        missing = [i for i, key in enumerate(keys) if key is None]
        keyed.sort(key=keys.__getitem__, reverse=self._sort_order == Qt.SortOrder.DescendingOrder)
        return keyed + missing

    def _column_keys(self, column: int) -> list:
        keys = self._keys.get(column)
        if keys is None:
            keys = self._keys[column] = [self._sort_key(i, column) for i in range(len(self._variables))]
        return keys

    def _sort_key(self, i: int, column: int) -> object:
        if column in STAT_COLUMNS:
            stat = self._stats.get(i)
            value = None if stat is None else (stat.min, stat.max, stat.mean, stat.std)[column - Column.MIN]
            return None if value is None or math.isnan(value) else value
        return _STATIC_SORT_KEYS[column](self._variables[i])

    def _apply_sort(self) -> None:
        order = self._sorted_order()
        if order == self._order:
            return
        self.layoutAboutToBeChanged.emit()
        old_indexes = self.persistentIndexList()
        old_order = self._order
        self._set_order(order)
        self.changePersistentIndexList(
            old_indexes, [self.index(self._rows[old_order[p.row()]], p.column()) for p in old_indexes]
        )
        self.layoutChanged.emit()

    def _set_order(self, order: list[int]) -> None:
        self._order = order
        self._rows = [0] * len(order)
        for row, i in enumerate(order):
            self._rows[i] = row

    def _non_finite(self, i: int) -> int:
        stat = self._stats.get(i)
        return stat.non_finite if stat else 0

    def _tooltip(self, i: int, column: int) -> str:
        variable = self._variables[i]
        lines = [variable.path, f"layer {variable.layer}"]
        if not variable.trainable:
            lines.append("non-trainable")
        stat = self._stats.get(i)
        if stat is None:
            lines.append("statistics not computed yet")
        elif column in STAT_COLUMNS:
            value = (stat.min, stat.max, stat.mean, stat.std)[column - Column.MIN]
            lines.append(f"{COLUMN_TITLES[column].lower()} = {value!r} (finite values only)")
        if self._non_finite(i):
            lines.append(f"⚠ {stat.non_finite:,} of {variable.size:,} values are non-finite (NaN or inf)")
        return "\n".join(lines)

    @staticmethod
    def _static_texts(v: VariableInfo) -> list[str]:
        return [v.path, v.layer, shape_text(v.shape), v.dtype, "yes" if v.trainable else "no", f"{v.size:,}"]


class VariablesProxyModel(QSortFilterProxyModel):
    """Filters rows with a :class:`VariableFilter`; sorting is left to the source model."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDynamicSortFilter(False)  # the filter ignores statistics; nothing to redo on dataChanged
        self._filter = VariableFilter()

    def set_filter(self, variable_filter: VariableFilter) -> None:
        """Shows only the rows the filter accepts."""
        self.beginFilterChange()
        self._filter = variable_filter
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sorts the source model (see :class:`VariablesTableModel`)."""
        self.sourceModel().sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802
        if self._filter.accepts_all:
            return True
        source = self.sourceModel()
        return self._filter.accepts(source.variable(source_row), source.search_text(source_row))


# --- The view ---------------------------------------------------------------------------------


class VariablesView(QWidget):
    """Table of a model's variables with totals, filters, and plots of the selected variable.

    Signals:
        variable_selected(int): The user (or :meth:`select_variable`) selected a row; the
            argument is the variable's index in ``ModelInfo.variables``.

    Attributes:
        filter_edit: Filter text (see :class:`VariableFilter` for ``re:`` and ``layer:``).
        trainable_combo: "All", "Trainable" or "Non-trainable".
        count_label: How many variables the filters leave.
        table: The table; its model is the sorting and filtering proxy.
        totals_label: Parameter counts and sizes as in ``model.summary()``.
        plots: Plots of the values passed to :meth:`show_values`.
    """

    variable_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._info: ModelInfo | None = None
        self._model = VariablesTableModel(self)
        self._proxy = VariablesProxyModel(self)
        self._proxy.setSourceModel(self._model)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by path or layer   (re:regex · layer:path)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip(FILTER_HELP)
        self.trainable_combo = QComboBox()
        for label, value in (("All", None), ("Trainable", True), ("Non-trainable", False)):
            self.trainable_combo.addItem(label, value)
        self.count_label = QLabel()
        self.table = self._make_table()
        self.totals_label = QLabel()
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._plots: VariablePlots | None = None  # built on first use: pyqtgraph takes ~0.1 s
        self._plots_holder = QWidget()
        self._plots_hint = QLabel("Select a variable to see its histogram and heatmap.")
        self._plots_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        QVBoxLayout(self._plots_holder).addWidget(self._plots_hint)

        self.filter_edit.textChanged.connect(self._apply_filter)
        self.trainable_combo.currentIndexChanged.connect(self._apply_filter)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        proxy = self._proxy
        for signal in (proxy.modelReset, proxy.rowsInserted, proxy.rowsRemoved, proxy.layoutChanged):
            signal.connect(self._update_count)
        self._layout()
        self._update_count()

    # Public API

    @property
    def plots(self) -> VariablePlots:
        """The plots of the values passed to :meth:`show_values` (created when first needed)."""
        if self._plots is None:
            self._plots = VariablePlots()
            self._plots_hint.hide()
            layout = self._plots_holder.layout()
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(self._plots)
        return self._plots

    def set_model(self, info: ModelInfo) -> None:
        """Shows a model's variables and totals; statistics show as "…" until :meth:`set_stats`."""
        for _ in self.set_model_steps(info):
            pass

    def set_model_steps(self, info: ModelInfo) -> Generator[None, None, None]:
        """:meth:`set_model` in steps of a few milliseconds, for a :class:`TimeSlicedRun`."""
        yield from self._model.set_variables_steps(info.variables)
        self._info = info
        self.totals_label.setText(totals_text(info))
        yield
        self.clear_values()
        self._fit_columns()

    def refresh_states(self, info: ModelInfo) -> None:
        """Shows new trainable flags and totals (after freezing or unfreezing), keeping the
        statistics, the sort order and the selection."""
        self._info = info
        self._model.update_flags(info.variables)
        self.totals_label.setText(totals_text(info))
        self._proxy.invalidate()

    def set_stats(self, stats: dict[int, VariableStats]) -> None:
        """Fills in statistics; may be called several times as chunks arrive.

        Args:
            stats: Statistics by variable index; indices not given keep their current cells.
        """
        self._model.set_stats(stats)

    def select_variable(self, index: int) -> None:
        """Selects and scrolls to a variable's row, as if the user had clicked it.

        If the filters hide the row, they are cleared first. Emits :attr:`variable_selected`
        when the selection changes, so a slot that calls this method with the index it received
        does not loop (the selection is then unchanged and nothing is emitted).

        Args:
            index: The variable's index in ``ModelInfo.variables``.

        Raises:
            IndexError: If there is no such variable.
        """
        if not 0 <= index < self._model.rowCount():
            raise IndexError(f"no variable {index}; the model has {self._model.rowCount()}")
        proxy_index = self._proxy_index(index)
        if not proxy_index.isValid():
            self.clear_filters()
            proxy_index = self._proxy_index(index)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(proxy_index, flags)
        self.table.scrollTo(proxy_index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def show_layer(self, layer_path: str) -> None:
        """Shows only the variables of a layer and of the layers inside it.

        Sets the filter text to ``layer:<layer_path>`` (visible and editable by the user) and
        the trainable filter to "All".
        """
        self.trainable_combo.setCurrentIndex(0)
        self.filter_edit.setText(f"layer:{layer_path}")

    def clear_filters(self) -> None:
        """Shows every variable."""
        self.trainable_combo.setCurrentIndex(0)
        self.filter_edit.clear()

    def show_values(self, index: int, values: np.ndarray) -> None:
        """Plots a variable's values beside the table.

        Args:
            index: The variable's index in ``ModelInfo.variables``.
            values: Its values (as from ``variable.numpy()``).
        """
        self.plots.show_values(self._info.variables[index], values)

    def clear_values(self) -> None:
        """Removes the plotted values."""
        if self._plots is not None:
            self._plots.clear()

    # Internals

    def _make_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self._proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        table.verticalHeader().hide()
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        header = table.horizontalHeader()
        header.setSortIndicatorClearable(True)  # a third click returns to model.weights order
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.setSectionResizeMode(Column.PATH, QHeaderView.ResizeMode.Stretch)
        table.setSortingEnabled(True)
        return table

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.trainable_combo)
        bar.addWidget(self.count_label)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(bar)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.totals_label)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self._plots_holder)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _fit_columns(self) -> None:
        """Sizes each column but Path (which takes the remaining width) for its longest text.

        ``resizeColumnsToContents`` would ask cells for their size hints through Python.
        """
        cell = self.table.fontMetrics()
        header = self.table.horizontalHeader().fontMetrics()
        for column in Column:
            if column == Column.PATH:
                continue
            text = "-0.0001234" if column in STAT_COLUMNS else self._model.longest_text(column)
            title_width = header.horizontalAdvance(COLUMN_TITLES[column]) + 30  # room for the sort arrow
            width = max(cell.horizontalAdvance(text) + 14, title_width)
            self.table.setColumnWidth(column, min(width, MAX_COLUMN_WIDTH))

    def _apply_filter(self) -> None:
        variable_filter = VariableFilter(self.filter_edit.text(), self.trainable_combo.currentData())
        self.filter_edit.setToolTip(variable_filter.error or FILTER_HELP)
        self._proxy.set_filter(variable_filter)

    def _update_count(self) -> None:
        self.count_label.setText(f"{self._proxy.rowCount():,} of {self._model.rowCount():,} variables")

    def _on_selection_changed(self, *_) -> None:
        rows = self.table.selectionModel().selectedRows()
        if len(rows) == 1:
            self.variable_selected.emit(self._model.variable_index(self._proxy.mapToSource(rows[0]).row()))

    def _proxy_index(self, variable_index: int) -> QModelIndex:
        return self._proxy.mapFromSource(self._model.index(self._model.row_of(variable_index), 0))
