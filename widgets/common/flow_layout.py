"""A layout that places its items in a row and wraps them onto more rows when the row is full.

Rows of buttons and small option fields use it so that a narrow column shows every item on
two lines instead of forcing the column (and a horizontal scroll bar) wider.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QLayoutItem, QSizePolicy, QStyle, QWidget


class FlowLayout(QLayout):
    """Items left to right, wrapped onto a new row when the next one does not fit.

    Its minimum (and preferred) width is that of its widest item, and its height follows its
    width (``heightForWidth``), so a parent layout gives it the rows it needs.

    Args:
        parent: The widget to lay out, if any.
        spacing: Pixels between items, across and down; the style's spacing when negative.
    """

    def __init__(self, parent: QWidget | None = None, spacing: int = -1):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    # QLayout's item list

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        """Adds an item at the end (``addWidget`` calls this)."""
        self._items.append(item)

    def count(self) -> int:
        """The number of items."""
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        """The item at ``index``, or ``None``."""
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        """Removes and returns the item at ``index``, or ``None``."""
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    # Sizes

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        """Never asks for more room than its rows take."""
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        """Its height depends on its width."""
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        """The height of the rows at ``width``."""
        return self._place(QRect(0, 0, width, 0), move=False)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """The widest item, as :meth:`minimumSize`: the layout takes the width it is given and
        wraps, rather than asking a column to be as wide as all its items in one row."""
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        """The widest item (each item on its own row)."""
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        """Places the items inside ``rect``."""
        super().setGeometry(rect)
        self._place(rect, move=True)

    # Placing

    def _gap(self) -> int:
        if self._spacing >= 0:
            return self._spacing
        parent = self.parentWidget()
        if parent is None:
            return 6
        return parent.style().pixelMetric(QStyle.PixelMetric.PM_LayoutHorizontalSpacing, None, parent)

    def _place(self, rect: QRect, *, move: bool) -> int:
        """Lays the items out row by row in ``rect`` (only measures unless ``move``).

        Returns:
            The height the rows take, margins included.
        """
        margins = self.contentsMargins()
        area = rect.marginsRemoved(margins)
        gap = self._gap()
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint().boundedTo(QSize(area.width(), item.maximumSize().height()))
            hint = hint.expandedTo(item.minimumSize())
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y, row_height = area.x(), y + row_height + gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()


def flow_row(*widgets: QWidget, spacing: int = -1) -> QWidget:
    """A widget holding ``widgets`` in a :class:`FlowLayout`, to put in another layout."""
    row = QWidget()
    layout = FlowLayout(row, spacing)
    for widget in widgets:
        layout.addWidget(widget)
    policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    row.setSizePolicy(policy)
    return row


def labelled(label: str | QWidget, *fields: QWidget) -> QWidget:
    """A label (text, or a widget such as a check box) and its fields, kept together on one line
    when a :class:`FlowLayout` row wraps."""
    group = QWidget()
    layout = QHBoxLayout(group)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel(label) if isinstance(label, str) else label)
    for field in fields:
        layout.addWidget(field)
    return group
