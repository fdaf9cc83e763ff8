"""Unexpected errors reach the user as a message with copyable details and go to a log file."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from widgets.common.paths import log_dir

log = logging.getLogger("inspector")


def log_file() -> Path:
    """The application's log file (created on demand)."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "inspector.log"


def configure_logging() -> Path:
    """Sends the app's log records to :func:`log_file` and returns its path."""
    path = log_file()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def show_error(parent: QWidget | None, title: str, text: str, details: str = "") -> QMessageBox:
    """Shows a non-blocking error message; ``details`` go in the expandable, copyable part.

    Returns:
        The message box (already shown), so tests can read and close it.
    """
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorMessage")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box


class ExceptionReporter(QObject):
    """Catches exceptions no code handled, on any thread, logs them and tells the user.

    Args:
        parent_widget: The window that owns the messages.
    """

    _reported = Signal(str, str)

    def __init__(self, parent_widget: QWidget):
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self._reported.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._excepthook
        threading.excepthook = lambda args: self._excepthook(args.exc_type, args.exc_value, args.exc_traceback)
        self.last_details = ""

    def uninstall(self) -> None:
        """Restores the hooks that were there before."""
        sys.excepthook, threading.excepthook = self._previous_hooks

    def _excepthook(self, exc_type, exc_value, exc_tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous_hooks[0](exc_type, exc_value, exc_tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
        log.error("Unexpected error:\n%s", details)
        self._reported.emit(f"{exc_type.__name__}: {exc_value}", details)

    def _show(self, summary: str, details: str) -> None:
        self.last_details = details
        show_error(
            self._parent_widget,
            "Unexpected error",
            "Something went wrong, but your open models are untouched.\n\n"
            f"{summary}\n\nThe details were written to {log_file()}.",
            details,
        )
