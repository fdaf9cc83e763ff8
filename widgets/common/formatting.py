"""Number and size formatting shared by the views."""

from __future__ import annotations

import math


def count(value: int) -> str:
    """An integer with thousands separators, e.g. ``1,234,567``."""
    return f"{value:,}"


def frozen_state(params: int, trainable_params: int, partly: bool = False) -> str:
    """A layer's training state in words: trainable, frozen, partly frozen or no weights."""
    if params == 0:
        return "no weights"
    if partly:
        return "partly frozen"
    return "frozen" if trainable_params == 0 else "trainable"


def format_value(value: float, digits: int = 4) -> str:
    """A number as the views write it: ``digits`` significant digits, ``NaN`` and ``∞`` spelled
    out (``0.03125``, ``-1.5e+04``, ``-∞``). The minus is a hyphen, so a copied value pastes as
    a number."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.{digits}g}"
