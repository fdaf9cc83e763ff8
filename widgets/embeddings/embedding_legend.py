"""The embedding plot's legend: a list of categories, or a colour bar for a numeric scale.

Either way the legend is only as tall as what it shows, so a two-ended scale does not leave a
plot-high empty panel beside the points.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QListWidget, QListWidgetItem, QSizePolicy, QVBoxLayout, QWidget

MAX_WIDTH = 220
BAR_SIZE = (16, 160)
SWATCH_PX = 12


class Legend(QWidget):
    """Names the colours of the plotted points.

    Attributes:
        title: The coloured column's name and kind.
        entries: One row per category (hidden for a scale).
        scale: The colour bar with its highest value on top and lowest below (hidden for categories).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("embeddingLegend")
        self.setMaximumWidth(MAX_WIDTH)
        self.title = QLabel(objectName="legendTitle")
        self.title.setWordWrap(True)
        self.entries = QListWidget(objectName="legendEntries")
        self.entries.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.scale = QWidget(objectName="legendScale")
        self.bar = QLabel(objectName="legendBar")
        self.high = QLabel(objectName="legendHigh")
        self.low = QLabel(objectName="legendLow")
        grid = QGridLayout(self.scale)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.bar, 0, 0, 2, 1)
        grid.addWidget(self.high, 0, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.low, 1, 1, Qt.AlignmentFlag.AlignBottom)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.entries)
        layout.addWidget(self.scale)
        layout.addStretch(1)
        self.setVisible(False)

    def show_categories(self, title: str, entries: list[tuple[str, QColor]]) -> None:
        """Lists categories with their colours, the list no taller than its rows.

        Args:
            title: What the colours stand for, e.g. the column's name.
            entries: ``(text, colour)`` per category, in order.
        """
        self.title.setText(title)
        self.entries.clear()
        for text, colour in entries:
            swatch = QPixmap(SWATCH_PX, SWATCH_PX)
            swatch.fill(colour)
            self.entries.addItem(QListWidgetItem(QIcon(swatch), text))
        rows = sum(self.entries.sizeHintForRow(i) for i in range(self.entries.count()))
        self.entries.setMaximumHeight(rows + 2 * self.entries.frameWidth())
        self.entries.setVisible(True)
        self.scale.setVisible(False)
        self.setVisible(True)

    def show_scale(self, title: str, low: float, high: float, colours: list[QColor]) -> None:
        """Shows a colour bar from ``low`` (bottom) to ``high`` (top).

        Args:
            title: What the colours stand for, e.g. the column's name.
            low: The smallest value.
            high: The largest value.
            colours: The scale's colours from low to high.
        """
        self.title.setText(title)
        self.bar.setPixmap(_gradient(colours))
        self.high.setText(f"{high:.4g}")
        self.low.setText(f"{low:.4g}")
        self.entries.setVisible(False)
        self.scale.setVisible(True)
        self.setVisible(True)


def _gradient(colours: list[QColor]) -> QPixmap:
    """A vertical colour bar, the first colour at the bottom."""
    width, height = BAR_SIZE
    gradient = QLinearGradient(0, height, 0, 0)
    for i, colour in enumerate(colours):
        gradient.setColorAt(i / max(len(colours) - 1, 1), colour)
    pixmap = QPixmap(width, height)
    painter = QPainter(pixmap)
    painter.fillRect(0, 0, width, height, gradient)
    painter.end()
    return pixmap
