"""Number and size formatting shared by the views."""

from __future__ import annotations


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
