"""A big model's graph is drawn from its file while Keras still loads it, then goes live."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMenu

from inspector.tfimport import keras

BLOCKS = 400


@pytest.fixture(scope="module")
def deep_model(tmp_path_factory):
    """A chain of 800 small layers: Keras takes a few seconds to load it, the preview well
    under one."""
    x = inputs = keras.Input((4,), name="features")
    for i in range(1, BLOCKS + 1):
        x = keras.layers.Dense(4, name=f"block{i}_dense")(x)
        x = keras.layers.Activation("relu", name=f"block{i}_relu")(x)
    path = tmp_path_factory.mktemp("deep") / "deep.keras"
    keras.Model(inputs, x, name="deep").save(path)
    keras.backend.clear_session()
    return path


def _drop(window, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(window.width() / 2, window.height() / 2), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    return window.model_tabs()[-1]


def test_the_graph_shows_before_keras_has_loaded_the_model_and_then_goes_live(qtbot, window, deep_model):
    tab = _drop(window, deep_model)
    qtbot.waitUntil(lambda: tab.stack.currentWidget() is tab.content, timeout=30_000)
    assert not tab.is_loaded, "the graph should be drawn from the file before Keras finished"
    assert tab.banner.isVisible() and tab.banner.cancel.isVisible()
    assert "Keras is loading deep.keras" in tab.banner.message.text()
    assert [tab.views.isTabEnabled(i) for i in range(5)] == [True, False, False, False, False]
    items = {node_id: tab.graph.node_item(node_id) for node_id in tab.graph.node_ids()}
    assert len(items) == 2 * BLOCKS + 1
    assert "loading" in tab.details.toPlainText()

    # While waiting, the user finds a layer by name.
    qtbot.keyClicks(tab.find_bar, "block250_relu")
    qtbot.keyClick(tab.find_bar, Qt.Key.Key_Return)
    assert tab.graph.selected_layer() == "block250_relu"

    qtbot.waitUntil(lambda: tab.is_loaded, timeout=120_000)
    assert not tab.banner.isVisible()
    assert all(tab.views.isTabEnabled(i) for i in range(5))
    dense = tab.graph.node_item("block1_dense")
    assert dense is items["block1_dense"], "the drawn items stay and take the live description"
    assert "params: 20 (20 trainable" in dense.toolTip()
    assert dense.state == "trainable"
    assert tab.graph.selected_layer() == "block250_relu"
    assert tab.layer_tree.selected_layer() == "block250_relu"
    details = tab.details.toPlainText()
    assert "block250_relu" in details and "Params" in details and "loading" not in details


def test_cancel_while_the_preview_shows_closes_the_tab(qtbot, window, deep_model):
    tab = _drop(window, deep_model)
    qtbot.waitUntil(lambda: tab.stack.currentWidget() is tab.content, timeout=30_000)
    assert not tab.is_loaded
    qtbot.mouseClick(tab.banner.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model_tabs() == [], timeout=10_000)


def _menu_action(window, menu_title: str, text: str):
    for menu in window.menuBar().findChildren(QMenu):
        if menu.title().replace("&", "") == menu_title:
            for action in menu.actions():
                if action.text().replace("&", "") == text and action.isEnabled():
                    return action
    raise AssertionError(f"no {menu_title} ▸ {text}")


def test_the_minimap_shows_where_the_view_is_and_moves_it(qtbot, window, deep_model):
    window.resize(1300, 850)
    tab = _drop(window, deep_model)
    qtbot.waitUntil(lambda: tab.is_loaded, timeout=120_000)
    canvas, minimap = tab.graph.canvas, tab.graph.canvas.minimap
    assert not minimap.isVisible(), "the whole graph is in view: no minimap"
    for _ in range(12):
        _menu_action(window, "View", "Zoom In").trigger()
    qtbot.waitUntil(minimap.isVisible, timeout=5_000)
    assert minimap.geometry().right() < canvas.viewport().width()  # in the view's corner
    before = canvas.mapToScene(canvas.viewport().rect().center())
    bottom = QPoint(minimap.width() // 2, minimap.height() - 3)
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=bottom)
    after = canvas.mapToScene(canvas.viewport().rect().center())
    assert after.y() > before.y() + 1000, "a click near the minimap's bottom shows the graph's end"
    assert tab.graph.node_item(f"block{BLOCKS}_relu").isVisible()
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.intersects(tab.graph.node_item(f"block{BLOCKS}_relu").sceneBoundingRect())
    _menu_action(window, "View", "Fit Graph to Window").trigger()
    qtbot.waitUntil(lambda: not minimap.isVisible(), timeout=5_000)
