"""Axes of the app's pyqtgraph plots."""

from __future__ import annotations

import pyqtgraph as pg


def without_si_prefixes(plot: pg.PlotWidget) -> None:
    """Turns off pyqtgraph's automatic SI prefixes on the bottom and left axes.

    With them on, every range change rewrites each axis title (rich text), and a new prefix
    ("(x1e-06)" on a t-SNE layout's first steps) resizes the axis and lays the plot out again:
    costly on plots that change as data arrive, and the app's values have no units to prefix.
    """
    for axis in ("bottom", "left"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
