"""A sortable table of per-channel activation statistics (mean, dead %, saturated %)."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from inspector.activations.channel_stats import ChannelStats
from widgets.common.formatting import format_value

WARNING_BACKGROUND = QColor(255, 222, 200)
"""Background of dead channels (zero everywhere) and mostly saturated ones."""

MOSTLY_SATURATED = 0.5
"""A channel saturated more often than this is highlighted."""

_DISPLAY = Qt.ItemDataRole.DisplayRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class StatsColumn(IntEnum):
    """The table's columns; SATURATED exists only when the statistics have saturation."""

    CHANNEL = 0
    MEAN = 1
    DEAD = 2
    SATURATED = 3


COLUMN_TITLES = {
    StatsColumn.CHANNEL: "Channel",
    StatsColumn.MEAN: "Mean",
    StatsColumn.DEAD: "Zero (dead) %",
    StatsColumn.SATURATED: "Saturated %",
}


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f} %"


class ChannelStatsModel(QAbstractTableModel):
    """One row per channel; sorts itself with ``np.argsort`` (NaN keys last in either order)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._stats: ChannelStats | None = None
        self._order = np.zeros(0, dtype=np.intp)  # row -> channel
        self._sort_column = int(StatsColumn.CHANNEL)
        self._sort_order = Qt.SortOrder.AscendingOrder

    @property
    def order(self) -> np.ndarray:
        """The channel shown in each row (a copy)."""
        return self._order.copy()

    def set_stats(self, stats: ChannelStats | None) -> None:
        """Shows new statistics, sorted like the previous ones."""
        self.beginResetModel()
        self._stats = stats
        self._order = self._sorted_order()
        self.endResetModel()

    def row_of(self, channel: int) -> int:
        """The row showing a channel, or -1."""
        rows = np.flatnonzero(self._order == channel)
        return int(rows[0]) if rows.size else -1

    def channel(self, row: int) -> int:
        """The channel shown in a row."""
        return int(self._order[row])

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column, self._sort_order = column, order
        new_order = self._sorted_order()
        if np.array_equal(new_order, self._order):
            return
        self.layoutAboutToBeChanged.emit()
        old_indexes = self.persistentIndexList()
        rows = np.empty_like(new_order)
        rows[new_order] = np.arange(new_order.size)
        new_indexes = [self.index(int(rows[self._order[i.row()]]), i.column()) for i in old_indexes]
        self._order = new_order
        self.changePersistentIndexList(old_indexes, new_indexes)
        self.layoutChanged.emit()

    def _keys(self, column: int) -> np.ndarray | None:
        stats = self._stats
        if column == StatsColumn.CHANNEL:
            return np.arange(stats.mean.size, dtype=np.float64)
        if column == StatsColumn.MEAN:
            return stats.mean.astype(np.float64)
        if column == StatsColumn.DEAD:
            return stats.zero_fraction.astype(np.float64)
        if column == StatsColumn.SATURATED and stats.saturation is not None:
            return stats.saturation.astype(np.float64)
        return None

    def _sorted_order(self) -> np.ndarray:
        if self._stats is None:
            return np.zeros(0, dtype=np.intp)
        keys = self._keys(self._sort_column)
        if keys is None:
            return np.arange(self._stats.mean.size)
        if self._sort_order == Qt.SortOrder.DescendingOrder:
            keys = -keys
        return np.argsort(keys, kind="stable")  # NaN sorts last

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() or self._stats is None else int(self._order.size)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        if parent.isValid() or self._stats is None:
            return 0
        return 4 if self._stats.saturation is not None else 3

    def headerData(self, section, orientation, role=_DISPLAY):  # noqa: N802 - Qt API
        if orientation == Qt.Orientation.Horizontal and role == _DISPLAY:
            return COLUMN_TITLES[StatsColumn(section)]
        return None

    def data(self, index: QModelIndex, role=_DISPLAY):
        stats, column = self._stats, index.column()
        channel = int(self._order[index.row()])
        if role == _DISPLAY:
            if column == StatsColumn.CHANNEL:
                return str(channel)
            if column == StatsColumn.MEAN:
                return format_value(float(stats.mean[channel]))
            if column == StatsColumn.DEAD:
                return _percent(float(stats.zero_fraction[channel]))
            return _percent(float(stats.saturation[channel]))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT
        if role == Qt.ItemDataRole.BackgroundRole:
            dead = stats.zero_fraction[channel] >= 1.0
            saturated = stats.saturation is not None and stats.saturation[channel] > MOSTLY_SATURATED
            return WARNING_BACKGROUND if dead or saturated else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(channel)
        return None

    def _tooltip(self, channel: int) -> str:
        stats = self._stats
        lines = [f"channel {channel}, over {stats.count:,} values"]
        if stats.zero_fraction[channel] >= 1.0:
            lines.append("dead: zero for every sample and position")
        if stats.saturation is not None:
            lines.append(f"saturated ({stats.activation}): {_percent(float(stats.saturation[channel]))}")
        return "\n".join(lines)


class ChannelStatsTable(QTableView):
    """Sortable table: channel, mean, zero fraction ("dead" %), saturation % (only when
    ``stats.saturation`` is not ``None``).

    Signals:
        channel_selected(int): The user (or :meth:`select_channel`) selected a channel's row.
        order_changed(): The rows were sorted again, or new statistics arrived; read
            :meth:`sorted_channels`.
    """

    channel_selected = Signal(int)
    order_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._model = ChannelStatsModel(self)
        self.setModel(self._model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        # Fixed widths: sizing columns to their contents reads every row (thousands of channels)
        # each time the table is laid out.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(self.fontMetrics().horizontalAdvance("Saturated %") + 28)
        header.setSortIndicator(StatsColumn.CHANNEL, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)
        self._model.layoutChanged.connect(self.order_changed)
        self._model.modelReset.connect(self.order_changed)
        self._model.modelReset.connect(self._forget_selection)
        self._current_channel: int | None = None
        self.selectionModel().currentRowChanged.connect(self._on_current_row_changed)

    def set_stats(self, stats: ChannelStats | None) -> None:
        """Shows statistics (``None`` empties the table), keeping the sort column and order."""
        self._model.set_stats(stats)

    def sorted_channels(self) -> np.ndarray:
        """The channels in the table's current row order."""
        return self._model.order

    def select_channel(self, channel: int) -> None:
        """Selects and scrolls to a channel's row; emits :attr:`channel_selected` if it changed."""
        row = self._model.row_of(channel)
        if row < 0:
            raise IndexError(f"no channel {channel}")
        index = self._model.index(row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.selectionModel().setCurrentIndex(index, flags)
        self.scrollTo(index)

    def _forget_selection(self) -> None:
        self._current_channel = None

    def _on_current_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            return
        channel = self._model.channel(current.row())
        if channel != self._current_channel:  # rows move when sorting; the channel does not
            self._current_channel = channel
            self.channel_selected.emit(channel)
