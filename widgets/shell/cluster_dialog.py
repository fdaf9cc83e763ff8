"""File ▸ Connect to Ray Cluster…: where new models' kernels run, with the recent addresses; and
File ▸ Open Path on Cluster…: a model file on the cluster's side, with the recent paths."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QLabel, QWidget

from inspector.kernel.location import KernelLocation, parse_location
from widgets.common.form_dialog import lay_out_form_dialog

RECENT_ADDRESSES = "ray/recent_addresses"
RECENT_PATHS = "ray/recent_paths"
GPUS_KEY = "ray/gpus"
MAX_RECENT = 10


def recent(settings: QSettings, key: str) -> list[str]:
    """The remembered entries under ``key``, most recent first."""
    value = settings.value(key, [])
    return [value] if isinstance(value, str) else list(value or [])


def remember(settings: QSettings, key: str, entry: str) -> None:
    """Puts ``entry`` first in the list under ``key``."""
    entries = [entry] + [other for other in recent(settings, key) if other != entry]
    settings.setValue(key, entries[:MAX_RECENT])


class _RecentDialog(QDialog):
    """A sentence, an editable list of recent entries, and options; OK only for valid entries."""

    def _recent_box(self, name: str, entries: list[str], placeholder: str) -> QComboBox:
        box = QComboBox()
        box.setObjectName(name)
        box.setEditable(True)
        box.addItems(entries)
        box.lineEdit().setPlaceholderText(placeholder)
        box.setMinimumContentsLength(36)
        return box


class ClusterDialog(_RecentDialog):
    """Asks for a Ray Client address and how many GPUs each kernel asks for.

    Args:
        settings: Where the recent addresses and the GPU count are remembered.
        parent: The owning widget.
    """

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("clusterDialog")
        self.setWindowTitle("Connect to Ray cluster")
        intro = QLabel(
            "Models opened from now on live in kernels on the Ray cluster (Ray actors, reached with Ray "
            "Client); the window stays here. The cluster needs the packages this app uses "
            "(<code>pip install \"keras-model-inspector[ray]\"</code>); the app sends its own code with each "
            "kernel. Models already open stay where they are."
        )
        intro.setWordWrap(True)
        self.address = self._recent_box("clusterAddress", recent(settings, RECENT_ADDRESSES), "ray://HOST:10001")
        self.gpus = QDoubleSpinBox()
        self.gpus.setObjectName("clusterGpus")
        self.gpus.setDecimals(1)
        self.gpus.setRange(0, 64)
        self.gpus.setValue(float(settings.value(GPUS_KEY, 0)))
        self.gpus.setToolTip("GPUs each kernel asks Ray for: Ray starts it on a node where that many are free")
        self.problem = QLabel(objectName="clusterProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020;")
        self.buttons = lay_out_form_dialog(
            self, intro, [("Address:", self.address), ("GPUs per kernel:", self.gpus)], [self.problem], "Connect", 560
        )
        self.address.currentTextChanged.connect(self._check)
        self._check()

    def _check(self) -> None:
        text = self.address.currentText().strip()
        problem = ""
        if text:
            try:
                parse_location(text)
            except ValueError as exc:
                problem = str(exc)
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(text) and not problem)

    def location(self) -> KernelLocation:
        """The location chosen (remembered with the recent addresses)."""
        location = parse_location(self.address.currentText(), self.gpus.value())
        remember(self.settings, RECENT_ADDRESSES, location.address)
        self.settings.setValue(GPUS_KEY, location.num_gpus)
        return location


class ClusterPathDialog(_RecentDialog):
    """Asks for the path of a model file on the cluster's side, to open or to save to.

    Args:
        settings: Where the recent paths are remembered.
        address: The cluster, for the sentence on top.
        parent: The owning widget.
        save: Ask where to save (Save As of a model opened from a cluster path) instead of what
            to open.
    """

    def __init__(self, settings: QSettings, address: str, parent: QWidget | None = None, *, save: bool = False):
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("clusterPathDialog")
        self.setWindowTitle("Save on cluster" if save else "Open path on cluster")
        intro = QLabel(
            f"Where on the machines of {address} the kernel writes the model (.keras, or .h5)."
            if save
            else f"A model file on the machines of {address}: the kernel reads it there, and Save writes it there."
        )
        intro.setWordWrap(True)
        self.path = self._recent_box("clusterPath", recent(settings, RECENT_PATHS), "/data/models/model.keras")
        self.buttons = lay_out_form_dialog(self, intro, [("Model file:", self.path)], [], "Save" if save else "Open", 560)
        self.path.currentTextChanged.connect(
            lambda text: self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(text.strip().startswith("/"))
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self.path.currentText().strip().startswith("/"))

    def chosen(self) -> str:
        """The path chosen (remembered with the recent paths)."""
        path = self.path.currentText().strip()
        remember(self.settings, RECENT_PATHS, path)
        return path
