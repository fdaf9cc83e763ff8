"""Freezing, undo, building and saving models as a user does it in the window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QDialog, QMessageBox

from inspector.jobs import MODEL
from inspector.model.loading import load
from tests.conftest import kernel_result, settled
from tests.e2e.user import use_layer_menu
from tests.kernel import kernel_jobs
from tests.shell.test_main_window import wait_loaded

TIMEOUT = 60_000


@pytest.fixture
def transfer_tab(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "transfer_digits.keras"))
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=TIMEOUT)  # statistics done
    return tab


def test_freezing_from_the_context_menu_updates_counts_views_and_undo(qtbot, window, transfer_tab):
    tab = transfer_tab
    use_layer_menu(qtbot, tab, "head", "Freeze head")
    settled(qtbot, tab)
    head = tab.info.layer_index()["head"]
    assert head.trainable_params == 0 and tab.info.params.trainable == 0
    assert kernel_result(qtbot, tab, kernel_jobs.layer_trainable_job, MODEL, "head") is False
    assert tab.graph.node_item("head").state == "frozen"
    assert tab.layer_tree._items["head"].text(4) == "frozen"
    assert window.tabs.tabText(window.tabs.currentIndex()).endswith(" *")
    assert window.undo_action.text() == "&Undo Freeze head"

    window.undo_action.trigger()
    settled(qtbot, tab)
    assert tab.info.layer_index()["head"].trainable_params == 330
    assert not tab.modified and window.tabs.tabText(window.tabs.currentIndex()) == "transfer_digits.keras"
    assert window.redo_action.text() == "&Redo Freeze head"
    window.redo_action.trigger()
    settled(qtbot, tab)
    assert tab.info.params.trainable == 0


def test_unfreezing_a_nested_base_from_the_details_panel_warns_about_batch_norm(qtbot, transfer_tab):
    tab = transfer_tab
    tab.select_layer("digits_base")
    tab.details.anchorClicked.emit(QUrl("unfreeze:"))
    settled(qtbot, tab)
    assert tab.info.layer_index()["digits_base"].trainable_params > 0
    assert "digits_base/base_bn_1" in tab.warnings
    assert tab.graph.node_item("digits_base").warning
    assert "training=False" in tab.details.toPlainText() or "BatchNormalization" in tab.details.toPlainText()


def test_freeze_up_to_a_layer(qtbot, transfer_tab):
    tab = transfer_tab
    tab.set_all_trainable(True)
    tab.freeze_up_to("head")
    settled(qtbot, tab)
    index = tab.info.layer_index()
    assert index["digits_base"].trainable_params == 0
    assert index["head"].trainable_params == index["head"].params


def test_trainable_changes_are_refused_while_a_job_uses_the_model(qtbot, transfer_tab, tmp_path):
    tab = transfer_tab
    gate = kernel_jobs.make_gate(tmp_path / "gate")
    tab.runner.submit("Long job", kernel_jobs.gated_job, gate)
    assert not tab.set_trainable("head", False)
    box = tab.findChild(QMessageBox, "errorMessage")
    assert box is not None and "Long job" in box.text()
    assert tab.info.layer_index()["head"].trainable_params == 330
    qtbot.waitUntil(lambda: kernel_jobs.open_gate(gate), timeout=TIMEOUT)
    settled(qtbot, tab)
    assert tab.set_trainable("head", False)
    settled(qtbot, tab)
    assert tab.info.layer_index()["head"].trainable_params == 0


def test_new_model_from_a_layer_opens_in_a_new_tab_and_saves(qtbot, window, transfer_tab, tmp_path, monkeypatch):
    monkeypatch.setattr(QDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    window.build_model(transfer_tab, "digits_base", "head")
    qtbot.waitUntil(lambda: len(window.model_tabs()) == 2 and window.model_tabs()[1].is_loaded, timeout=TIMEOUT)
    built = window.model_tabs()[1]
    layers = built.info.layer_index()
    assert "head_dense" in layers and layers["head_dense"].params == 32 * 10 + 10
    assert layers["digits_base"].trainable_params == 0
    assert built.modified and window.tabs.tabText(1).endswith(" *")

    target = tmp_path / "built.keras"
    window.save_tab_as(built, target)
    qtbot.waitUntil(lambda: not built.modified, timeout=TIMEOUT)
    assert built.path == target and window.tabs.tabText(1) == "built.keras"
    reloaded = load(target).model
    live = kernel_result(qtbot, built, kernel_jobs.weights_job, MODEL)
    for saved, values, info in zip(reloaded.weights, live, built.info.variables):
        assert np.array_equal(saved.numpy(), values) and saved.trainable == info.trainable


def test_save_does_nothing_without_changes_and_asks_before_replacing_the_original(
    qtbot, window, samples_dir, tmp_path, monkeypatch
):
    copy = tmp_path / "copy.keras"
    copy.write_bytes((samples_dir / "digits_cnn.keras").read_bytes())
    tab = wait_loaded(qtbot, window.open_file(copy))
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=TIMEOUT)
    window.save_current()
    assert "Nothing to save" in window.statusBar().currentMessage()

    tab.set_trainable("conv_1", False)
    settled(qtbot, tab)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    before = copy.read_bytes()
    window.save_current()
    assert copy.read_bytes() == before and tab.modified
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    window.save_current()
    qtbot.waitUntil(lambda: not tab.modified, timeout=TIMEOUT)
    assert not load(copy).model.get_layer("conv_1").trainable


def test_a_failed_save_keeps_the_model_open_and_modified(qtbot, window, transfer_tab, tmp_path):
    tab = transfer_tab
    tab.set_trainable("head", False)
    settled(qtbot, tab)
    (tmp_path / "taken.keras").mkdir()
    window.save_tab_as(tab, tmp_path / "taken.keras")
    qtbot.waitUntil(lambda: tab.findChild(QMessageBox, "errorMessage") is not None, timeout=TIMEOUT)
    assert "not saved" in tab.findChild(QMessageBox, "errorMessage").text()
    assert tab.modified and tab.path.name == "transfer_digits.keras"


def test_closing_a_modified_tab_asks_first(qtbot, window, transfer_tab, monkeypatch):
    tab = transfer_tab
    tab.set_trainable("head", False)
    settled(qtbot, tab)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    window.close_current_tab()
    assert window.model_tabs() == [tab]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window.close_current_tab()
    assert window.model_tabs() == []


def test_recompile_after_freezing_a_compiled_model(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "two_input_two_output.keras"))
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=TIMEOUT)
    assert not window.recompile_action.isEnabled()
    tab.set_trainable("conv", False)
    settled(qtbot, tab)
    assert tab.needs_recompile and window.recompile_action.isEnabled()
    window.recompile_action.trigger()
    qtbot.waitUntil(lambda: not window.recompile_action.isEnabled(), timeout=TIMEOUT)
    assert not tab.needs_recompile and "Needs recompile\nno" in tab.details.toPlainText().replace("\t", "\n")


def test_the_builder_dialog_turns_its_fields_into_a_head(qtbot):
    from PySide6.QtCore import Qt

    from widgets.model.transfer_dialog import TransferDialog

    dialog = TransferDialog("base_pool", "(None, 4, 4, 32)", 4, "digits_transfer")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, "my_head")
    dialog.pooling.setCurrentIndex(dialog.pooling.findData("max"))
    dialog.dropout.setValue(0.3)
    dialog.units.setValue(5)
    dialog.activation.setCurrentText("sigmoid")
    qtbot.mouseClick(dialog.freeze_base, Qt.MouseButton.LeftButton)
    spec = dialog.spec()
    assert (spec.name, spec.pooling, spec.dropout, spec.units, spec.activation) == ("my_head", "max", 0.3, 5, "sigmoid")
    assert spec.freeze_base is False
    qtbot.mouseClick(dialog.add_dense, Qt.MouseButton.LeftButton)
    assert dialog.spec().units is None and not dialog.units.isEnabled()


def test_clicking_a_nodes_state_bar_freezes_and_unfreezes_it(qtbot, window, transfer_tab):
    from PySide6.QtCore import Qt

    tab = transfer_tab
    tab.graph.select_layer("head")
    item = tab.graph.node_item("head")
    canvas = tab.graph.canvas

    def click_bar():
        point = canvas.mapFromScene(item.mapToScene(item.state_bar.center()))
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)

    click_bar()
    settled(qtbot, tab)
    assert tab.info.layer_index()["head"].trainable_params == 0 and item.state == "frozen"
    click_bar()
    settled(qtbot, tab)
    assert tab.info.layer_index()["head"].trainable_params == 330 and item.state == "trainable"
