"""Creates the application and its main window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from inspector.kernel.location import LOCAL, KernelLocation
from widgets.common.error_reporting import ExceptionReporter, configure_logging
from widgets.shell.main_window import MainWindow


def create_window(files: list[str], settings: QSettings | None = None, location: KernelLocation = LOCAL) -> MainWindow:
    """Shows the main window and opens ``files`` once it is on screen.

    Args:
        files: Model and vector files from the command line.
        settings: Where to remember settings; the user's settings by default.
        location: Where the models' kernels run (``--kernel``).

    Returns:
        The main window.
    """
    window = MainWindow(settings, location)
    window.reporter = ExceptionReporter(window)
    window.show()
    # Open files once the window is on screen, so it appears before any work starts.
    QTimer.singleShot(0, lambda: window.open_paths(files))
    return window


def run_app(files: list[str], location: KernelLocation = LOCAL) -> int:
    """Runs the application: the main window, ``files`` opened, the event loop.

    Args:
        files: Model and vector files from the command line.
        location: Where the models' kernels run (``--kernel``).

    Returns:
        The application's exit code.
    """
    QCoreApplication.setOrganizationName("KerasModelInspector")
    QCoreApplication.setApplicationName("Keras Model Inspector")
    app = QApplication.instance() or QApplication(sys.argv)
    configure_logging()
    window = create_window(files, location=location)
    code = app.exec()
    window.reporter.uninstall()
    return code
