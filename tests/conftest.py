"""Shared test set-up: headless Qt, quiet TensorFlow, paths to the bundled samples."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The folder of bundled sample models."""
    return SAMPLES


@pytest.fixture
def window(qtbot, tmp_path):
    """A shown main window with its own settings file; closed without questions at the end."""
    from PySide6.QtCore import QSettings

    from widgets.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win.show()
    yield win
    for tab in win.model_tabs():  # the test is over: nothing to ask about
        tab.unsaved = tab.weights_modified = False
        if tab.editor is not None:
            tab.editor.mark_saved()
    win.close()
