"""The bar above a tab's views that says its model's process stopped, and offers a restart; while
Keras loads a model whose graph is already drawn, it says so and offers Cancel."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class KernelBanner(QFrame):
    """Hidden until the tab's kernel dies, or a cancelled job does not stop.

    Attributes:
        message: What happened, in one or two sentences.
        restart: Reopens the file in a new kernel (shown once the kernel has stopped); for a
            kernel on a Ray cluster it reads "Reconnect".
        stop: Ends the kernel (shown while a cancelled job does not stop).
        cancel: Stops loading the model and closes the tab (shown while it loads).
    """

    STYLES = {
        "warning": "#kernelBanner { background: #fff4ce; border: 1px solid #e0b000; }",
        "loading": "#kernelBanner { background: #e8f0fb; border: 1px solid #9db7dd; }",
    }

    def __init__(self, parent: QWidget | None = None, *, remote: bool = False):
        super().__init__(parent)
        self.setObjectName("kernelBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(self.STYLES["warning"])
        self.message = QLabel(objectName="kernelMessage")
        self.message.setWordWrap(True)
        self.restart = QPushButton("Reconnect" if remote else "Restart", objectName="restartKernel")
        where = "on the Ray cluster" if remote else "in a new process"
        self.restart.setToolTip(f"Reopen the file {where} and re-apply the unsaved trainable edits")
        self.stop = QPushButton("Stop the process", objectName="stopKernel")
        self.cancel = QPushButton("Cancel", objectName="cancelLoading")
        self.cancel.setToolTip("Stop loading the model and close the tab")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.stop)
        layout.addWidget(self.restart)
        layout.addWidget(self.cancel)
        self.hide()

    def show_died(self, text: str) -> None:
        """The kernel stopped: says why, offers Restart."""
        self._show(text, restart=True)

    def show_unresponsive(self, text: str) -> None:
        """A cancelled job runs on: offers to stop the kernel."""
        self._show(text, stop=True)

    def show_busy(self, text: str) -> None:
        """A restart is under way."""
        self._show(text)

    def show_loading(self, text: str) -> None:
        """Keras is still loading the model whose graph the views show: offers Cancel."""
        self._show(text, cancel=True, style="loading")

    def _show(self, text: str, *, restart: bool = False, stop: bool = False, cancel: bool = False, style: str = "warning") -> None:
        self.setStyleSheet(self.STYLES[style])
        self.message.setText(text)
        self.restart.setVisible(restart)
        self.stop.setVisible(stop)
        self.cancel.setVisible(cancel)
        self.show()
