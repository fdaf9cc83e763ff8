"""Runs GUI-thread work a few milliseconds at a time so the window keeps responding.

Building the views of a big model (hundreds of graph items and tree rows) must happen on the GUI
thread. Written as a generator that yields often, it can be run here in slices of a small time
budget, with the event loop running between slices.
"""

from __future__ import annotations

import time
from typing import Callable, Generator, Sequence

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

SLICE_MS = 8.0
GAP_MS = 6
"""Pause between two slices: the event loop paints and answers input on a turn of its own
(with no pause, a repaint and the next slice can run back to back, and the window waits for
both). A big model is built in a few dozen slices, so the pauses cost well under 0.1 s."""


class TimeSlicedRun(QObject):
    """Runs ``steps`` on the GUI thread, at most about ``budget_ms`` per event-loop turn.

    Args:
        steps: A generator; each ``next()`` should take a small part of the budget.
        budget_ms: Time to spend per slice.
        parent: The owner; deleting it stops the run.

    Signals:
        finished(): All steps ran.
    """

    finished = Signal()

    def __init__(self, steps: Generator, budget_ms: float = SLICE_MS, parent: QObject | None = None, gap_ms: int = GAP_MS):
        super().__init__(parent)
        self._steps = steps
        self._budget = budget_ms / 1000.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(gap_ms)
        self._timer.timeout.connect(self._run_slice)
        self._ended = False
        self.done = False

    def start(self) -> None:
        """Schedules the first slice."""
        self._timer.start()

    def hand_over(self) -> Generator:
        """Stops running and returns the steps not run yet, for another run to go on with (its
        ``finished`` is not emitted)."""
        self._timer.stop()
        self.done = True
        return self._steps

    def cancel(self) -> None:
        """Stops before the next slice."""
        self._timer.stop()
        self._steps.close()

    def _run_slice(self) -> None:
        if self._ended:  # the steps ended in the last slice: what follows gets a turn of its own
            self.done = True
            self.finished.emit()
            return
        deadline = time.perf_counter() + self._budget
        try:
            while time.perf_counter() < deadline:
                next(self._steps)
        except StopIteration:
            self._ended = True
        if isValid(self._timer):  # the steps may have seen their owner go (a window closed)
            self._timer.start()


PAINT_TURN_MS = 12
"""Time between two parts' paints in :func:`paint_in_turns`: more than the 5 ms Qt waits before
painting what was marked for repaint, so each part's paint has its own turn of the event loop."""


def paint_in_turns(widget: QWidget, change: Callable[[], None], parts: Sequence[QWidget] = ()) -> None:
    """Makes ``change`` (one that lays out all of ``widget``: a page shown, a bar shown or
    hidden), then paints ``widget`` on the event loop's next turn and each of ``parts`` (big
    children of ``widget``) on a turn of its own after that.

    Qt paints a newly shown page right after laying it out, in the same turn, and all of it at
    once: for a big model's views (the layer list, the graph, the details) the whole held the
    window for 30-40 ms. Apart, each fits in a frame; meanwhile each part shows its previous
    picture.
    """
    waiting = [widget, *parts]
    for each in waiting:
        each.setUpdatesEnabled(False)
    try:
        change()
    finally:
        QTimer.singleShot(0, widget, lambda: _paint_next(waiting))


def _paint_next(waiting: list[QWidget]) -> None:
    """Lets the first of ``waiting`` paint, and the next one a turn later."""
    first = waiting.pop(0)
    if not isValid(first):
        return
    first.setUpdatesEnabled(True)
    if waiting:
        QTimer.singleShot(PAINT_TURN_MS, first, lambda: _paint_next(waiting))
