"""Training from the window: start, watch, stop, go back, see what changed, close while training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from tests.conftest import ROOT, kernel_result
from inspector.jobs import MODEL
from tests.e2e.user import click_tab
from tests.kernel import kernel_jobs
from tests.shell.test_main_window import wait_loaded

TIMEOUT = 60_000
DIGITS = ROOT / "resources" / "data" / "digits"


def training_view(qtbot, tab):
    click_tab(qtbot, tab.views, "Training")
    panel = tab.training
    qtbot.waitUntil(lambda: panel.data_editor is not None, timeout=TIMEOUT)
    return panel


@pytest.fixture
def digits_tab(qtbot, window, samples_dir):
    return wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))


def test_train_watch_and_revert(qtbot, window, digits_tab, tmp_path):
    tab = digits_tab
    panel = training_view(qtbot, tab)
    panel.data_editor.set_path(DIGITS)
    panel.epochs.setValue(2)
    panel.steps.setValue(3)
    panel.batch_size.setValue(16)
    before = kernel_result(qtbot, tab, kernel_jobs.weights_job, MODEL)
    with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
        assert panel.start(), panel.message.text()
    result = panel.result
    assert result.epochs_done == 2
    assert len(panel.curves._epochs["loss"]) == 2 and "val_loss" in panel.curves._epochs
    assert tab.modified and window.tabs.tabText(window.tabs.indexOf(tab)).endswith(" *")
    qtbot.waitUntil(lambda: len(panel.changes.changes()) > 0, timeout=TIMEOUT)
    assert kernel_result(qtbot, tab, kernel_jobs.modules_job, "PySide6") == [], "the data recipe pulled Qt into the kernel"

    saved = panel.export_history(tmp_path / "history.csv")
    assert saved.read_text().startswith("epoch,")
    assert panel.export_curves(tmp_path / "curves.png").stat().st_size > 1000

    panel.revert_weights()
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=TIMEOUT)
    for now, value in zip(kernel_result(qtbot, tab, kernel_jobs.weights_job, MODEL), before):
        assert np.array_equal(now, value)


def test_stop_during_training(qtbot, digits_tab):
    tab = digits_tab
    panel = training_view(qtbot, tab)
    panel.data_editor.set_path(DIGITS)
    panel.epochs.setValue(20)
    panel.steps.setValue(0)
    panel.batch_size.setValue(4)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=TIMEOUT)
    with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
        panel.stop_button.click()
    assert panel.result.stopped and panel.result.epochs_done < 20
    assert "Stopped" in panel.message.text()


def test_missing_data_is_explained(qtbot, digits_tab):
    panel = training_view(qtbot, digits_tab)
    assert not panel.start()
    assert "data" in panel.message.text().lower()


def test_closing_the_window_during_training_asks_then_stops(qtbot, samples_dir, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from widgets.shell.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window.show()
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    panel = training_view(qtbot, tab)
    panel.data_editor.set_path(DIGITS)
    panel.epochs.setValue(50)
    panel.batch_size.setValue(4)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=TIMEOUT)
    asked = []

    def answer(parent, title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes if "being trained" in text else QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", answer)
    pid = tab.runner.pid
    window.close()
    assert asked and "being trained" in asked[0]
    assert not window.isVisible()
    qtbot.waitUntil(lambda: not Path(f"/proc/{pid}").exists(), timeout=TIMEOUT)


def test_audit_batch_norm_and_compare_with_the_file_as_loaded(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "transfer_digits.keras"))
    panel = training_view(qtbot, tab)
    panel.data_editor.set_path(DIGITS)
    panel.batch_size.setValue(64)
    panel.changes.bn_audit_requested.emit()
    qtbot.waitUntil(lambda: panel.changes.bn_model.rowCount() == 2, timeout=TIMEOUT)
    assert "audit (2)" in panel.changes.tabs.tabText(2)

    kernel_result(qtbot, tab, kernel_jobs.scale_kernel_job, MODEL, "head", 2.0)
    panel.compare_with_file(str(tab.path))
    qtbot.waitUntil(lambda: len(panel.changes.changes()) > 0, timeout=TIMEOUT)
    moved = {change.layer: change.relative for change in panel.changes.changes()}
    assert moved["head"] > 0.1 and moved["digits_base/base_conv_1"] == 0
