"""Shared set-up of the feature workflows (activations, training, embeddings): a sample model
opened from the command line, and pictures of what the window shows along the way."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import SAMPLES

LOAD_TIMEOUT_MS = 60_000
SHOTS = Path(os.environ.get("E2E_SHOTS", "/tmp/shots-e2e-features"))


def open_sample(qtbot, launch, name: str):
    """Starts the app as ``keras-inspector resources/samples/NAME`` and waits for the model.

    Returns:
        The window and the model's tab, once the model is shown.
    """
    window = launch(SAMPLES / name)
    qtbot.waitUntil(lambda: window.current_tab() is not None and window.current_tab().is_loaded, timeout=LOAD_TIMEOUT_MS)
    tab = window.current_tab()
    assert window.tabs.tabText(window.tabs.currentIndex()) == name
    return window, tab


def picture(window, name: str) -> None:
    """Saves what the window shows as ``SHOTS/NAME.png``, to look at after the run."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / f"{name}.png"))
