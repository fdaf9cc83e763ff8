"""The Training view driven as a user drives it: open a model from the File menu, Ctrl+4,
choose the data with the editor's buttons, Start, Stop, Revert, the BatchNormalization audit,
and where the file dialogs open."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QFileDialog, QMenu, QWidget

from tests.conftest import ROOT, kernel_result
from tests.kernel import kernel_jobs
from tests.shell.test_main_window import wait_loaded

TIMEOUT = 60_000
DIGITS = ROOT / "resources" / "data" / "digits"


def click(qtbot, widget: QWidget) -> None:
    """Clicks a widget the user can see and use."""
    assert widget.isVisible() and widget.isEnabled(), widget.objectName() or widget
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def type_number(qtbot, spin: QAbstractSpinBox, text: str) -> None:
    """Replaces a spin box's value by typing, as a user does."""
    assert spin.isVisible() and spin.isEnabled()
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Tab)
    assert spin.value() == type(spin.value())(text)


def menu_action(window, menu_title: str, text: str):
    """The visible, enabled action ``text`` of the menu ``menu_title``."""
    for menu in window.menuBar().findChildren(QMenu):
        if menu.title().replace("&", "") == menu_title:
            for action in menu.actions():
                if action.text().replace("&", "") == text:
                    assert action.isVisible() and action.isEnabled(), text
                    return action
    raise AssertionError(f"no {menu_title} ▸ {text}")


def open_model(qtbot, window, path, monkeypatch):
    """File ▸ Open…, answering the dialog with ``path``."""
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: ([str(path)], ""))
    menu_action(window, "File", "Open…").trigger()
    return wait_loaded(qtbot, window.current_tab())


def show_training(qtbot, window, tab):
    """View ▸ Training (Ctrl+4), then waits for the data editor."""
    menu_action(window, "View", "Training").trigger()
    panel = tab.training
    assert tab.current_view == "training"
    qtbot.waitUntil(lambda: panel.data_editor is not None and panel.data_editor.isVisible(), timeout=TIMEOUT)
    return panel


def choose_folder(qtbot, panel, folder, monkeypatch) -> list[str]:
    """Clicks the data editor's "Folder…" and answers with ``folder``; returns where the dialog
    started."""
    started = []

    def dialog(parent, title, start, *args, **kwargs):
        started.append(start)
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", dialog)
    click(qtbot, panel.data_editor.folder_button)
    qtbot.waitUntil(lambda: "class folders" in panel.data_editor.summary.text(), timeout=TIMEOUT)
    return started


@pytest.fixture
def model_copy(tmp_path):
    """Copies a sample into a folder of its own (so "the model's folder" is not the repository's)."""

    def copy(name: str):
        folder = tmp_path / "models"
        folder.mkdir(exist_ok=True)
        return shutil.copy(ROOT / "resources" / "samples" / name, folder / name)

    return copy


def test_train_from_the_window_then_stop_a_second_run_mid_epoch(qtbot, window, model_copy, monkeypatch):
    path = model_copy("digits_cnn.keras")
    tab = open_model(qtbot, window, path, monkeypatch)
    every_batch = ("inspector.training.fit", "REPORT_INTERVAL_S", 0.0)  # every batch reaches the window
    kernel_result(qtbot, tab, kernel_jobs.module_setting_job, *every_batch)
    panel = show_training(qtbot, window, tab)

    started = choose_folder(qtbot, panel, DIGITS, monkeypatch)
    assert started == [str(path.parent)], "the data dialog starts in the model's folder"
    type_number(qtbot, panel.epochs, "2")
    type_number(qtbot, panel.steps, "3")
    type_number(qtbot, panel.batch_size, "16")
    parts = (panel, *panel.curves.plots)
    painting_at_the_end = []
    panel.trained.connect(lambda _: painting_at_the_end.append([part.updatesEnabled() for part in parts]))
    with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
        click(qtbot, panel.start_button)
        assert panel.stop_button.isEnabled() and not panel.start_button.isEnabled()
    assert painting_at_the_end == [[False] * len(parts)], "the end of a run is painted in turns"
    qtbot.waitUntil(lambda: all(part.updatesEnabled() for part in parts), timeout=TIMEOUT)
    assert [len(panel.curves._curves[name].yData) for name in ("loss", "val_loss")] == [2, 2]
    assert len(panel.curves.batch_curve.yData) == 6
    first = panel.result_label.text()
    assert first.startswith("Trained 2 complete epoch(s).") and "final weights" in first
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()

    type_number(qtbot, panel.epochs, "30")
    type_number(qtbot, panel.steps, "0")
    type_number(qtbot, panel.batch_size, "4")
    click(qtbot, panel.start_button)
    try:
        assert panel.result_label.text() == "", "the previous run's summary goes when a new run starts"
        qtbot.waitUntil(lambda: panel.message.text().startswith("Training: epoch 2/30, batch"), timeout=TIMEOUT)
        assert panel.progress.isVisible() and panel.progress.value() > 0
        with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
            click(qtbot, panel.stop_button)
    finally:  # a failed check must not leave training running when the window closes
        panel.stop()
        qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    result = panel.result
    assert result.stopped and result.epochs_done == 1 and result.partial_epoch == 1
    assert result.best_epoch == 0
    text = panel.result_label.text()
    assert "Stopped during epoch 2, which is partial (its validation was cut short)" in text
    assert "cannot be the best. 1 complete epoch(s). Best epoch: 1 (val_loss" in text
    assert text == panel.message.text()


def test_revert_says_which_weights_the_model_has(qtbot, window, model_copy, monkeypatch):
    tab = open_model(qtbot, window, model_copy("digits_cnn.keras"), monkeypatch)
    panel = show_training(qtbot, window, tab)
    choose_folder(qtbot, panel, DIGITS, monkeypatch)
    type_number(qtbot, panel.epochs, "1")
    type_number(qtbot, panel.steps, "2")
    with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
        click(qtbot, panel.start_button)
    assert "The model now has the final weights" in panel.result_label.text()

    click(qtbot, panel.revert)
    qtbot.waitUntil(lambda: "the weights from before training" in panel.result_label.text(), timeout=TIMEOUT)
    assert "final weights" not in panel.result_label.text()
    assert panel.result_label.text().startswith("Trained 1 complete epoch(s).")

    click(qtbot, panel.keep_best)
    qtbot.waitUntil(lambda: "the weights of epoch 1 (the best)" in panel.result_label.text(), timeout=TIMEOUT)


def test_raw_pixels_for_a_model_that_expects_0_to_16_are_warned_about(qtbot, window, model_copy, monkeypatch):
    tab = open_model(qtbot, window, model_copy("transfer_digits.keras"), monkeypatch)
    panel = show_training(qtbot, window, tab)
    choose_folder(qtbot, panel, DIGITS, monkeypatch)
    assert panel.data_editor.preprocessing.currentData() == "none"
    type_number(qtbot, panel.epochs, "1")
    type_number(qtbot, panel.steps, "1")
    assert not panel.warning.isVisible()
    with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
        click(qtbot, panel.start_button)
    assert panel.warning.isVisible()
    warning = panel.warning.text()
    assert warning.startswith("Input 'image' gets values from 0 to 255 in the first batch")
    assert "'digits_base/base_rescale' (Rescaling ×0.0625) expects about 0 to 16" in warning
    assert warning.endswith('check "Rescale ×" under Augmentation and set it to 0.06275 (16/255).')

    editor = panel.data_editor
    click(qtbot, editor.rescale_check)
    type_number(qtbot, editor.rescale_spin, "0.062745")
    with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
        click(qtbot, panel.start_button)
    assert not panel.warning.isVisible(), "data in the model's range: no warning"


def test_batch_norm_audit_ends_with_a_summary_and_notes(qtbot, window, model_copy, monkeypatch):
    tab = open_model(qtbot, window, model_copy("transfer_digits.keras"), monkeypatch)
    panel = show_training(qtbot, window, tab)
    choose_folder(qtbot, panel, DIGITS, monkeypatch)
    view = panel.changes
    panel.results.setCurrentIndex(1)  # the "What changed" tab
    assert panel.results.tabText(1) == "What changed"
    click(qtbot, view.bn_button)
    qtbot.waitUntil(lambda: view.bn_model.rowCount() == 2, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: view.status.text().startswith("BatchNormalization audit done"), timeout=TIMEOUT)
    assert "batch" not in view.status.text() and "?" not in view.status.text()
    assert "far from their moving statistics" in window.statusBar().currentMessage()
    notes = [view.bn_model.text(row, 6) for row in range(2)]
    assert all(notes), notes
    assert "not scaled as the model expects" in notes[0]
    # The audit's scores colour the graph (View ▸ Colour Layers By).
    menu_action(window, "Colour Layers By", "BatchNormalization Shift (Last Audit)").trigger()
    assert tab.graph.layer_values() == {shift.layer: shift.score for shift in panel.bn_shifts}
    assert set(tab.graph.layer_values()) == {"digits_base/base_bn_1", "digits_base/base_bn_2"}
    # And so does the loss gradient on one batch of the chosen data: only the head is trainable.
    menu_action(window, "Colour Layers By", "Gradient Norm on One Training Batch").trigger()
    qtbot.waitUntil(lambda: "gradient norm" in tab.graph.value_legend.text(), timeout=TIMEOUT)
    values = tab.graph.layer_values()
    assert set(values) == {"head"} and values["head"] > 0


def test_the_compare_dialog_starts_in_the_models_folder_then_where_it_was_used(
    qtbot, window, model_copy, monkeypatch, tmp_path
):
    path = model_copy("digits_cnn.keras")
    tab = open_model(qtbot, window, path, monkeypatch)
    panel = show_training(qtbot, window, tab)
    panel.results.setCurrentIndex(1)
    elsewhere = tmp_path / "checkpoints"
    elsewhere.mkdir()
    checkpoint = shutil.copy(path, elsewhere / "epoch_3.keras")
    started = []

    def dialog(parent, title, start, *args, **kwargs):
        started.append(start)
        return str(checkpoint), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    click(qtbot, panel.changes.compare_button)
    qtbot.waitUntil(lambda: len(panel.changes.changes()) > 0, timeout=TIMEOUT)
    click(qtbot, panel.changes.compare_button)
    assert started == [str(path.parent), str(elsewhere)]
