"""Runs GUI-thread work a few milliseconds at a time so the window keeps responding.

Building the views of a big model (hundreds of graph items and tree rows) must happen on the GUI
thread. Written as a generator that yields often, it can be run here in slices of a small time
budget, with the event loop running between slices.
"""

from __future__ import annotations

import time
from typing import Callable, Generator

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


def paint_next_turn(widget: QWidget, change: Callable[[], None]) -> None:
    """Makes ``change`` (one that lays out all of ``widget``: a page shown, a bar shown or
    hidden) and holds ``widget``'s repaint until the event loop's next turn.

    Qt paints a newly shown page right after laying it out, in the same turn: for a big model's
    views the two together held the window for 30-40 ms. Apart, each fits in a frame; meanwhile
    the window shows its previous picture.
    """
    widget.setUpdatesEnabled(False)
    try:
        change()
    finally:
        QTimer.singleShot(0, widget, lambda: widget.setUpdatesEnabled(True))
