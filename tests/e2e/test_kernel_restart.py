"""A model's process is killed (as by the kernel's out-of-memory killer): its tab says so and keeps
what it showed, another tab keeps working, and Restart brings the model back with its unsaved
trainable edits."""

import os
import signal

from PySide6.QtCore import Qt

from tests.conftest import SAMPLES, settled
from tests.e2e.model_steps import layer_states, node_point, tab_title, wait_for_model
from tests.e2e.test_freeze_and_undo import FREEZE_BEFORE, assert_frozen_before_conv_2
from tests.e2e.user import DIALOG_TIMEOUT_MS, choose_from_popup, click, click_tab, drop_files, error_messages, right_click

TIMEOUT_MS = 60_000


def test_a_killed_model_process_is_restarted_with_its_edits(qtbot, launch):
    window = launch(SAMPLES / "transfer_digits.keras")
    other = wait_for_model(qtbot, window, "transfer_digits.keras")
    drop_files(window, [SAMPLES / "digits_cnn.keras"])
    tab = wait_for_model(qtbot, window, "digits_cnn.keras")
    chosen = choose_from_popup(qtbot, FREEZE_BEFORE)
    right_click(qtbot, *node_point(tab, "conv_2"))
    qtbot.waitUntil(lambda: bool(chosen), timeout=DIALOG_TIMEOUT_MS)
    settled(qtbot, tab)
    assert_frozen_before_conv_2(window, tab)
    before = layer_states(tab)

    os.kill(tab.runner.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: tab.banner.isVisible(), timeout=TIMEOUT_MS)
    message = tab.banner.message.text()
    assert "killed" in message and "unsaved trainable edit" in message
    assert tab.banner.restart.isVisible() and tab.banner.restart.isEnabled()
    assert layer_states(tab) == before, "the tab keeps what it showed"
    assert tab_title(window) == "digits_cnn.keras *"

    click_tab(qtbot, window.tabs, "transfer_digits.keras")
    assert other.runner.alive and not other.banner.isVisible()
    click(qtbot, *node_point(other, "head"))
    assert other.graph.selected_layer() == "head"

    click_tab(qtbot, window.tabs, "digits_cnn.keras *")
    qtbot.mouseClick(tab.banner.restart, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.banner.isVisible(), timeout=TIMEOUT_MS)
    settled(qtbot, tab)
    assert window.statusBar().currentMessage() == "digits_cnn.keras: restarted; 1 trainable edit re-applied."
    assert layer_states(tab) == before and tab_title(window) == "digits_cnn.keras *"
    assert "FROZEN" in tab.graph.node_item("conv_1").tags and "FROZEN" not in tab.graph.node_item("conv_2").tags
    assert not error_messages()
