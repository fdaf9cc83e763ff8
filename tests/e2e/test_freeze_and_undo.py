"""Freeze everything before a layer from a context menu, read the counts, undo and redo."""

from tests.conftest import SAMPLES, settled
from tests.e2e.model_steps import detail, layer_point, layer_states, node_point, picture, tab_title, wait_for_model
from tests.e2e.user import (
    DIALOG_TIMEOUT_MS,
    choose_from_popup,
    click,
    error_messages,
    menu_action,
    press,
    right_click,
    use_menu,
)

FREEZE_BEFORE = "Freeze everything before, train from here"
AS_OPENED = {"rescale": "no weights", "conv_1": "trainable", "bn_1": "trainable", "conv_2": "trainable", "probs": "trainable"}
FROZEN_BEFORE_CONV_2 = {**AS_OPENED, "conv_1": "frozen", "bn_1": "frozen"}


def shown_states(tab) -> dict[str, str]:
    """The State column of the layers this test looks at."""
    states = layer_states(tab)
    return {name: states[name] for name in AS_OPENED}


def assert_frozen_before_conv_2(window, tab) -> None:
    """What the user sees once conv_1 and bn_1 are frozen and the rest trains."""
    assert shown_states(tab) == FROZEN_BEFORE_CONV_2
    assert "FROZEN" in tab.graph.node_item("conv_1").tags and "FROZEN" in tab.graph.node_item("bn_1").tags
    assert "FROZEN" not in tab.graph.node_item("conv_2").tags
    assert tab_title(window) == "digits_cnn.keras *"
    assert "Trainable params: 9,770 of 9,994" in window.statusBar().currentMessage()
    assert "needs recompile" in window.statusBar().currentMessage()


def test_freeze_everything_before_a_graph_node_then_undo_and_redo(qtbot, launch):
    window = launch(SAMPLES / "digits_cnn.keras")
    tab = wait_for_model(qtbot, window, "digits_cnn.keras")
    assert shown_states(tab) == AS_OPENED
    assert not menu_action(window, "Edit", "Undo").isEnabled()

    chosen = choose_from_popup(qtbot, FREEZE_BEFORE)
    right_click(qtbot, *node_point(tab, "conv_2"))
    qtbot.waitUntil(lambda: bool(chosen), timeout=DIALOG_TIMEOUT_MS)
    settled(qtbot, tab)  # the model's process has made the edit
    assert_frozen_before_conv_2(window, tab)
    assert detail(tab, "Path") == "conv_2" and detail(tab, "State") == "trainable"
    undo = menu_action(window, "Edit", "Undo")
    assert undo.isEnabled() and undo.text() == "&Undo Freeze up to conv_2"
    picture(window, "frozen_before_conv_2")

    press(qtbot, window, "Ctrl+Z")
    settled(qtbot, tab)
    assert shown_states(tab) == AS_OPENED
    assert "FROZEN" not in tab.graph.node_item("conv_1").tags
    assert tab_title(window) == "digits_cnn.keras"
    assert not menu_action(window, "Edit", "Undo").isEnabled()
    assert menu_action(window, "Edit", "Redo").text() == "&Redo Freeze up to conv_2"

    press(qtbot, window, "Ctrl+Shift+Z")
    settled(qtbot, tab)
    assert_frozen_before_conv_2(window, tab)
    assert menu_action(window, "Edit", "Undo").text() == "&Undo Freeze up to conv_2"
    assert not menu_action(window, "Edit", "Redo").isEnabled()
    assert not error_messages()


def test_freeze_everything_before_a_layer_in_the_list_then_undo_from_the_edit_menu(qtbot, launch):
    window = launch(SAMPLES / "digits_cnn.keras")
    tab = wait_for_model(qtbot, window, "digits_cnn.keras")
    click(qtbot, *layer_point(tab, "conv_2"))
    assert detail(tab, "Path") == "conv_2"

    chosen = choose_from_popup(qtbot, FREEZE_BEFORE)
    right_click(qtbot, *layer_point(tab, "conv_2"))
    qtbot.waitUntil(lambda: bool(chosen), timeout=DIALOG_TIMEOUT_MS)
    settled(qtbot, tab)  # the model's process has made the edit
    assert_frozen_before_conv_2(window, tab)

    click(qtbot, *layer_point(tab, "conv_1"))
    assert detail(tab, "State") == "frozen" and detail(tab, "Trainable params") == "0"
    assert detail(tab, "Non-trainable params") == "160"

    use_menu(window, "Edit", "Undo Freeze up to conv_2")
    settled(qtbot, tab)
    assert shown_states(tab) == AS_OPENED
    assert detail(tab, "State") == "trainable" and detail(tab, "Trainable params") == "160"
    use_menu(window, "Edit", "Redo Freeze up to conv_2")
    settled(qtbot, tab)
    assert_frozen_before_conv_2(window, tab)
    assert not error_messages()
