"""The layout the Activations and Training views share: controls on the left, results right."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget


def controls_and_results(owner: QWidget, controls: QWidget, results: QWidget, controls_width: int) -> QSplitter:
    """Fills ``owner`` with a splitter: ``controls`` left, ``results`` right (which grows more).

    Args:
        owner: The view being laid out.
        controls: Inputs, settings and buttons.
        results: What the view shows.
        controls_width: The controls' starting width in pixels.

    Returns:
        The splitter.
    """
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(controls)
    splitter.addWidget(results)
    splitter.setStretchFactor(0, 2)
    splitter.setStretchFactor(1, 5)
    splitter.setSizes([controls_width, 1400 - controls_width])
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(splitter)
    return splitter
