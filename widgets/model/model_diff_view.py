"""A window comparing two models layer by layer: the hierarchy with each layer's status, what
changed, and each variable's relative change."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.model.model_diff import STATUSES, ModelDiff
from widgets.common.formatting import format_value

STATUS_COLOURS = {"same": None, "changed": "#fff3cd", "added": "#d4edda", "removed": "#f8d7da"}
"""Row backgrounds: changed amber, added green, removed red; same rows stay plain."""


class ModelDiffView(QWidget):
    """Shows a :class:`~inspector.model.model_diff.ModelDiff`.

    Signals:
        layer_selected(str): The user selected a layer of A (its path), to show in A's tab.
    """

    layer_selected = Signal(str)

    def __init__(self, diff: ModelDiff, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("modelDiff")
        self.setWindowTitle(f"{Path(diff.a).name} against {Path(diff.b).name}")
        self.resize(900, 600)
        self.diff = diff
        counts = diff.summary
        self.header = QLabel(
            f"<b>A</b> {diff.a}<br><b>B</b> {diff.b}<br>"
            + " · ".join(f"{counts[status]} {status}" for status in STATUSES)
        )
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.header.setWordWrap(True)
        self.filter = QComboBox()
        self.filter.setObjectName("diffFilter")
        self.filter.addItem("All layers", None)
        self.filter.addItem("Only differences", "different")
        for status in STATUSES:
            self.filter.addItem(f"Only {status}", status)
        self.export_button = QPushButton("Save as JSON…")
        self.export_button.setObjectName("diffExport")
        self.tree = QTreeWidget()
        self.tree.setObjectName("diffTree")
        self.tree.setHeaderLabels(["Layer", "Class", "Status", "What changed", "Largest ‖B−A‖/‖A‖"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.variables = QTableWidget(0, 4)
        self.variables.setObjectName("diffVariables")
        self.variables.setHorizontalHeaderLabels(["Variable", "Shape in A", "Shape in B", "‖B−A‖/‖A‖"])
        self.variables.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.variables.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter)
        top.addStretch(1)
        top.addWidget(self.export_button)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.tree)
        body.addWidget(self.variables)
        body.setSizes([400, 180])
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addLayout(top)
        layout.addWidget(body, 1)

        self._items: dict[str, QTreeWidgetItem] = {}
        self._fill()
        self.filter.currentIndexChanged.connect(self._apply_filter)
        self.tree.currentItemChanged.connect(self._selected)
        self.export_button.clicked.connect(lambda: self.save_json())

    def _fill(self) -> None:
        for layer in self.diff.layers:
            parent_path = layer.path.rsplit("/", 1)[0] if "/" in layer.path else None
            parent = self._items.get(parent_path) if parent_path else None
            change = layer.largest_change
            name = layer.path.rsplit("/", 1)[-1] + (f"  (B: {layer.path_b})" if layer.path_b else "")
            item = QTreeWidgetItem(
                [name, layer.class_name, layer.status, ", ".join(layer.changes), "" if change is None else format_value(change, 3)]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, layer.path)
            item.setToolTip(0, layer.path)
            colour = STATUS_COLOURS[layer.status]
            if colour is not None:
                for column in range(5):
                    item.setBackground(column, QBrush(QColor(colour)))
            (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
            self._items[layer.path] = item
        self.tree.expandAll()

    def item(self, path: str) -> QTreeWidgetItem:
        """The row of the layer with ``path``."""
        return self._items[path]

    def _apply_filter(self) -> None:
        wanted = self.filter.currentData()
        for layer in self.diff.layers:
            shown = wanted is None or layer.status == wanted or (wanted == "different" and layer.status != "same")
            self._items[layer.path].setHidden(not shown)
        if wanted is not None:  # a parent stays visible while a child is shown
            for layer in self.diff.layers:
                item = self._items[layer.path]
                if not item.isHidden():
                    parent = item.parent()
                    while parent is not None:
                        parent.setHidden(False)
                        parent = parent.parent()

    def _selected(self, item: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        path = item.data(0, Qt.ItemDataRole.UserRole)
        layer = next(layer for layer in self.diff.layers if layer.path == path)
        self.variables.setRowCount(len(layer.variables))
        for row, variable in enumerate(layer.variables):
            shape_a = "—" if variable.shape_a is None else "×".join(map(str, variable.shape_a)) or "scalar"
            shape_b = "—" if variable.shape_b is None else "×".join(map(str, variable.shape_b)) or "scalar"
            change = "n/a" if variable.relative_change is None else format_value(variable.relative_change, 4)
            for column, text in enumerate((variable.path, shape_a, shape_b, change)):
                self.variables.setItem(row, column, QTableWidgetItem(text))
        if layer.status != "added":
            self.layer_selected.emit(layer.path)

    def save_json(self, path: str | Path | None = None) -> Path | None:
        """Saves the comparison as ``keras-inspector --diff`` prints it."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save comparison", "comparison.json", "JSON (*.json)")
            if not path:
                return None
        Path(path).write_text(json.dumps(self.diff.as_dict(), indent=1))
        return Path(path)
