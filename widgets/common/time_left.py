"""How long a running job has taken, and how long it still needs, in words for a status line."""

from __future__ import annotations

import time
from collections.abc import Callable

SHOW_AFTER_S = 3.0
"""Runs shorter than this show no times: they are over before a reader could use them."""
MIN_EVIDENCE_S = 3.0
"""A phase's rate is trusted once its fractions have been reported over this many seconds."""


def duration(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"1.5 h"``: a span of time as briefly as a reader needs it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class TimeLeft:
    """Estimates a run's remaining time from the fractions of its progress reports.

    A run can have phases without a fraction (t-SNE's and UMAP's neighbour search) between or
    before phases with one. The rate is measured over the current phase only: from its first
    report with a fraction to the latest, so that a slow first phase does not make the
    optimisation look slower than it is.

    Args:
        clock: Seconds from a fixed point (``time.monotonic``; tests pass their own).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._started = clock()
        self._phase: tuple[float, float] | None = None  # (time, fraction) of the phase's first report
        self._latest: tuple[float, float | None] = (self._started, None)

    def restart(self) -> None:
        """Starts timing a new run."""
        self._started = self._clock()
        self._phase = None
        self._latest = (self._started, None)

    def report(self, fraction: float | None) -> None:
        """Notes a progress report: its fraction done, or ``None`` in a phase without one."""
        now = self._clock()
        if fraction is None:
            self._phase = None
        elif self._phase is None or fraction < self._phase[1]:
            self._phase = (now, fraction)
        self._latest = (now, fraction)

    def text(self) -> str:
        """``"about 4 min left"`` once the current phase's rate is known, ``"1 min so far"`` in a
        phase without fractions, and ``""`` for a run too young to say anything about."""
        now = self._clock()
        elapsed = now - self._started
        if elapsed < SHOW_AFTER_S:
            return ""
        if self._phase is not None:
            start, first = self._phase
            latest, fraction = self._latest
            if latest - start >= MIN_EVIDENCE_S and fraction > first:
                seconds_per_fraction = (latest - start) / (fraction - first)
                left = max(seconds_per_fraction * (1 - fraction) - (now - latest), 0.0)
                return f"about {duration(left)} left"
        return f"{duration(elapsed)} so far"
