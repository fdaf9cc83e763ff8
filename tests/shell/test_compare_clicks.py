"""File ▸ Compare With… as a user drives it: choose the other file, read the statuses, filter,
click a layer and see it selected in the model's tab."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from tests.e2e.user import answer_file_dialog, choose_in_combo, menu_action, reachable
from tests.conftest import SAMPLES
from tests.model_factory import save, two_input_model
from tests.shell.test_main_window import wait_loaded
from widgets.model.model_diff_view import STATUS_COLOURS

TIMEOUT = 60_000


def compare_through_menu(qtbot, window, tab, other):
    """File ▸ Compare With…, answering the file dialog with ``other``; returns the window."""
    done = answer_file_dialog(qtbot, other)
    with qtbot.waitSignal(tab.compared, timeout=TIMEOUT) as opened:
        menu_action(window, "File", "Compare With…").trigger()
    assert done
    view = opened.args[0]
    qtbot.waitUntil(view.isVisible, timeout=5_000)
    return view


def test_compare_with_an_edited_copy_shows_what_changed_and_follows_the_selection(qtbot, window, tmp_path):
    model = two_input_model()
    a = save(model, tmp_path, "a.keras")
    model.get_layer("hidden").kernel.assign(model.get_layer("hidden").kernel.numpy() * 2)
    b = save(model, tmp_path, "b.keras")
    tab = wait_loaded(qtbot, window.open_file(a))

    view = compare_through_menu(qtbot, window, tab, b)
    assert "1 changed" in view.header.text() and "0 added" in view.header.text()
    hidden = view.item("hidden")
    assert hidden.text(2) == "changed" and hidden.text(3) == "weights" and float(hidden.text(4)) == 1.0
    assert hidden.background(0).color().name() == STATUS_COLOURS["changed"]

    choose_in_combo(qtbot, view.filter, "Only differences")
    shown = [view.tree.topLevelItem(i).text(0) for i in range(view.tree.topLevelItemCount()) if not view.tree.topLevelItem(i).isHidden()]
    assert shown == ["hidden"]

    reachable(view.tree)
    rect = view.tree.visualItemRect(hidden)
    qtbot.mouseClick(view.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.variables.rowCount() == 2 and view.variables.item(0, 3).text() == "1"
    qtbot.waitUntil(lambda: tab.details.layer is not None and tab.details.layer.path == "hidden", timeout=5_000)
    assert tab.layer_tree.selected_layer() == "hidden"


def click_node(qtbot, graph, path: str) -> None:
    """Clicks a layer's node in a graph view, in the middle of its title."""
    item = graph.node_item(path)
    graph.canvas.centerOn(item)  # scrolled into view, as a user would
    point = graph.canvas.mapFromScene(item.mapToScene(item.box.center()))
    qtbot.mouseClick(graph.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_two_graphs_side_by_side_follow_each_others_selection(qtbot, window, tmp_path):
    from inspector.tfimport import keras

    base_in = keras.Input((6,), name="base_in")
    base = keras.Model(base_in, keras.layers.Dense(5, name="features")(keras.layers.Dense(8, name="first")(base_in)), name="base")
    a = save(base, tmp_path, "base.keras")
    inputs = keras.Input((6,), name="x")
    b = save(keras.Model(inputs, keras.layers.Dense(3, name="head")(base(inputs)), name="transfer"), tmp_path, "transfer.keras")
    tab = wait_loaded(qtbot, window.open_file(a))
    view = compare_through_menu(qtbot, window, tab, b)
    assert view.graph_a.isVisible() and view.graph_b.isVisible()
    assert not any("freeze" in label.text() for label in view.graph_a.findChildren(QLabel)), "for reading: no freezing here"
    assert view.graph_b.node_item("head").tint is not None, "the added head is marked on B's graph"
    assert "added" in view.graph_b.node_item("head").toolTip()

    click_node(qtbot, view.graph_a, "first")  # A's "first" is B's "base/first"
    qtbot.waitUntil(lambda: view.graph_b.selected_layer() == "base/first", timeout=5_000)
    assert view.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == "first"
    qtbot.waitUntil(lambda: tab.details.layer is not None and tab.details.layer.path == "first", timeout=5_000)

    click_node(qtbot, view.graph_b, "head")  # only in B: the list follows, A has nothing to select
    qtbot.waitUntil(lambda: view.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == "head", timeout=5_000)
    assert view.variables.rowCount() == 2 and view.variables.item(0, 1).text() == "—"
    view.close()
    qtbot.waitUntil(lambda: not tab.diff_views, timeout=5_000)


def test_opening_a_nested_model_in_one_graph_opens_it_in_the_other(qtbot, window, tmp_path):
    from inspector.tfimport import keras

    model = keras.saving.load_model(SAMPLES / "transfer_digits.keras")
    a = save(model, tmp_path, "a.keras")
    model.get_layer("head").kernel.assign(model.get_layer("head").kernel.numpy() * 1.5)
    b = save(model, tmp_path, "b.keras")
    tab = wait_loaded(qtbot, window.open_file(a))
    view = compare_through_menu(qtbot, window, tab, b)
    base = view.graph_a.node_item("digits_base")
    view.graph_a.canvas.centerOn(base)
    point = view.graph_a.canvas.mapFromScene(base.mapToScene(base.box.center()))
    qtbot.mouseDClick(view.graph_a.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: "digits_base" in view.graph_b.expanded(), timeout=5_000)
    assert "digits_base" in view.graph_a.expanded()
    assert view.graph_b.node_item("digits_base/base_conv_1") is not None
