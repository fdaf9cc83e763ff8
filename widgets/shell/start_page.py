"""The page shown when no model is open: bundled samples, recent files and Open."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from widgets.common.paths import SAMPLE_DESCRIPTIONS, sample_models

PATH_ROLE = Qt.ItemDataRole.UserRole
LIST_WIDTH = 560


class StartPage(QWidget):
    """Offers the bundled sample models, the recent files and an Open button.

    Signals:
        open_requested(str): The user picked a file to open.
        browse_requested(): The user pressed Open….
    """

    open_requested = Signal(str)
    browse_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("Keras Model Inspector")
        title.setStyleSheet("font-size: 22px; font-weight: bold;")
        hint = QLabel("Drop .keras or .h5 files here, or open one.")
        browse = QPushButton("Open model…")
        browse.clicked.connect(self.browse_requested)
        self.samples = self._list("samples")
        self.recent = self._list("recent")
        columns = QHBoxLayout()
        columns.addLayout(self._column("Sample models", self.samples))
        columns.addSpacing(24)
        columns.addLayout(self._column("Recent files", self.recent))
        columns.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 40, 48, 40)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(browse, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addSpacing(16)
        layout.addLayout(columns, 1)
        self.set_samples(sample_models())

    def _list(self, name: str) -> QListWidget:
        widget = QListWidget()
        widget.setObjectName(name)
        widget.setMaximumWidth(LIST_WIDTH)
        widget.setSpacing(2)
        widget.itemClicked.connect(self._open_item)
        widget.itemActivated.connect(self._open_item)
        return widget

    def _open_item(self, item: QListWidgetItem) -> None:
        path = item.data(PATH_ROLE)
        if path:
            self.open_requested.emit(path)

    @staticmethod
    def _column(title: str, widget: QListWidget) -> QVBoxLayout:
        column = QVBoxLayout()
        label = QLabel(title)
        label.setStyleSheet("font-weight: bold;")
        column.addWidget(label)
        column.addWidget(widget)
        return column

    def set_samples(self, paths: list[Path]) -> None:
        """Lists the bundled samples with what each one shows."""
        self._fill(self.samples, paths, "No samples yet: run `make samples`.", SAMPLE_DESCRIPTIONS)

    def set_recent(self, paths: list[str]) -> None:
        """Lists the recent files, newest first."""
        self._fill(self.recent, [Path(p) for p in paths], "Nothing opened yet.", {p.name: str(p.parent) for p in map(Path, paths)})

    @staticmethod
    def _fill(widget: QListWidget, paths: list[Path], empty: str, notes: dict[str, str]) -> None:
        widget.clear()
        for path in paths:
            note = notes.get(path.name)
            item = QListWidgetItem(f"{path.name}\n    {note}" if note else path.name)
            item.setToolTip(str(path))
            item.setData(PATH_ROLE, str(path))
            widget.addItem(item)
        if not paths:
            item = QListWidgetItem(empty)
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            widget.addItem(item)
