"""The layer list: every layer as a tree (nested models and wrappers hold their inner layers)."""

from __future__ import annotations

from typing import Generator

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from inspector.jobs import run_job
from inspector.model.model_info import LayerInfo, ModelInfo
from widgets.common.formatting import count, frozen_state

PATH_ROLE = Qt.ItemDataRole.UserRole
FROZEN_COLOUR = QColor("#5b7083")
NAME_MIN_WIDTH = 200


class LayerTree(QWidget):
    """Tree of the model's layers with class, output shape, parameters and training state.

    Signals:
        layer_selected(str): The user selected the layer with this path.
        layer_context_menu(str, QPoint): The user asked for a layer's context menu, at this
            global position.
    """

    layer_selected = Signal(str)
    layer_context_menu = Signal(str, QPoint)
    COLUMNS = ("Layer", "Class", "Output shape", "Params", "State")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._tree = QTreeWidget(self)
        self._tree.setObjectName("layerTree")
        self._tree.setHeaderLabels(self.COLUMNS)
        self._tree.setUniformRowHeights(True)
        self._tree.setAlternatingRowColors(True)
        self._tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._tree.header().setStretchLastSection(False)
        self._tree.itemSelectionChanged.connect(self._emit_selection)
        self._tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._tree.customContextMenuRequested.connect(self._context_menu)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._preview = False
        self._quiet = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._tree)

    def set_model(self, info: ModelInfo) -> None:
        """Shows the layers of ``info``."""
        run_job(self.set_model_steps(info))

    def set_model_steps(self, info: ModelInfo, batch: int = 100) -> Generator[None, None, None]:
        """:meth:`set_model` in slices of ``batch`` top-level layers, for time-sliced building."""
        self._preview = info.preview
        self._tree.clear()
        self._items.clear()
        for start in range(0, len(info.layers), batch):
            self._tree.addTopLevelItems([self._make_item(layer) for layer in info.layers[start : start + batch]])
            yield
        for column in range(len(self.COLUMNS)):  # each measures the text of every row
            self._tree.resizeColumnToContents(column)
            yield
        self._tree.setColumnWidth(0, max(self._tree.columnWidth(0), NAME_MIN_WIDTH))

    def fill_steps(self, info: ModelInfo, batch: int = 500) -> Generator[None, None, None]:
        """Takes the loaded model's description while the list shows its preview (the same
        layers): shapes, counts and states fill in, and the selection and scroll position stay.
        A list of other layers is made again."""
        index = info.layer_index()
        if index.keys() != self._items.keys():
            yield from self.set_model_steps(info)
            return
        self._preview = False
        for done, (path, layer) in enumerate(index.items(), 1):
            item = self._items[path]
            item.setText(2, _shape_text(layer))
            item.setText(3, count(layer.params))
            self._show_state(item, layer)
            if done % batch == 0:
                yield

    def _make_item(self, layer: LayerInfo) -> QTreeWidgetItem:
        params = "" if self._preview else count(layer.params)
        item = QTreeWidgetItem([layer.name, layer.class_name, _shape_text(layer), params, ""])
        item.setData(0, PATH_ROLE, layer.path)
        item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(0, layer.path)
        self._show_state(item, layer)
        self._items[layer.path] = item
        for child in layer.children:
            item.addChild(self._make_item(child))
        return item

    def refresh_states(self, info: ModelInfo) -> None:
        """Shows new trainable states (after freezing or unfreezing) without rebuilding."""
        for path, layer in info.layer_index().items():
            item = self._items.get(path)
            if item is not None:
                self._show_state(item, layer)

    def _show_state(self, item: QTreeWidgetItem, layer: LayerInfo) -> None:
        state = "" if self._preview else frozen_state(layer.params, layer.trainable_params, layer.partly_frozen)
        if layer.lora is not None:
            state = f"LoRA r{layer.lora.rank}" + (f" · {state}" if state and state != "trainable" else "")
        shown = item.text(4)
        if state == shown:
            return  # (most rows, when a big model's preview turns live: setting 5 brushes each is slow)
        item.setText(4, state)
        if (state == "frozen") != (shown == "frozen"):
            brush = QBrush(FROZEN_COLOUR) if state == "frozen" else QBrush()
            for column in range(len(self.COLUMNS)):
                item.setForeground(column, brush)

    def _context_menu(self, position) -> None:
        item = self._tree.itemAt(position)
        if item is None:
            return
        self._tree.setCurrentItem(item)
        self.layer_context_menu.emit(item.data(0, PATH_ROLE), self._tree.viewport().mapToGlobal(position))

    def select_layer(self, path: str) -> None:
        """Selects and reveals a layer without emitting :attr:`layer_selected`."""
        item = self._items.get(path)
        if item is None or item.isSelected():
            return
        self._quiet = True
        try:
            self._tree.setCurrentItem(item)
            self._tree.scrollToItem(item)
        finally:
            self._quiet = False

    def selected_layer(self) -> str | None:
        """Path of the selected layer, if any."""
        items = self._tree.selectedItems()
        return items[0].data(0, PATH_ROLE) if items else None

    def _emit_selection(self) -> None:
        path = self.selected_layer()
        if path and not self._quiet:
            self.layer_selected.emit(path)


def _shape_text(layer: LayerInfo) -> str:
    """The output shape of a layer's first call, and how many calls more it has."""
    shape = layer.output_shapes[0] if layer.output_shapes else ""
    if len(layer.output_shapes) > 1:
        shape += f"  (+{len(layer.output_shapes) - 1} calls)"
    return shape
