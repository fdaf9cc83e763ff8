"""Splitters that open at sizes fitted to the window and remember the sizes the user chooses.

The model tab's layer list | view | details splitter and the controls | results layout that the
Activations, Training and Embeddings views share are both :class:`RememberedSplitter`\\ s: the
first time one is shown at its real width it takes the sizes the user last chose for its key
(kept in ``QSettings``), or else starting sizes computed from that width.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QStyle, QVBoxLayout, QWidget

CONTROLS_SPLITTER = "controlsAndResults"
"""Object name of the splitter made by :func:`controls_and_results`."""
MIN_PLACED_WIDTH = 200
"""Below this width a splitter is not laid out yet, and starting sizes would be meaningless."""
CONTROLS_SHARE = 0.65
"""The controls never start wider than this share of their view."""

SCROLL_SLACK = 12
"""Pixels allowed for the frame and margins around a scroll area inside the controls."""

Sizes = Callable[[int], list[int]]


class RememberedSplitter(QSplitter):
    """A horizontal splitter whose sizes are remembered in ``QSettings`` under a key.

    The key is set with :meth:`use_key` and can change (the model tab keeps one set of sizes
    per view). Remembered sizes are applied at once; starting sizes, computed from the width,
    the first time the splitter is shown at its real width.

    Args:
        starting: Gives the starting sizes for a total width, for a key without remembered sizes.
        settings: Where sizes are remembered (not remembered when ``None``).
        parent: The owning widget.
    """

    def __init__(self, starting: Sizes, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._starting = starting
        self.settings = settings
        self.key = ""
        self._placed = False  # the sizes for the current key are applied
        self._chosen = False  # they are the user's (dragged now, or remembered)
        self.splitterMoved.connect(self._remember)

    def use_key(self, key: str, starting: Sizes | None = None) -> None:
        """Switches to the sizes remembered under ``key``, or to its starting sizes (applied
        once the splitter is shown at its real width). Call it after adding the panes.

        Args:
            key: The settings key.
            starting: New starting sizes, if they differ from the current ones.
        """
        if starting is not None:
            self._starting = starting
        if key == self.key:
            return
        self.key = key
        state = self.remembered()
        self._placed = self._chosen = state is not None and self.restoreState(state)
        self._place()

    def fit_to_contents(self, watched: QWidget) -> None:
        """Recomputes the starting sizes whenever ``watched`` is laid out again (a field added
        later needs room), until the user chooses sizes.

        Args:
            watched: A widget inside one of the splitter's panes.
        """
        watched.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        """Refits the starting sizes after a watched widget's layout changed."""
        if event.type() == QEvent.Type.LayoutRequest and self._placed and not self._chosen:
            self._apply_starting()
        return False

    def remembered(self) -> QByteArray | None:
        """The state remembered under the current key, if any."""
        if self.settings is None or not self.key:
            return None
        state = self.settings.value(self.key)
        return state if isinstance(state, QByteArray) and not state.isEmpty() else None

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Applies the sizes once the splitter has its real width."""
        super().showEvent(event)
        self._place()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Applies the sizes once the splitter has its real width."""
        super().resizeEvent(event)
        self._place()

    def _place(self) -> None:
        if self._placed or not self.isVisible() or self.width() < MIN_PLACED_WIDTH:
            return
        self._placed = True
        self._apply_starting()

    def _apply_starting(self) -> None:
        self.setSizes(self._starting(self.width() - self.handleWidth() * (self.count() - 1)))

    def _remember(self) -> None:
        self._chosen = True
        if self.settings is not None and self.key:
            self.settings.setValue(self.key, self.saveState())


def controls_and_results(owner: QWidget, controls: QWidget, results: QWidget, controls_width: int,
                         ) -> RememberedSplitter:
    """Fills ``owner`` with a splitter: ``controls`` left, ``results`` right (which grows more).

    The controls start as wide as their fields need (at least ``controls_width``, at most
    :data:`CONTROLS_SHARE` of the view, and leaving the results their minimum width when the
    view has room for both); the results take the rest and scroll sideways when the view is narrower than
    they need, so the view never forces the window's other panels to shrink. The owner of the
    view (the model tab) chooses where the sizes are remembered: see :meth:`RememberedSplitter.use_key`.

    Args:
        owner: The view being laid out.
        controls: Inputs, settings and buttons.
        results: What the view shows.
        controls_width: The controls' smallest starting width in pixels.

    Returns:
        The splitter, named :data:`CONTROLS_SPLITTER`.
    """

    def starting(width: int) -> list[int]:
        wanted = max(controls_width, needed_width(controls))
        room = width - results.minimumSizeHint().width()  # the results fit without scrolling
        left = max(min(wanted, int(width * CONTROLS_SHARE), room), min(controls_width, width // 2))
        return [left, width - left]

    splitter = RememberedSplitter(starting)
    splitter.setObjectName(CONTROLS_SPLITTER)
    splitter.addWidget(controls)
    splitter.addWidget(_scrolling(results))
    splitter.setStretchFactor(0, 0)
    splitter.setStretchFactor(1, 1)
    splitter.setChildrenCollapsible(False)
    for content in _scrolled_contents(controls):
        splitter.fit_to_contents(content)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(splitter)
    return splitter


def needed_width(widget: QWidget) -> int:
    """How wide ``widget`` wants to be, counting the full width of the fields inside its scroll
    areas (a scroll area itself asks for less than its contents need)."""
    scrollbar = widget.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    contents = [content.sizeHint().width() + scrollbar + SCROLL_SLACK for content in _scrolled_contents(widget)]
    return max([widget.sizeHint().width()] + contents)


def _scrolled_contents(widget: QWidget) -> list[QWidget]:
    """The contents of ``widget`` (if it is a scroll area) and of the scroll areas inside it."""
    areas = widget.findChildren(QScrollArea) + ([widget] if isinstance(widget, QScrollArea) else [])
    return [area.widget() for area in areas if area.widget() is not None]


def _scrolling(results: QWidget) -> QScrollArea:
    """``results`` in a frameless scroll area that scrolls only when the view is too small."""
    area = QScrollArea()
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setWidget(results)
    return area
