"""A window comparing two models layer by layer: both graphs side by side with each layer's
status drawn on it, the hierarchy with what changed, and each variable's relative change.
Selecting a layer anywhere selects it (and its match) everywhere."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QGuiApplication
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

from inspector.model.model_diff import STATUSES, LayerDiff
from widgets.common.formatting import format_value
from widgets.model.graph_view import GraphView

STATUS_COLOURS = {"same": None, "changed": "#fff3cd", "added": "#d4edda", "removed": "#f8d7da"}
"""Row backgrounds: changed amber, added green, removed red; same rows stay plain."""
NODE_COLOURS = {"changed": "#f6c453", "added": "#7cc68d", "removed": "#e8868f"}
"""The same statuses on the graphs' nodes, strong enough to read at a glance."""


def _legend() -> str:
    swatches = " ".join(f'<span style="color:{NODE_COLOURS[s]}">■</span> {s}' for s in ("changed", "added", "removed"))
    return f"{swatches}&nbsp; (same: as usual)"


def _mark(layer: LayerDiff) -> tuple[str, str]:
    return NODE_COLOURS[layer.status], layer.status + (f": {', '.join(layer.changes)}" if layer.changes else "")


class ModelDiffView(QWidget):
    """Shows a :class:`~inspector.kernel.session.Comparison`: A's graph and B's side by side,
    the layer tree and the selected layer's variables.

    Signals:
        layer_selected(str): The user selected a layer of A (its path), to show in A's tab.
    """

    layer_selected = Signal(str)

    def __init__(self, comparison, parent: QWidget | None = None):
        super().__init__(parent)
        diff = comparison.diff
        self.setObjectName("modelDiff")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # its graphs go with the window
        self.setWindowTitle(f"{Path(diff.a).name} against {Path(diff.b).name}")
        screen = QGuiApplication.primaryScreen().availableGeometry()
        self.resize(min(1400, int(screen.width() * 0.95)), min(860, int(screen.height() * 0.9)))
        self.diff = diff
        self._rows = {layer.path: layer for layer in diff.layers}
        self._row_of_b = {layer.path_b or layer.path: layer.path for layer in diff.layers if layer.status != "removed"}
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

        self.graph_a, self.graph_b = GraphView(editable=False), GraphView(editable=False)  # for reading
        self.graph_a.setObjectName("diffGraphA")
        self.graph_b.setObjectName("diffGraphB")
        self.graph_a.set_model(comparison.info_a, comparison.layout_a)
        self.graph_b.set_model(comparison.info_b, comparison.layout_b)
        self.graph_a.set_layer_marks({l.path: _mark(l) for l in diff.layers if l.status in ("changed", "removed")}, _legend())
        self.graph_b.set_layer_marks(
            {l.path_b or l.path: _mark(l) for l in diff.layers if l.status in ("changed", "added")}, _legend()
        )

        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter)
        top.addStretch(1)
        top.addWidget(self.export_button)
        lists = QSplitter(Qt.Orientation.Vertical)
        lists.addWidget(self.tree)
        lists.addWidget(self.variables)
        lists.setSizes([400, 180])
        graphs = QSplitter(Qt.Orientation.Horizontal)
        for caption, graph in ((f"A  {Path(diff.a).name}", self.graph_a), (f"B  {Path(diff.b).name}", self.graph_b)):
            graphs.addWidget(_captioned(caption, graph))
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(lists)
        body.addWidget(graphs)
        body.setSizes([450, 950])
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addLayout(top)
        layout.addWidget(body, 1)

        self._items: dict[str, QTreeWidgetItem] = {}
        self._fill()
        self.filter.currentIndexChanged.connect(self._apply_filter)
        self.tree.currentItemChanged.connect(self._selected)
        self.graph_a.layer_selected.connect(lambda path: self.select(path))
        self.graph_b.layer_selected.connect(lambda path: self.select(self._row_of_b.get(path, "")))
        self.graph_a.group_toggled.connect(lambda node, opening: self._follow(self.graph_b, self._b_of_a(node), opening))
        self.graph_b.group_toggled.connect(lambda node, opening: self._follow(self.graph_a, self._row_of_b.get(node, node), opening))
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

    def _b_of_a(self, path: str) -> str:
        layer = self._rows.get(path)
        return path if layer is None else layer.path_b or layer.path

    @staticmethod
    def _follow(graph: GraphView, node_id: str, opening: bool) -> None:
        """Opens or closes the matching nested model (or block) in the other graph, if it has one."""
        try:
            graph.expand(node_id) if opening else graph.collapse(node_id)
        except (KeyError, ValueError):
            pass  # not a group there

    def select(self, path: str) -> None:
        """Selects a layer (a row's path: A's, or B's for an added layer) in the list and in both
        graphs, with its variables below."""
        item = self._items.get(path)
        if item is not None:
            self.tree.setCurrentItem(item)  # the rest follows from the list

    def _selected(self, item: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        path = item.data(0, Qt.ItemDataRole.UserRole)
        layer = self._rows[path]
        if layer.status != "added":
            self.graph_a.select_layer(layer.path)
        if layer.status != "removed":
            self.graph_b.select_layer(layer.path_b or layer.path)
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


def _captioned(caption: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    label = QLabel(f"<b>{caption}</b>")
    layout.addWidget(label)
    layout.addWidget(widget, 1)
    return box
