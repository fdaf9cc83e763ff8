"""The model tab as a user meets it: panel sizes per view, undo in the status line, the transfer
builder's name and format, tags that fit on the nodes, and LoRA layers in the details panel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QLineEdit, QSplitter

from tests.conftest import settled
from tests.e2e.user import use_layer_menu
from tests.shell.test_main_window import wait_loaded
from widgets.shell.main_window import MainWindow
from widgets.common.panes import CONTROLS_SPLITTER
from widgets.model.variables_view import PENDING

TIMEOUT = 60_000
SCREENS = [(1500, 900), (1366, 768)]
VIEWS = ("&Graph", "&Variables", "&Activations", "&Training")


def menu_action(window, menu_title: str, text: str):
    """The action called ``text`` in the menu bar's ``menu_title`` menu, checked usable."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == menu_title)
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.isVisible() and action.isEnabled()
    return action


def show_view(qtbot, window, tab, text: str) -> None:
    menu_action(window, "&View", text).trigger()
    qtbot.waitUntil(lambda: tab.views.tabText(tab.views.currentIndex()) == text.strip("&"), timeout=5_000)


def drag_handle(qtbot, splitter: QSplitter, index: int, dx: int) -> None:
    """Drags the splitter handle before pane ``index`` sideways by ``dx`` pixels, as a user does."""
    handle = splitter.handle(index)
    assert handle.isVisible() and handle.isEnabled()
    start = QPoint(handle.width() // 2, handle.height() // 2)
    QTest.mousePress(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(handle, start + QPoint(dx // 2, 0))
    QTest.mouseMove(handle, start + QPoint(dx, 0))
    QTest.mouseRelease(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(dx, 0))


def controls_splitter(view) -> QSplitter:
    return view.findChild(QSplitter, CONTROLS_SPLITTER)


def wait_until_idle(qtbot, tab) -> None:
    """Waits until the variables table shows every statistic (computed in the background after
    opening; a model busy with a job refuses edits and builds)."""
    table = tab.variables.table.model()
    last_row, std = table.rowCount() - 1, table.columnCount() - 1
    qtbot.waitUntil(lambda: table.index(last_row, std).data() != PENDING and not tab.runner.busy, timeout=TIMEOUT)


def save_model(model, path):
    model.save(path)
    return path


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_view_opens_with_readable_layer_list_details_and_controls(qtbot, window, samples_dir, screen):
    window.resize(*screen)
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "two_input_two_output.keras"))
    for text in VIEWS:
        show_view(qtbot, window, tab, text)
        qtbot.waitUntil(lambda: tab.layer_tree.width() >= 150 and tab.details.width() >= 170, timeout=5_000)
        if text == "&Graph":
            assert tab.layer_tree.width() >= 220 and tab.details.width() >= 280
        assert tab.splitter.sizes()[1] >= screen[0] // 2
    controls = controls_splitter(tab.training).widget(0)
    qtbot.waitUntil(lambda: tab.training.data_editor is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: controls.width() >= tab.training.data_editor.minimumSizeHint().width(), timeout=5_000)
    assert controls.width() >= 520
    show_view(qtbot, window, tab, "&Activations")
    assert controls_splitter(tab.activations).widget(0).width() >= 400


def test_the_activations_training_and_embeddings_views_are_made_when_first_shown(qtbot, window, samples_dir):
    """Opening a model makes only what it shows; each other view is made, and works, when the
    user first goes to it."""
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "two_input_two_output.keras"))
    lazy = ("activations", "training", "embeddings")
    assert [tab._made(name) for name in lazy] == [None, None, None]
    show_view(qtbot, window, tab, "&Training")
    training = tab._made("training")
    assert training is not None and training.isVisible()
    qtbot.waitUntil(lambda: training.data_editor is not None, timeout=TIMEOUT)  # needs the inputs: Activations made too
    assert tab._made("embeddings") is None
    show_view(qtbot, window, tab, "&Activations")
    assert tab._made("activations").isVisible() and tab._made("activations").ready
    assert tab.training is training  # made once


def test_panel_sizes_chosen_in_a_view_come_back_in_that_view_of_the_next_tab_and_start(qtbot, window, samples_dir):
    window.resize(1500, 900)  # a usual screen: the first window fits the offscreen 800x800 one
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "two_input_two_output.keras"))
    show_view(qtbot, window, tab, "&Training")
    drag_handle(qtbot, tab.splitter, 1, 150)
    chosen_tree = tab.layer_tree.width()
    training_controls = controls_splitter(tab.training)
    drag_handle(qtbot, training_controls, 1, -60)
    chosen_controls = training_controls.sizes()
    show_view(qtbot, window, tab, "&Graph")
    graph_default = tab.layer_tree.width()
    assert graph_default != chosen_tree  # the Graph view keeps its own sizes
    show_view(qtbot, window, tab, "&Training")
    assert tab.layer_tree.width() == chosen_tree

    other = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    show_view(qtbot, window, other, "&Training")
    assert other.layer_tree.width() == chosen_tree
    assert controls_splitter(other.training).sizes() == chosen_controls
    show_view(qtbot, window, other, "&Graph")
    assert other.layer_tree.width() == graph_default

    window.close()  # quitting remembers the window's geometry, as the panels' sizes
    later = MainWindow(window.settings)
    qtbot.addWidget(later)
    later.show()
    again = wait_loaded(qtbot, later.open_file(samples_dir / "digits_cnn.keras"))
    show_view(qtbot, later, again, "&Training")
    assert again.layer_tree.width() == chosen_tree
    later.shutdown()


def test_undo_says_what_it_undid(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "transfer_digits.keras"))
    wait_until_idle(qtbot, tab)
    use_layer_menu(qtbot, tab, "gap", "Freeze everything before, train from here")
    settled(qtbot, tab)
    assert window.statusBar().currentMessage().startswith("Freeze up to gap.")

    menu_action(window, "&Edit", "&Undo Freeze up to gap").trigger()
    settled(qtbot, tab)
    assert window.statusBar().currentMessage().startswith("Undid: Freeze up to gap. Trainable params:")
    menu_action(window, "&Edit", "&Redo Freeze up to gap").trigger()
    settled(qtbot, tab)
    assert window.statusBar().currentMessage().startswith("Redid: Freeze up to gap.")


def _accept_transfer_dialog(qtbot, seen: list[str]) -> None:
    """Reads the proposed name in the transfer dialog when it opens, then clicks OK."""

    def answer():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, answer)
            return
        seen.append(dialog.findChild(QLineEdit).text())
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        assert ok.isVisible() and ok.isEnabled()
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)


def test_a_built_model_is_named_once_says_it_is_not_saved_then_shows_the_saved_format(
    qtbot, window, tmp_path, monkeypatch
):
    import keras

    inputs = keras.Input((6,), name="digits_input")
    features = keras.layers.Dense(8, activation="relu", name="digits_features")(inputs)
    outputs = keras.layers.Dense(3, name="digits_head")(features)
    model = keras.Model(inputs, outputs, name="digits")
    tab = wait_loaded(qtbot, window.open_file(save_model(model, tmp_path / "digits.keras")))
    wait_until_idle(qtbot, tab)

    seen: list[str] = []
    _accept_transfer_dialog(qtbot, seen)
    use_layer_menu(qtbot, tab, "digits_features", "New model from this layer's output…")
    assert seen == ["digits_features_transfer"]
    qtbot.waitUntil(lambda: len(window.model_tabs()) == 2 and window.model_tabs()[1].is_loaded, timeout=TIMEOUT)
    built = window.model_tabs()[1]
    overview = built.details.toPlainText()
    assert "legacy HDF5" not in overview and "not saved yet" in overview

    target = tmp_path / "built.keras"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    menu_action(window, "&File", "Save &As…").trigger()
    qtbot.waitUntil(lambda: not built.modified, timeout=TIMEOUT)
    overview = built.details.toPlainText()
    assert "Keras 3 archive (.keras)" in overview and str(target) in overview
    assert "not saved yet" not in overview


def test_tags_of_a_collapsed_nested_model_fit_inside_its_node(qtbot, window, tmp_path):
    import keras

    inner_in = keras.Input((8,), name="badge_inner_input")
    x = keras.layers.Dense(8, name="badge_inner_dense")(inner_in)
    x = keras.layers.BatchNormalization(name="badge_inner_bn")(x)
    base = keras.Model(inner_in, x, name="badge_base")
    base.get_layer("badge_inner_dense").trainable = False
    outer_in = keras.Input((8,), name="badge_input")
    twice = base(base(outer_in, training=False), training=False)
    model = keras.Model(outer_in, keras.layers.Dense(2, name="badge_head")(twice), name="badge_model")
    tab = wait_loaded(qtbot, window.open_file(save_model(model, tmp_path / "badges.keras")))

    for node_id in ("badge_base", "badge_base@2"):
        item = tab.graph.node_item(node_id)
        assert item.isVisible() and len(item.tags) == 3  # BN warning, partly frozen, the call
        for tag, box in zip(item.tags, item.tag_boxes):  # on the top border, within its width
            assert item.box.left() <= box.left() and box.right() <= item.box.right(), f"{tag!r} sticks out of {node_id}"


def test_details_of_a_saved_lora_layer_say_its_matrices_are_zero(qtbot, window, tmp_path):
    window.resize(1500, 900)  # a usual screen: the first window fits the offscreen 800x800 one
    import keras

    inputs = keras.Input((5,), name="lora_input")
    dense = keras.layers.Dense(4, name="lora_dense")
    model = keras.Model(inputs, dense(inputs), name="lora_model")
    dense.enable_lora(3)
    tab = wait_loaded(qtbot, window.open_file(save_model(model, tmp_path / "lora.keras")))

    tree = tab.layer_tree._tree
    item = tab.layer_tree._items["lora_dense"]
    assert tree.isVisible() and tree.isEnabled()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    qtbot.waitUntil(lambda: tab.details.layer is not None and tab.details.layer.name == "lora_dense", timeout=5_000)
    text = " ".join(tab.details.toPlainText().split())
    assert "rank 3" in text
    assert "lora_kernel_a and lora_kernel_b are zero because Keras merged them into the kernel" in text
    assert "Training starts them from there" in text
