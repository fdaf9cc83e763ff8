"""Open a model from the command line and find a layer by typing its name."""

from PySide6.QtCore import Qt

from tests.conftest import SAMPLES
from tests.e2e.user import press, type_into


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
