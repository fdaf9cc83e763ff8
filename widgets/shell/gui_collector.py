"""Python's cyclic garbage collector in the window: on the GUI thread only, and over each
long-lived object at most once.

A collection that starts on another thread (a kernel's reader, say) may destroy Qt objects
there, which crashes Qt, so automatic collection is off and a timer on the GUI thread collects
instead, a generation at a time as Python would. A full collection scans every object that is
not frozen: after the first PCA, scikit-learn's modules (imported by the panel's thread) made
each one take 35 ms of the GUI thread. So what survives a full collection is frozen, and the
next one scans only what came since. Garbage in reference cycles that a freeze caught waits for
:func:`inspector.memory.collect_everything`, a moment after a tab closes.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

from inspector.memory import freeze_long_lived

CHECK_MS = 500


class GuiThreadCollector(QObject):
    """Collects from a timer on the thread that makes it (the GUI thread).

    Args:
        interval_ms: Time between two looks at the collector's counts.
        parent: The owner.
    """

    def __init__(self, interval_ms: int = CHECK_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collects the oldest generation whose count passed its threshold (and the younger
        ones with it), and freezes the survivors of a full collection."""
        counts = gc.get_count()
        if counts[0] <= self._thresholds[0]:
            return
        generation = 0
        while generation < 2 and counts[generation + 1] > self._thresholds[generation + 1]:
            generation += 1
        gc.collect(generation)
        if generation == 2:
            freeze_long_lived()


_collector: GuiThreadCollector | None = None


def collect_garbage_on_this_thread() -> None:
    """Starts the application's collector on this thread (the GUI thread), once."""
    global _collector
    if _collector is None:
        _collector = GuiThreadCollector()
