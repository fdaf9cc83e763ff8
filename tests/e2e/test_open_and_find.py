"""Open models from the command line, File ▸ Open (dialog answered) and a drop; find a layer by typing its name."""

from PySide6.QtCore import Qt

from tests.conftest import SAMPLES
from tests.e2e.model_steps import detail, layer_states, picture, tab_title, wait_for_model
from tests.e2e.user import (
    DIALOG_TIMEOUT_MS,
    answer_file_dialog,
    click_tab,
    drop_files,
    error_messages,
    press,
    type_into,
    use_menu,
)


def test_open_from_the_command_line_and_find_a_layer(qtbot, launch):
    window = launch(SAMPLES / "two_input_two_output.keras")
    qtbot.waitUntil(lambda: window.current_tab() is not None and window.current_tab().is_loaded, timeout=60_000)
    tab = window.current_tab()
    assert window.tabs.tabText(window.tabs.currentIndex()) == "two_input_two_output.keras"

    press(qtbot, window, "Ctrl+F")
    qtbot.waitUntil(tab.find_bar.hasFocus, timeout=2000)
    type_into(qtbot, tab.find_bar, "aux")
    assert "match" in tab.find_status.text()
    qtbot.keyClick(tab.find_bar, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.details.layer is not None, timeout=3000)
    assert "aux" in tab.details.layer.name
    assert tab.details.layer.name in tab.details.toPlainText()


def test_open_through_file_open_with_the_dialog_answered(qtbot, launch):
    window = launch()
    assert window.pages.currentWidget() is window.start_page
    answered = answer_file_dialog(qtbot, SAMPLES / "digits_cnn.keras")
    use_menu(window, "File", "Open…")
    qtbot.waitUntil(lambda: bool(answered), timeout=DIALOG_TIMEOUT_MS)

    tab = wait_for_model(qtbot, window, "digits_cnn.keras")
    assert tab_title(window) == "digits_cnn.keras"
    assert list(layer_states(tab)) == ["rescale", "conv_1", "bn_1", "relu_1", "pool_1", "conv_2", "flatten", "dropout", "probs"]
    assert detail(tab, "Total params") == "9,994" and detail(tab, "Trainable params") == "9,962"
    picture(window, "open_digits_cnn")


def test_open_by_dropping_files_on_the_window(qtbot, launch):
    window = launch()
    drop_files(window.start_page, [SAMPLES / "topic_rnn.keras", SAMPLES / "two_input_two_output.h5"])
    qtbot.waitUntil(lambda: window.tabs.count() == 2, timeout=5000)
    assert [window.tabs.tabText(i) for i in range(2)] == ["topic_rnn.keras", "two_input_two_output.h5"]

    tab = wait_for_model(qtbot, window, "two_input_two_output.h5")
    assert {"image_input", "aux_input", "main_output", "aux_output"} <= set(layer_states(tab))
    click_tab(qtbot, window.tabs, "topic_rnn.keras")
    tab = wait_for_model(qtbot, window, "topic_rnn.keras")
    assert "bilstm" in layer_states(tab)
    assert not error_messages()
