"""Build a transfer model from a layer, save it with Save As, reopen it from Open Recent."""

from PySide6.QtWidgets import QLabel

from tests.conftest import SAMPLES
from tests.e2e.model_steps import layer_point, layer_row, layer_states, node_point, picture, tab_title, wait_for_model
from tests.e2e.user import (
    DIALOG_TIMEOUT_MS,
    answer_dialog,
    answer_file_dialog,
    answer_message_box,
    choose_from_popup,
    choose_in_combo,
    click,
    click_button,
    error_messages,
    press,
    right_click,
    type_into,
    use_menu,
)
from widgets.model.transfer_dialog import TransferDialog

BASE = ["rescale", "conv_1", "bn_1", "relu_1", "pool_1", "conv_2"]


def build_parity_head(qtbot):
    """Answers the builder dialog: a two-unit head with dropout on average-pooled features."""

    def answer(dialog: TransferDialog) -> None:
        picture(dialog, "transfer_dialog")
        assert any(label.text() == "Cut at <b>conv_2</b>, output (None, 4, 4, 32)." for label in dialog.findChildren(QLabel))
        type_into(qtbot, dialog.name, "digit_parity")
        choose_in_combo(qtbot, dialog.pooling, "Global average pooling")
        type_into(qtbot, dialog.dropout, "0.25")
        type_into(qtbot, dialog.units, "2")
        choose_in_combo(qtbot, dialog.activation, "sigmoid")
        assert dialog.freeze_base.isChecked()
        click_button(qtbot, dialog, "OK")

    return answer_dialog(qtbot, TransferDialog, answer)


def test_build_a_transfer_model_save_it_and_reopen_it(qtbot, launch, tmp_path):
    window = launch(SAMPLES / "digits_cnn.keras")
    original = wait_for_model(qtbot, window, "digits_cnn.keras")
    click(qtbot, *layer_point(original, "conv_2"))

    answered = build_parity_head(qtbot)
    use_menu(window, "Model", "New Model from Selected Layer…")
    assert answered, "the builder dialog did not open"
    built = wait_for_model(qtbot, window, "digit_parity.keras")
    assert window.tabs.count() == 2 and tab_title(window) == "digit_parity.keras *"
    states = layer_states(built)
    assert [name for name in states if name in BASE] == BASE
    assert {name: states[name] for name in ("conv_1", "conv_2", "head_dense")} == {
        "conv_1": "frozen",
        "conv_2": "frozen",
        "head_dense": "trainable",
    }
    assert {"head_avg_pool", "head_dropout"} <= set(states)
    picture(window, "transfer_built")

    target = tmp_path / "digit_parity.keras"
    saved = answer_file_dialog(qtbot, target)
    use_menu(window, "File", "Save As…")
    qtbot.waitUntil(lambda: bool(saved), timeout=DIALOG_TIMEOUT_MS)
    qtbot.waitUntil(lambda: tab_title(window) == "digit_parity.keras", timeout=60_000)
    assert target.is_file()
    assert str(target) in window.statusBar().currentMessage()

    press(qtbot, window, "Ctrl+W")
    assert window.tabs.count() == 1 and tab_title(window) == "digits_cnn.keras"
    use_menu(window, "File", "Open Recent", str(target))
    reopened = wait_for_model(qtbot, window, "digit_parity.keras")
    assert reopened is not built and tab_title(window) == "digit_parity.keras"
    assert layer_states(reopened) == states
    assert layer_row(reopened, "head_dense").text(1) == "Dense"
    assert not error_messages()


def test_new_model_from_the_graph_context_menu_asks_before_closing_it_unsaved(qtbot, launch):
    window = launch(SAMPLES / "digits_cnn.keras")
    original = wait_for_model(qtbot, window, "digits_cnn.keras")

    def answer(dialog: TransferDialog) -> None:
        assert [dialog.pooling.itemText(i) for i in range(dialog.pooling.count())] == ["Flatten", "None"]
        choose_in_combo(qtbot, dialog.pooling, "None")
        click_button(qtbot, dialog, "OK")

    answered = answer_dialog(qtbot, TransferDialog, answer)
    chosen = choose_from_popup(qtbot, "New model from this layer's output")
    right_click(qtbot, *node_point(original, "flatten"))
    qtbot.waitUntil(lambda: bool(chosen) and bool(answered), timeout=DIALOG_TIMEOUT_MS)
    built = wait_for_model(qtbot, window, "digits_cnn_flatten_transfer.keras")
    assert tab_title(window) == "digits_cnn_flatten_transfer.keras *"
    assert layer_states(built)["head_dense"] == "trainable"

    asked = answer_message_box(qtbot, "Discard")
    press(qtbot, window, "Ctrl+W")
    qtbot.waitUntil(lambda: bool(asked), timeout=DIALOG_TIMEOUT_MS)
    assert "unsaved changes" in asked[0]
    assert window.tabs.count() == 1 and tab_title(window) == "digits_cnn.keras"
    assert not error_messages()
