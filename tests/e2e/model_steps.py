"""What a user looks at and points to in a model tab: the model shown, a layer's row in the
layer list, a layer's box in the graph. The steps in :mod:`tests.e2e.user` do the clicking."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMainWindow, QTreeWidget, QTreeWidgetItem, QWidget
from pytestqt.exceptions import TimeoutError as WaitTimeout

from tests.e2e.user import error_messages

LOAD_TIMEOUT_MS = 120_000


def picture(widget: QWidget, name: str) -> None:
    """Saves what ``widget`` shows as ``NAME.png`` in the folder named by ``E2E_SHOTS``, if set,
    so that someone can look at the views a workflow passed through."""
    folder = os.environ.get("E2E_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / f"{name}.png"))


def tab_title(window: QMainWindow) -> str:
    """The text on the tab in front, e.g. ``"digits_cnn.keras *"``."""
    return window.tabs.tabText(window.tabs.currentIndex())


def wait_for_model(qtbot, window: QMainWindow, file_name: str):
    """Waits until the tab in front shows the model from ``file_name`` (graph and lists drawn)
    and no background job uses it any more (its variable statistics are done).

    Returns:
        The tab.
    """

    def shown() -> bool:
        tab = window.current_tab()
        return (
            tab is not None
            and tab.is_loaded
            and tab.stack.currentWidget() is tab.content
            and tab_title(window).startswith(file_name)
        )

    try:
        qtbot.waitUntil(shown, timeout=LOAD_TIMEOUT_MS)
    except WaitTimeout as timeout:
        titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
        raise AssertionError(
            f"{file_name} is not shown: tabs {titles}, status {window.statusBar().currentMessage()!r}, "
            f"messages {error_messages()}"
        ) from timeout
    tab = window.current_tab()
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=LOAD_TIMEOUT_MS)
    return tab


def detail(tab, row: str) -> str:
    """The value the details panel shows in its row ``row`` (e.g. ``"Trainable params"``)."""
    lines = tab.details.toPlainText().splitlines()
    assert row in lines, f"the details panel has no row {row!r}: {lines}"
    return lines[lines.index(row) + 1]


def layer_list(tab) -> QTreeWidget:
    """The layer list on the left of a model tab."""
    return tab.findChild(QTreeWidget, "layerTree")


def layer_row(tab, name: str) -> QTreeWidgetItem:
    """The row of the layer list showing the layer ``name`` (at any depth), scrolled into view."""
    tree = layer_list(tab)
    found = tree.findItems(name, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 0)
    assert found, f"no layer {name!r} in the layer list"
    tree.scrollToItem(found[0])
    return found[0]


def layer_point(tab, name: str) -> tuple[QWidget, QPoint]:
    """Where to click the layer ``name`` in the layer list: the list's viewport and a point."""
    tree = layer_list(tab)
    rect = tree.visualItemRect(layer_row(tab, name))
    assert tree.viewport().rect().contains(rect.center()), f"the row of {name!r} is not on screen"
    return tree.viewport(), rect.center()


def layer_states(tab) -> dict[str, str]:
    """Each top-level layer's name and its State column as the layer list shows them."""
    tree = layer_list(tab)
    header = tree.headerItem()
    state = next(c for c in range(tree.columnCount()) if header.text(c) == "State")
    return {tree.topLevelItem(i).text(0): tree.topLevelItem(i).text(state) for i in range(tree.topLevelItemCount())}


def node_point(tab, node_id: str) -> tuple[QWidget, QPoint]:
    """Where to click a layer's box in the graph: the graph's viewport and the box's centre."""
    item = tab.graph.node_item(node_id)
    assert item is not None, f"the graph shows no node {node_id!r}"
    canvas = tab.graph.canvas
    point = canvas.mapFromScene(item.mapToScene(item.box.center()))
    assert canvas.viewport().rect().contains(point), f"the node {node_id!r} is not on screen"
    return canvas.viewport(), point
