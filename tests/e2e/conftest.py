"""End-to-end tests: whole workflows driven through what a user sees, on a real X display.

They run under ``make test-e2e`` (``xvfb-run`` with Qt's xcb platform). Under any other
platform (``make test`` is offscreen) they are skipped, since offscreen hides the problems
they are here to catch.
"""

import os

import pytest

from tests.conftest import settle_for_close


def pytest_collection_modifyitems(config, items):
    if os.environ.get("QT_QPA_PLATFORM") == "xcb" and os.environ.get("DISPLAY"):
        return
    skip = pytest.mark.skip(reason="end-to-end tests need a real X display: run make test-e2e")
    for item in items:
        if "tests/e2e/" in item.nodeid.replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture
def shown_window(window, qtbot):
    """The main window at its default size, exposed and active on the X display."""
    qtbot.waitExposed(window)
    window.activateWindow()
    window.raise_()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    return window


@pytest.fixture
def launch(qtbot, tmp_path):
    """Starts the app as ``keras-inspector FILE...`` does, with its own settings file.

    Returns:
        A function taking the files of the command line and returning the shown, active window.
    """
    from PySide6.QtCore import QSettings

    from widgets.shell.app import create_window

    windows = []

    def start(*files):
        win = create_window([str(f) for f in files], QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(win, before_close_func=lambda w: settle_for_close(qtbot, w))  # pytest-qt closes it before this teardown
        windows.append(win)
        qtbot.waitExposed(win)
        win.activateWindow()
        qtbot.waitUntil(win.isActiveWindow, timeout=5000)
        return win

    yield start
    for win in windows:
        settle_for_close(qtbot, win)
        win.reporter.uninstall()
        win.close()

